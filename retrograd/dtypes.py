"""PyTorch's dtype names for NumPy's dtypes, and the default floating-point dtype.

A retrograd tensor holds a NumPy array, so a dtype is a `numpy.dtype`: `retrograd.float32 is
np.dtype("float32")`. PyTorch's short names `float`, `int` and `bool` are bound by the package
(`retrograd.float` is float32), not here, so that no module shadows Python's builtins.
"""
import numpy as np

float16 = half = np.dtype("float16")
float32 = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")

_default_dtype = [float32]  # what Python floats and float factories produce


def set_default_dtype(dtype):
    """Set the dtype that Python floats and float factories produce (float32 or float64)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {dtype}")
    _default_dtype[0] = dtype


def get_default_dtype():
    return _default_dtype[0]


def as_dtype(dtype):
    """`dtype` as a numpy.dtype (None stays None: "the default")."""
    return None if dtype is None else np.dtype(dtype)
