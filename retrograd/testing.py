"""Comparing tensors as PyTorch does: `isclose`, `allclose`, `equal` (also `retrograd.isclose`, ...) and
`retrograd.testing.assert_close`, with PyTorch's default tolerances per dtype and its messages.

Closeness is PyTorch's (and NumPy's) asymmetric test, computed in the inputs' dtype:

    |actual - expected| <= atol + rtol * |expected|      (equal values, infinities included, always match)

None of these is differentiable: their results are bools.
"""
import collections.abc
import math

import numpy as np

from .dtypes import get_default_dtype
from .tensor import Size, Tensor

# PyTorch's default (rtol, atol) for assert_close; any other dtype (ints, bool) is compared exactly
DEFAULT_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
                      np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
                      np.dtype(np.complex128): (1e-7, 1e-7)}

# PyTorch's names of the dtypes, for isclose's dtype-mismatch message ("Float did not match Double")
_SCALAR_TYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                      "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                      "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _tensor_array(value, op_name, position, argument):
    if not isinstance(value, Tensor):
        raise TypeError(f"{op_name}(): argument '{argument}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")
    return value.array


def _close_arrays(a, b, rtol, atol, equal_nan):
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
    return Tensor._from_array(_close_arrays(a, b, rtol, atol, equal_nan))


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


# ----- assert_close ----------------------------------------------------------------------------------------
class _Mismatch(Exception):
    """A failed comparison: the exception type to raise, PyTorch's message, and where (the item path)."""

    def __init__(self, kind, message, path=()):
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless `actual` and `expected` are close: tensors (or NumPy arrays) of one
    shape and dtype within (rtol, atol), by default PyTorch's for the dtype (DEFAULT_TOLERANCES); numbers;
    and sequences or mappings of them, compared item by item. `msg` (a string, or a function of the
    generated message) replaces the message. check_device/layout/stride are accepted: retrograd has
    one device and one layout."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, "
                         f"but got no {'rtol' if rtol is None else 'atol'}.")
    try:
        _compare(actual, expected, (), rtol, atol, equal_nan, check_dtype)
    except _Mismatch as mismatch:
        if isinstance(msg, str):
            raise mismatch.kind(msg) from None
        message = mismatch.message
        if mismatch.path:
            message += f"\n\nThe failure occurred for item {''.join(f'[{key!r}]' for key in mismatch.path)}"
        raise mismatch.kind(msg(message) if callable(msg) else message) from None


def _compare(actual, expected, path, rtol, atol, equal_nan, check_dtype):
    """Compare two values of matching kinds, recursing into sequences and mappings."""
    if isinstance(actual, (Tensor, np.ndarray)) and type(actual) is type(expected):
        return _compare_arrays(_array(actual), _array(expected), path, rtol, atol, equal_nan, check_dtype)
    if isinstance(actual, bool) and isinstance(expected, bool):
        if actual is not expected:
            raise _Mismatch(AssertionError, f"Booleans mismatch: {actual} is not {expected}", path)
        return None
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return _compare_numbers(actual, expected, path, rtol, atol, equal_nan, check_dtype)
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != "
                                            f"{len(expected)}", path)
        for index, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (index,), rtol, atol, equal_nan, check_dtype)
        return None
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(set(expected) - set(actual))}\n"
                            f"Additional keys in the actual mapping: {sorted(set(actual) - set(expected))}", path)
        for key in expected:
            _compare(actual[key], expected[key], path + (key,), rtol, atol, equal_nan, check_dtype)
        return None
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                               f"{type(expected)}.", path)


def _is_sequence(value):
    return isinstance(value, collections.abc.Sequence) and not isinstance(value, str)


def _array(value):
    return np.asarray(value.array if isinstance(value, Tensor) else value)


def _tolerances(dtypes, rtol, atol):
    if rtol is not None:
        return rtol, atol
    pairs = [DEFAULT_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _compare_numbers(actual, expected, path, rtol, atol, equal_nan, check_dtype):
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    rtol, atol = _tolerances([np.float64 if isinstance(x, float) else np.int64 for x in (actual, expected)],
                             rtol, atol)
    if actual == expected or (equal_nan and math.isnan(actual) and math.isnan(expected)):
        return
    abs_diff = abs(actual - expected)
    if math.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_message(actual, expected, rtol, atol), path)


def _compare_arrays(actual, expected, path, rtol, atol, equal_nan, check_dtype):
    if actual.shape != expected.shape:
        raise _Mismatch(AssertionError, f"The values for attribute 'shape' do not match: {Size(actual.shape)!r} "
                                        f"!= {Size(expected.shape)!r}.", path)
    if actual.dtype != expected.dtype:
        if check_dtype:
            raise _Mismatch(AssertionError, f"The values for attribute 'dtype' do not match: retrograd."
                                            f"{actual.dtype} != retrograd.{expected.dtype}.", path)
        common = np.result_type(actual.dtype, expected.dtype)
        actual, expected = actual.astype(common), expected.astype(common)
    rtol, atol = _tolerances([actual.dtype, expected.dtype], rtol, atol)
    matches = _close_arrays(actual, expected, rtol, atol, equal_nan)
    if np.all(matches):
        return
    if actual.ndim == 0:
        raise _Mismatch(AssertionError, _scalar_message(actual.item(), expected.item(), rtol, atol), path)
    raise _Mismatch(AssertionError, _tensor_message(actual, expected, matches, rtol, atol), path)


def _scalar_message(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = math.inf if expected == 0 else abs_diff / abs(expected)
    return _mismatch_message("Scalars", f"Expected {expected} but got {actual}.",
                             [("Absolute difference", abs_diff, atol), ("Relative difference", rel_diff, rtol)],
                             rtol, atol)


def _tensor_message(actual, expected, matches, rtol, atol):
    """PyTorch's report: how many entries mismatch, the greatest absolute and relative differences and
    where (among the mismatched entries; computed in the dtype, integers as int64)."""
    shape = matches.shape
    actual, expected, matches = actual.reshape(-1), expected.reshape(-1), matches.reshape(-1)
    if actual.dtype.kind not in "fc":
        actual, expected = actual.astype(np.int64), expected.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_diff = np.abs(actual - expected)
        abs_diff[matches] = 0
        rel_diff = np.true_divide(abs_diff, np.abs(expected),
                                  dtype=None if actual.dtype.kind in "fc" else get_default_dtype())
    rel_diff[matches] = 0
    mismatches = matches.size - int(np.count_nonzero(matches))
    extra = f"Mismatched elements: {mismatches} / {matches.size} ({mismatches / matches.size:.1%})"
    lines = []
    for kind, diff, tolerance in (("absolute", abs_diff, atol), ("relative", rel_diff, rtol)):
        at = int(np.argmax(diff))  # NaN counts as the greatest, as torch.max does
        index = tuple(int(i) for i in np.unravel_index(at, shape))
        lines.append((f"Greatest {kind} difference", f"{diff[at].item()} at index {index}", tolerance))
    return _mismatch_message("Tensor-likes", extra, lines, rtol, atol)


def _mismatch_message(identifier, extra, lines, rtol, atol):
    equality = rtol == 0 and atol == 0
    message = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra}\n"
    for label, value, tolerance in lines:
        message += f"{label}: {value}" + ("\n" if equality else f" (up to {tolerance} allowed)\n")
    return message.strip()
