"""Indexing ops: y picks entries of x by position; the VJP puts g back at those positions.

Notation: x is the input, y the output, g = dL/dy (`grad_out`). Basic indexing
(ints, slices, None, Ellipsis) and bool masks pick each position at most once,
so the VJP assigns g into zeros; integer arrays may pick a position several
times, so the VJP scatter-adds (`_scatter_add`) and repeated picks accumulate.
"""
import numpy as np

from ..tensor import Tensor
from .base import array_of, check_broadcast, needs_grad, record, unbroadcast


def _axis(dim, ndim, op_name):
    """One `dim` argument as an axis in [0, ndim) (a 0-d tensor accepts -1 and 0, as in PyTorch)."""
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op_name}: dimension out of range (expected to be in range of "
                         f"[{-rank}, {rank - 1}], but got {dim})")
    return dim % rank


def _slice_of(op, x, x_val, index):
    """Record y = x[index] for a basic index (ints, slices, None, Ellipsis): a view whose positions are
    distinct, so the VJP assigns g into zeros (no accumulation needed)."""
    y = x_val[index]
    if type(y) is not np.ndarray:  # all ints: NumPy gives a scalar; x[i, j, ...] is the 0-d view PyTorch gives
        y = x_val[(index if type(index) is tuple else (index,)) + (Ellipsis,)]
    x_shape, x_dtype = x_val.shape, x_val.dtype

    def slice_backward(grad_out):
        grad = np.zeros(x_shape, x_dtype)
        grad[index] = grad_out
        return (grad,)

    return record(op, y, (x,), slice_backward)


def _scatter_add(x_shape, x_dtype, select, grad_out):
    """zeros(x_shape) plus grad_out added at the positions of x that `select` picked in the forward.

    `select` is replayed on an array of flat positions; np.add.at on the flat view (NumPy's fast 1-D
    path, ~6x faster than on a tuple index) adds every picked copy, so a repeated position accumulates."""
    size = int(np.prod(x_shape))
    positions = select(np.arange(size).reshape(x_shape))
    grad = np.zeros(size, x_dtype)
    np.add.at(grad, positions.ravel(), grad_out.ravel())
    return grad.reshape(x_shape)


_BASIC_TYPES = (int, slice, type(None), type(Ellipsis), np.integer)


def _index_array(item, op_name="getitem"):
    """A Tensor/list/array index entry as an ndarray: integer, or bool for masks (uint8 counts as a mask,
    as in PyTorch)."""
    arr = item.array if isinstance(item, Tensor) else np.asarray(item)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype == np.uint8 and isinstance(item, Tensor):
        return arr.astype(bool)
    if arr.dtype.kind in "iu" or arr.size == 0:
        return arr.astype(np.intp, copy=False)
    raise IndexError(f"{op_name}: tensors used as indices must be long, int, bool or uint8 tensors, got {arr.dtype}")


def _numpy_index(index, op_name="getitem"):
    """`index` as NumPy takes it, and its kind: 'basic' (ints, slices, None, Ellipsis: a view),
    'mask' (basic plus bool masks: each position at most once) or 'advanced' (integer arrays:
    positions may repeat). A list is an index array (NumPy's and PyTorch's coming rule)."""
    items = index if isinstance(index, tuple) else (index,)
    kind = "basic"
    converted = []
    for item in items:
        if isinstance(item, _BASIC_TYPES) and not isinstance(item, (bool, np.bool_)):
            converted.append(item)
            continue
        arr = _index_array(item, op_name)
        if arr.ndim == 0 and arr.dtype.kind != "b":
            converted.append(int(arr))  # a 0-d integer tensor indexes like an int
        else:
            converted.append(arr)
            if arr.dtype.kind == "b":
                kind = "mask" if kind == "basic" else kind
            else:
                kind = "advanced"
    return tuple(converted), kind


def getitem(x, index):
    """y = x[index]: basic slicing, None/Ellipsis, integer arrays/tensors/lists and bool masks (NumPy's
    and PyTorch's rules).

    dL/dx = zeros with g put back where each element came from: plain assignment for slices and masks
    (no position repeats), np.add.at scatter-add for integer arrays, so a repeated index accumulates.
    Saves `np_index` (the index: its mask or integer arrays; nothing for basic slicing)."""
    x_val = array_of(x)
    if type(index) is int or type(index) is slice:
        np_index, kind = index, "basic"
    else:
        np_index, kind = _numpy_index(index)
    try:
        if kind == "basic":
            return _slice_of(getitem, x, x_val, np_index)
        y = x_val[np_index]
    except IndexError as error:
        raise IndexError(f"getitem: {error} (indexing a tensor of shape {x_val.shape})") from None
    x_shape, x_dtype = x_val.shape, x_val.dtype

    def getitem_backward(grad_out):
        if kind == "advanced":
            return (_scatter_add(x_shape, x_dtype, lambda positions: positions[np_index], grad_out),)
        grad = np.zeros(x_shape, x_dtype)
        grad[np_index] = grad_out
        return (grad,)

    return record(getitem, y, (x,), getitem_backward)


def index_put(x, index, value, accumulate=False):
    """y = a copy of x with y[index] = value (value broadcast): the functional form of x[index] = value;
    with accumulate=True, y[index] += value, a repeated index adding every copy (x.index_put_(..., True)).

    dL/dx = g with the indexed positions zeroed (they were overwritten; with accumulate, g itself) ;
    dL/dvalue = g[index] summed down to value's shape.  With a repeated index only one write survives, but
    (PyTorch's convention) every listed copy of value gets its g, so there it is not the true derivative.
    Saves `np_index` (the index)."""
    x_val, v_val = array_of(x), array_of(value)
    np_index, _ = _numpy_index(index, "index_put")
    y = x_val.copy()
    try:
        if accumulate:
            np.add.at(y, np_index, np.asarray(v_val, y.dtype))
        else:
            y[np_index] = v_val
    except ValueError:
        raise RuntimeError(f"index_put: shape mismatch: value of shape {np.shape(v_val)} cannot be broadcast to "
                           f"the indexing result of shape {x_val[np_index].shape}") from None
    except IndexError as error:
        raise IndexError(f"index_put: {error} (indexing a tensor of shape {x_val.shape})") from None
    v_shape = np.shape(v_val)
    x_needs = needs_grad(x)
    v_dtype = value.dtype if needs_grad(value) else None  # None: no gradient for value

    def index_put_backward(grad_out):
        grad_x = grad_v = None
        if x_needs:
            grad_x = grad_out.copy()
            if not accumulate:
                grad_x[np_index] = 0
        if v_dtype is not None:
            selected = grad_out[np_index]
            if selected.ndim < len(v_shape):  # value had extra leading size-1 dims
                selected = selected.reshape((1,) * (len(v_shape) - selected.ndim) + selected.shape)
            grad_v = np.asarray(unbroadcast(selected, v_shape), dtype=v_dtype)
        return grad_x, grad_v

    return record(index_put, y, (x, value), index_put_backward)


def _int_index(index, op_name):
    arr = index.array if isinstance(index, Tensor) else np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{op_name}: expected an integer index tensor, got dtype {arr.dtype}")
    return arr


def _check_range(idx, n, op_name, dim):
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{op_name}: index {bad} is out of bounds for dimension {dim} with size {n}")


def _leading_block(idx_shape, axis):
    """Slices selecting x's leading block of index's shape in every dim but `axis` (PyTorch allows
    index.size(d) <= x.size(d))."""
    return tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(idx_shape))


def gather(x, dim, index):
    """y[i, j, k] = x[index[i, j, k], j, k]  (for dim = 0; likewise for other dims).

    dL/dx = zeros with g scatter-added at the gathered positions (repeated indices accumulate).
    As in PyTorch, an empty index gives an empty result of its shape (and a zero gradient) whatever its
    dims, and a 0-d input with a 0-d or one-entry index is read as 1-d.
    Saves `idx` (the index)."""
    x_val, idx = array_of(x), _int_index(index, "gather")
    axis = _axis(dim, x_val.ndim, "gather")
    x_shape, x_dtype, out_shape = x_val.shape, x_val.dtype, idx.shape
    if idx.size == 0:
        return record(gather, np.zeros(out_shape, x_dtype), (x,), _zero_gradient(x_shape, x_dtype))
    if x_val.ndim == 0 and idx.ndim <= 1:
        x_val, idx = x_val.reshape(1), idx.reshape(-1)
    if idx.ndim != x_val.ndim or any(m > n for d, (m, n) in enumerate(zip(idx.shape, x_val.shape)) if d != axis):
        raise RuntimeError(f"gather: index of shape {out_shape} must have as many dims as the input of shape "
                           f"{x_shape} and be no larger in every dimension but {dim}")
    _check_range(idx, x_val.shape[axis], "gather", dim)
    block = _leading_block(idx.shape, axis)
    y = np.take_along_axis(x_val[block], idx, axis).reshape(out_shape)
    work_shape, idx_shape = x_val.shape, idx.shape

    def gather_backward(grad_out):
        grad = _scatter_add(work_shape, x_dtype, lambda pos: np.take_along_axis(pos[block], idx, axis),
                            grad_out.reshape(idx_shape))
        return (grad.reshape(x_shape),)

    return record(gather, y, (x,), gather_backward, saved=(index,))


def _zero_gradient(x_shape, x_dtype):
    """The VJP of an op whose output does not depend on its input's values: zeros of the input's shape."""
    def zero_gradient_backward(grad_out):
        return (np.zeros(x_shape, x_dtype),)
    return zero_gradient_backward


def scatter_add(x, dim, index, src):
    """y = a copy of x with y[index[i, j, k], j, k] += src[i, j, k]  (for dim = 0).

    dL/dx = g ;  dL/dsrc = gather(g, dim, index) in src's leading block (zeros outside it).
    A 0-d input (with its 0-d or one-entry index and src) is read as 1-d, as in PyTorch.
    Saves `idx` (the index)."""
    x_val, src_val, idx = array_of(x), array_of(src), _int_index(index, "scatter_add")
    axis = _axis(dim, x_val.ndim, "scatter_add")
    x_shape, given_src_shape = x_val.shape, np.shape(src_val)
    if x_val.ndim == 0:
        x_val, src_val, idx = x_val.reshape(1), np.reshape(src_val, -1), idx.reshape(-1)
    if idx.ndim != x_val.ndim or src_val.ndim != idx.ndim or any(
            m > s or (d != axis and m > n) for d, (m, n, s) in enumerate(zip(idx.shape, x_val.shape, src_val.shape))):
        raise RuntimeError(f"scatter_add: index of shape {idx.shape} must be no larger than src {src_val.shape} "
                           f"and than the input {x_val.shape} in every dimension but {dim}")
    _check_range(idx, x_val.shape[axis], "scatter_add", dim)
    block, src_block = _leading_block(idx.shape, axis), _leading_block(idx.shape, -1)
    y = x_val + _scatter_add(x_val.shape, x_val.dtype, lambda pos: np.take_along_axis(pos[block], idx, axis),
                             src_val[src_block])
    src_shape, work_shape, x_needs = src_val.shape, x_val.shape, needs_grad(x)
    src_dtype = src.dtype if needs_grad(src) else None  # None: no gradient for src

    def scatter_add_backward(grad_out):
        grad_src = None
        if src_dtype is not None:
            grad_src = np.zeros(src_shape, src_dtype)
            grad_src[src_block] = np.take_along_axis(grad_out.reshape(work_shape)[block], idx, axis)
            grad_src = grad_src.reshape(given_src_shape)
        return (grad_out if x_needs else None), grad_src

    return record(scatter_add, y.reshape(x_shape), (x, src), scatter_add_backward, saved=(index,))


def index_select(x, dim, index):
    """y = x's entries at positions `index` (1-D) along `dim`.

    dL/dx = zeros with g's slices scatter-added back along `dim` (repeated indices accumulate).
    Saves `idx` (the index)."""
    x_val, idx = array_of(x), _int_index(index, "index_select")
    axis = _axis(dim, x_val.ndim, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 0-D or 1-D, got shape {idx.shape}")
    idx = idx.reshape(-1)
    _check_range(idx, x_val.shape[axis] if x_val.ndim else 1, "index_select", dim)
    y = np.take(x_val, idx, axis=axis) if x_val.ndim else x_val.reshape(1)[idx].reshape(())
    x_shape, x_dtype = x_val.shape, x_val.dtype

    def index_select_backward(grad_out):
        if not x_shape:
            return (grad_out.reshape(()).copy(),)
        return (_scatter_add(x_shape, x_dtype, lambda positions: np.take(positions, idx, axis=axis), grad_out),)

    return record(index_select, y, (x,), index_select_backward, saved=(index,))


def masked_fill(x, mask, value):
    """y = value where mask else x  (mask broadcasts; value is a number or a 0-d tensor).

    dL/dx = g where not mask, else 0 ;  dL/dvalue = sum of g over the masked positions.
    Saves `mask_val` (the mask)."""
    x_val = array_of(x)
    mask_val = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if mask_val.dtype.kind != "b":
        raise RuntimeError(f"masked_fill: expected a bool mask, got dtype {mask_val.dtype}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"masked_fill: only supports a 0-dimensional value tensor, but got a tensor of shape "
                           f"{tuple(value.shape)}")
    check_broadcast("masked_fill", x_val.shape, mask_val.shape)
    fill = np.asarray(array_of(value), dtype=x_val.dtype)
    y = np.where(mask_val, fill, x_val)
    x_shape = x_val.shape if needs_grad(x) else None  # None: no gradient for x
    v_dtype = value.dtype if needs_grad(value) else None  # likewise for value

    def masked_fill_backward(grad_out):
        grad_x = None if x_shape is None else unbroadcast(np.where(mask_val, 0, grad_out), x_shape)
        grad_v = None if v_dtype is None else np.asarray(grad_out.sum(where=mask_val), dtype=v_dtype)
        return grad_x, grad_v

    return record(masked_fill, y, (x, value), masked_fill_backward, saved=(mask,))
