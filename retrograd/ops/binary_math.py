"""More elementwise functions of two tensors, PyTorch's: fmod and remainder, atan2, hypot, logaddexp(2),
xlogy, lerp, float_power, copysign, heaviside, and the logical and bitwise families.

Notation as in elementwise.py: y is the output, g = dL/dy; the operands broadcast and are promoted to
PyTorch's result dtype (`binary_operands`), and `unbroadcast` sums each gradient back to its input's
shape. The derivatives and their conventions at the kinks are PyTorch's (derivatives.yaml):

    fmod      y = a - b trunc(a / b)  (the sign of a)     dL/da = g,  dL/db = -g trunc(a / b)
    remainder y = a - b floor(a / b)  (the sign of b)     dL/da = g,  dL/db = -g (a // b)

The jumps where a / b crosses an integer are ignored, as in PyTorch.
"""
import numpy as np

from .base import OUTPUT, array_of, binary_operands, needs_grad, record, to_float, unbroadcast
from .compare import _SCALAR_TYPE_NAMES, _tensor_array
from . import elementwise
from .elementwise import _binary, _shape
from .shape import cast


def _refuse_kinds(kernel, kinds, *arrays):
    """PyTorch's error for a dtype its CPU kernel `kernel` has no code for (kinds: NumPy dtype kinds refused)."""
    for array in arrays:
        if isinstance(array, np.ndarray) and array.dtype.kind in kinds:
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_SCALAR_TYPE_NAMES[array.dtype.name]}'")


def _shapes_needing_grad(a, b, a_val, b_val):
    """Each operand's shape if it needs a gradient, else None (the only thing kept of it)."""
    return (_shape(a_val) if needs_grad(a) else None), (_shape(b_val) if needs_grad(b) else None)


def _float_operands(a, b):
    """The promoted operands, integers and bools turned into the default float dtype (atan2, hypot, xlogy...)."""
    a_val, b_val = binary_operands(a, b)
    a_val = to_float(a_val) if isinstance(a_val, np.ndarray) else a_val
    b_val = to_float(b_val) if isinstance(b_val, np.ndarray) else b_val
    # a Python number takes the tensor's dtype (PyTorch's rule) before any NumPy function sees it: np.log(2.0)
    # alone would be a float64 scalar that makes xlogy(float32 tensor, 2.0) float64
    if isinstance(a_val, np.ndarray) and not isinstance(b_val, np.ndarray):
        b_val = np.asarray(b_val, a_val.dtype)
    elif isinstance(b_val, np.ndarray) and not isinstance(a_val, np.ndarray):
        a_val = np.asarray(a_val, b_val.dtype)
    return a_val, b_val


def _check_integer_divisor(op, b_val):
    if isinstance(b_val, np.ndarray) and b_val.dtype.kind in "iu" and np.any(b_val == 0) or \
            isinstance(b_val, int) and b_val == 0:
        raise RuntimeError(f"{op}: ZeroDivisionError (an integer divisor is 0)")


# ----- division remainders ------------------------------------------------------------------------------
def fmod(input, other):
    """y = a - b trunc(a / b), the C library's fmod: the result has the sign of a (see the module docstring).

    dL/da = g ;  dL/db = -g trunc(a / b).  Saves `a_val` and `b_val` (both operands) when b needs a gradient."""
    a_val, b_val = binary_operands(input, other)
    _refuse_kinds("fmod_cpu", "b", a_val, b_val)
    _check_integer_divisor("fmod", b_val)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = _binary(fmod, a_val, b_val, np.fmod)
    return record(fmod, y, (input, other), _remainder_backward(input, other, a_val, b_val, _trunc_divide),
                  saved=(input, other) if _shapes_needing_grad(input, other, a_val, b_val)[1] else ())


def _python_remainder(a_val, b_val):
    """a mod b with the sign of b, as PyTorch computes it: fmod, then b added where the signs differ (a zero
    result keeps fmod's sign, where NumPy's np.remainder gives it b's)."""
    if np.result_type(a_val, b_val).kind in "iu":
        return np.remainder(a_val, b_val)
    with np.errstate(invalid="ignore", divide="ignore"):
        mod = np.fmod(a_val, b_val)
        return np.where((mod != 0) & ((np.asarray(b_val) < 0) != (mod < 0)), mod + b_val, mod).astype(mod.dtype)


def remainder(input, other):
    """y = a - b floor(a / b), Python's %: the result has the sign of b (see the module docstring).

    dL/da = g ;  dL/db = -g (a // b), Python's floor division.
    Saves `a_val` and `b_val` (both operands) when b needs a gradient."""
    a_val, b_val = binary_operands(input, other)
    _refuse_kinds("remainder_cpu", "b", a_val, b_val)
    _check_integer_divisor("remainder", b_val)
    y = _binary(remainder, a_val, b_val, _python_remainder)
    return record(remainder, y, (input, other), _remainder_backward(input, other, a_val, b_val, np.floor_divide),
                  saved=(input, other) if _shapes_needing_grad(input, other, a_val, b_val)[1] else ())


def _trunc_divide(a_val, b_val, dtype):
    return np.trunc(np.divide(a_val, b_val, dtype=dtype))


def rremainder(a, b):
    """y = b % a, for Python's reflected `number % tensor`."""
    return remainder(b, a)


def _remainder_backward(a, b, a_val, b_val, rounded_quotient):
    """dL/da = g, dL/db = -g q with q = `rounded_quotient`(a, b): trunc(a / b) for fmod, and for remainder
    NumPy's floor_divide, which is PyTorch's floor division too (from fmod: -5 // inf is -1, not floor(-0))."""
    a_shape, b_shape = _shapes_needing_grad(a, b, a_val, b_val)
    if b_shape is None:
        a_val = b_val = None  # only dL/db reads the operands

    def remainder_backward(grad_out):
        grad_a = None if a_shape is None else unbroadcast(grad_out, a_shape)
        if b_shape is None:
            return grad_a, None
        with np.errstate(invalid="ignore", divide="ignore"):
            quotient = rounded_quotient(a_val, b_val, dtype=grad_out.dtype)
        return grad_a, unbroadcast(-grad_out * quotient, b_shape)

    return remainder_backward


# ----- angles and lengths -------------------------------------------------------------------------------
def atan2(input, other):
    """y = atan2(a, b), the angle of the point (b, a) in (-pi, pi]

    dL/da = g b / (a^2 + b^2) ;  dL/db = -g a / (a^2 + b^2), both 0 where a^2 + b^2 is 0 (at the origin
    and where it underflows: PyTorch's convention).  Saves `a_val` and `b_val` (both operands)."""
    a_val, b_val = _float_operands(_tensor_array(input, "atan2", 1, "input"), _tensor_array(other, "atan2", 2, "other"))
    a_shape, b_shape = _shapes_needing_grad(input, other, a_val, b_val)

    def atan2_backward(grad_out):
        with np.errstate(divide="ignore"):
            recip = 1 / (a_val * a_val + b_val * b_val)
        recip = np.where(np.isinf(recip), 0, recip)  # 0-d operands give a NumPy scalar: no item assignment
        return (None if a_shape is None else unbroadcast(grad_out * b_val * recip, a_shape),
                None if b_shape is None else unbroadcast(grad_out * -a_val * recip, b_shape))

    return record(atan2, _binary(atan2, a_val, b_val, np.arctan2), (input, other), atan2_backward,
                  saved=(input, other))


def hypot(input, other):
    """y = sqrt(a^2 + b^2) without overflow

    dL/da = g a / y ;  dL/db = g b / y  (NaN at y = 0, 0/0, as in PyTorch).
    Saves `a_val`, `b_val` (both operands) and `y`."""
    a_val, b_val = binary_operands(_tensor_array(input, "hypot", 1, "input"), _tensor_array(other, "hypot", 2, "other"))
    _refuse_kinds("hypot_cpu", "biu", a_val, b_val)
    a_shape, b_shape = _shapes_needing_grad(input, other, a_val, b_val)
    y = _binary(hypot, a_val, b_val, np.hypot)

    def hypot_backward(grad_out):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (None if a_shape is None else unbroadcast(grad_out * a_val / y, a_shape),
                    None if b_shape is None else unbroadcast(grad_out * b_val / y, b_shape))

    return record(hypot, y, (input, other), hypot_backward, saved=(input, other, OUTPUT))


# ----- sums of exponentials ---------------------------------------------------------------------------
def logaddexp(input, other):
    """y = log(e^a + e^b), computed as max(a, b) + log1p(e^-|a - b|)

    dL/da = g / (1 + e^(b - a)) ;  dL/db = g / (1 + e^(a - b)).  Saves `a_val` and `b_val` (both operands)."""
    return _log_add(logaddexp, input, other, np.logaddexp, np.exp)


def logaddexp2(input, other):
    """y = log2(2^a + 2^b)

    dL/da = g / (1 + 2^(b - a)) ;  dL/db = g / (1 + 2^(a - b)).  Saves `a_val` and `b_val` (both operands)."""
    return _log_add(logaddexp2, input, other, np.logaddexp2, np.exp2)


def _log_add(op, input, other, compute, base_power):
    name = op.__name__
    a_val, b_val = binary_operands(_tensor_array(input, name, 1, "input"), _tensor_array(other, name, 2, "other"))
    _refuse_kinds(f"{name}_cpu", "biu", a_val, b_val)
    a_shape, b_shape = _shapes_needing_grad(input, other, a_val, b_val)

    def log_add_backward(grad_out):
        with np.errstate(over="ignore"):
            return (None if a_shape is None else unbroadcast(grad_out / (1 + base_power(b_val - a_val)), a_shape),
                    None if b_shape is None else unbroadcast(grad_out / (1 + base_power(a_val - b_val)), b_shape))

    return record(op, _binary(op, a_val, b_val, compute), (input, other), log_add_backward, saved=(input, other))


def xlogy(input, other):
    """y = a log b, with y = 0 where a = 0 (unless b is NaN): the convention of entropies, 0 log 0 = 0

    dL/da = g log b, but 0 where g = 0 and where a = 0 and b <= 0 (PyTorch's: xlogy(g, b) masked) ;
    dL/db = g a / b.  Saves `a_val` and `b_val` (both operands)."""
    a_val, b_val = _float_operands(input, other)
    a_shape, b_shape = _shapes_needing_grad(input, other, a_val, b_val)

    def xlogy_backward(grad_out):
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_a = None if a_shape is None else np.where((a_val == 0) & (b_val <= 0), 0, _xlogy(grad_out, b_val))
            return (None if a_shape is None else unbroadcast(grad_a.astype(grad_out.dtype, copy=False), a_shape),
                    None if b_shape is None else unbroadcast(grad_out * a_val / b_val, b_shape))

    return record(xlogy, _binary(xlogy, a_val, b_val, _xlogy), (input, other), xlogy_backward,
                  saved=(input, other))


def _xlogy(a_val, b_val):
    with np.errstate(divide="ignore", invalid="ignore"):
        product = np.multiply(a_val, np.log(b_val))
    return np.where((np.asarray(a_val) == 0) & ~np.isnan(b_val), 0, product).astype(product.dtype, copy=False)


# ----- interpolation and powers -------------------------------------------------------------------------
def lerp(input, end, weight):
    """y = start + weight (end - start), computed as end - (end - start)(1 - weight) where |weight| >= 0.5,
    PyTorch's two forms (exact at both ends); `weight` a number or a tensor, all three broadcast.

    dL/dstart = g (1 - weight) ;  dL/dend = g weight ;  dL/dweight = g (end - start).
    Saves `weight_val` (weight), and `start_val` and `end_val` when weight needs a gradient."""
    start_val, end_val = _tensor_array(input, "lerp", 1, "input"), _tensor_array(end, "lerp", 2, "end")
    weight_val = array_of(weight)
    _check_lerp_dtypes(start_val, end_val, weight_val, isinstance(weight, (int, float)))
    try:
        shape = np.broadcast_shapes(start_val.shape, end_val.shape, np.shape(weight_val))
    except ValueError:
        raise RuntimeError(f"lerp: start {tuple(start_val.shape)}, end {tuple(end_val.shape)} and weight "
                           f"{tuple(np.shape(weight_val))} cannot be broadcast together") from None
    small = np.abs(weight_val) < 0.5
    y = np.where(small, start_val + weight_val * (end_val - start_val),
                 end_val - (end_val - start_val) * (1 - weight_val)).astype(start_val.dtype, copy=False)
    y = np.broadcast_to(y, shape).copy() if y.shape != shape else y
    start_shape = start_val.shape if needs_grad(input) else None  # None: no gradient for that input
    end_shape = end_val.shape if needs_grad(end) else None
    weight_needs = needs_grad(weight)
    weight_shape = np.shape(weight_val) if weight_needs else None
    if not weight_needs:
        start_val = end_val = None  # only dL/dweight reads them

    def lerp_backward(grad_out):
        return (None if start_shape is None else unbroadcast(grad_out * (1 - weight_val), start_shape),
                None if end_shape is None else unbroadcast(grad_out * weight_val, end_shape),
                None if weight_shape is None else unbroadcast(grad_out * (end_val - start_val), weight_shape))

    return record(lerp, y, (input, end, weight), lerp_backward, saved=(weight, input if weight_needs else None,
                                                                       end if weight_needs else None))


def _check_lerp_dtypes(start_val, end_val, weight_val, weight_is_number):
    if start_val.dtype.kind != "f":
        kernel = "lerp_kernel_scalar" if weight_is_number else "lerp_kernel_tensor"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_SCALAR_TYPE_NAMES[start_val.dtype.name]}'")
    for name, value in (("end", end_val), ("weight", weight_val)):
        if isinstance(value, np.ndarray) and value.dtype != start_val.dtype and not (name == "weight" and
                                                                                       value.ndim == 0):
            raise RuntimeError(f"expected dtype {_SCALAR_TYPE_NAMES[start_val.dtype.name].lower()} for "
                               f"`{name}` but got dtype {_SCALAR_TYPE_NAMES[value.dtype.name].lower()}")


def float_power(input, exponent):
    """y = input ** exponent computed in float64 whatever the dtypes (PyTorch's float_power), composed:
    pow of the float64 casts, so the gradient (cast back to each input's dtype) is pow's."""
    def in_double(value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return cast(value, np.float64) if hasattr(value, "array") else np.asarray(value, np.float64)

    return elementwise.pow(in_double(input), in_double(exponent))


# ----- signs --------------------------------------------------------------------------------------------
def copysign(input, other):
    """y = |a| with the sign of b (a float; -0.0 and NaN's sign bit count)

    dL/da = g y / a, 0 where a = 0 (PyTorch's) ;  dL/db = 0.  Saves `ratio` (y / a, with its zeros)."""
    a_val, b_val = _float_operands(input, other)
    a_shape, b_shape = _shapes_needing_grad(input, other, a_val, b_val)
    y = _binary(copysign, a_val, b_val, np.copysign)
    ratio = None
    if a_shape is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(np.asarray(a_val) == 0, 0, y / a_val).astype(y.dtype, copy=False)

    def copysign_backward(grad_out):
        return (None if a_shape is None else unbroadcast(grad_out * ratio, a_shape),
                None if b_shape is None else np.zeros(b_shape, grad_out.dtype))

    return record(copysign, y, (input, other), copysign_backward)


def heaviside(input, values):
    """y = 0 where x < 0, `values` where x == 0, 1 where x > 0 (input and values of one dtype).

    Not differentiable: like PyTorch, a result that requires grad refuses backward.  Saves nothing."""
    x_val, values_val = _tensor_array(input, "heaviside", 1, "input"), _tensor_array(values, "heaviside", 2, "values")
    if x_val.dtype != values_val.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    y = _binary(heaviside, x_val, values_val, lambda x, v: np.where(x == 0, v, x > 0).astype(x.dtype, copy=False))
    return record(heaviside, y, (input, values), _heaviside_backward)


def _heaviside_backward(grad_out):
    raise RuntimeError("derivative for aten::heaviside is not implemented")
