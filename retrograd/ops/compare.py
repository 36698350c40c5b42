"""Comparisons that answer with bools, as PyTorch's: `isclose`, `allclose`, `equal` (also Tensor methods).

Closeness is PyTorch's (and NumPy's) asymmetric test, computed in the inputs' dtype:

    |input - other| <= atol + rtol * |other|      (equal values, infinities included, always match)

None of these is differentiable: their results are bools, off the tape.
"""
import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor

# PyTorch's names of the dtypes, for isclose's dtype-mismatch message ("Float did not match Double")
_SCALAR_TYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                      "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                      "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _tensor_array(value, op_name, position, argument):
    if not isinstance(value, Tensor):
        raise TypeError(f"{op_name}(): argument '{argument}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")
    return value.array


def close_arrays(a, b, rtol, atol, equal_nan):
    """The bool array of PyTorch's isclose on two arrays of one dtype."""
    close = np.asarray(a == b)
    floating = a.dtype.kind in "fc"
    if equal_nan and floating:
        close = close | (np.isnan(a) & np.isnan(b))
    if rtol == 0 and atol == 0:
        return close
    if a.dtype.kind == "b":  # PyTorch computes the errors of bools in the default float dtype
        a, b = a.astype(get_default_dtype()), b.astype(get_default_dtype())
    with np.errstate(invalid="ignore", over="ignore"):
        allowed_error = atol + np.abs(rtol * b)
        actual_error = np.abs(a - b)
        return close | (np.isfinite(actual_error) & (actual_error <= allowed_error))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """A bool tensor: where |input - other| <= atol + rtol * |other| (or the two are equal; NaN equals NaN
    only with equal_nan). Both tensors must have one dtype and broadcastable shapes, as in PyTorch."""
    a, b = _tensor_array(input, "isclose", 1, "input"), _tensor_array(other, "isclose", 2, "other")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{_SCALAR_TYPE_NAMES.get(a.dtype.name, a.dtype.name)} did not match "
                           f"{_SCALAR_TYPE_NAMES.get(b.dtype.name, b.dtype.name)}: isclose() compares tensors of "
                           f"one dtype (got {a.dtype} and {b.dtype}); cast one with .to()")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    _check_broadcastable(a.shape, b.shape)
    return Tensor._from_array(close_arrays(a, b, rtol, atol, equal_nan))


def _check_broadcastable(shape_a, shape_b):
    """PyTorch's broadcasting error, naming the first dimension (from the right) that does not match."""
    for offset in range(1, min(len(shape_a), len(shape_b)) + 1):
        size_a, size_b = shape_a[-offset], shape_b[-offset]
        if size_a != size_b and 1 not in (size_a, size_b):
            dim = max(len(shape_a), len(shape_b)) - offset
            raise RuntimeError(f"The size of tensor a ({size_a}) must match the size of tensor b ({size_b}) "
                               f"at non-singleton dimension {dim}")


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if isclose(input, other, ...) holds everywhere (a Python bool)."""
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan).array))


def equal(input, other):
    """True if both tensors have the same shape and the same values (NaN is never equal; dtypes may
    differ), as torch.equal."""
    a, b = _tensor_array(input, "equal", 1, "input"), _tensor_array(other, "equal", 2, "other")
    return a.shape == b.shape and bool(np.all(a == b))
