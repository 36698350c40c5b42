#!/usr/bin/env python3
"""The reference training workloads timed in PyTorch on CPU: the side `retrograd bench` compares with.

This is the PyTorch twin of retrograd's workloads.py, shipped with retrograd so that a clone or an
install can compare without anything beside it. It is the team's reference specification
(torch_ref.py) copied: the same workloads, data, initial parameters, parameter order,
hyper-parameters, defaults, command line and printed fields; tests/test_bench.py checks that it
ends on the same final losses as torch_ref.py whenever that file is at hand. `retrograd bench`
runs it as a script, in a fresh process per round; `--torch-ref PATH` runs another file instead:

    python3 torch_workloads.py --list
    python3 torch_workloads.py --workload mlp [--steps 200] [--warmup 20] [--threads 2]
                               [--dtype float32|float64] [--json]

It needs PyTorch (pip install torch==2.13.0, CPU); retrograd itself does not.

The spec is WORKLOADS below plus these rules, common to every workload:
- Data: np.random.default_rng(0) draws a pool of POOL batches. Feed-forward
  workloads: all inputs first, (POOL, *INPUT_SHAPES[name]) float64 normals cast to
  --dtype, then all labels, (POOL, batch) integers in [0, 10). Recurrent ones:
  tokens (RNN_BATCH, POOL * SEQ + 1), integers in [0, VOCAB); batch c reads
  columns [c * SEQ, (c + 1) * SEQ) and targets the next token of each.
  Step i trains on batch i % POOL.
- Parameters: PyTorch's default init distributions -- Linear and Conv2d weight
  and bias U(-k, k) with k = 1/sqrt(fan_in), recurrent layers U(-k, k) with
  k = 1/sqrt(hidden_size), Embedding N(0, 1) -- drawn in float64 from
  np.random.default_rng(1) in named_parameters() order (PyTorch's names and
  layouts), then cast to --dtype.
- A step is zero_grad, forward, mean softmax cross-entropy, backward, gradient
  clipping where stated, optimizer step. --warmup steps run untimed, then each
  of --steps steps is timed with time.perf_counter; the median and the minimum
  are reported. final_loss is the loss computed in the last step, so two
  libraries given the same arguments agree on it up to rounding.
"""
import argparse
import json
import os
import statistics
import sys
import time

WORKLOADS = {
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
POOL = 10  # batches of data per workload, used in turn
VOCAB, SEQ, RNN_BATCH = 65, 50, 32


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOADS)
    parser.add_argument("--list", action="store_true", help="print the workload names and exit")
    parser.add_argument("--steps", type=int, default=200, help="timed steps")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps before them")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not (args.list or args.workload):
        parser.error("--workload or --list is required")
    return args


if __name__ == "__main__":
    # OpenMP, MKL and OpenBLAS size their thread pools when torch and numpy
    # load, so --threads must reach the environment before those imports.
    ARGS = parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError as error:
    if __name__ != "__main__":
        raise
    sys.exit(f"torch_workloads.py: {error}: it times the workloads in PyTorch (pip install torch==2.13.0, CPU)")


def make_data(name, dtype):
    """The workload's pool of batches as numpy (inputs, targets) pairs."""
    rng = np.random.default_rng(0)
    if name in RECURRENT:
        tokens = rng.integers(0, VOCAB, size=(RNN_BATCH, POOL * SEQ + 1))
        return [(tokens[:, t:t + SEQ], tokens[:, t + 1:t + SEQ + 1]) for t in range(0, POOL * SEQ, SEQ)]
    batch, *features = INPUT_SHAPES[name]
    x = rng.standard_normal((POOL, batch, *features)).astype(dtype)
    y = rng.integers(0, 10, size=(POOL, batch))
    return list(zip(x, y))


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
    """Embedding, recurrent layer, Linear at every timestep. Stateful: a call
    starts from the previous call's final state, detached (truncated BPTT)."""

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


def build_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "mlp_tiny":
        return nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10))
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )
    if name == "resmlp":
        return ResMLP()
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[name]
    return CharRNN(layer(64, 128 if name == "rnn" else 256, batch_first=True))


def init_parameters(model, dtype):
    """Draw every parameter from PyTorch's default distribution with numpy (see the module docstring)."""
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            layer = model.get_submodule(name.rpartition(".")[0])
            if isinstance(layer, nn.Embedding):
                value = rng.standard_normal(p.shape)
            else:
                n = layer.hidden_size if isinstance(layer, nn.RNNBase) else layer.weight[0].numel()
                value = rng.uniform(-(n**-0.5), n**-0.5, p.shape)
            p.copy_(torch.from_numpy(value.astype(dtype)))


def torch_step(name, dtype):
    """The workload's training step in PyTorch, and its parameter count."""
    model = build_model(name).to(getattr(torch, dtype.name))
    init_parameters(model, dtype)
    params = list(model.parameters())
    if name in RECURRENT:
        optimizer, clip = torch.optim.Adam(params, lr=2e-3), 5.0
    else:
        lr, momentum = SGD_SETTINGS[name]
        optimizer, clip = torch.optim.SGD(params, lr=lr, momentum=momentum), None

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        return loss

    return step, sum(p.numel() for p in params)


def ops_step(name, dtype):
    """The ops_* chain in PyTorch: forward through 10 blocks of elementwise ops and a GEMM, then backward."""
    n = INPUT_SHAPES[name][1]
    w = torch.from_numpy(np.random.default_rng(1).uniform(-(n**-0.5), n**-0.5, (n, n)).astype(dtype))
    w.requires_grad_(True)

    def step(x, _):
        x = x.detach().requires_grad_(True)
        w.grad = None
        y = x
        for _ in range(10):
            y = torch.tanh((y @ w) * 0.1) + y * 0.5
        loss = (y * y).mean()
        loss.backward()
        return loss

    return step


def gemm_bound_step(dtype):
    """The GEMMs of an mlp step on mlp's shapes (PyTorch's (out, in) weight layout), nothing else.
    The operands' values do not matter; the data dependencies are those of the real step."""
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

    return step


def time_steps(step, batches, warmup, steps):
    """Run warmup + steps steps, step i on batch i % len(batches); the times of the last steps and the last loss."""
    times = []
    for i in range(warmup + steps):
        x, y = batches[i % len(batches)]
        start = time.perf_counter()
        loss = step(x, y)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times, loss


def main(args):
    if args.list:
        print("\n".join(WORKLOADS))
        return
    torch.set_num_threads(args.threads)
    dtype = np.dtype(args.dtype)
    batches = make_data(args.workload, dtype)
    if args.workload == "gemm_bound_mlp":
        lib, params, step = "numpy-gemm", None, gemm_bound_step(dtype)
    elif args.workload in OPS:
        lib, params, step = "torch", INPUT_SHAPES[args.workload][1] ** 2, ops_step(args.workload, dtype)
        batches = [(torch.from_numpy(x), None) for x, _ in batches]
    else:
        lib = "torch"
        step, params = torch_step(args.workload, dtype)
        batches = [(torch.from_numpy(x), torch.from_numpy(y).flatten()) for x, y in batches]
    times, loss = time_steps(step, batches, args.warmup, args.steps)
    result = {
        "workload": args.workload,
        "lib": lib,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "steps": args.steps,
        "threads": args.threads,
        "dtype": args.dtype,
        "params": params,
        "final_loss": loss.item() if lib == "torch" else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.workload} [{lib}, {args.dtype}, {args.threads} threads]: median {result['median_s'] * 1e3:.3f} ms,"
            f" min {result['min_s'] * 1e3:.3f} ms over {args.steps} steps"
            + (f"; {params:,} params, final loss {result['final_loss']:.4f}" if params else "")
        )


if __name__ == "__main__":
    main(ARGS)
