"""relu's compiled kernels (ops/activation_kernels.py, the fast extra) against its NumPy code, bit for bit.

Forward: np.maximum(0, x), NaN passing, -0.0 kept (PyTorch's relu). Backward: pass_where's select, g where
y != 0, else +0.0 (as PyTorch writes a blocked entry, even for a negative, infinite or NaN g). Bits are compared
as unsigned integers, every shape and dtype the kernels take, and the cases they leave to NumPy (other dtypes,
non-contiguous input, a gradient of another layout) give NumPy's result.
"""
import numpy as np
import pytest

import retrograd as rg
from helpers import bits
import retrograd.nn.functional as F
from retrograd.ops import kernels

SHAPES = [(), (1,), (7, 5), (33, 17), (2, 3, 4, 5), (0, 3)]
DTYPES = [np.float32, np.float64]
SPECIAL = [np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-40, -1e-40]  # (1e-40: a float32 subnormal)


def _relu_both_ways(x_array, grad_array, inplace=False):
    """(y, dL/dx) from relu with the kernels on, then off."""
    results = []
    for on in (True, False):
        previous = kernels.set_enabled(on)
        try:
            x = rg.from_numpy(x_array.copy()).requires_grad_(True)
            y = F.relu(x * 1 if inplace else x, inplace=inplace)
            y.backward(rg.from_numpy(grad_array))
            results.append((y.detach().numpy().copy(), x.grad.numpy().copy()))
        finally:
            kernels.set_enabled(previous)
    return results


def _inputs(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    grad = rng.standard_normal(shape).astype(dtype)
    if x.size:  # the special values at the front, against gradients of both signs
        flat = x.reshape(-1)
        flat[:len(SPECIAL)] = np.array(SPECIAL, dtype)[:flat.size]
    return x, grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("inplace", [False, True])
def test_relu_kernels_give_numpys_bits(shape, dtype, inplace):
    x, grad = _inputs(shape, dtype, seed=len(shape))
    (y_k, dx_k), (y_n, dx_n) = _relu_both_ways(x, grad, inplace)
    assert y_k.dtype == dtype and dx_k.dtype == dtype and y_k.shape == shape
    np.testing.assert_array_equal(bits(y_k), bits(y_n))
    np.testing.assert_array_equal(bits(dx_k), bits(dx_n))


def test_relu_kernel_values_at_the_kink_and_nan():
    x = np.array([-1.0, -0.0, 0.0, 2.0, np.nan], np.float32)
    grad = np.array([-3.0, -3.0, 3.0, 4.0, 5.0], np.float32)
    (y, dx), _ = _relu_both_ways(x, grad)
    np.testing.assert_array_equal(y, [0, 0, 0, 2, np.nan])
    assert np.signbit(y[1]) and not np.signbit(y[2])  # -0.0 stays -0.0, as in PyTorch (relu(-0.0) is -0.0)
    np.testing.assert_array_equal(dx, [0, 0, 0, 4, 5])  # relu'(0) = 0; NaN passes the gradient, as in PyTorch
    assert not np.signbit(dx[0]) and not np.signbit(dx[1])  # blocked -3: +0.0, as PyTorch's select writes it


@pytest.mark.parametrize("grad_value", [np.inf, 3e38, np.nan])  # an inf times 0 would be NaN; a sum overflowing
def test_relu_kernel_backward_blocks_non_finite_gradients_with_plus_zero(grad_value):
    x = np.array([-1.0, 1.0, 2.0, -2.0], np.float32)
    grad = np.array([grad_value, grad_value, grad_value, -1.0], np.float32)
    (_, dx_k), (_, dx_n) = _relu_both_ways(x, grad)
    np.testing.assert_array_equal(bits(dx_k), bits(dx_n))
    np.testing.assert_array_equal(bits(dx_k[[0, 3]]), [0, 0])  # blocked entries exactly +0.0, not inf * 0 = NaN
    np.testing.assert_array_equal(bits(dx_k[1:3]), bits(grad[1:3]))  # passed entries keep g's bits


@pytest.mark.parametrize("case", ["int32", "float16", "strided", "fortran grad"])
def test_relu_leaves_what_the_kernels_cannot_take_to_numpy(monkeypatch, case):
    compiled = []  # whether each kernel asked for was there to run
    real = kernels.compiled
    monkeypatch.setattr(kernels, "compiled", lambda fn, dtype: compiled.append(real(fn, dtype) is not None)
                        or real(fn, dtype))
    rng = np.random.default_rng(0)
    dtype = {"int32": np.int32, "float16": np.float16}.get(case, np.float32)
    x = (10 * rng.standard_normal((6, 8))).astype(dtype)
    if case == "strided":
        x = x[:, ::2]
    previous = kernels.set_enabled(True)
    try:
        y = F.relu(rg.from_numpy(x))
        np.testing.assert_array_equal(y.numpy(), np.maximum(x, 0))
        if case == "fortran grad":  # the forward ran compiled; the backward takes the F-ordered gradient with NumPy
            t = rg.from_numpy(x).requires_grad_(True)
            grad = np.asfortranarray(rng.standard_normal((6, 8)).astype(np.float32))
            F.relu(t).backward(rg.from_numpy(grad))
            np.testing.assert_array_equal(t.grad.numpy(), grad * (x > 0))
    finally:
        kernels.set_enabled(previous)
    assert any(compiled) is (case == "fortran grad")  # kernels only for C-contiguous float32/float64 input
