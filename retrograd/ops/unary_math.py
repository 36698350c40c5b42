"""More elementwise functions of one tensor, PyTorch's: trigonometric and hyperbolic functions and their
inverses, log10/exp2, degree conversions, rounding (ceil, trunc, frac), signs, and the float tests
(isinf, isposinf, isneginf, isreal, signbit) and nan_to_num.

Notation as in elementwise.py: y is the output, g = dL/dy. Integer and bool inputs of the float
functions become the default float dtype, as in PyTorch. Each derivative is PyTorch's formula
(tools/autograd/derivatives.yaml), so the gradients agree bit for bit where NumPy's functions do.
"""
import numpy as np

from .base import OUTPUT, array_of, record, to_float
from .compare import _SCALAR_TYPE_NAMES


def _float_input(x):
    return to_float(array_of(x))


def _zero_backward(grad_out):
    """Piecewise-constant ops (ceil, trunc, sgn of reals): zero gradient, also at the jumps, as in PyTorch."""
    return (np.zeros_like(grad_out),)


def _refuse_dtype(x_val, kernel, kinds):
    """PyTorch's error for a dtype its CPU kernel `kernel` has no code for (kinds: NumPy dtype kinds refused)."""
    if x_val.dtype.kind in kinds:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_SCALAR_TYPE_NAMES[x_val.dtype.name]}'")


# ----- trigonometric ------------------------------------------------------------------------------------
def tan(x):
    """y = tan x ;  dL/dx = g (1 + y^2).  Saves `y` (the derivative is a function of the output)."""
    y = np.tan(_float_input(x))
    return record(tan, y, (x,), lambda grad_out: (grad_out * (1 + y * y),), saved=(OUTPUT,))


def asin(x):
    """y = arcsin x ;  dL/dx = g / sqrt(1 - x^2) (inf at |x| = 1, NaN outside [-1, 1]).  Saves `x_val` (x)."""
    x_val = _float_input(x)
    with np.errstate(invalid="ignore"):
        y = np.arcsin(x_val)
    return record(asin, y, (x,), lambda grad_out: (grad_out / np.sqrt(1 - x_val * x_val),), saved=(x,))


def acos(x):
    """y = arccos x ;  dL/dx = -g / sqrt(1 - x^2).  Saves `x_val` (x)."""
    x_val = _float_input(x)
    with np.errstate(invalid="ignore"):
        y = np.arccos(x_val)
    return record(acos, y, (x,), lambda grad_out: (-grad_out / np.sqrt(1 - x_val * x_val),), saved=(x,))


def atan(x):
    """y = arctan x ;  dL/dx = g / (1 + x^2).  Saves `x_val` (x)."""
    x_val = _float_input(x)
    return record(atan, np.arctan(x_val), (x,), lambda grad_out: (grad_out / (x_val * x_val + 1),), saved=(x,))


# ----- hyperbolic -------------------------------------------------------------------------------------
def sinh(x):
    """y = sinh x ;  dL/dx = g cosh x.  Saves `x_val` (x)."""
    x_val = _float_input(x)
    return record(sinh, np.sinh(x_val), (x,), lambda grad_out: (grad_out * np.cosh(x_val),), saved=(x,))


def cosh(x):
    """y = cosh x ;  dL/dx = g sinh x.  Saves `x_val` (x)."""
    x_val = _float_input(x)
    return record(cosh, np.cosh(x_val), (x,), lambda grad_out: (grad_out * np.sinh(x_val),), saved=(x,))


def asinh(x):
    """y = arsinh x ;  dL/dx = g / sqrt(x^2 + 1).  Saves `x_val` (x)."""
    x_val = _float_input(x)
    return record(asinh, np.arcsinh(x_val), (x,), lambda grad_out: (grad_out / np.sqrt(x_val * x_val + 1),),
                  saved=(x,))


def acosh(x):
    """y = arcosh x (NaN below 1) ;  dL/dx = g / sqrt(x^2 - 1).  Saves `x_val` (x)."""
    x_val = _float_input(x)
    with np.errstate(invalid="ignore"):
        y = np.arccosh(x_val)

    def acosh_backward(grad_out):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (grad_out / np.sqrt(x_val * x_val - 1),)

    return record(acosh, y, (x,), acosh_backward, saved=(x,))


def atanh(x):
    """y = artanh x (+-inf at +-1) ;  dL/dx = g / (1 - x^2).  Saves `x_val` (x)."""
    x_val = _float_input(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.arctanh(x_val)

    def atanh_backward(grad_out):
        with np.errstate(divide="ignore"):
            return (grad_out / (1 - x_val * x_val),)

    return record(atanh, y, (x,), atanh_backward, saved=(x,))


# ----- logarithms, powers, unit conversions -------------------------------------------------------------
def log10(x):
    """y = log10 x ;  dL/dx = g / (x ln 10).  Saves `x_val` (x)."""
    x_val = _float_input(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.log10(x_val)
    return record(log10, y, (x,), lambda grad_out: (grad_out / (x_val * np.log(10.0)),), saved=(x,))


def exp2(x):
    """y = 2^x ;  dL/dx = g y ln 2.  Saves `y`."""
    y = np.exp2(_float_input(x))
    return record(exp2, y, (x,), lambda grad_out: (grad_out * y * np.log(2.0),), saved=(OUTPUT,))


def deg2rad(x):
    """y = x pi / 180 ;  dL/dx = g pi / 180.  Saves nothing."""
    x_val = _float_input(x)
    factor = np.pi / 180  # a Python float: NumPy multiplies in x's dtype, as PyTorch does
    return record(deg2rad, x_val * factor, (x,), lambda grad_out: (grad_out * factor,))


def rad2deg(x):
    """y = x 180 / pi ;  dL/dx = g 180 / pi.  Saves nothing."""
    x_val = _float_input(x)
    factor = 180 / np.pi
    return record(rad2deg, x_val * factor, (x,), lambda grad_out: (grad_out * factor,))


# ----- rounding and signs ------------------------------------------------------------------------------
def ceil(x):
    """y = ceil x (integers stay integers) ;  dL/dx = 0 (piecewise constant).  Saves nothing."""
    x_val = array_of(x)
    _refuse_dtype(x_val, "ceil_vml_cpu", "b")
    return record(ceil, x_val.copy() if x_val.dtype.kind in "iu" else np.ceil(x_val), (x,), _zero_backward)


def trunc(x):
    """y = trunc x, rounding toward zero (integers stay integers) ;  dL/dx = 0.  Saves nothing."""
    x_val = array_of(x)
    _refuse_dtype(x_val, "trunc_vml_cpu", "b")
    return record(trunc, x_val.copy() if x_val.dtype.kind in "iu" else np.trunc(x_val), (x,), _zero_backward)


def frac(x):
    """y = x - trunc x (the sign of x) ;  dL/dx = g (the jumps are ignored, as in PyTorch).  Saves nothing."""
    x_val = array_of(x)
    _refuse_dtype(x_val, "frac_cpu", "biu")
    return record(frac, x_val - np.trunc(x_val), (x,), lambda grad_out: (grad_out,))


def sgn(x):
    """y = sign x for real tensors (x / |x| for complex ones, which retrograd does not have), 0 for NaN and 0
    ;  dL/dx = 0.  Saves nothing."""
    x_val = array_of(x)
    if x_val.dtype.kind == "b":
        return record(sgn, x_val.copy(), (x,), _zero_backward)
    y = np.subtract(x_val > 0, x_val < 0, dtype=x_val.dtype) if x_val.dtype.kind == "f" else np.sign(x_val)
    return record(sgn, y, (x,), _zero_backward)


def signbit(x):
    """Whether the sign bit is set (True for -0.0 and for a NaN with its sign bit); a bool tensor, no gradient."""
    return record(signbit, np.signbit(array_of(x)), (), None)


# ----- float tests --------------------------------------------------------------------------------------
def isinf(x):
    """Whether x is +inf or -inf (always False for integers); a bool tensor, no gradient."""
    return record(isinf, np.isinf(array_of(x)), (), None)


def isposinf(x):
    """Whether x is +inf; a bool tensor, no gradient."""
    return record(isposinf, np.isposinf(array_of(x)), (), None)


def isneginf(x):
    """Whether x is -inf; a bool tensor, no gradient."""
    return record(isneginf, np.isneginf(array_of(x)), (), None)


def isreal(x):
    """Whether x has no imaginary part: True everywhere for the real dtypes retrograd has; no gradient."""
    return record(isreal, np.ones(np.shape(array_of(x)), bool), (), None)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """y = x with NaN, +inf and -inf replaced by `nan`, `posinf` and `neginf` (by default 0 and the dtype's
    largest and lowest finite values); integer and bool tensors are returned as they are.

    dL/dx = g where x is finite, 0 at the replaced entries (PyTorch's).  Saves `finite` (the bool mask)."""
    x_val = array_of(x)
    if x_val.dtype.kind != "f":
        return record(nan_to_num, x_val.copy(), (x,), lambda grad_out: (grad_out,))
    info = np.finfo(x_val.dtype)
    y = np.nan_to_num(x_val, nan=nan, posinf=info.max if posinf is None else posinf,
                      neginf=info.min if neginf is None else neginf)
    finite = np.isfinite(x_val)
    return record(nan_to_num, y, (x,), lambda grad_out: (np.where(finite, grad_out, 0).astype(grad_out.dtype),))
