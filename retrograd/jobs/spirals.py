"""`retrograd demo --spirals`: a network written in raw tensor ops (no retrograd.nn), gradchecked, then trained.

A two-layer tanh network, logits = tanh(x W1 + b1) W2 + b2, learns to separate
two interleaved spirals (512 points in the plane). First
`retrograd.autograd.gradcheck` compares its analytical gradients with central
differences in float64 on 16 points; then full-batch SGD with momentum, written out
by hand, trains it in float32, printing the loss as it goes and the final accuracy.
"""
import math
import time

import numpy as np

import retrograd as rg
from retrograd.autograd import gradcheck
from retrograd.memory import retain_for_training

HIDDEN = 64
POINTS = 512
CLASSES = 2


def two_spirals(points=POINTS, noise=0.08, seed=0):
    """(x, labels): `points` points on two interleaved spirals (1.5 turns each), scaled into [-1, 1]^2."""
    rng = np.random.default_rng(seed)
    half = points // 2
    turn = np.sqrt(rng.uniform(0.0, 1.0, half)) * 3 * math.pi  # sqrt: even density along the arm
    arm = np.stack([turn * np.cos(turn), turn * np.sin(turn)], axis=1) / (3 * math.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0.0, noise, (2 * half, 2))
    labels = np.concatenate([np.zeros(half, np.int64), np.ones(half, np.int64)])
    return x, labels


def init_params(dtype, seed=0):
    """W1 (2, H), b1 (H,), W2 (H, 2), b2 (2,): uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's Linear rule."""
    rng = np.random.default_rng(seed)
    shapes = [((2, HIDDEN), 2), ((HIDDEN,), 2), ((HIDDEN, CLASSES), HIDDEN), ((CLASSES,), HIDDEN)]
    return [rg.tensor(rng.uniform(-fan_in**-0.5, fan_in**-0.5, shape), dtype=dtype, requires_grad=True)
            for shape, fan_in in shapes]


def forward(params, x):
    """The network, op by op: hidden = tanh(x W1 + b1); logits = hidden W2 + b2."""
    w1, b1, w2, b2 = params
    return rg.tanh(x @ w1 + b1) @ w2 + b2


def cross_entropy(logits, one_hot):
    """Mean softmax cross-entropy written with primitive ops: logsumexp(z) - z[label]."""
    return (rg.logsumexp(logits, dim=1) - (logits * one_hot).sum(dim=1)).mean()


def check_gradients(x, one_hot, points=16):
    """gradcheck the loss with respect to every parameter, in float64 on a few points; (passed, message)."""
    params = init_params(rg.float64, seed=1)
    x64 = rg.tensor(x[:points], dtype=rg.float64)
    target = rg.tensor(one_hot[:points], dtype=rg.float64)
    what = f"float64, central differences, {len(params)} parameter tensors, {points} points"
    try:
        gradcheck(lambda *p: cross_entropy(forward(p, x64), target), tuple(params),
                  eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True)
    except Exception as error:  # gradcheck explains the failure; the demo reports it and carries on
        return False, f"gradcheck ({what}): FAILED\n{error}"
    return True, f"gradcheck ({what}): passed"


def accuracy(params, x, labels):
    with rg.no_grad():
        return float((forward(params, x).array.argmax(axis=1) == labels).mean())


def run(quick=False, steps=None, lr=0.5, momentum=0.9):
    """gradcheck, then train the spiral classifier for `steps` steps (default 3000, or 300 when `quick`).
    Returns the exit status: 1 if gradcheck failed, else 0."""
    steps = steps or (300 if quick else 3000)
    every = max(1, steps // 10)
    x_np, labels = two_spirals()
    one_hot_np = np.eye(CLASSES)[labels]

    passed, message = check_gradients(x_np, one_hot_np)
    print(message)

    retain_for_training()  # freed arrays' pages stay for the next step (retrograd/memory.py)
    start = time.perf_counter()
    params = init_params(rg.float32)
    velocity = [np.zeros_like(p.array) for p in params]
    x, one_hot = rg.tensor(x_np, dtype=rg.float32), rg.tensor(one_hot_np, dtype=rg.float32)
    print(f"training a 2-{HIDDEN}-{CLASSES} tanh network on {POINTS} two-spiral points "
          f"(full batch, SGD lr {lr} momentum {momentum}, {steps} steps)")
    for step in range(1, steps + 1):
        for p in params:
            p.grad = None
        loss = cross_entropy(forward(params, x), one_hot)
        loss.backward()
        for p, v in zip(params, velocity):  # momentum SGD, PyTorch's form: v = mu v + g; p -= lr v
            v *= momentum
            v += p.grad.array
            p.array -= lr * v
        if step % every == 0 or step == 1:
            print(f"step {step:5d}  loss {loss.item():.4f}")
    elapsed = time.perf_counter() - start
    print(f"final accuracy {accuracy(params, x, labels):.1%} on {POINTS} points ({elapsed:.1f} s)")
    return 0 if passed else 1
