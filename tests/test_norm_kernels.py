"""layer_norm's and training-mode batch_norm's compiled kernels (ops/norm_kernels.py, the fast extra) against their
NumPy code, bit for bit, and NumPy's pairwise row sum (ops/reduce_kernels.py) that makes this possible, against
np.add.reduce.

The kernels do norm.py's float operations in its order, with NumPy's summation order, so y, dL/dx, dL/dweight and
dL/dbias (and batch norm's running statistics) are the NumPy code's bits for every shape, dtype, eps and affine
choice, non-finite entries included. Each case runs the op with the kernels on, then off; then both modes
against PyTorch.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
from helpers import assert_parity, bits
from retrograd.ops import kernels, norm, reduce_kernels

DTYPES = [np.float32, np.float64]


def _row_sums(rows):
    """pairwise_sum over each row of a 2-D array, compiled as a kernel calls it."""
    def row_sums(x, out):
        plan, sums = reduce_kernels.sum_plan(x.shape[1], x)
        for r in range(x.shape[0]):
            out[r] = reduce_kernels.pairwise_sum(x[r], plan, sums)

    out = np.empty(rows.shape[0], rows.dtype)
    kernels.compiled(row_sums, rows.dtype)(rows, out)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_pairwise_sum_is_numpys_sum_bit_for_bit(dtype):
    """Every row length to 300 (short rows, one block, every split) and longer ones with uneven halvings."""
    previous = kernels.set_enabled(True)
    try:
        rng = np.random.default_rng(7)
        for n in list(range(0, 301)) + [511, 512, 768, 1000, 1031, 4097, 70001]:
            rows = (rng.standard_normal((3, n)) * 10.0 ** rng.integers(-3, 4, (3, n))).astype(dtype)
            if n:
                rows[1, 0] = -0.0  # NumPy's sum starts at +0: a row of -0.0 sums to +0.0
                rows[2] = -0.0
            np.testing.assert_array_equal(bits(_row_sums(rows)), bits(np.add.reduce(rows, axis=1)), err_msg=f"n={n}")
        special = np.array([[np.inf, 1, 2, 3, 4, 5, 6, 7, 8], [np.inf, -np.inf] + [1.0] * 7, [np.nan] + [1.0] * 8,
                            [3e38, 3e38] + [0.0] * 7], dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            np.testing.assert_array_equal(_row_sums(special), np.add.reduce(special, axis=1))
    finally:
        kernels.set_enabled(previous)


def _layer_norm_both_ways(x, normalized, w, b, g, eps=1e-5):
    """[(y, dL/dx, dL/dw, dL/db) with the kernels on, then off]; None for a parameter that is absent."""
    results = []
    for on in (True, False):
        previous = kernels.set_enabled(on)
        try:
            inputs = [rg.from_numpy(a.copy()).requires_grad_(True) if a is not None else None for a in (x, w, b)]
            with np.errstate(all="ignore"):
                y = norm.layer_norm(inputs[0], normalized, inputs[1], inputs[2], eps=eps)
                y.backward(rg.from_numpy(g))
            results.append([y.detach().numpy().copy()] + [t.grad.numpy().copy() if t is not None else None
                                                          for t in inputs])
        finally:
            kernels.set_enabled(previous)
    return results


def _assert_same_bits(compiled, reference, dtype):
    """The same bits, except the sign of a NaN: where two NaNs meet in a sum, x86 returns the first operand's, and
    which operand comes first is the compiler's choice (NumPy's loop and Numba's differ). NaN where NaN."""
    for name, ours, theirs in zip(["y", "dL/dx", "dL/dweight", "dL/dbias"], compiled, reference):
        if theirs is None:
            assert ours is None, name
            continue
        assert ours.dtype == dtype and ours.shape == theirs.shape, name
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=name)
        np.testing.assert_array_equal(bits(np.where(np.isnan(ours), np.nan, ours)),
                                      bits(np.where(np.isnan(theirs), np.nan, theirs)), err_msg=name)


@settings(max_examples=40, deadline=None)
@given(lead=st.lists(st.integers(1, 5), min_size=0, max_size=2), normalized=st.lists(st.integers(1, 40), min_size=1,
       max_size=2), dtype=st.sampled_from(DTYPES), affine=st.sampled_from(["both", "weight", "bias", "none"]),
       eps=st.sampled_from([1e-5, 1e-12, 0.5]), seed=st.integers(0, 2**16))
def test_layer_norm_kernels_give_numpys_bits(lead, normalized, dtype, affine, eps, seed):
    rng = np.random.default_rng(seed)
    shape, normalized = tuple(lead + normalized), tuple(normalized)
    x = (rng.standard_normal(shape) * 10.0 ** rng.integers(-2, 3) + rng.standard_normal()).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(normalized).astype(dtype) if affine in ("both", "weight") else None
    b = rng.standard_normal(normalized).astype(dtype) if affine in ("both", "bias") else None
    compiled, reference = _layer_norm_both_ways(x, normalized, w, b, g, eps)
    _assert_same_bits(compiled, reference, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 512), (3, 768), (2, 1031), (5, 1), (300, 2)])
def test_layer_norm_kernels_give_numpys_bits_on_long_rows(shape, dtype):
    """Rows of transformer widths and an odd length past one halving; rows of one entry (x_hat = 0: the NumPy
    code runs) and of two."""
    rng = np.random.default_rng(shape[1])
    x, g = (rng.standard_normal((2,) + shape) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal((2, shape[1])).astype(dtype)
    compiled, reference = _layer_norm_both_ways(x, shape[1:], w, b, g)
    _assert_same_bits(compiled, reference, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_kernels_on_non_finite_rows(dtype):
    """A row with NaN, with +-inf, a constant row (var 0: x_hat 0 with eps, inf without), values near overflow:
    the NumPy code's NaN, inf and zeros, bit for bit (one NaN in a row makes the whole row NaN in both)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 9)).astype(dtype)
    x[0, 3], x[1, 0], x[2, 5], x[3] = np.nan, np.inf, -np.inf, 2.5
    x[4] = np.finfo(dtype).max / 2 * np.sign(x[4])
    g = rng.standard_normal((6, 9)).astype(dtype)
    g[5, 2] = np.inf
    w, b = rng.standard_normal((2, 9)).astype(dtype)
    for eps in (1e-5, 0.0):
        compiled, reference = _layer_norm_both_ways(x, (9,), w, b, g, eps)
        _assert_same_bits(compiled, reference, dtype)
        y = compiled[0]
        assert np.isnan(y[0]).all() and np.isnan(y[1]).all()  # a NaN or an inf makes its row's mean NaN or inf
        if eps:  # the constant row: x_hat = 0, so y = bias
            np.testing.assert_array_equal(y[3], b)
        else:  # var 0 and eps 0: rstd = inf, x_hat = 0 * inf = NaN, as in NumPy (and PyTorch)
            assert np.isnan(y[3]).all()


def test_layer_norm_kernel_takes_a_broadcast_gradient():
    """y.sum()'s gradient is a broadcast view of one value: the same bits as the NumPy code."""
    x = np.random.default_rng(2).standard_normal((4, 6, 16)).astype(np.float32)
    results = []
    for on in (True, False):
        previous = kernels.set_enabled(on)
        try:
            leaf, weight = rg.from_numpy(x.copy()).requires_grad_(True), rg.ones(16, requires_grad=True)
            norm.layer_norm(leaf * 2.0, (16,), weight).sum().backward()
            results.append((leaf.grad.numpy().copy(), weight.grad.numpy().copy()))
        finally:
            kernels.set_enabled(previous)
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(bits(ours), bits(theirs))


@pytest.mark.parametrize("case", ["float16", "strided", "mixed dtypes", "empty row", "empty batch", "one entry"])
def test_layer_norm_leaves_what_the_kernels_cannot_take_to_numpy(monkeypatch, case):
    """float16, a non-contiguous input, a weight of another dtype, zero-size shapes, rows of one entry (NumPy sums
    their column pairwise): the NumPy code runs."""
    ran = []  # the names of the kernels handed out (compiled() gives None where they do not cover the dtype)
    real = kernels.compiled
    monkeypatch.setattr(kernels, "compiled", lambda fn, dtype: (real(fn, dtype) is not None and ran.append(fn.__name__))
                        or real(fn, dtype))
    rng = np.random.default_rng(3)
    shape = {"empty row": (3, 0), "empty batch": (0, 5), "one entry": (3, 5, 1)}.get(case, (4, 10))
    x = rng.standard_normal(shape).astype(np.float16 if case == "float16" else np.float32)
    if case == "strided":
        x = np.asfortranarray(x)
    w = rng.standard_normal(shape[-1:]).astype(np.float64 if case == "mixed dtypes" else x.dtype)
    previous = kernels.set_enabled(True)
    try:
        with np.errstate(all="ignore"):
            y = norm.layer_norm(rg.from_numpy(x), shape[-1:], rg.from_numpy(w))
    finally:
        kernels.set_enabled(previous)
    assert "layer_norm_forward" not in ran
    assert y.shape == shape and y.dtype == np.result_type(x, w)


@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 5))])
def test_layer_norm_matches_torch_in_both_modes(mode, shape, normalized):
    rng = np.random.default_rng(len(shape) * 10 + len(normalized))
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(normalized), rng.standard_normal(normalized)
    assert_parity(lambda x, w, b: norm.layer_norm(x, normalized, w, b),
                  lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b), x, w, b)
    assert_parity(lambda x, w, b: norm.layer_norm(x, normalized, w, b, eps=1e-3),
                  lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b, eps=1e-3),
                  *(a.astype(np.float32) for a in (x, w, b)), rtol=1e-5, atol=1e-5)


def test_layernorm_module_matches_torch_in_both_modes(mode):
    """nn.LayerNorm on (batch, tokens, width) float32, values and the gradients of x, weight and bias."""
    ours, theirs = rg.nn.LayerNorm(64), torch.nn.LayerNorm(64)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours.load_state_dict({k: v.numpy().copy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((4, 7, 64)).astype(np.float32)
    g = np.random.default_rng(6).standard_normal((4, 7, 64)).astype(np.float32)
    leaf, torch_leaf = rg.from_numpy(x.copy()).requires_grad_(True), torch.from_numpy(x.copy()).requires_grad_(True)
    y, torch_y = ours(leaf), theirs(torch_leaf)
    y.backward(rg.from_numpy(g))
    torch_y.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y.detach().numpy(), torch_y.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(leaf.grad.numpy(), torch_leaf.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-5, atol=1e-5)


def _batch_norm_both_ways(x, w, b, g, eps=1e-5, momentum=0.1):
    """[(y, dL/dx, dL/dw, dL/db, running_mean, running_var) with the kernels on, then off]."""
    results = []
    for on in (True, False):
        previous = kernels.set_enabled(on)
        try:
            inputs = [rg.from_numpy(a.copy()).requires_grad_(True) if a is not None else None for a in (x, w, b)]
            running = rg.zeros(x.shape[1], dtype=x.dtype), rg.ones(x.shape[1], dtype=x.dtype)
            with np.errstate(all="ignore"):
                y = norm.batch_norm(inputs[0], *running, inputs[1], inputs[2], True, momentum, eps)
                y.backward(rg.from_numpy(g))
            results.append([y.detach().numpy().copy()] + [t.grad.numpy().copy() if t is not None else None
                                                          for t in inputs] + [r.numpy().copy() for r in running])
        finally:
            kernels.set_enabled(previous)
    return results


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 12), min_size=2, max_size=4).filter(lambda s: s[1] > 1 and np.prod(s) > s[1]),
       dtype=st.sampled_from(DTYPES), affine=st.sampled_from(["both", "weight", "bias", "none"]),
       eps=st.sampled_from([1e-5, 0.5]), seed=st.integers(0, 2**16))
def test_batch_norm_kernels_give_numpys_bits(shape, dtype, affine, eps, seed):
    """(N, C), (N, C, L), (N, C, H, W): y, the three gradients and the running statistics."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 10.0 ** rng.integers(-2, 3) + rng.standard_normal()).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(shape[1]).astype(dtype) if affine in ("both", "weight") else None
    b = rng.standard_normal(shape[1]).astype(dtype) if affine in ("both", "bias") else None
    compiled, reference = _batch_norm_both_ways(x, w, b, g, eps)
    _assert_same_bits(compiled[:4], reference[:4], dtype)
    for ours, theirs in zip(compiled[4:], reference[4:]):  # running_mean, running_var
        np.testing.assert_array_equal(bits(ours), bits(theirs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(32, 8, 32, 32), (3, 4, 300), (1, 5, 130)])
def test_batch_norm_kernels_give_numpys_bits_on_large_planes(shape, dtype):
    """Planes past one pairwise block (1024, 300, 130 entries), a batch of one."""
    rng = np.random.default_rng(shape[2])
    x, g = (rng.standard_normal((2,) + shape) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal((2, shape[1])).astype(dtype)
    compiled, reference = _batch_norm_both_ways(x, w, b, g)
    _assert_same_bits(compiled[:4], reference[:4], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_kernels_on_non_finite_channels(dtype):
    """A channel holding NaN, one holding inf, a constant channel (var 0), and an inf in the gradient."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 5, 6)).astype(dtype)
    x[1, 0, 2], x[2, 1, 0], x[:, 2] = np.nan, np.inf, 1.5
    g = rng.standard_normal((4, 5, 6)).astype(dtype)
    g[0, 3, 1] = np.inf
    w, b = rng.standard_normal((2, 5)).astype(dtype)
    compiled, reference = _batch_norm_both_ways(x, w, b, g)
    _assert_same_bits(compiled[:4], reference[:4], dtype)
    y = compiled[0]
    assert np.isnan(y[:, 0]).all() and np.isnan(y[:, 1]).all()
    np.testing.assert_array_equal(y[:, 2], np.broadcast_to(b[2], y[:, 2].shape))  # x_hat = 0: y = bias


@pytest.mark.parametrize("case", ["one channel", "eval", "float16", "strided", "mixed dtypes"])
def test_batch_norm_leaves_what_the_kernels_cannot_take_to_numpy(monkeypatch, case):
    """One channel (NumPy sums the batch as one run), evaluation mode, float16, a non-contiguous input, a weight of
    another dtype: the NumPy code runs."""
    ran = []  # the names of the kernels handed out
    real = kernels.compiled
    monkeypatch.setattr(kernels, "compiled", lambda fn, dtype: (real(fn, dtype) is not None and ran.append(fn.__name__))
                        or real(fn, dtype))
    rng = np.random.default_rng(10)
    shape = (4, 1, 5) if case == "one channel" else (4, 3, 5)
    x = rng.standard_normal(shape).astype(np.float16 if case == "float16" else np.float32)
    if case == "strided":
        x = np.asfortranarray(x)
    w = rng.standard_normal(shape[1]).astype(np.float64 if case == "mixed dtypes" else x.dtype)
    previous = kernels.set_enabled(True)
    try:
        y = norm.batch_norm(rg.from_numpy(x), rg.zeros(shape[1]), rg.ones(shape[1]), rg.from_numpy(w), None,
                            training=case != "eval")
    finally:
        kernels.set_enabled(previous)
    assert "batch_norm_forward" not in ran
    assert y.shape == shape


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_matches_torch_over_steps_in_both_modes(mode, momentum):
    """Three training steps of float32 BatchNorm2d: outputs, gradients and running statistics; then evaluation."""
    ours, theirs = rg.nn.BatchNorm2d(4, momentum=momentum), torch.nn.BatchNorm2d(4, momentum=momentum)
    rng = np.random.default_rng(11)
    for _ in range(3):
        x = (2 * rng.standard_normal((5, 4, 6, 6)) + 1).astype(np.float32)
        assert_parity(ours, theirs, x, rtol=1e-4, atol=1e-5)
        for ours_p, theirs_p in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(ours_p.grad.numpy(), theirs_p.grad.numpy(), rtol=1e-4, atol=1e-4)
        ours.zero_grad()
        theirs.zero_grad()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
