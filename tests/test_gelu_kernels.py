"""gelu's compiled kernels (ops/gelu_kernels.py, the fast extra) against its NumPy code and against PyTorch.

The kernels do the NumPy code's float operations in its order (but for the erf form's float32 backward, whose
cdf + x phi is one fused multiply-add); only the transcendental function inside differs
(their own float32 erf, tanh and exp, correctly rounded but for rare ties, against SciPy's erf and NumPy's
float32 tanh and exp, which are up to 2 ulp off; in float64 the C library's erf in the erf form's forward, and
no other kernel with a transcendental). An ulp of erf
or tanh near +-1 becomes an absolute error of about ulp(1) in Phi or t, which the formulas multiply by x (and
the tanh form's gradient by x (1 + 3 c x^2) k / 2), so the bounds are stated in those units:

    forward:          |y_kernel - y_numpy| <= 2 ulp(x), 3 ulp(x) in float64 (two C libraries' erf, each an ulp off)
    erf gradient:     |dx_kernel - dx_numpy| <= 3 |g| ulp(1)
    tanh gradient:    |dx_kernel - dx_numpy| <= |g| ulp(1) (3 + |x| (1 + 3 c x^2))

and most values are the same bits (the fractions asserted below). Non-finite values and signed zeros agree
exactly; where the formula cancels (x Phi(x) for x below about -4), one side's tiny value can be the other's zero.
Sweeps: every 4096th float32 bit pattern of either sign (zeros, subnormals, huge values, infinities),
NaN, and a dense grid of [-16, 16].
"""
import math

import numpy as np
import pytest
import torch
from scipy.special import erf as scipy_erf

import retrograd as rg
import retrograd.nn.functional as F
from retrograd.ops import gelu_kernels, kernels

DTYPES = [np.float32, np.float64]
GELU_C = 0.044715


def _sweep(dtype):
    """Every 4096th float32 bit pattern, both signs, NaN, and [-16, 16] densely; as `dtype`."""
    patterns = np.arange(0, 0x7F800001, 4096, dtype=np.int64).astype(np.uint32).view(np.float32)
    dense = np.linspace(-16, 16, 200_001, dtype=np.float32)
    specials = np.array([0.0, -0.0, np.nan, 1e-45, -1e-45, 1e-40, -1e-40, 3e38, -3e38, np.inf, -np.inf], np.float32)
    return np.concatenate([patterns, -patterns, dense, specials]).astype(dtype)


def _ours(x, grad, approximate, kernels_on):
    previous = kernels.set_enabled(kernels_on)
    try:
        t = rg.from_numpy(x.copy()).requires_grad_(True)
        with np.errstate(all="ignore"):
            y = F.gelu(t, approximate=approximate)
            y.backward(rg.from_numpy(grad))
        return y.detach().numpy().copy(), t.grad.numpy().copy()
    finally:
        kernels.set_enabled(previous)


def _torch(x, grad, approximate):
    t = torch.from_numpy(x.copy()).requires_grad_(True)
    y = torch.nn.functional.gelu(t, approximate=approximate)
    y.backward(torch.from_numpy(grad))
    return y.detach().numpy(), t.grad.numpy()


def _bounds(x, grad, approximate):
    """The forward and gradient bounds of the module docstring, elementwise, in float64."""
    x64, g64 = np.abs(x.astype(np.float64)), np.abs(grad.astype(np.float64))
    one_ulp = float(np.spacing(x.dtype.type(1)))
    with np.errstate(over="ignore", invalid="ignore"):
        scale = 3.0 if approximate == "none" else 3 + x64 * (1 + 3 * GELU_C * x64 * x64)
        ulps_of_x = 2 if x.dtype == np.float32 else 3
        return ulps_of_x * np.spacing(np.abs(x)).astype(np.float64), g64 * one_ulp * scale


def _assert_close(ours, theirs, bound, what, signed_zeros=True):
    """NaN and infinities at the same places, zeros of the same sign where both are zero; finite values within
    `bound` (where the formula cancels, one side's tiny value can be the other's zero)."""
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{what}: NaN positions")
    finite = np.isfinite(theirs)
    np.testing.assert_array_equal(ours[~finite & ~np.isnan(theirs)], theirs[~finite & ~np.isnan(theirs)],
                                  err_msg=f"{what}: infinities")
    zeros = (ours == 0) & (theirs == 0) & signed_zeros
    np.testing.assert_array_equal(np.signbit(ours[zeros]), np.signbit(theirs[zeros]), err_msg=f"{what}: signed zeros")
    error = np.abs(ours[finite].astype(np.float64) - theirs[finite])
    worst = np.argmax(error / bound[finite])
    assert np.all(error <= bound[finite]), f"{what}: {error[worst]:.3g} against a bound of {bound[finite][worst]:.3g}"


# the least fractions of the sweep's finite values that are the same bits, (y, dL/dx); measured on an AVX-512
# machine (NumPy's float32 tanh and exp differ between SIMD targets): float32 0.9999, 0.972 (erf form) and 0.985,
# 0.774 (tanh form: NumPy's float32 tanh is 2.8% off the correctly rounded one); float64 0.994, 0.994 (the C library's
# erf against SciPy's; the gradient is NumPy's code) and all of it for the tanh form (NumPy's tanh; the backward kernel
# has no transcendental)
SAME_BITS = {("none", np.float32): (0.995, 0.95), ("tanh", np.float32): (0.95, 0.7),
             ("none", np.float64): (0.98, 0.98), ("tanh", np.float64): (1.0, 1.0)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_kernels_stay_within_the_stated_bounds_of_the_numpy_code(approximate, dtype):
    x = _sweep(dtype)
    grad = np.random.default_rng(0).uniform(-2, 2, x.size).astype(dtype)
    (y_k, dx_k), (y_n, dx_n) = _ours(x, grad, approximate, True), _ours(x, grad, approximate, False)
    assert y_k.dtype == dx_k.dtype == dtype
    y_bound, grad_bound = _bounds(x, grad, approximate)
    _assert_close(y_k, y_n, y_bound, "forward")
    _assert_close(dx_k, dx_n, grad_bound, "gradient")
    same_y, same_dx = SAME_BITS[approximate, dtype]
    finite = np.isfinite(x)
    assert np.mean(y_k[finite] == y_n[finite]) >= same_y
    assert np.mean(dx_k[finite] == dx_n[finite]) >= same_dx


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("kernels_on", [True, False], ids=["kernels", "numpy"])
def test_values_and_gradients_match_pytorch_within_the_same_bounds(approximate, dtype, kernels_on):
    """PyTorch's vectorised float32 erf and tanh are themselves about an ulp from the correctly rounded values:
    both modes stay within the bounds above of PyTorch's values (measured: up to 0.96 of the gradient bound, 2 ulp(x)
    forward), but for the float32 erf form's forward, within 6 ulp(x) (measured: 5 ulp(x), at x = 3.49, in both
    modes: PyTorch's erf). Signed zeros of the gradient are PyTorch's vectorised kernel's own (checked one point at
    a time in test_gelu_at_the_special_points_is_pytorchs_scalar_result)."""
    x = _sweep(dtype)
    # PyTorch's vectorised float32 gelu gives NaN at inf (see test_activation), inf above 1.7e38 (x (1 + erf)
    # overflows before its halving) and NaN gradients where x^2 overflows (|x| > 1.8e19); the special points below hold
    # PyTorch's scalar results there
    x = x[np.abs(x) < 1e18]
    grad = np.random.default_rng(1).uniform(-2, 2, x.size).astype(dtype)
    ours, theirs = _ours(x, grad, approximate, kernels_on), _torch(x, grad, approximate)
    y_bound, grad_bound = _bounds(x, grad, approximate)
    y_factor = 3 if (approximate == "none" and dtype == np.float32) else 1
    _assert_close(ours[0], theirs[0], y_factor * y_bound, "forward")
    _assert_close(ours[1], theirs[1], grad_bound, "gradient", signed_zeros=False)


def _compiled(python_kernel, dtype):
    previous = kernels.set_enabled(True)
    try:
        return kernels.compiled(python_kernel, dtype)
    finally:
        kernels.set_enabled(previous)


def test_float32_erf_of_the_kernel_is_the_correctly_rounded_one_but_at_ties():
    """Phi = (1 + erf(x / sqrt 2)) / 2 as the forward kernel saves it, against Phi from erf in float64 rounded to
    float32 (SciPy's erf: correct to an ulp of float64): the kernel's erf is never more than one float32 ulp
    off, so Phi never more than ulp(1) / 2, and 99.5% of the sweep is the same bits."""
    x = _sweep(np.float32)
    x = x[np.isfinite(x)]
    y, cdf = np.empty_like(x), np.empty_like(x)
    _compiled(gelu_kernels.gelu_erf_forward_float32, np.float32)(x, y, cdf)
    u = x * np.float32(math.sqrt(0.5))
    expected = np.float32(0.5) * (1 + scipy_erf(u.astype(np.float64)).astype(np.float32))
    assert np.max(np.abs(cdf.astype(np.float64) - expected)) <= 2.0**-24
    assert np.mean(cdf == expected) >= 0.995
    np.testing.assert_array_equal(y, x * cdf)


def test_float32_tanh_of_the_kernel_is_the_correctly_rounded_one_but_at_ties():
    """t = tanh(k (x + c x^3)) as the tanh form's forward kernel saves it, against np.tanh in float64 rounded to
    float32: one ulp apart at most, and 99.99% the same bits (NumPy's own float32 tanh: 97.2%)."""
    x = _sweep(np.float32)
    x = x[np.isfinite(x)]
    y, t = np.empty_like(x), np.empty_like(x)
    _compiled(gelu_kernels.gelu_tanh_forward_float32, np.float32)(x, y, t)
    with np.errstate(over="ignore", invalid="ignore"):
        inner = np.float32(math.sqrt(2 / math.pi)) * (x + np.float32(GELU_C) * (x * x) * x)
    expected = np.tanh(inner.astype(np.float64)).astype(np.float32)
    ulps = np.abs(t.view(np.int32).astype(np.int64) - expected.view(np.int32))
    assert ulps.max() <= 1 and np.mean(ulps == 0) >= 0.9999


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_at_the_special_points_is_pytorchs_scalar_result(approximate):
    """gelu(-inf) is NaN (-inf * 0) in PyTorch and here, gelu(inf) = inf, -0.0 stays -0.0; NaN gives NaN, and its
    gradient NaN. One point at a time, as in test_activation (PyTorch's scalar path)."""
    x = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, 1e-45, -1e-45, -30.0, 30.0], np.float32)
    grad = np.full_like(x, 0.75)
    y, dx = _ours(x, grad, approximate, True)
    for i in range(x.size):
        y_t, dx_t = _torch(x[i:i + 1], grad[i:i + 1], approximate)
        for what, ours, theirs in (("forward", y[i], y_t[0]), ("gradient", dx[i], dx_t[0])):
            same = ours == theirs and np.signbit(ours) == np.signbit(theirs)
            assert (np.isnan(ours) and np.isnan(theirs)) or same, \
                f"gelu({x[i]}, approximate={approximate!r}) {what}: {ours} against PyTorch's {theirs}"


@pytest.mark.parametrize("case", ["float16", "strided", "fortran grad"])
def test_gelu_leaves_what_the_kernels_cannot_take_to_numpy(monkeypatch, case):
    compiled = []  # whether each kernel asked for was there to run
    real = kernels.compiled
    monkeypatch.setattr(kernels, "compiled", lambda fn, dtype: compiled.append(real(fn, dtype) is not None)
                        or real(fn, dtype))
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal((6, 8))).astype(np.float16 if case == "float16" else np.float32)
    if case == "strided":
        x = x[:, ::2]
    grad = rng.standard_normal(x.shape).astype(x.dtype)
    if case == "fortran grad":
        grad = np.asfortranarray(grad)
    results = []
    for on in (True, False):
        previous = kernels.set_enabled(on)
        try:
            t = rg.from_numpy(x).requires_grad_(True)
            F.gelu(t).backward(rg.from_numpy(grad))
            results.append(t.grad.numpy())
        finally:
            kernels.set_enabled(previous)
    np.testing.assert_array_equal(results[0], results[1])  # the backward ran NumPy's lines in both modes
    # the forward ran compiled with the kernels on (not for float16 or strided input); no backward kernel ran
    assert compiled == ([] if case in ("float16", "strided") else [True, False])


def multiply_add_rounded_twice(a, b, c, out):
    for i in range(a.size):
        out[i] = a[i] * b[i] + c[i]


@kernels.fused_multiply_add
def multiply_add_fused(a, b, c, out):
    for i in range(a.size):
        out[i] = a[i] * b[i] + c[i]


def test_fused_multiply_add_fuses_a_multiply_and_an_add_and_only_in_marked_kernels():
    """kernels.fused_multiply_add, which marks the exact form's float32 kernels: (1 + e)(1 - e) - 1 with e = 2^-30
    is -2^-60 with one rounding, 0 with two (the product rounds to 1)."""
    a, b, c = np.array([1 + 2.0**-30]), np.array([1 - 2.0**-30]), np.array([-1.0])
    twice, fused = np.empty(1), np.empty(1)
    previous = kernels.set_enabled(True)
    try:
        kernels.compiled(multiply_add_rounded_twice, np.float64)(a, b, c, twice)
        kernels.compiled(multiply_add_fused, np.float64)(a, b, c, fused)
    finally:
        kernels.set_enabled(previous)
    assert twice[0] == 0.0 and fused[0] == -2.0**-60
    assert gelu_kernels.gelu_erf_forward_float32.fused_multiply_add
    assert not hasattr(gelu_kernels.gelu_tanh_forward_float32, "fused_multiply_add")
