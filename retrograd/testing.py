"""PyTorch's `torch.testing.assert_close`: its default tolerances per dtype and its messages.

Closeness is `isclose`'s (ops/compare.py): |actual - expected| <= atol + rtol * |expected|, or equal.
"""
import collections.abc
import math

import numpy as np

from .dtypes import get_default_dtype
from .ops.compare import close_arrays
from .tensor import Size, Tensor

# PyTorch's default (rtol, atol) for assert_close; any other dtype (ints, bool) is compared exactly
DEFAULT_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
                      np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
                      np.dtype(np.complex128): (1e-7, 1e-7)}

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
    matches = close_arrays(actual, expected, rtol, atol, equal_nan)
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
