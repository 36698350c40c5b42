"""Compiled twins of gelu's forward and backward passes in activation.py (the `fast` extra; see kernels.py).

Each pass is one loop over flat arrays (1-d views of C-contiguous arrays) whose body is gelu's docstring
equations in the NumPy code's order of float operations (but for one fused multiply-add, below), so that the
results differ from the NumPy reference only where the transcendental function inside differs by an ulp
(tests/test_gelu_kernels.py states and checks the bounds). These functions are plain Python until
kernels.compiled() compiles them.

Why the float32 kernels carry their own erf, tanh and exp: Numba's math.erf, math.exp and math.tanh are scalar
C-library calls (no SIMD without Intel's SVML), so a loop that calls them runs one element at a time, 25-90x
slower than NumPy's vectorised np.tanh. Rational functions and polynomials vectorise. Each is evaluated in
float64 and rounded once to float32, so its result is the correctly rounded float32 value, or one ulp from it
where the float64 value falls within its approximation error of a rounding tie:

    erf(u)  = u P(u^2) / Q(u^2) for |u| <= 3.9192057, else sign(u)   (P, Q of degree 7; relative error 3.4e-10)
    tanh(v) = v P(v^2) / Q(v^2) for |v| <= 9.010913,  else sign(v)   (P, Q of degree 5; relative error 3.6e-11)
    exp(t)  = exp(t / 1024)^1024: Taylor's polynomial of degree 9 on [-1/8, 0], squared ten times
              (relative error 1.6e-13 for -128 <= t <= 0; e^t below t = -128 is 0 in float32)

Beyond 3.9192057 (9.010913) the float32 erf (tanh) is exactly 1: those bounds are the largest float32 whose
correctly rounded value is below 1. The coefficients were fitted here, not copied: an odd rational x P(x^2) /
Q(x^2) on 60,000 Chebyshev nodes of [0, bound] (and 2,000 geometric points in [1e-6, 1e-2]), by linearised
least squares on the relative error, P - f Q weighted by w / (Q f) with Q from the previous iteration
(Sanathanan-Koerner), each iteration's weights w multiplied by sqrt(error / max error) (Lawson), keeping the
iteration of smallest maximum relative error against scipy.special.erf and np.tanh in float64 (150 iterations).
A float32 sweep of every 7th float32 in [0, bound] found the kernels' erf equal to the correctly rounded one but
for 0.4% of values, tanh but for 0.004%, each of those one ulp off (NumPy's own float32 np.tanh: 2.8%).

The exact form's float32 kernels compile with fused multiply-adds (marked kernels.fused_multiply_add): the
float64 rational and exp run about 25% faster. The forward's float32 arithmetic has no product that meets an add,
so it stays NumPy's; the backward's cdf + x pdf rounds once where NumPy rounds twice (within the stated bounds; a
float32 product written through float64 would not keep the two roundings: LLVM folds it back into a float32
multiply). The tanh form's kernels round each product on its own, as NumPy does.

In float64 only two passes have kernels: the exact form's forward, with the C library's erf (a scalar call, but
one pass instead of NumPy's five: 2.5 against 3.7 ms for 393,216 values), and the tanh form's backward, which has
no transcendental. A scalar exp or tanh loses to NumPy's vectorised float64 np.exp and np.tanh (the erf form's
backward: 2.6 against 1.1 ms; the tanh form's forward: 5.9 against 0.9 ms), and squaring cannot give an exp of
float64 accuracy, so those passes stay with NumPy.
"""
import math

import numpy as np

from .kernels import fused_multiply_add

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_K, _GELU_C = math.sqrt(2 / math.pi), 0.044715

_ERF_BOUND = 3.919205665588379  # float32 3.9192057: the largest float32 whose float32 erf is below 1
_ERF_P = (1.1283791674743597, 0.09361824826087657, 0.04107355597634236, -0.00012988992177198104,
          0.0001666707638562112, -1.4191728628179883e-05, 3.4302559317183506e-07, 4.871825153647062e-09)
_ERF_Q = (1.0, 0.4163003606670705, 0.07516716733732758, 0.0071204221791814175, 0.00028624634821421206,
          -8.768342312392414e-06, -1.4771405743589768e-06, 8.196769589292428e-08)
_TANH_BOUND = 9.010912895202637  # float32 9.010913: the largest float32 whose float32 tanh is below 1
_TANH_P = (0.9999999999641337, 0.14099563810623142, 0.004426421340723303, 4.2285932976196895e-05,
           1.1124633564491508e-07, 3.678844155537619e-11)
_TANH_Q = (1.0, 0.4743289710448286, 0.029202745742152276, 0.0005009250978631947, 2.604989418578741e-06,
           2.9537875254612037e-09)
_EXP_FLOOR = -128.0  # e^-128 = 2.6e-56 rounds to 0 in float32: clamping there keeps t / 1024 in [-1/8, 0]


@fused_multiply_add
def gelu_erf_forward_float32(x, y, cdf):
    """cdf = (1 + erf(x / sqrt 2)) / 2 ;  y = x cdf, in float32 as the NumPy code computes them; erf(u) in
    float64 as u P(u^2) / Q(u^2), rounded to float32 (1 beyond the bound; a NaN u stays NaN)."""
    P, Q = _ERF_P, _ERF_Q
    sqrt_half, half, one = np.float32(_SQRT_HALF), np.float32(0.5), np.float32(1)
    for i in range(x.size):
        u = x[i] * sqrt_half
        a = np.float64(u)
        s = a * a
        rational = a * (P[0] + s * (P[1] + s * (P[2] + s * (P[3] + s * (P[4] + s * (P[5] + s * (P[6] + s * P[7])))))))
        rational /= Q[0] + s * (Q[1] + s * (Q[2] + s * (Q[3] + s * (Q[4] + s * (Q[5] + s * (Q[6] + s * Q[7]))))))
        erf = 1.0 if a > _ERF_BOUND else (-1.0 if a < -_ERF_BOUND else rational)
        c = half * (one + np.float32(erf))
        cdf[i] = c
        y[i] = x[i] * c


@fused_multiply_add
def gelu_erf_backward_float32(x, cdf, grad_out, grad):
    """dL/dx = g (cdf + x phi(x)), phi(x) = e^(-x^2 / 2) / sqrt(2 pi), in float32 as the NumPy code computes it but
    for cdf + x phi in one rounding; e^t in float64 as exp(t / 1024)^1024, rounded to float32 (t clamped at -128,
    where e^t rounds to 0)."""
    inv_sqrt_2pi, minus_half = np.float32(_INV_SQRT_2PI), np.float32(-0.5)
    for i in range(x.size):
        t = minus_half * x[i] * x[i]
        s = np.float64(t) if t > _EXP_FLOOR else _EXP_FLOOR  # a NaN t: e^t 0 here, but x phi is NaN all the same
        s *= 1 / 1024
        e = 1 + s * (1 + s * (1 / 2 + s * (1 / 6 + s * (1 / 24 + s * (1 / 120 + s * (
            1 / 720 + s * (1 / 5040 + s * (1 / 40320 + s / 362880))))))))
        for _ in range(10):
            e *= e
        pdf = inv_sqrt_2pi * np.float32(e)
        grad[i] = grad_out[i] * (cdf[i] + x[i] * pdf)


def gelu_erf_forward_float64(x, y, cdf):
    """cdf = (1 + erf(x / sqrt 2)) / 2 ;  y = x cdf, with the C library's erf."""
    for i in range(x.size):
        c = 0.5 * (1 + math.erf(x[i] * _SQRT_HALF))
        cdf[i] = c
        y[i] = x[i] * c


def gelu_tanh_forward_float32(x, y, t):
    """t = tanh(k (x + c x^3)), k = sqrt(2 / pi), c = 0.044715 ;  y = x (1 + t) / 2, in float32 as the NumPy code
    computes them; tanh(v) in float64 as v P(v^2) / Q(v^2), rounded to float32 (1 beyond the bound)."""
    P, Q = _TANH_P, _TANH_Q
    k, c, half, one = np.float32(_GELU_K), np.float32(_GELU_C), np.float32(0.5), np.float32(1)
    for i in range(x.size):
        v = k * (x[i] + c * (x[i] * x[i]) * x[i])
        a = np.float64(v)
        s = a * a
        rational = a * (P[0] + s * (P[1] + s * (P[2] + s * (P[3] + s * (P[4] + s * P[5])))))
        rational /= Q[0] + s * (Q[1] + s * (Q[2] + s * (Q[3] + s * (Q[4] + s * Q[5]))))
        tanh = 1.0 if a > _TANH_BOUND else (-1.0 if a < -_TANH_BOUND else rational)
        t[i] = np.float32(tanh)
        y[i] = half * x[i] * (one + t[i])


def gelu_tanh_backward(x, t, grad_out, grad):
    """dL/dx = g ((1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2), in the NumPy code's order (no transcendental:
    the forward pass saved t), so the same bits in float32 and float64."""
    half, one = x.dtype.type(0.5), x.dtype.type(1)
    k, c3 = x.dtype.type(_GELU_K), x.dtype.type(3 * _GELU_C)
    for i in range(x.size):
        slope = half * (one + t[i]) + half * x[i] * (one - t[i] * t[i]) * k * (one + c3 * x[i] * x[i])
        grad[i] = grad_out[i] * slope
