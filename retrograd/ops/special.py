"""The error function and its inverse, each with its VJP (PyTorch's `torch.erf`, `torch.erfinv`): what a
Normal distribution's `cdf` and `icdf` are made of. `xlogy` (x log y, 0 where x = 0), what the Gamma family's
densities are made of, is binary_math.py's op, imported here where the distributions look for it.

    erf(x)    = 2 / sqrt(pi) * integral_0^x e^(-t^2) dt        d erf(x)/dx    = 2 / sqrt(pi) * e^(-x^2)
    erfinv(y) = the x with erf(x) = y, for -1 <= y <= 1       d erfinv(y)/dy = sqrt(pi) / 2 * e^(erfinv(y)^2)

NumPy has no erf: erf takes SciPy's ufunc when SciPy is installed, else a NumPy-only erf of float64 accuracy
(activation.py's `_erf`, the one gelu uses), in float64, rounded once to the input's dtype. erfinv's Newton
steps still call the C library's (`math.erf`, `math.erfc`) element by element, a loop this module accepts because
the distributions call it on batch-sized arrays. erfinv refines a rational first guess with
Newton steps to full double precision; both agree with PyTorch's to a few ulp (its kernels are vectorised
approximations of the same functions, not bit-identical to the C library).
"""
import math

import numpy as np

from .activation import _erf
from .base import OUTPUT, array_of, record, to_float
from .binary_math import xlogy  # noqa: F401  (one op, with its other binary functions; exported here as before)

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)

# erfinv's first guess (good to about 1e-3), for |y| <= 0.7 and the tails, and the Newton steps that make it
# exact: each squares the relative error
_NEWTON_STEPS = 3
_CENTRAL_NUMERATOR = (0.886226899, -1.645349621, 0.914624893, -0.140543331)
_CENTRAL_DENOMINATOR = (-2.118377725, 1.442710462, -0.329097515, 0.012229801)
_TAIL_NUMERATOR = (-1.970840454, -1.624906493, 3.429567803, 1.641345311)
_TAIL_DENOMINATOR = (3.543889200, 1.637067800)


def _map(function, x_val):
    """The C library's `function` (math.erf or math.erfc) on each element of a float array, as float64."""
    flat = x_val.ravel().tolist()
    return np.fromiter(map(function, flat), dtype=np.float64, count=len(flat)).reshape(x_val.shape)


def erf(x):
    """y = erf(x) ;  dL/dx = g * 2 / sqrt(pi) * e^(-x^2).  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    y = _erf(x_val.astype(np.float64, copy=False)).astype(x_val.dtype, copy=False)  # one rounding for float32
    return record(erf, y, (x,), lambda grad_out: (grad_out * (_TWO_OVER_SQRT_PI * np.exp(-x_val * x_val)),),
                  saved=(x,))


def _polynomial(coefficients, z):
    """c0 + c1 z + c2 z^2 + ... by Horner's rule."""
    value = np.zeros_like(z)
    for coefficient in reversed(coefficients):
        value = value * z + coefficient
    return value


def _erfinv_values(y_val):
    """erfinv of a float64 array, NaN outside [-1, 1] and +-inf at +-1: a rational first guess for |y| (one
    form for |y| <= 0.7, one for the tails), then Newton steps on erf(x) - |y|. In the tails that difference
    is written (1 - |y|) - erfc(x), both terms exact, so the root keeps full precision near +-1 as PyTorch's."""
    y_abs = np.abs(y_val)
    inside = y_abs < 1
    a = np.where(inside, y_abs, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        square = a * a
        central = a * _polynomial(_CENTRAL_NUMERATOR, square) / _polynomial((1.0,) + _CENTRAL_DENOMINATOR, square)
        tail_z = np.sqrt(-np.log((1 - a) / 2))
        tail = _polynomial(_TAIL_NUMERATOR, tail_z) / _polynomial((1.0,) + _TAIL_DENOMINATOR, tail_z)
    is_tail = a > 0.7
    x = np.where(is_tail, tail, central)
    for _ in range(_NEWTON_STEPS):
        residual = np.where(is_tail, (1 - a) - _map(math.erfc, x), _map(math.erf, x) - a)
        x = x - residual / (_TWO_OVER_SQRT_PI * np.exp(-x * x))
    x = np.copysign(x, y_val)
    x = np.where(y_abs == 1, np.copysign(np.inf, y_val), x)
    return np.where(inside | (y_abs == 1), x, np.nan)


def erfinv(x):
    """y = erfinv(x), NaN outside [-1, 1] ;  dL/dx = g * sqrt(pi) / 2 * e^(y^2).  Saves `y`: the derivative
    needs only the output."""
    x_val = to_float(array_of(x))
    y = _erfinv_values(x_val.astype(np.float64)).astype(x_val.dtype)
    return record(erfinv, y, (x,), lambda grad_out: (grad_out * (np.exp(y * y) / _TWO_OVER_SQRT_PI),),
                  saved=(OUTPUT,))
