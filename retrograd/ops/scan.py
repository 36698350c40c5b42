"""Scans along one dim, PyTorch's: cumprod, logcumsumexp, and cummax/cummin (values and indices).

Notation: x_0 .. x_{n-1} along `dim`, y_k the scan's k-th output, g_k = dL/dy_k, and revcumsum(v)_k =
v_k + ... + v_{n-1}, the reversed cumulative sum (the adjoint of cumsum).

    cumprod       y_k = x_0 ... x_k        dL/dx_j = sum_{k>=j} g_k y_k / x_j = revcumsum(g y)_j / x_j
    logcumsumexp  y_k = log sum_{i<=k} e^{x_i}      dL/dx_j = sum_{k>=j} g_k e^{x_j - y_k}

cumprod's division fails at a zero. With the first zero of a slice at z: an entry before z has no zero
among x_0..x_j, and the products past z are 0, so the formula holds there; the entry at z gets
sum_{k>=z} g_k prod_{i<=k, i!=z} x_i, the reversed cumulative sum of g times the cumulative product with
x_z read as 1; entries after z get 0 (each of their products keeps x_z). Exact with any number of zeros.

cummax/cummin pick entries of x (the running max or min and where it was), so their values are a
gather of x at the indices and their gradient is gather's: g scattered to the picked positions. Ties
go to the latest position (PyTorch's >= and <=), and a NaN, once met, is the running value.
"""
import collections

import numpy as np

from .base import OUTPUT, array_of, normalize_dims, record
from .compare import _SCALAR_TYPE_NAMES
from .indexing import gather

# PyTorch's torch.return_types.cummax / .cummin: tuples with .values and .indices
CummaxResult = collections.namedtuple("cummax", ["values", "indices"])
CumminResult = collections.namedtuple("cummin", ["values", "indices"])

_INT64 = np.dtype(np.int64)


def _scan_axis(dim, ndim, op_name):
    """The axis of a scan, or None for a 0-d input (whose scan is the identity)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op_name}(): argument 'dim' must be int, not {type(dim).__name__}")
    axis = normalize_dims(int(dim), ndim, op_name)[0]
    return axis if ndim else None


def _revcumsum(v, axis):
    return np.flip(np.cumsum(np.flip(v, axis), axis=axis), axis)


def cumprod(input, dim, *, dtype=None):
    """y_k = x_0 x_1 ... x_k along `dim` (bool and integer inputs give int64, as cumsum's).

    dL/dx_j = revcumsum(g y)_j / x_j without zeros; with zeros, the exact form of the module docstring.
    Saves `x_val` (x) and `y`."""
    x_val = array_of(input)
    axis = _scan_axis(dim, x_val.ndim, "cumprod")
    if dtype is None and x_val.dtype.kind in "biu":
        dtype = _INT64
    if dtype is not None:
        x_val = x_val.astype(dtype)
    y = x_val.copy() if axis is None else np.cumprod(x_val, axis=axis)
    x_dtype = array_of(input).dtype

    def cumprod_backward(grad_out):
        if axis is None:
            return (grad_out.astype(x_dtype, copy=False),)
        return (_cumprod_grad(grad_out, x_val, y, axis).astype(x_dtype, copy=False),)

    return record(cumprod, y, (input,), cumprod_backward, saved=(input, OUTPUT))


def _cumprod_grad(grad_out, x_val, y, axis):
    """dL/dx of cumprod, exact at zeros (module docstring)."""
    is_zero = x_val == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        before_zero = _revcumsum(grad_out * y, axis) / np.where(is_zero, 1, x_val)  # term 1: j < z
    if not is_zero.any():
        return before_zero
    zeros_so_far = np.cumsum(is_zero, axis=axis)
    first_zero = is_zero & (zeros_so_far == 1)
    at_zero = _revcumsum(grad_out * np.cumprod(np.where(first_zero, 1, x_val), axis=axis), axis)  # term 2: j = z
    return np.where(zeros_so_far == 0, before_zero, np.where(first_zero, at_zero, 0))


def logcumsumexp(input, dim):
    """y_k = log(e^{x_0} + ... + e^{x_k}) along `dim`, accumulated pairwise with logaddexp (no overflow).

    dL/dx_j = sum_{k>=j} g_k e^{x_j - y_k}, computed as PyTorch does (after TensorFlow): the positive and
    the negative parts of g each as exp(reversed logcumsumexp(log|g| - y) + x), so nothing overflows.
    Saves `x_val` (x) and `y`."""
    x_val = array_of(input)
    axis = _scan_axis(dim, x_val.ndim, "logcumsumexp")
    if x_val.dtype.kind not in "fc":
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for "
                                  f"'{_SCALAR_TYPE_NAMES[x_val.dtype.name]}'")
    y = x_val.copy() if axis is None or x_val.size == 0 else np.logaddexp.accumulate(x_val, axis=axis)

    def logcumsumexp_backward(grad_out):
        if axis is None or grad_out.size == 0:
            return (grad_out,)
        lowest = np.finfo(grad_out.dtype).min  # PyTorch's stand-in for log 0: finite, so lowest - y is no NaN
        with np.errstate(divide="ignore"):
            log_abs_grad = np.log(np.abs(grad_out))
        parts = []
        for sign in (grad_out > 0, grad_out < 0):
            log_part = np.where(sign, log_abs_grad, lowest) - y
            reversed_scan = np.flip(np.logaddexp.accumulate(np.flip(log_part, axis), axis=axis), axis)
            parts.append(np.exp(reversed_scan + x_val))
        return (parts[0] - parts[1],)

    return record(logcumsumexp, y, (input,), logcumsumexp_backward, saved=(input, OUTPUT))


def cummax(input, dim):
    """(values, indices): the running maximum along `dim` and the position it was taken from.

    Composed: the indices are computed without a graph and the values are gather(x, dim, indices), so
    dL/dx is gather's (g scattered to the picked positions). Ties take the latest position, as in PyTorch."""
    return CummaxResult(*_running_extreme(input, dim, "cummax", np.maximum))


def cummin(input, dim):
    """(values, indices): the running minimum along `dim` and where it was (ties: the latest position);
    composed like cummax."""
    return CumminResult(*_running_extreme(input, dim, "cummin", np.minimum))


def _running_extreme(input, dim, op_name, extreme):
    x_val = array_of(input)
    axis = _scan_axis(dim, x_val.ndim, op_name)
    if axis is None or x_val.size == 0:
        indices = np.zeros(x_val.shape, _INT64)
    else:
        running = extreme.accumulate(x_val, axis=axis)
        taken = running == x_val  # x_k is the running extreme: the index moves to k (ties included)
        if x_val.dtype.kind in "fc":
            taken |= np.isnan(x_val)  # every NaN moves it, as PyTorch's scan
        shape = [1] * x_val.ndim
        shape[axis] = x_val.shape[axis]
        positions = np.arange(x_val.shape[axis], dtype=_INT64).reshape(shape)
        indices = np.maximum.accumulate(np.where(taken, positions, 0), axis=axis)
    index_tensor = record(_running_extreme, indices, (), None)
    return gather(input, dim, index_tensor), index_tensor
