"""A tensor's text, as PyTorch prints it: `repr(t)`, `str(t)`, `print(t)`, and `set_printoptions`.

The rules, PyTorch's (`torch/_tensor_str.py`), re-derived here for NumPy arrays:

- One format for the whole tensor, chosen from its finite non-zero values (`_Formatter`): integral
  floats print as `1.`, `-3.` (int mode); scientific notation (`1.0000e-08`) when the largest
  magnitude exceeds the smallest by more than 1000x, exceeds 1e8, or the smallest is under 1e-4;
  fixed `precision` digits otherwise. Every element is padded to the widest one.
- More than `threshold` elements: only `edgeitems` rows/elements at each end of every dimension,
  with `...` between them, and the format is chosen from what is shown.
- Rows wrap at `linewidth`, indented under their opening bracket; nested dimensions are separated
  by as many newlines as the dimensions below them.
- Suffixes: the dtype when it is not the default of its kind (the default float dtype, int64, bool;
  an empty tensor shows any dtype but the default float), `size=` for an empty tensor that is not
  1-D, then `grad_fn=<...>` or `requires_grad=True`. A suffix moves to a new line when it would
  pass `linewidth`.
"""
import contextlib
import dataclasses
import math
import numbers

import numpy as np

from .dtypes import _default_dtype

PROFILES = {  # precision, threshold, edgeitems, linewidth
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


@dataclasses.dataclass
class PrintOptions:
    precision: int = 4  # digits after the point
    threshold: float = 1000  # more elements than this are summarised
    edgeitems: int = 3  # elements kept at each end of a summarised dimension
    linewidth: int = 80  # columns before a row wraps
    sci_mode: bool | None = None  # None: chosen per tensor from its values


PRINT_OPTIONS = PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """PyTorch's `torch.set_printoptions`: `profile` ("default", "short", "full") sets the first four
    options, the arguments given override it. As in PyTorch, `sci_mode` is always set: a call without
    it returns to choosing the notation per tensor. Every argument is checked before any option changes."""
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"set_printoptions: profile must be one of {sorted(PROFILES)}, got {profile!r}")
    _check_integer("precision", precision, minimum=0)
    _check_integer("edgeitems", edgeitems, minimum=0)
    _check_integer("linewidth", linewidth)
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)):
        raise ValueError(f"set_printoptions: threshold must be a number (math.inf: never summarise), "
                         f"got {threshold!r}")
    if sci_mode is not None and not isinstance(sci_mode, (bool, np.bool_)):
        raise ValueError(f"set_printoptions: sci_mode must be True, False or None (chosen per tensor), "
                         f"got {sci_mode!r}")
    if profile is not None:
        (PRINT_OPTIONS.precision, PRINT_OPTIONS.threshold,
         PRINT_OPTIONS.edgeitems, PRINT_OPTIONS.linewidth) = PROFILES[profile]
    if precision is not None:
        PRINT_OPTIONS.precision = precision
    if threshold is not None:
        PRINT_OPTIONS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTIONS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTIONS.linewidth = linewidth
    PRINT_OPTIONS.sci_mode = sci_mode


def _check_integer(name, value, minimum=None):
    """None (keep the option) or an integer, not a bool, at least `minimum`."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (minimum is not None and value < minimum):
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise ValueError(f"set_printoptions: {name} must be {expected}, got {value!r}")


def get_printoptions():
    """The current options as a dict that `set_printoptions(**options)` restores."""
    return dataclasses.asdict(PRINT_OPTIONS)


@contextlib.contextmanager
def printoptions(**options):
    """`set_printoptions(**options)` inside the `with` block only."""
    saved = get_printoptions()
    set_printoptions(**options)
    try:
        yield
    finally:
        set_printoptions(**saved)


class _Formatter:
    """The one format every element of a real array is printed in, and its width."""

    def __init__(self, array):
        self.floating = array.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            self.width = max([self.width] + [len(str(value)) for value in array.ravel().tolist()])
            return
        shown = array[np.isfinite(array) & (array != 0)]
        if shown.size == 0:  # only zeros, nan and inf: printed as `0.`, `nan`, `inf`
            return
        magnitudes = np.abs(shown.astype(np.float64))  # float16 would overflow the ratio below
        smallest, largest = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if PRINT_OPTIONS.sci_mode is None:
            with np.errstate(over="ignore"):  # 1e300 / 1e-300 is inf: a ratio over 1000, no warning needed
                self.sci_mode = bool(largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTIONS.sci_mode
        self.width = max(len(self.format(value)) for value in shown.tolist())

    def format(self, value):
        """`value` (a Python number) in this format, padded on the left to the common width."""
        precision = PRINT_OPTIONS.precision
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:.{precision}e}"
        elif self.int_mode:  # the point says "float"; nan and inf need no point to say so
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{precision}f}"
        return text.rjust(self.width)


class _ComplexFormatter:
    """`a+bj` with the real and the imaginary parts each in its own `_Formatter`."""

    def __init__(self, array):
        self.real, self.imag = _Formatter(array.real), _Formatter(array.imag)
        self.width = self.real.width + self.imag.width + 1  # + the `j`

    def format(self, value):
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return self.real.format(value.real) + ("" if imag[0] in "+-" else "+") + imag


def _formatter(array):
    return _ComplexFormatter(array) if array.dtype.kind == "c" else _Formatter(array)


def _summarized(array, edgeitems):
    """The elements a summarised print shows: `edgeitems` at each end of every long dimension."""
    if array.ndim == 0:
        return array
    if array.ndim == 1:  # with edgeitems 0, PyTorch's `x[-0:]` is all of x: the format sees every value
        return np.concatenate((array[:edgeitems], array[-edgeitems:])) if len(array) > 2 * edgeitems else array
    if not edgeitems:
        return array[(slice(0, 0),) * array.ndim]
    for axis, size in enumerate(array.shape):
        if size > 2 * edgeitems:
            array = np.take(array, np.r_[0:edgeitems, size - edgeitems:size], axis=axis)
    return array


def _row_str(row, indent, summarize, formatter):
    """A 1-D array: elements separated by ", ", wrapped at the line width under the bracket."""
    edgeitems = PRINT_OPTIONS.edgeitems
    per_line = max(1, math.floor((PRINT_OPTIONS.linewidth - indent) / (formatter.width + 2)))
    if summarize and not edgeitems:
        items = ["..."]
    elif summarize and len(row) > 2 * edgeitems:
        items = ([formatter.format(v) for v in row[:edgeitems].tolist()] + [" ..."]
                 + [formatter.format(v) for v in row[-edgeitems:].tolist()])
    else:
        items = [formatter.format(v) for v in row.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(array, indent, summarize, formatter):
    if array.ndim == 0:
        return formatter.format(array.item())
    if array.ndim == 1:
        return _row_str(array, indent, summarize, formatter)
    edgeitems = PRINT_OPTIONS.edgeitems
    if summarize and len(array) > 2 * edgeitems:
        shown = [_nested_str(array[i], indent + 1, summarize, formatter) for i in range(edgeitems)]
        shown += ["..."] + [_nested_str(array[i], indent + 1, summarize, formatter)
                            for i in range(len(array) - edgeitems, len(array))]
    else:
        shown = [_nested_str(sub, indent + 1, summarize, formatter) for sub in array]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(shown) + "]"


def _values_str(array, indent):
    summarize = array.size > PRINT_OPTIONS.threshold
    formatter = _formatter(_summarized(array, PRINT_OPTIONS.edgeitems) if summarize else array)
    return _nested_str(array, indent, summarize, formatter)


def _add_suffixes(text, suffixes, indent):
    """`, suffix` after the values, or `,` + a new line indented under the values where it would
    pass the line width (PyTorch counts the last line's length from one past its newline, plus one)."""
    parts = [text]
    line_length = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_length + len(suffix) + 2 > PRINT_OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            line_length = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            line_length += len(suffix) + 2
    return "".join(parts) + ")"


def dtype_str(dtype):
    """PyTorch's name for a dtype: `torch.float64`, `torch.bool` (a NumPy dtype's name is PyTorch's)."""
    return "torch." + np.dtype(dtype).name


def tensor_repr(array, grad_fn_name=None, requires_grad=False, prefix="tensor("):
    """`tensor([...], dtype=..., grad_fn=<...>)` for a tensor holding `array`; wrapped lines are
    indented under the values, past `prefix`."""
    indent = len(prefix)
    default_float = _default_dtype[0]
    default_complex = np.dtype(np.complex128 if default_float == np.float64 else np.complex64)
    suffixes = []
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if array.dtype != default_float:  # no value to tell an int64 or bool tensor by
            suffixes.append(f"dtype={dtype_str(array.dtype)}")
        text = "[]"
    else:
        if not PRINT_OPTIONS.edgeitems:
            suffixes.append(f"size={tuple(array.shape)}")
        if array.dtype not in (default_float, default_complex, np.int64, np.bool_):
            suffixes.append(f"dtype={dtype_str(array.dtype)}")
        text = _values_str(array, indent)
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + text, suffixes, indent)
