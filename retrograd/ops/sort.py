"""Sorting and selection along one dim: sort, argsort, msort, topk, kthvalue.

Each differentiable op returns (values, indices), like PyTorch's `torch.return_types`: the values are
entries of x picked at `index` along dim, so y = take(x, index) and the VJP scatters g back:

    dL/dx = 0 everywhere except dL/dx[index] = g      (each picked entry gets its own gradient)

The indices are int64 and carry no gradient.

Ties: every op here orders equal entries by their position (a stable sort), ascending or descending.
That is exactly PyTorch's `stable=True`; with `stable=False` (the default) PyTorch leaves the order of
equal entries unspecified, and its CPU sort in fact keeps it only for dims of at most 16 entries. topk
picks among equal entries by position too (PyTorch leaves that choice unspecified). NaN sorts above
+inf, as in PyTorch: last when ascending, first when descending and in topk(largest=True).
"""
import collections

import numpy as np

from ..tensor import Tensor
from .base import array_of, normalize_dims, record

# PyTorch's torch.return_types.sort / .topk / .kthvalue: tuples with .values and .indices
SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])
KthvalueResult = collections.namedtuple("kthvalue", ["values", "indices"])

_INT64 = np.dtype(np.int64)


def _axis(dim, ndim, op_name):
    """The axis `dim` names (a 0-d input is sorted as one entry: dim 0 or -1)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op_name}(): dim must be an int, got {type(dim).__name__} ({dim!r})")
    return normalize_dims(int(dim), ndim, op_name)[0]


def _stable_order(x_val, axis, descending):
    """The int64 positions that sort x_val along `axis`, equal entries in their original order.

    Descending: sort the reversed array ascending (equal entries then come last-first), reverse the
    result (first-first again, largest first) and map positions back: n - 1 - i. Negating x instead
    would break unsigned and bool inputs and integer minima."""
    if not descending:
        return np.argsort(x_val, axis=axis, kind="stable").astype(_INT64, copy=False)
    n = x_val.shape[axis]
    order = np.flip(np.argsort(np.flip(x_val, axis), axis=axis, kind="stable"), axis)
    return (n - 1 - order).astype(_INT64)


def _picked(op, x, index, axis, out_shape):
    """values = x at `index` along `axis` (in `out_shape`), on the tape: the VJP scatters g back there."""
    x_val = np.asarray(array_of(x))
    x_nd = _at_least_1d(x_val)
    x_shape, nd_shape, x_dtype = x_val.shape, x_nd.shape, x_val.dtype
    values = np.take_along_axis(x_nd, index, axis).reshape(out_shape)

    def picked_backward(grad_out):
        grad = np.zeros(nd_shape, x_dtype)
        np.put_along_axis(grad, index, grad_out.reshape(index.shape), axis)
        return (grad.reshape(x_shape),)

    return record(op, values, (x,), picked_backward), Tensor._from_array(index.reshape(out_shape))


def _at_least_1d(x_val):
    """A 0-d input is sorted as a one-entry vector (PyTorch accepts dim 0 or -1 for it)."""
    x_val = np.asarray(x_val)
    return x_val.reshape(1) if x_val.ndim == 0 else x_val


def sort(x, dim=-1, descending=False, *, stable=False):
    """(values, indices): x sorted along `dim` ;  dL/dx[indices] = g (the gradient follows each entry).

    Equal entries keep their order (PyTorch's stable=True; see the module docstring for stable=False).
    Saves `index` (the sorting permutation)."""
    x_val = _at_least_1d(array_of(x))
    axis = _axis(dim, np.ndim(array_of(x)), "sort")
    index = _stable_order(x_val, axis, descending)
    return SortResult(*_picked(sort, x, index, axis, np.shape(array_of(x))))


def argsort(x, dim=-1, descending=False, *, stable=False):
    """The int64 positions that sort x along `dim` (sort's indices; no gradient)."""
    x_val = _at_least_1d(array_of(x))
    index = _stable_order(x_val, _axis(dim, np.ndim(array_of(x)), "argsort"), descending)
    return Tensor._from_array(index.reshape(np.shape(array_of(x))))


def msort(x):
    """x sorted along dim 0 (sort(x, 0).values) ;  dL/dx[indices] = g."""
    return sort(x, 0).values


def _check_k(op_name, k, axis, n, low):
    """k must be an int in [low, n] (PyTorch's messages, then what was got and expected)."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not low <= k <= n:
        what = ("selected index k out of range" if op_name == "topk"
                else f"kthvalue(): selected number k out of range for dimension {axis}")
        raise RuntimeError(f"{what}: {op_name}() got k={k!r} for a dimension of size {n} "
                           f"(expected an int in [{low}, {n}])")


def topk(x, k, dim=None, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) entries along `dim` (default: the last) ;
    dL/dx[indices] = g.

    Among equal entries the first positions are picked. The k entries come largest first (smallest
    first for largest=False) whether or not `sorted` is set: PyTorch does not promise an order then.
    Saves `index` (the picked positions)."""
    x_val = _at_least_1d(array_of(x))
    axis = _axis(-1 if dim is None else dim, np.ndim(array_of(x)), "topk")
    _check_k("topk", k, axis, x_val.shape[axis], 0)
    index = np.take(_stable_order(x_val, axis, largest), np.arange(k), axis=axis)
    out_shape = index.shape if np.ndim(array_of(x)) else ()
    return TopkResult(*_picked(topk, x, index, axis, out_shape))


def kthvalue(x, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest entry (k from 1) along `dim` ;  dL/dx[index] = g.

    Among equal entries the first position in sorted order is returned. Saves `index` (the position)."""
    x_val = _at_least_1d(array_of(x))
    axis = _axis(dim, np.ndim(array_of(x)), "kthvalue")
    _check_k("kthvalue", k, axis, x_val.shape[axis], 1)
    index = np.take(_stable_order(x_val, axis, False), [k - 1], axis=axis)  # a size-1 axis
    if np.ndim(array_of(x)) == 0:
        out_shape = ()
    else:
        out_shape = index.shape if keepdim else index.shape[:axis] + index.shape[axis + 1:]
    return KthvalueResult(*_picked(kthvalue, x, index, axis, out_shape))
