"""softmax's and log_softmax's compiled row passes (ops/softmax_kernels.py, the fast extra) against their NumPy
code, bit for bit, and both modes against PyTorch.

exp and log stay NumPy's; the kernels fuse the passes around them with activation.py's order of operations and
NumPy's pairwise row sums, so outputs and gradients are the NumPy code's bits for every shape and dtype (float16
computes in float32, as there), rows with NaN, +-inf or only -inf included. Along another axis than the last,
or on input the kernels do not take, the NumPy code runs.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
from helpers import assert_parity, bits
from retrograd.ops import activation as A
from retrograd.ops import kernels

OPS = [pytest.param(A.softmax, torch.softmax, id="softmax"), pytest.param(A.log_softmax, torch.log_softmax,
                                                                          id="log_softmax")]


def _both_ways(op, x, g, dim=-1, **kwargs):
    """[(y, dL/dx) with the kernels on, then off]."""
    results = []
    for on in (True, False):
        previous = kernels.set_enabled(on)
        try:
            leaf = rg.from_numpy(x.copy()).requires_grad_(True)
            with np.errstate(all="ignore"):
                y = op(leaf, dim, **kwargs)
                y.backward(rg.from_numpy(g))
            results.append((y.detach().numpy().copy(), leaf.grad.numpy().copy()))
        finally:
            kernels.set_enabled(previous)
    return results


def _assert_same_bits(compiled, reference):
    for name, ours, theirs in zip(["y", "dL/dx"], compiled, reference):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
        np.testing.assert_array_equal(bits(ours), bits(theirs), err_msg=name)


@pytest.mark.parametrize("op", [A.softmax, A.log_softmax], ids=["softmax", "log_softmax"])
@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 40), min_size=1, max_size=3), dtype=st.sampled_from(
       [np.float32, np.float64, np.float16]), scale=st.sampled_from([0.1, 3.0, 50.0]), seed=st.integers(0, 2**16))
def test_softmax_kernels_give_numpys_bits(op, shape, dtype, scale, seed):
    rng = np.random.default_rng(seed)
    x = (scale * rng.standard_normal(shape)).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    _assert_same_bits(*_both_ways(op, x, g))


@pytest.mark.parametrize("op", [A.softmax, A.log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 512), (3, 768), (2, 1031), (7, 1)])
def test_softmax_kernels_give_numpys_bits_on_long_rows(op, shape, dtype):
    rng = np.random.default_rng(shape[1])
    x, g = (4 * rng.standard_normal((2,) + shape)).astype(dtype)
    _assert_same_bits(*_both_ways(op, x, g))


@pytest.mark.parametrize("op", [A.softmax, A.log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_kernels_on_non_finite_rows(op, dtype):
    """A row with NaN (NaN throughout), with +inf (NaN at it: inf - inf), with -inf (e^-inf = 0: a masked entry),
    only -inf (NaN), and near overflow: NumPy's bits."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 11)).astype(dtype)
    x[0, 4], x[1, 2], x[2, 7], x[3] = np.nan, np.inf, -np.inf, -np.inf
    x[4] = np.finfo(dtype).max * np.sign(x[4])
    g = rng.standard_normal((6, 11)).astype(dtype)
    compiled, reference = _both_ways(op, x, g)
    _assert_same_bits(compiled, reference)
    y = compiled[0]
    assert np.isnan(y[0]).all() and np.isnan(y[3]).all()
    assert (y[2, 7] == 0) if op is A.softmax else (y[2, 7] == -np.inf)


@pytest.mark.parametrize("op", [A.softmax, A.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_kernels_take_a_broadcast_gradient_and_a_dtype_argument(op):
    """y.sum()'s gradient is a broadcast view; dtype=float64 computes float32 input in float64 and sends the
    gradient back in float32: the same bits as the NumPy code either way."""
    x = np.random.default_rng(5).standard_normal((5, 6, 17)).astype(np.float32)
    for kwargs in ({}, {"dtype": rg.float64}):
        results = []
        for on in (True, False):
            previous = kernels.set_enabled(on)
            try:
                leaf = rg.from_numpy(x.copy()).requires_grad_(True)
                y = op(leaf * 1.0, -1, **kwargs)
                y.sum().backward()
                results.append((y.detach().numpy().copy(), leaf.grad.numpy().copy()))
            finally:
                kernels.set_enabled(previous)
        _assert_same_bits(*results)
        assert results[0][0].dtype == (np.float64 if kwargs else np.float32) and results[0][1].dtype == np.float32


@pytest.mark.parametrize("case", ["dim 0", "strided", "empty", "0-d", "wider gradient"])
def test_softmax_leaves_what_the_kernels_cannot_take_to_numpy(monkeypatch, case):
    """Another axis than the last, a non-contiguous input, no entries, a 0-d input, a float64 gradient for a float32
    output (a user's seed): the NumPy code runs, with its results."""
    ran = []  # the names of the kernels handed out
    real = kernels.compiled
    monkeypatch.setattr(kernels, "compiled", lambda fn, dtype: (real(fn, dtype) is not None and ran.append(fn.__name__))
                        or real(fn, dtype))
    rng = np.random.default_rng(6)
    shape = {"empty": (3, 0), "0-d": ()}.get(case, (4, 9))
    x = rng.standard_normal(shape).astype(np.float32)
    if case == "strided":
        x = np.asfortranarray(x)
    g = rng.standard_normal(shape).astype(np.float64 if case == "wider gradient" else np.float32)
    previous = kernels.set_enabled(True)
    try:
        for op in (A.softmax, A.log_softmax):
            leaf = rg.from_numpy(x).requires_grad_(True)
            y = op(leaf, 0 if case in ("dim 0", "0-d") else -1)
            if case == "wider gradient":  # backward() casts a seed to y's dtype: hand the VJP one directly
                (grad,) = y.grad_fn.backward_fn(g)
                assert grad.dtype == np.float32 and grad.shape == shape
                continue
            y.backward(rg.from_numpy(g))
            assert y.shape == shape and leaf.grad.shape == shape
    finally:
        kernels.set_enabled(previous)
    expected = ["softmax_shift", "softmax_normalize", "softmax_shift"] if case == "wider gradient" else []
    assert ran == expected  # with a wider gradient, only the backward passes fall back


@pytest.mark.parametrize("rg_op, torch_op", OPS)
@pytest.mark.parametrize("shape,dim", [((4, 6), -1), ((2, 3, 50), -1), ((2, 3, 5), 1), ((7,), 0)])
def test_softmax_matches_torch_in_both_modes(mode, rg_op, torch_op, shape, dim):
    x = 3 * np.random.default_rng(len(shape) + dim).standard_normal(shape)
    assert_parity(lambda t: rg_op(t, dim), lambda t: torch_op(t, dim), x, rtol=1e-10, atol=1e-12)
    assert_parity(lambda t: rg_op(t, dim), lambda t: torch_op(t, dim), x.astype(np.float32), rtol=2e-5, atol=1e-6)


def test_softmax_module_in_a_transformer_sized_batch_matches_torch_in_both_modes(mode):
    """nn.Softmax and nn.LogSoftmax over (batch, heads, tokens, tokens) attention scores, float32."""
    x = 4 * np.random.default_rng(8).standard_normal((2, 4, 16, 16)).astype(np.float32)
    assert_parity(rg.nn.Softmax(-1), torch.nn.Softmax(-1), x, rtol=2e-5, atol=1e-6)
    assert_parity(rg.nn.LogSoftmax(-1), torch.nn.LogSoftmax(-1), x, rtol=2e-5, atol=1e-5)
