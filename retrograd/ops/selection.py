"""Picking entries, PyTorch's: take, take_along_dim, masked_select, select, repeat_interleave (composed from
getitem, gather, index_select and expand, whose VJPs scatter g back to the picked entries) and scatter, the
one primitive here:

    scatter   y = x with y[index[i, j], j] = src[i, j] (dim 0)   dL/dx = g with 0 at the written positions
                                                                  dL/dsrc[i, j] = g[index[i, j], j]

With repeated positions in `index` the value written is one of the candidates (PyTorch leaves which one
unspecified; here the last), and dL/dsrc reads g there for each of them, as PyTorch's gather does.
"""
import numpy as np

from ..tensor import Tensor
from .base import array_of, needs_grad, normalize_dims, record
from .compare import _tensor_array
from .indexing import _check_range, gather, getitem, index_select
from .shape import expand, reshape


def take(input, index):
    """The entries of the flattened input at `index` (any shape: the result has its shape)."""
    return getitem(reshape(input, (-1,)), array_of(index))


def take_along_dim(input, indices, dim=None):
    """gather along `dim` after broadcasting input and indices in every other dim; dim=None: take along the
    flattened input at the flattened indices."""
    x_val, idx = array_of(input), array_of(indices)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got {idx.dtype}")
    if dim is None:
        size = x_val.size
        flat = np.where(idx < 0, idx + size, idx).reshape(-1)  # negative indices count from the end, as in PyTorch
        return gather(reshape(input, (-1,)), 0, record(take_along_dim, flat, (), None))
    if x_val.ndim != idx.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {x_val.ndim} dimensions for input, and {idx.ndim} dimensions "
                           f"for indices")
    axis = normalize_dims(dim, x_val.ndim, "take_along_dim")[0]
    x_shape, idx_shape = list(x_val.shape), list(idx.shape)
    x_shape[axis] = idx_shape[axis] = 1
    shared = list(np.broadcast_shapes(tuple(x_shape), tuple(idx_shape)))
    x_target, idx_target = shared.copy(), shared.copy()
    x_target[axis], idx_target[axis] = x_val.shape[axis], idx.shape[axis]
    idx = np.where(idx < 0, idx + x_val.shape[axis], idx)  # negative indices count from the end
    index = record(take_along_dim, np.broadcast_to(idx, idx_target).copy(), (), None)
    return gather(expand(input, *x_target), axis, index)


def masked_select(input, mask):
    """The entries of input where the bool `mask` is True (both broadcast), as a 1-D tensor in row-major order."""
    mask_val = _tensor_array(mask, "masked_select", 2, "mask")
    if mask_val.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = np.broadcast_shapes(np.shape(array_of(input)), mask_val.shape)
    return getitem(expand(input, *shape), np.broadcast_to(mask_val, shape))


def select(input, dim, index):
    """input[..., index, ...] with `index` taken along `dim` (that dim removed)."""
    x_val = array_of(input)
    axis = normalize_dims(dim, x_val.ndim, "select")[0]
    size = x_val.shape[axis] if x_val.ndim else 0
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(x_val.shape)} at "
                         f"dimension {dim}")
    return getitem(input, (slice(None),) * axis + (int(index),))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each entry (or slice along `dim`) repeated `repeats` times in place (an int, or one count per entry);
    dim=None flattens first. repeat_interleave(counts) alone repeats 0, 1, ... by the counts."""
    if repeats is None:  # torch.repeat_interleave(repeats): the indices 0..n-1 repeated
        counts = array_of(input)
        return record(repeat_interleave, np.repeat(np.arange(counts.size), counts), (), None)
    counts = array_of(repeats)
    if np.any(np.asarray(counts) < 0):
        raise RuntimeError("repeats can not be negative")
    if dim is None:
        input, axis = reshape(input, (-1,)), 0
    else:
        axis = normalize_dims(dim, array_of(input).ndim, "repeat_interleave")[0]
    n = input.shape[axis] if input.ndim else 1
    if np.ndim(counts) == 1 and counts.shape[0] != n and counts.shape[0] != 1:
        raise RuntimeError("repeats must have the same size as input along dim")
    positions = np.repeat(np.arange(n), np.broadcast_to(counts, (n,)) if np.ndim(counts) else int(counts))
    if output_size is not None and positions.size != output_size:
        raise RuntimeError("repeat_interleave: allocated size does not match required size")
    return index_select(input, axis, record(repeat_interleave, positions, (), None))


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """y = input with the entries of `src` (or the number `value`) written at `index` along `dim`
    (see the formula at the top of this file); index may be smaller than input in the other dims.

    dL/dinput = g with zeros at the written positions ;  dL/dsrc = g gathered at index (zeros beyond it).
    Saves `idx` (the index), and `written` (the written positions) when input needs a gradient."""
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported; use scatter_add or scatter_reduce")
    src = value if src is None else src
    x_val, src_val = array_of(input), array_of(src)
    x_shape, src_shape = x_val.shape, np.shape(src_val)
    idx = np.asarray(array_of(index)).astype(np.int64, copy=False).reshape(np.shape(array_of(index)) or (1,))
    axis = normalize_dims(dim, x_val.ndim, "scatter")[0] if x_val.ndim else 0
    x_work = x_val.reshape(x_shape or (1,))
    _check_range(idx, x_work.shape[axis], "scatter", dim)
    in_block = tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(idx.shape))
    src_block = tuple(slice(0, n) for n in idx.shape)
    if isinstance(src, Tensor):
        picked = np.asarray(src_val).reshape(src_shape or (1,))[src_block]
    else:
        picked = np.broadcast_to(np.asarray(src_val, x_val.dtype), idx.shape)
    y = x_work.copy()
    np.put_along_axis(y[in_block], idx, picked.astype(x_val.dtype, copy=False), axis)
    written = None
    if needs_grad(input):
        written = np.zeros(x_work.shape, bool)
        np.put_along_axis(written[in_block], idx, True, axis)
    src_needs, work_shape = isinstance(src, Tensor) and needs_grad(src), x_work.shape

    def scatter_backward(grad_out):
        grad_out = grad_out.reshape(work_shape)
        grad_input = None if written is None else np.where(written, 0, grad_out).reshape(x_shape)
        grad_src = None
        if src_needs:
            grad_src = np.zeros(src_shape or (1,), grad_out.dtype)
            grad_src[src_block] = np.take_along_axis(grad_out[in_block], idx, axis)
            grad_src = grad_src.reshape(src_shape)
        return grad_input, None, grad_src

    return record(scatter, y.reshape(x_shape), (input, index, src), scatter_backward)
