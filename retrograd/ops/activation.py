"""Activation functions, each with its VJP; kinks follow PyTorch (stated per op).

Notation: y is the output, g = dL/dy the incoming gradient (`grad_out`). Constants
are Python floats so that float32 inputs stay float32 (NumPy's NEP 50 rules).
The ops PyTorch has no integer kernel for reject integer input the same way;
sigmoid and tanh turn it into the default float, relu/relu6/hardtanh/clamp keep it.
The ops that pass or block g (relu, relu6, hardtanh, threshold, clamp) write +0.0 where they block it, whatever
g is (negative, inf, NaN), as PyTorch's select where(mask, g, 0) does (base.pass_where).
"""
import math

import numpy as np

from ..tensor import Tensor
from .base import (
    OUTPUT, accumulation_dtype, array_of, binary_operands, needs_grad, normalize_dims, pass_where, record, to_float,
    unbroadcast,
)
from . import gelu_kernels, kernels, softmax_kernels
from .activation_kernels import relu_backward as relu_backward_kernel, relu_forward as relu_forward_kernel
from .inplace import hold_result


def _float_input(x, op_name):
    """The input's array, which must be floating point (PyTorch has no integer kernel for these ops)."""
    x_val = array_of(x)
    if not (isinstance(x_val, (np.ndarray, np.generic)) and x_val.dtype.kind == "f"):
        kind = x_val.dtype if isinstance(x_val, (np.ndarray, np.generic)) else type(x_val).__name__
        raise TypeError(f"{op_name}: expected a floating-point tensor, got {kind} "
                        f"(PyTorch has no integer kernel for it either; convert with .float() first)")
    return x_val


def _sigmoid_of(x_val):
    """1 / (1 + e^-x): exact to rounding for every x; e^-x overflows to inf for very negative x, giving 0."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x_val))


# ----- the sigmoid family ---------------------------------------------------------
def sigmoid(x):
    """y = 1 / (1 + e^-x) ;  dL/dx = g * y * (1 - y).  Saves `y`: the derivative needs only the output."""
    y = _sigmoid_of(to_float(array_of(x)))
    return record(sigmoid, y, (x,), lambda grad_out: (grad_out * y * (1 - y),), saved=(OUTPUT,))


def tanh(x):
    """y = tanh(x) ;  dL/dx = g * (1 - y^2).  Saves `y`: the derivative needs only the output."""
    y = np.tanh(to_float(array_of(x)))
    return record(tanh, y, (x,), lambda grad_out: (grad_out * (1 - y * y),), saved=(OUTPUT,))


def silu(x, inplace=False):
    """y = x * s with s = sigmoid(x) ;  dL/dx = g * (s + y * (1 - s)).

    Saves `y` and `s`: with both, the derivative is three multiply-adds (no exp in the backward pass)."""
    s = _sigmoid_of(_float_input(x, "silu"))
    y = array_of(x) * s
    out = record(silu, y, (x,), lambda grad_out: (grad_out * (s + y * (1 - s)),), saved=(OUTPUT,))
    return hold_result(x, out, "silu_") if inplace else out


def logsigmoid(x):
    """y = log(sigmoid(x)) = min(x, 0) - log(1 + z), z = e^-|x|: finite for every x (no exp overflow).

    dL/dx = g * sigmoid(-x) = g * (1 if x < 0 else z) / (1 + z).

    Saves `x_val` (x) and `z` (PyTorch's buffer)."""
    x_val = _float_input(x, "logsigmoid")
    z = np.exp(-np.abs(x_val))
    y = np.minimum(x_val, 0) - np.log1p(z)
    return record(logsigmoid, y, (x,), lambda grad_out: (np.where(x_val < 0, grad_out, grad_out * z) / (1 + z),),
                  saved=(x,))


def softplus(x, beta=1.0, threshold=20.0):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold ;  dL/dx = g * sigmoid(beta x), or g.

    Above the threshold the op is the identity (gradient exactly 1), as in PyTorch; at beta x == threshold
    the log form still applies (PyTorch's strict '>'). Computed as logaddexp(0, beta x): no overflow.
    Saves `scaled` (beta x, a copy; x itself is version-checked, as PyTorch saves it)."""
    scaled = _float_input(x, "softplus") * beta

    def softplus_backward(grad_out):
        return (np.where(scaled > threshold, grad_out, grad_out * _sigmoid_of(scaled)),)

    y = np.where(scaled > threshold, array_of(x), np.logaddexp(0, scaled) / beta)
    return record(softplus, y, (x,), softplus_backward, saved=(x,))


# ----- the ReLU family ------------------------------------------------------------
def relu(x, inplace=False):
    """y = max(x, 0) ;  dL/dx = 0 where y <= 0, else g.

    At x = 0 the subgradient is 0 (PyTorch's and JAX's choice); at x = NaN (y = NaN) g passes, as in
    PyTorch, whose test is 'y <= 0' blocks. Since y >= 0 or NaN, 'not y <= 0' is 'y != 0', one comparison.
    Saves `y`."""
    if np.asarray(array_of(x)).dtype.kind == "b":
        raise RuntimeError("relu: Boolean inputs not supported for relu (PyTorch's rule; ints are fine)")
    x_val = array_of(x)
    # the fast extra (activation_kernels.py): each pass in one compiled loop, the same bits as the NumPy lines
    forward_kernel = kernels.compiled(relu_forward_kernel, x_val.dtype) if _flat(x_val) else None
    if forward_kernel is None:
        # zeros first: on a tie np.maximum returns its second operand, so -0.0 stays -0.0 (PyTorch's relu), and
        # an array of zeros, not the scalar 0, because NumPy's array-array loop runs 2x faster than its scalar one
        y = np.zeros_like(x_val)
        np.maximum(y, x_val, out=y)
    else:
        y = np.empty_like(x_val)
        forward_kernel(x_val.ravel(), y.ravel())

    def relu_backward(grad_out):
        backward_kernel = kernels.compiled(relu_backward_kernel, y.dtype) if _flat(y, grad_out) else None
        if backward_kernel is None:
            return (pass_where(grad_out, y != 0),)
        grad = np.empty_like(y)
        backward_kernel(y.ravel(), grad_out.ravel(), grad.ravel())  # pass_where's select, in one pass
        return (grad,)

    out = record(relu, y, (x,), relu_backward, saved=(OUTPUT,))
    return hold_result(x, out, "relu_") if inplace else out


def _flat(array, other=None):
    """Whether a compiled elementwise kernel can walk `array` (and `other`, of its shape and dtype) as flat views."""
    if not (isinstance(array, np.ndarray) and array.flags.c_contiguous):
        return False
    return other is None or (other.flags.c_contiguous and other.shape == array.shape and other.dtype == array.dtype)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """y = x if x > 0 else negative_slope * x ;  dL/dx = g if x > 0 else negative_slope * g.

    At x = 0 the gradient is negative_slope (PyTorch's 'x > 0' test).
    Saves `x_val` (x): the output cannot tell the sides apart when negative_slope <= 0."""
    if isinstance(negative_slope, (bool, str)) or not np.isscalar(negative_slope):  # NumPy: a ufunc type error
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
    x_val = _float_input(x, "leaky_relu")
    y = np.where(x_val > 0, x_val, x_val * negative_slope)
    out = record(leaky_relu, y, (x,),
                 lambda grad_out: (np.where(x_val > 0, grad_out, grad_out * negative_slope),), saved=(x,))
    return hold_result(x, out, "leaky_relu_") if inplace else out


def elu(x, alpha=1.0, inplace=False):
    """y = x if x > 0 else alpha * (e^x - 1) ;  dL/dx = g * alpha * e^x where x <= 0, else g.

    At x = 0 the gradient is alpha (PyTorch's 'x <= 0' test puts 0 on the exponential side); at
    x = NaN it is g, as in PyTorch. g * (y + alpha) from the output would lose e^x to rounding where
    y is close to -alpha (x = -30 in float32 gives 0, not 1e-13), so, as PyTorch does:
    Saves `x_val` (x)."""
    x_val = _float_input(x, "elu")
    y = np.where(x_val > 0, x_val, alpha * np.expm1(np.minimum(x_val, 0)))  # min: no overflow on the unused side

    def elu_backward(grad_out):
        with np.errstate(over="ignore"):  # e^x overflows only on the side where g passes
            return (np.where(x_val <= 0, grad_out * alpha * np.exp(x_val), grad_out),)

    out = record(elu, y, (x,), elu_backward, saved=(x,))
    return hold_result(x, out, "elu_") if inplace else out


def _hardtanh(op, x, min_val, max_val):
    x_val = array_of(x)
    y = np.clip(x_val, min_val, max_val)
    if y.dtype != x_val.dtype:  # integer input with float bounds stays integer, as in PyTorch
        y = y.astype(x_val.dtype)
    # y is exactly a bound where x was at or beyond it, and NaN where x was: g passes at NaN (PyTorch's
    # test is 'x <= min_val or x >= max_val' blocks)
    return record(op, y, (x,), lambda grad_out: (pass_where(grad_out, (y != min_val) & (y != max_val)),),
                  saved=(OUTPUT,))


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """y = min(max(x, min_val), max_val) ;  dL/dx = 0 where x <= min_val or x >= max_val, else g.

    At the bounds the gradient is 0 (PyTorch's hardtanh, unlike its clamp, which passes it there);
    at x = NaN it is g, as in PyTorch. Saves `y`: y is a bound exactly where x is at or beyond it."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: max_val ({max_val}) must be greater than or equal to min_val ({min_val})")
    out = _hardtanh(hardtanh, x, min_val, max_val)
    return hold_result(x, out, "hardtanh_") if inplace else out


def threshold(x, threshold, value, inplace=False):
    """y = x if x > threshold else value ;  dL/dx = g where x > threshold, else 0.

    PyTorch's test is 'x <= threshold' replaces and blocks: at x = NaN the test fails, so y = NaN and g passes.
    Saves `at_or_below` (the mask of x <= threshold); versions are checked on x, or on y for threshold_, as PyTorch
    saves them."""
    x_val = array_of(x)
    if x_val.dtype.kind == "b":
        raise NotImplementedError("threshold: not implemented for 'Bool' (PyTorch's \"threshold_cpu\" error)")
    at_or_below = x_val <= threshold
    y = np.where(at_or_below, np.asarray(value).astype(x_val.dtype), x_val)
    out = record(_threshold_op, y, (x,), lambda grad_out: (pass_where(grad_out, ~at_or_below),),
                 saved=(OUTPUT,) if inplace else (x,))
    return hold_result(x, out, "threshold_") if inplace else out


_threshold_op = threshold  # the op as record names it: inside threshold(), `threshold` is PyTorch's argument


def relu6(x, inplace=False):
    """y = min(max(x, 0), 6) ;  dL/dx = g where 0 < x < 6, else 0.

    PyTorch computes relu6 as hardtanh(x, 0, 6), so the gradient is 0 at both 0 and 6. Saves `y`."""
    out = _hardtanh(relu6, x, 0.0, 6.0)
    return hold_result(x, out, "relu6_") if inplace else out


def gelu(x, approximate="none"):
    """y = x * Phi(x), Phi the standard normal CDF: Phi(x) = (1 + erf(x / sqrt 2)) / 2 ;
    dL/dx = g * (Phi(x) + x * phi(x)), phi(x) = e^(-x^2 / 2) / sqrt(2 pi).

    approximate='tanh':  y = x * (1 + t) / 2, t = tanh(k (x + 0.044715 x^3)), k = sqrt(2 / pi) ;
    dL/dx = g * ((1 + t) / 2 + x (1 - t^2) k (1 + 3 * 0.044715 x^2) / 2).
    Saves `x_val` (x) and `cdf` (Phi(x)), or `x_val` and `t` with approximate='tanh'."""
    x_val = _float_input(x, "gelu")
    if approximate == "none":
        return _gelu_erf(x, x_val)
    if approximate != "tanh":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _gelu_tanh(x, x_val)


def _gelu_erf(x, x_val):
    """gelu's exact form; with the fast extra each pass is one compiled loop (gelu_kernels.py)."""
    forward_kernel = _gelu_kernel("erf forward", x_val)
    if forward_kernel is None:
        cdf = 0.5 * (1 + _erf(x_val * _SQRT_HALF))
        y = x_val * cdf
    else:
        y, cdf = np.empty_like(x_val), np.empty_like(x_val)
        forward_kernel(x_val.ravel(), y.ravel(), cdf.ravel())

    def gelu_backward(grad_out):
        backward_kernel = _gelu_kernel("erf backward", x_val, grad_out)
        if backward_kernel is None:
            return (grad_out * (cdf + x_val * (_INV_SQRT_2PI * np.exp(-0.5 * x_val * x_val))),)
        grad = np.empty_like(x_val)
        backward_kernel(x_val.ravel(), cdf.ravel(), grad_out.ravel(), grad.ravel())
        return (grad,)

    return record(gelu, y, (x,), gelu_backward, saved=(x,))


def _gelu_tanh(x, x_val):
    """gelu's tanh form; with the fast extra each pass is one compiled loop (gelu_kernels.py)."""
    forward_kernel = _gelu_kernel("tanh forward", x_val)
    if forward_kernel is None:
        x_sq = x_val * x_val
        t = np.tanh(_GELU_K * (x_val + _GELU_C * x_sq * x_val))
        y = 0.5 * x_val * (1 + t)
    else:
        y, t = np.empty_like(x_val), np.empty_like(x_val)
        forward_kernel(x_val.ravel(), y.ravel(), t.ravel())

    def gelu_tanh_backward(grad_out):
        backward_kernel = _gelu_kernel("tanh backward", x_val, grad_out)
        if backward_kernel is None:
            slope = 0.5 * (1 + t) + 0.5 * x_val * (1 - t * t) * _GELU_K * (1 + 3 * _GELU_C * x_val * x_val)
            return (grad_out * slope,)
        grad = np.empty_like(x_val)
        backward_kernel(x_val.ravel(), t.ravel(), grad_out.ravel(), grad.ravel())
        return (grad,)

    return record(gelu, y, (x,), gelu_tanh_backward, saved=(x,))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_K, _GELU_C = math.sqrt(2 / math.pi), 0.044715
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)
_GELU_KERNELS = {  # (pass, dtype) -> its compiled twin in gelu_kernels.py (float64: where it beats NumPy)
    ("erf forward", _FLOAT32): gelu_kernels.gelu_erf_forward_float32,
    ("erf forward", _FLOAT64): gelu_kernels.gelu_erf_forward_float64,
    ("erf backward", _FLOAT32): gelu_kernels.gelu_erf_backward_float32,
    ("tanh forward", _FLOAT32): gelu_kernels.gelu_tanh_forward_float32,
    ("tanh backward", _FLOAT32): gelu_kernels.gelu_tanh_backward,
    ("tanh backward", _FLOAT64): gelu_kernels.gelu_tanh_backward,
}


def _gelu_kernel(gelu_pass, array, other=None):
    """The compiled kernel of one of gelu's passes for `array` (and `other`, the gradient, of its layout), or None:
    kernels off, a dtype they do not cover, or arrays they cannot walk flat (then the NumPy lines run)."""
    python_kernel = _GELU_KERNELS.get((gelu_pass, array.dtype))
    if python_kernel is None or not _flat(array, other):
        return None
    return kernels.compiled(python_kernel, array.dtype)


# ----- clamp ------------------------------------------------------------------------
def clamp(x, min=None, max=None):
    """y = min(max(x, min), max)   (where min > max, y = max everywhere, as in PyTorch)

    dL/dx   = g where min <= x <= max, else 0: the gradient PASSES at the bounds (1, not 0). This is
              PyTorch's clamp convention: clamp is the identity on the closed interval, so a value
              sitting exactly on a bound keeps its gradient. relu uses the opposite, threshold
              convention (relu'(0) = 0), so clamp(x, min=0) and relu(x) differ only at x = 0.
    dL/dmin = g where x < min and min < max ;  dL/dmax = g where x > max or max < min
              (tensor bounds only, summed over broadcast axes).
    Saves `x_val` (x), and `lo` and `hi` (the bounds) when a bound is a tensor."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor(x, min, max)
    if isinstance(min, np.generic) or isinstance(max, np.generic):  # a NumPy scalar bound acts as a Python number
        min, max = (v.item() if isinstance(v, np.generic) else v for v in (min, max))
    x_val = array_of(x)
    if x_val.dtype.kind not in "fc" and (isinstance(min, float) or isinstance(max, float)):
        x_val = to_float(x_val)  # an integer tensor clamped to a float bound becomes the default float
    if max is None:
        return record(clamp, np.maximum(min, x_val), (x,), lambda grad_out: (pass_where(grad_out, x_val >= min),),
                      saved=(x,))
    if min is None:
        return record(clamp, np.minimum(max, x_val), (x,), lambda grad_out: (pass_where(grad_out, x_val <= max),),
                      saved=(x,))
    return record(clamp, np.clip(x_val, min, max), (x,),
                  lambda grad_out: (pass_where(grad_out, (x_val >= min) & (x_val <= max)),), saved=(x,))


def _clamp_tensor(x, min, max):
    """clamp with tensor bounds: everything broadcasts together, the bounds get gradients."""
    x_val, lo, hi = array_of(x), min, max
    if lo is not None:
        x_val, lo = binary_operands(x_val, lo)
    if hi is not None:
        x_val, hi = binary_operands(x_val, hi)
        if isinstance(lo, np.ndarray) and lo.dtype != x_val.dtype:
            lo = lo.astype(x_val.dtype)
    try:
        y = x_val if lo is None else np.maximum(lo, x_val)  # bound first: x wins a tie (-0.0 vs 0), as in PyTorch
        y = y if hi is None else np.minimum(hi, y)
    except ValueError:
        shapes = ", ".join(f"{name} {np.shape(v)}" for name, v in (("input", x_val), ("min", lo), ("max", hi))
                           if v is not None)
        raise ValueError(f"clamp: shapes cannot be broadcast together: {shapes}") from None

    x_to, lo_to, hi_to = _gradient_layout(x), _gradient_layout(min), _gradient_layout(max)

    def clamp_backward(grad_out):
        grad_x = grad_lo = grad_hi = None
        if x_to is not None:
            inside = True if lo is None else x_val >= lo
            inside = inside if hi is None else inside & (x_val <= hi)
            grad_x = _to_input(pass_where(grad_out, inside), x_to)
        if lo_to is not None:
            below = x_val < lo if hi is None else (x_val < lo) & (lo < hi)
            grad_lo = _to_input(pass_where(grad_out, below), lo_to)
        if hi_to is not None:
            above = x_val > hi if lo is None else (x_val > hi) | (hi < lo)
            grad_hi = _to_input(pass_where(grad_out, above), hi_to)
        return grad_x, grad_lo, grad_hi

    return record(clamp, y, (x, min, max), clamp_backward, saved=(x, min, max))


def _gradient_layout(t):
    """(shape, dtype) of the gradient input t takes, or None when it needs none."""
    if not needs_grad(t):
        return None
    array = array_of(t)
    return np.shape(array), array.dtype


def _to_input(grad, layout):
    """The gradient for an input of `layout` (shape, dtype): summed over broadcast axes, in its dtype."""
    shape, dtype = layout
    return unbroadcast(grad, shape).astype(dtype, copy=False)


# ----- softmax family ---------------------------------------------------------------
def _softmax_axis(dim, ndim, op_name):
    """The axis to normalise over. dim=None is PyTorch's legacy implicit choice (its _get_softmax_dim):
    0 for 0-, 1- and 3-dimensional input, else 1; unlike PyTorch, no deprecation warning."""
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1
    elif not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op_name}: dim must be an int, got {dim!r}")
    (axis,) = normalize_dims(dim, ndim, op_name)
    return axis if ndim else None


def _softmax_input(x, dim, dtype, op_name):
    x_val = array_of(x)
    if dtype is not None:
        x_val = x_val.astype(dtype, copy=False)
    x_val = _float_input(x_val, op_name)
    return x_val, _softmax_axis(dim, x_val.ndim, op_name)


def _as_input_dtype(grad, x_dtype):
    """With dtype=..., the op computed in another dtype than x's: its gradient goes back in x's."""
    return grad if grad.dtype == x_dtype else grad.astype(x_dtype)


def _widened(array):
    """float16 as float32, other dtypes as they are: the softmax family computes in float32 for float16
    and rounds its output (and gradient) once, as PyTorch does on the CPU."""
    return array.astype(accumulation_dtype(array.dtype), copy=False)


def softmax(x, dim=None, dtype=None):
    """y = e^(x - m) / sum(e^(x - m)) over dim, m = max over dim (exact, and no overflow for large x)

    dL/dx = y * (g - sum(g * y, dim)).  With the `fast` extra, along the last axis, the passes around NumPy's
    exp run compiled (softmax_kernels.py), with the same bits.  Saves `y`: the derivative needs only the output."""
    x_val, axis = _softmax_input(x, dim, dtype, "softmax")
    x_wide = _widened(x_val)
    y = np.empty_like(x_wide)  # y's one array (the expression makes two); an array for 0-d x too
    shift = _row_kernel(softmax_kernels.softmax_shift, x_wide, axis)
    if shift is None:
        np.subtract(x_wide, np.max(x_wide, axis=axis, keepdims=True, initial=-np.inf), out=y)  # initial: a 0-size dim
    else:
        shift(_rows(x_wide), _rows(y))  # the maximum and the shift in one pass
    np.exp(y, out=y)
    if shift is None:
        y /= np.sum(y, axis=axis, keepdims=True)
    else:
        kernels.compiled(softmax_kernels.softmax_normalize, y.dtype)(_rows(y))  # the sum and the division
    y = y.astype(x_val.dtype, copy=False)
    x_dtype = array_of(x).dtype

    def softmax_backward(grad_out):
        y_wide = _widened(y)
        backward = _row_kernel(softmax_kernels.softmax_backward, y_wide, axis, grad_out)
        if backward is not None:
            gy = np.empty_like(y_wide)
            backward(_rows(y_wide), _rows(np.ascontiguousarray(grad_out, y_wide.dtype)), _rows(gy))
            return (_as_input_dtype(gy, x_dtype),)
        gy = grad_out * y_wide
        gy -= y_wide * np.sum(gy, axis=axis, keepdims=True)
        return (_as_input_dtype(gy, x_dtype),)

    return record(softmax, y, (x,), softmax_backward, saved=(OUTPUT,))


def softmin(x, dim=None, dtype=None):
    """y = softmax(-x) over dim, computed as e^(min - x) / sum(e^(min - x))

    dL/dx = -y * (g - sum(g * y, dim)).  Saves `y`: the derivative needs only the output."""
    x_val, axis = _softmax_input(x, dim, dtype, "softmin")
    x_wide = _widened(x_val)
    y = np.exp(np.min(x_wide, axis=axis, keepdims=True, initial=np.inf) - x_wide)  # initial: a 0-size dim
    y /= np.sum(y, axis=axis, keepdims=True)
    y = y.astype(x_val.dtype, copy=False)
    x_dtype = array_of(x).dtype

    def softmin_backward(grad_out):
        y_wide = _widened(y)
        gy = grad_out * y_wide
        return (_as_input_dtype(y_wide * np.sum(gy, axis=axis, keepdims=True) - gy, x_dtype),)

    return record(softmin, y, (x,), softmin_backward, saved=(OUTPUT,))


def log_softmax(x, dim=None, dtype=None):
    """y = (x - m) - log(sum(e^(x - m))) over dim, m = max over dim (no overflow, no log(0) for large x)

    dL/dx = g - softmax(x) * sum(g, dim), with softmax(x) = e^y, recomputed in the backward pass, as
    PyTorch does. With the `fast` extra, along the last axis, the passes around NumPy's exp and log run
    compiled (softmax_kernels.py), with the same bits.  Saves `y` (the output, so no extra memory)."""
    x_val, axis = _softmax_input(x, dim, dtype, "log_softmax")
    x_wide = _widened(x_val)
    shift = _row_kernel(softmax_kernels.softmax_shift, x_wide, axis)
    if shift is None:
        y = x_wide - np.max(x_wide, axis=axis, keepdims=True, initial=-np.inf)  # initial: a 0-size dim
    else:
        y = np.empty_like(x_wide)
        shift(_rows(x_wide), _rows(y))  # the maximum and the shift in one pass
    with np.errstate(divide="ignore"):  # an empty dim sums to 0, and its log(0) meets no entry of y
        y -= np.log(np.sum(np.exp(y), axis=axis, keepdims=True))
    y = y.astype(x_val.dtype, copy=False)
    x_dtype = array_of(x).dtype

    def log_softmax_backward(grad_out):
        g, y_wide = _widened(grad_out), _widened(y)
        grad = np.exp(y_wide, out=np.empty_like(y_wide))  # softmax(x), then the gradient in its array (not three)
        backward = _row_kernel(softmax_kernels.log_softmax_backward, grad, axis, g)
        if backward is not None:
            backward(_rows(np.ascontiguousarray(g, grad.dtype)), _rows(grad))  # the sum and the gradient in one pass
            return (_as_input_dtype(grad, x_dtype),)
        grad = np.multiply(grad, np.sum(g, axis=axis, keepdims=True), out=grad if grad.dtype == g.dtype else None)
        return (_as_input_dtype(np.subtract(g, grad, out=grad), x_dtype),)

    return record(log_softmax, y, (x,), log_softmax_backward, saved=(OUTPUT,))


def _row_kernel(python_kernel, array, axis, grad_out=None):
    """The compiled `python_kernel` (softmax_kernels.py) for the rows of `array` along its last axis, or None where
    it does not apply: kernels off, another axis, no entries, not C-contiguous, a dtype it does not cover, or a
    gradient that would not convert to array's dtype exactly (a user's seed of a wider dtype)."""
    if axis != array.ndim - 1 or array.size == 0 or not array.flags.c_contiguous:
        return None
    if grad_out is not None and not np.can_cast(grad_out.dtype, array.dtype, "safe"):
        return None
    return kernels.compiled(python_kernel, array.dtype)


def _rows(array):
    """A C-contiguous array as (rows, n), n its last axis: the row kernels' layout (a view)."""
    return array.reshape(-1, array.shape[-1])


# ----- erf, for gelu ---------------------------------------------------------------------
def _erf(x_val):
    """erf elementwise: SciPy's ufunc when SciPy is installed (fast), else `_erf_numpy` (same values
    to a few units in the last place). Resolved on first use so that importing retrograd stays light."""
    global _erf_impl
    if _erf_impl is None:
        try:
            from scipy.special import erf as _erf_impl
        except ImportError:
            _erf_impl = _erf_numpy
    return _erf_impl(x_val)


_erf_impl = None
_ERF_SERIES = [1 / math.prod(range(1, 2 * n + 2, 2)) for n in reversed(range(32))]  # 1/(2n+1)!!, Horner order
# (lower end of |x|, how erf is summed there, terms or levels): each piece gets as many as its largest |x| needs for
# float64 (measured against math.erf: 20 series terms below 1, 48 fraction levels from 2, 20 from 3)
_ERF_PIECES = ((0.0, "series", 20), (1.0, "series", 32), (2.0, "fraction", 48), (3.0, "fraction", 20))
_ERF_IS_ONE = 6.0  # erfc(6) = 2e-17, under half an ulp of 1: erf is 1 in float64 from here on
_ERF_BLOCK = 2**16  # values summed together: 1.5x faster than whole arrays of 1M values (their passes miss the cache)


def _erf_numpy(x_val):
    """erf in NumPy alone, accurate to a few ulp in float64 (checked against math.erf in the tests).

    |x| < 2:      erf(a) = 2/sqrt(pi) * a e^(-a^2) * sum_n (2a^2)^n / (2n+1)!!   (all terms positive: no
                  cancellation; 20 terms below 1, 32 from 1)
    2 <= |x| < 6: erf(a) = 1 - erfc(a), erfc(a) = e^(-a^2) / sqrt(pi) / (a + (1/2) / (a + (2/2) / (a + ...)))
                  (Laplace's continued fraction, evaluated bottom-up; 48 levels below 3, 20 from 3)
    |x| >= 6:     erf(a) = 1 (erfc(6) = 2e-17).
    Each piece of the real line is summed in place over its own values, with the terms or levels it needs, one
    block of _ERF_BLOCK values at a time, so that the 30-50 passes over a piece's values run in the CPU's cache."""
    a = np.abs(np.asarray(x_val))
    out = np.array(a)  # a copy (an array also for a 0-d input): NaN stays NaN
    flat_a, flat_out = a.reshape(-1), out.reshape(-1)
    for start in range(0, flat_a.size, _ERF_BLOCK):
        _erf_pieces(flat_a[start:start + _ERF_BLOCK], flat_out[start:start + _ERF_BLOCK])
    return np.copysign(out, x_val)


def _erf_pieces(a, out):
    """erf(a) for a >= 0 (or NaN, left as it is in `out`) into `out`, piece by piece (see _erf_numpy)."""
    out[a >= _ERF_IS_ONE] = 1
    ends = [piece[0] for piece in _ERF_PIECES[1:]] + [_ERF_IS_ONE]
    for (low, form, count), high in zip(_ERF_PIECES, ends):
        inside = (a >= low) & (a < high)
        s = a[inside]
        out[inside] = _erf_series(s, count) if form == "series" else _erf_fraction(s, count)


def _erf_series(s, terms):
    """erf(s) = 2/sqrt(pi) * s e^(-s^2) * sum_{n < terms} (2s^2)^n / (2n+1)!!, by Horner's rule in place."""
    z, total = 2 * s * s, np.full_like(s, _ERF_SERIES[-terms])
    for coefficient in _ERF_SERIES[len(_ERF_SERIES) - terms + 1:]:
        total *= z
        total += coefficient
    return (2 / math.sqrt(math.pi)) * s * np.exp(-s * s) * total


def _erf_fraction(s, levels):
    """erf(s) = 1 - e^(-s^2) / sqrt(pi) / (s + (1/2) / (s + (2/2) / (s + ...))), `levels` deep, bottom-up in place."""
    fraction = s.copy()
    for k in range(levels, 0, -1):
        np.divide(0.5 * k, fraction, out=fraction)
        fraction += s
    return 1 - np.exp(-s * s) / (math.sqrt(math.pi) * fraction)
