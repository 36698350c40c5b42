"""Every optimizer's step against PyTorch's, bit for bit, over the product of its options (float32 and float64).

The reference is PyTorch's own optimizer code in a child process (tests/torch_optim_reference.py) run with its
portable kernels and a correctly rounded square root: a stock PyTorch build rounds its multiply-adds as one
operation on AVX2/AVX-512 CPUs and takes its square roots from MKL, neither of which NumPy can follow (see that
script). What is left is the order PyTorch's formulas round in, which retrograd follows exactly. Against the
stock build in this process, `test_stock_pytorch_is_within_the_measured_ulps` bounds the difference of one step.
"""
import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import bits
import torch_optim_reference as reference


def _product(**choices):
    return [dict(zip(choices, values)) for values in itertools.product(*choices.values())]


BETAS = [(0.9, 0.999), (0.3, 0.5)]  # 1 - beta1 >= 0.5 takes lerp's other branch
OPTIONS = {
    "RMSprop": _product(lr=[0.01], momentum=[0.0, 0.9], centered=[False, True], weight_decay=[0.0, 0.1],
                        maximize=[False, True], alpha=[0.99, 0.3], eps=[1e-8, 0.1]),
    "SGD": [o for o in _product(lr=[0.1], momentum=[0.0, 0.9], dampening=[0.0, 0.25], weight_decay=[0.0, 0.1],
                                nesterov=[False, True], maximize=[False, True])
            if not (o["nesterov"] and (o["dampening"] or not o["momentum"]))],
    "Adam": _product(lr=[0.01], betas=BETAS, weight_decay=[0.0, 0.1], amsgrad=[False, True],
                     maximize=[False, True], eps=[1e-8, 0.1]),
    "AdamW": _product(lr=[0.01], betas=BETAS, weight_decay=[0.0, 0.1], amsgrad=[False, True],
                      maximize=[False, True], eps=[1e-8, 0.1]),
    "Adagrad": _product(lr=[0.1], lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.1], initial_accumulator_value=[0.0, 0.5],
                        maximize=[False, True], eps=[1e-10, 0.1]),
    "Adadelta": _product(lr=[1.0, 0.5], rho=[0.9, 0.3], weight_decay=[0.0, 0.1], maximize=[False, True],
                         eps=[1e-6, 0.1]),
    "Adamax": _product(lr=[0.01], betas=BETAS, weight_decay=[0.0, 0.1], maximize=[False, True], eps=[1e-8, 0.1]),
    "NAdam": _product(lr=[0.01], betas=BETAS, weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True],
                      momentum_decay=[4e-3, 0.1], maximize=[False, True]),
    "RAdam": _product(lr=[0.01], betas=BETAS, weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True],
                      maximize=[False, True], eps=[1e-8, 0.1]),
    "ASGD": _product(lr=[0.1], lambd=[1e-4, 0.1], t0=[1e6, 2.0], weight_decay=[0.0, 0.1], maximize=[False, True]),
    "Rprop": _product(lr=[0.01], step_sizes=[(1e-6, 50), (1e-3, 0.02)], maximize=[False, True]),
}
CASES = [(name, options, dtype) for name, choices in OPTIONS.items() for options in choices
         for dtype in ("float32", "float64")]


@pytest.fixture(scope="module")
def torch_results(tmp_path_factory):
    """PyTorch's arrays for every case, from one child process (see the module docstring): per case, per
    parameter, {'param': its values, state key: the state tensor}."""
    out = tmp_path_factory.mktemp("torch_optim") / "reference.npz"
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    done = subprocess.run([sys.executable, reference.__file__, str(out)], input=json.dumps(CASES), text=True,
                          capture_output=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    results = [[{} for _ in reference.SHAPES] for _ in CASES]
    with np.load(out) as arrays:
        for name in arrays.files:  # '{case}/param{i}' or '{case}/param{i}.{state key}'
            case, entry = name.split("/")
            param, _, key = entry.partition(".")
            results[int(case)][int(param[len("param"):])][key or "param"] = arrays[name]
    return results


def _run_retrograd(name, options, dtype):
    inits, grads = reference.problem(np.dtype(dtype))
    params = [rg.nn.Parameter(rg.from_numpy(init.copy())) for init in inits]
    optimizer = getattr(rg.optim, name)(params, **options)
    for step_grads in grads:
        for param, grad in zip(params, step_grads):
            param.grad = rg.from_numpy(grad.copy())
        optimizer.step()
    return params, optimizer


def _differences(params, optimizer, expected):
    """The arrays (parameter values, state tensors) whose bits differ from PyTorch's, by name."""
    differ = []
    for i, (param, theirs) in enumerate(zip(params, expected)):
        for key, value in theirs.items():
            ours = param.array if key == "param" else np.asarray(optimizer.state[param][key].array)
            if ours.dtype != value.dtype or not np.array_equal(bits(ours), bits(value)):
                differ.append(f"param{i}" + ("" if key == "param" else f".{key}"))
    return differ


@pytest.mark.parametrize("name", list(OPTIONS))
def test_the_same_bits_as_pytorch(torch_results, name):
    """Parameters and every state tensor, after 7 steps of each option combination in float32 and float64."""
    failures = []
    for index, (case_name, options, dtype) in enumerate(CASES):
        if case_name == name:
            differ = _differences(*_run_retrograd(name, options, dtype), torch_results[index])
            if differ:
                failures.append(f"{dtype} {options}: {', '.join(differ)}")
    assert not failures, f"{len(failures)} cases differ from PyTorch:\n" + "\n".join(failures)


# The most one step of the stock PyTorch build (FMA kernels, MKL's square root) moved any float32 entry away from
# retrograd's, in ulps of the largest entry of that array, measured here (AVX-512, MKL 2024.2) over the cases
# above. An ulp of each entry would be no bound: where an update nearly cancels an entry (theta + update ~ 0),
# one rounding of the update is many ulps of the result, and so it is for a one-entry parameter (Adadelta's 16,
# SGD's, ASGD's and Adagrad's 4). RMSprop's 64 is centered RMSprop's momentum buffer: with eps 1e-8, g / (sqrt(v -
# a^2) + eps) scales up the last bit of a's lerp, where v - a^2 nearly cancels. Rprop multiplies, clamps and takes
# signs only, and is bit-identical to the stock build too.
STOCK_ULPS = {"RMSprop": 64, "SGD": 4, "Adam": 2, "AdamW": 1, "Adagrad": 4, "Adadelta": 16, "Adamax": 1, "NAdam": 1,
              "RAdam": 1, "ASGD": 4, "Rprop": 0}


def _ulps_of_largest(ours, theirs):
    """max |ours - theirs| in ulps of theirs' largest entry (0 for an empty array)."""
    if not theirs.size:
        return 0.0
    return float(np.abs(ours.astype(np.float64) - theirs).max() / np.spacing(np.abs(theirs).max()))


@pytest.mark.parametrize("name", list(OPTIONS))
def test_stock_pytorch_is_within_the_measured_ulps(name):
    """Each step of each float32 case starts from PyTorch's parameters and state (copied into retrograd's), so
    the difference measured is one step's, not several steps' accumulated."""
    worst = 0.0
    for options in OPTIONS[name]:
        inits, grads = reference.problem(np.dtype(np.float32))
        ours = [rg.nn.Parameter(rg.from_numpy(init.copy())) for init in inits]
        theirs = [torch.nn.Parameter(torch.from_numpy(init.copy())) for init in inits]
        optimizer, stock = getattr(rg.optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)
        for step_grads in grads:
            for mine, its, grad in zip(ours, theirs, step_grads):
                mine.grad, its.grad = rg.from_numpy(grad.copy()), torch.from_numpy(grad.copy())
            optimizer.step()
            stock.step()
            for mine, its in zip(ours, theirs):
                pairs = [(mine.array, its.detach().numpy())] + [
                    (optimizer.state[mine][key].array, value.numpy()) for key, value in stock.state[its].items()
                    if torch.is_tensor(value) and key != "step"]
                for array, expected in pairs:
                    worst = max(worst, _ulps_of_largest(array, expected))
                    array[...] = expected
    assert worst <= STOCK_ULPS[name]
