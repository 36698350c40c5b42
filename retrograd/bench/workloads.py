#!/usr/bin/env python3
"""retrograd's side of the reference workloads; torch_workloads.py beside it is the PyTorch side.

Each workload is built exactly as the reference spec says (torch_workloads.py's module
docstring and WORKLOADS, copied below): the same data pools
(np.random.default_rng(0)), the same initial parameters (default_rng(1) in
PyTorch's named_parameters() order, cast to --dtype), the same
hyper-parameters, so both libraries end on the same final_loss up to rounding.

    python -m retrograd.bench.workloads --list
    python -m retrograd.bench.workloads --workload mlp [--steps 200] [--warmup 20] [--threads 2]
                                        [--dtype float32|float64] [--json]

The command line and the printed fields are torch_workloads.py's, with lib
"retrograd". `build(name, dtype)` gives a workload's step: MODELS holds the
training workloads' models, `ops_step` and `gemm_bound_step` the others.
--threads reaches BLAS only when the file runs as a script (`retrograd bench`
runs it so, and sets the thread variables itself): with -m, retrograd and
numpy are imported before the command line is read.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

WORKLOADS = {  # the spec, copied verbatim from torch_workloads.py
    "mlp": "x (128, 784), 10 classes; Linear 784-256-256-10, ReLU; SGD lr 0.1 momentum 0.9",
    "mlp_tiny": "x (32, 64), 10 classes; Linear 64-32-10, sigmoid; SGD lr 0.5 (overhead-bound)",
    "cnn": "x (64, 1, 28, 28), 10 classes; LeNet: [Conv2d(1,6,5) ReLU MaxPool2d(2)], "
    "[Conv2d(6,16,5) ReLU MaxPool2d(2)], Flatten, Linear 256-120-84-10 with ReLU; SGD lr 0.05 momentum 0.9",
    "lstm": "tokens (32, 50); Embedding(65,64), LSTM(64,256, batch_first), Linear(256,65) at every step, CE mean "
    "over all 32*50 positions; Adam lr 2e-3, clip grad norm 5; stateful: state carried to the next step, detached",
    "gru": "as lstm, with GRU(64,256)",
    "rnn": "as lstm, with RNN(64,128) (tanh) and Linear(128,65)",
    "resmlp": "x (128, 784), 10 classes; Linear(784,256), 8 blocks x = x + Linear(ReLU(Linear(x))) "
    "of width 256, Linear(256,10); SGD lr 0.01 momentum 0.9",
    "gemm_bound_mlp": "numpy, no autograd: only the 8 GEMMs of an mlp step (forward 3, weight grads 3, "
    "input grads 2); the floor for mlp",
    "ops_small": "autograd overhead: x (64, 64) requiring grad, w (64, 64) U(-1/8, 1/8) from default_rng(1); "
    "10 times y = tanh((y @ w) * 0.1) + y * 0.5 starting from y = x; loss (y * y).mean(); backward; no optimizer",
    "ops_large": "as ops_small with x and w (512, 512), w U(-1/sqrt(512), 1/sqrt(512)): GEMM-bound",
}
OPS = {"ops_small", "ops_large"}
RECURRENT = {"lstm", "gru", "rnn"}
INPUT_SHAPES = {  # feed-forward workloads: (batch, *features)
    "mlp": (128, 784),
    "mlp_tiny": (32, 64),
    "cnn": (64, 1, 28, 28),
    "resmlp": (128, 784),
    "gemm_bound_mlp": (128, 784),
    "ops_small": (64, 64),
    "ops_large": (512, 512),
}
SGD_SETTINGS = {"mlp": (0.1, 0.9), "mlp_tiny": (0.5, 0.0), "cnn": (0.05, 0.9), "resmlp": (0.01, 0.9)}
ADAM_LR, CLIP_NORM = 2e-3, 5.0  # the recurrent workloads
POOL = 10  # batches of data per workload, used in turn
VOCAB, SEQ, RNN_BATCH = 65, 50, 32


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="retrograd's side of the reference workloads")
    parser.add_argument("--workload", choices=WORKLOADS)
    parser.add_argument("--list", action="store_true", help="print the workload names and exit")
    parser.add_argument("--steps", type=int, default=200, help="timed steps")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps before them")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not (args.list or args.workload):
        parser.error("--workload or --list is required")
    return args


if __name__ == "__main__":
    # OpenMP, MKL and OpenBLAS size their thread pools when numpy loads, so
    # --threads must reach the environment before that import (as in torch_workloads.py).
    ARGS = parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402


import retrograd as rg  # noqa: E402
import retrograd.nn.functional as F  # noqa: E402
import retrograd.optim as optim  # noqa: E402
from retrograd import nn  # noqa: E402
from retrograd.nn.utils import clip_grad_norm_  # noqa: E402


# ----- data and parameters, per the spec --------------------------------------------------------------
def make_data(name, dtype):
    """The workload's pool of batches as numpy (inputs, targets) pairs (torch_workloads.make_data, verbatim)."""
    rng = np.random.default_rng(0)
    if name in RECURRENT:
        tokens = rng.integers(0, VOCAB, size=(RNN_BATCH, POOL * SEQ + 1))
        return [(tokens[:, t:t + SEQ], tokens[:, t + 1:t + SEQ + 1]) for t in range(0, POOL * SEQ, SEQ)]
    batch, *features = INPUT_SHAPES[name]
    x = rng.standard_normal((POOL, batch, *features)).astype(dtype)
    y = rng.integers(0, 10, size=(POOL, batch))
    return list(zip(x, y))


def as_retrograd_batches(name, batches):
    """numpy batches -> what the workload's step takes, converted once, outside the timed steps."""
    if name == "gemm_bound_mlp":
        return batches
    if name in OPS:
        return [(rg.from_numpy(x), None) for x, _ in batches]
    return [(rg.from_numpy(x), rg.from_numpy(np.ascontiguousarray(y).reshape(-1))) for x, y in batches]


def init_parameters(model, dtype):
    """torch_workloads.init_parameters with numpy: PyTorch's default distributions from default_rng(1), in
    named_parameters() order, written into each parameter's array."""
    rng = np.random.default_rng(1)
    for name, p in model.named_parameters():
        layer = model.get_submodule(name.rpartition(".")[0])
        if isinstance(layer, nn.Embedding):
            value = rng.standard_normal(p.array.shape)
        else:
            hidden = getattr(layer, "hidden_size", None)  # only the recurrent layers have one here
            n = hidden if hidden is not None else math.prod(layer.weight.array.shape[1:])
            value = rng.uniform(-(n**-0.5), n**-0.5, p.array.shape)
        p.array[...] = value.astype(dtype)


# ----- the models of the training workloads (torch_workloads.build_model) --------------------------------
class ResMLP(nn.Module):
    def __init__(self, width=256, blocks=8):
        super().__init__()
        self.proj = nn.Linear(784, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)) for _ in range(blocks)
        )
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        x = self.proj(x)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)


class CharRNN(nn.Module):
    """torch_workloads.CharRNN: Embedding, the recurrent layer, Linear at every step; stateful (state detached)."""

    def __init__(self, rnn):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, rnn.input_size)
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, VOCAB)
        self.state = None

    def forward(self, tokens):
        out, state = self.rnn(self.embed(tokens), self.state)
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return self.head(out).reshape(-1, VOCAB)  # (batch * time, VOCAB), batch-major like the targets


MODELS = {  # name -> a function building the workload's model
    "mlp": lambda: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)),
    "mlp_tiny": lambda: nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10)),
    "cnn": lambda: nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    ),
    "resmlp": ResMLP,
    "lstm": lambda: CharRNN(nn.LSTM(64, 256, batch_first=True)),
    "gru": lambda: CharRNN(nn.GRU(64, 256, batch_first=True)),
    "rnn": lambda: CharRNN(nn.RNN(64, 128, batch_first=True)),
}


def training_step(name, dtype, wrap=None):
    """torch_workloads.torch_step: zero_grad, forward, mean cross-entropy, backward, clipping, optimizer step.
    `wrap(model)` gives the module the step calls (DistributedDataParallel in scaling.py)."""
    model = MODELS[name]()
    model.to(dtype)
    init_parameters(model, dtype)
    forward = model if wrap is None else wrap(model)
    params = list(model.parameters())
    if name in RECURRENT:
        optimizer, clip = optim.Adam(params, lr=ADAM_LR), CLIP_NORM
    else:
        lr, momentum = SGD_SETTINGS[name]
        optimizer, clip = optim.SGD(params, lr=lr, momentum=momentum), None

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        if clip:
            clip_grad_norm_(params, clip)
        optimizer.step()
        return loss

    return step, sum(p.array.size for p in params), "retrograd"


# ----- the ops chains and the GEMM floor ----------------------------------------------------------------
def ops_step(name, dtype):
    """The ops_* chain in retrograd, op for op as torch_workloads.ops_step: 10 blocks of a GEMM and elementwise
    ops, then backward. Measures per-op and tape overhead (ops_small) or GEMM throughput (ops_large)."""
    n = INPUT_SHAPES[name][1]
    w = rg.from_numpy(np.random.default_rng(1).uniform(-(n**-0.5), n**-0.5, (n, n)).astype(dtype))
    w.requires_grad_(True)

    def step(x, _):
        x = x.detach().requires_grad_(True)
        w.grad = None
        y = x
        for _ in range(10):
            y = rg.tanh((y @ w) * 0.1) + y * 0.5
        loss = (y * y).mean()
        loss.backward()
        return loss

    return step, n * n, "retrograd"


def gemm_bound_step(dtype):
    """torch_workloads.gemm_bound_step, verbatim: the GEMMs of an mlp step on mlp's shapes, nothing else."""
    rng = np.random.default_rng(1)
    w1, w2, w3 = (rng.uniform(-0.05, 0.05, shape).astype(dtype) for shape in [(256, 784), (256, 256), (10, 256)])

    def step(x, _):
        a1 = x @ w1.T  # forward (ReLU left out)
        a2 = a1 @ w2.T
        g3 = a2 @ w3.T  # the logits, standing in for the loss gradient of the same shape
        dw3, g2 = g3.T @ a2, g3 @ w3  # backward, layer 3
        dw2, g1 = g2.T @ a1, g2 @ w2  # layer 2
        dw1 = g1.T @ x  # layer 1: no gradient for the input
        return dw1, dw2, dw3

    return step, None, "numpy-gemm"


def build(name, dtype="float32"):
    """The workload's (step, params, lib): step(x, y) runs one step and returns its loss (or None)."""
    if name not in WORKLOADS:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")
    dtype = np.dtype(dtype)
    if name in OPS:
        return ops_step(name, dtype)
    if name == "gemm_bound_mlp":
        return gemm_bound_step(dtype)
    return training_step(name, dtype)


assert set(MODELS) | OPS | {"gemm_bound_mlp"} == set(WORKLOADS), "every workload of the spec has a retrograd step"


# ----- timing -----------------------------------------------------------------------------------------
def time_steps(step, batches, warmup, steps):
    """Run warmup + steps steps, step i on batch i % len(batches); the times of the last steps and the last loss."""
    times = []
    loss = None
    for i in range(warmup + steps):
        x, y = batches[i % len(batches)]
        start = time.perf_counter()
        loss = step(x, y)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times, loss


def run(name, steps=200, warmup=20, threads=2, dtype="float32"):
    """Build and time one workload in this process; torch_workloads.py's result fields, lib "retrograd"."""
    dtype = np.dtype(dtype)
    from retrograd.memory import retain_for_training  # (imported here like every retrograd name in this file)

    retain_for_training()  # as fit does: freed arrays' pages stay for the next step (retrograd/memory.py)
    step, params, lib = build(name, dtype)
    batches = make_data(name, dtype)
    batches = as_retrograd_batches(name, batches)
    times, loss = time_steps(step, batches, warmup, steps)
    from retrograd.ops import kernels

    return {
        "workload": name,
        "lib": lib,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "steps": steps,
        "threads": threads,
        "dtype": dtype.name,
        "params": params,
        "final_loss": loss.item() if lib == "retrograd" else None,
        "kernels": kernels.report(),  # the fast extra's compiled kernels this process ran, or why none
    }


def main(args=None):
    """The torch_workloads.py command line. Thread counts reach BLAS only if set before numpy loads: run this
    file as a script (as the harness does), or set OMP/OPENBLAS/MKL_NUM_THREADS yourself."""
    args = parse_args(args) if args is None or isinstance(args, list) else args
    if args.list:
        print("\n".join(WORKLOADS))
        return 0
    result = run(args.workload, args.steps, args.warmup, args.threads, args.dtype)
    if args.json:
        print(json.dumps(result))
    else:
        params = result["params"]
        print(
            f"{args.workload} [{result['lib']}, {args.dtype}, {args.threads} threads]: median "
            f"{result['median_s'] * 1e3:.3f} ms, min {result['min_s'] * 1e3:.3f} ms over {args.steps} steps"
            + (f"; {params:,} params, final loss {result['final_loss']:.4f}" if params else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
