"""Anomaly mode: find the op that first produced a NaN or Inf.

Under `detect_anomaly()`, every op checks its forward output and records the
user's line that created it; the backward pass checks every VJP's output.
The first NaN/Inf raises a RuntimeError naming the op and that line. It costs
a scan of every array, so it is off by default (as in PyTorch).
"""
import functools
import os
import sys

import numpy as np

_state = [False]


def is_enabled():
    return _state[0]


class detect_anomaly:
    """Context manager (and decorator) turning anomaly detection on.

    `check_nan=True` matches PyTorch's signature; detection is what it enables."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self.previous = []

    def __enter__(self):
        self.previous.append(_state[0])
        _state[0] = self.check_nan
        return self

    def __exit__(self, *exc_info):
        _state[0] = self.previous.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off now, like PyTorch's: `set_detect_anomaly(True)` as a call sets
    the mode; used as a context manager, it sets it on entry and restores the previous mode on exit."""

    def __init__(self, mode, check_nan=True):
        self.previous = _state[0]
        _state[0] = bool(mode) and check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _state[0] = self.previous
        return False


def _bad(array):
    array = np.asarray(array)
    return array.dtype.kind in "fc" and not np.isfinite(array).all()


def check_forward(op_name, output, where):
    if _bad(output):
        kind = "nan" if np.isnan(np.asarray(output)).any() else "inf"
        raise RuntimeError(f"Anomaly: op '{op_name}' returned {kind} values in its forward output.\n"
                           f"The op was called at: {where}")


def check_backward(node, input_grads):
    for i, grad in enumerate(input_grads):
        if grad is not None and _bad(grad):
            kind = "nan" if np.isnan(np.asarray(grad)).any() else "inf"
            raise RuntimeError(
                f"Anomaly: function '{node.name()}' returned {kind} values in its {i}th output "
                f"(the gradient for input {i}).\nThe forward op was called at: {node.trace or '<unknown>'}"
            )


# the retrograd package's folder: frames under it are the library's, not the user's
_PACKAGE_DIR = os.path.normcase(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep


def user_frame_summary():
    """'file:line in function' of the innermost caller outside the retrograd package (any OS's paths)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.normcase(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
