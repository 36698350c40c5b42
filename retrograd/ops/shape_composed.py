"""Shape utilities composed from shape.py's and indexing.py's ops, PyTorch's: broadcast_to/broadcast_tensors/
broadcast_shapes, tile, hstack/vstack/row_stack/dstack/column_stack, atleast_1d/2d/3d, fliplr/flipud, rot90,
swapdims/swapaxes, diagonal, diag_embed, meshgrid, cartesian_prod, combinations and block_diag.

Each is composed from ops that have their own VJPs (expand, repeat, cat, flip, transpose, reshape, getitem,
pad), so its gradient and `explain` trace come from them; diag_embed is the one primitive:

    diag_embed   y[..., i, i + offset] = x[..., i] (zeros elsewhere)      dL/dx[..., i] = g[..., i, i + offset]

Unlike PyTorch, whose diagonal and broadcast_to return views sharing memory with the input, these return
copies where NumPy does (diagonal); the values and gradients are the same.
"""
import itertools
import warnings

import numpy as np

from ..tensor import Size, Tensor
from .base import array_of, normalize_dims, record
from .indexing import getitem
from .shape import cat, expand, flip, movedim, pad, reshape, transpose, unsqueeze


def _tensors_of(op_name, tensors):
    """The tensors of a (tensor, ...) argument, as a list, each checked (PyTorch's TypeError otherwise)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op_name}(): expected a sequence of Tensors, got {type(t).__name__}")
    return list(tensors)


# ----- broadcasting ---------------------------------------------------------------------------------------
def broadcast_to(input, size):
    """input expanded to `size` (PyTorch's broadcast_to is expand)."""
    return expand(input, *size)


def broadcast_shapes(*shapes):
    """The shape that tensors of these shapes broadcast to, as a Size (PyTorch's rules: NumPy's)."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape {shapes}") from None


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (a tuple)."""
    tensors = _tensors_of("broadcast_tensors", tensors)
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, *shape) for t in tensors)


def tile(input, dims):
    """input repeated `dims` times along each dim; fewer dims than the input's are padded with 1s in front."""
    dims = tuple(dims)
    return input.repeat(*((1,) * (input.ndim - len(dims)) + dims)) if dims or input.ndim else reshape(input, ())


# ----- at least n dims, and the stacks built on them ---------------------------------------------------------
def _atleast(tensors, ndim, op_name):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    results = tuple(_raise_to(t, ndim) for t in _tensors_of(op_name, tensors))
    return results[0] if single else results


def _raise_to(t, ndim):
    if t.ndim >= ndim:
        return t
    if ndim == 3 and t.ndim == 2:  # (m, n) -> (m, n, 1)
        return unsqueeze(t, -1)
    if ndim == 3 and t.ndim == 1:  # (n,) -> (1, n, 1)
        return reshape(t, (1, t.shape[0], 1))
    return reshape(t, (1,) * (ndim - max(t.ndim, 1)) + (t.shape or (1,)))


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d -> (1,)); one tensor in, one out, else a tuple."""
    return _atleast(tensors, 1, "atleast_1d")


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: 0-d -> (1, 1), (n,) -> (1, n)."""
    return _atleast(tensors, 2, "atleast_2d")


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: 0-d -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _atleast(tensors, 3, "atleast_3d")


def _nonempty_sequence(op_name, tensors):
    tensors = _tensors_of(op_name, (tensors,))
    if not tensors:
        raise RuntimeError(f"{op_name} expects a non-empty TensorList")
    return tensors


def hstack(tensors):
    """Concatenate horizontally: along dim 0 for 1-D tensors, dim 1 otherwise (after atleast_1d)."""
    tensors = [_raise_to(t, 1) for t in _nonempty_sequence("hstack", tensors)]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate vertically: along dim 0 after atleast_2d."""
    return cat([_raise_to(t, 2) for t in _nonempty_sequence("vstack", tensors)], 0)


row_stack = vstack


def dstack(tensors):
    """Concatenate depth-wise: along dim 2 after atleast_3d."""
    return cat([_raise_to(t, 3) for t in _nonempty_sequence("dstack", tensors)], 2)


def column_stack(tensors):
    """Stack as columns: 0-d and 1-D tensors become (n, 1) columns, then concatenate along dim 1."""
    tensors = _nonempty_sequence("column_stack", tensors)
    return cat([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors], 1)


# ----- flips, rotations, swaps ---------------------------------------------------------------------------
def fliplr(input):
    """input with dim 1 reversed (left-right); at least 2-D."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input):
    """input with dim 0 reversed (up-down); at least 1-D."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


def rot90(input, k=1, dims=(0, 1)):
    """input rotated by k quarter turns in the plane of `dims`, from the first dim towards the second."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    first, second = normalize_dims(dims[0], input.ndim, "rot90")[0], normalize_dims(dims[1], input.ndim, "rot90")[0]
    if first == second:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {first} and dim1 = {second}")
    k %= 4
    if k == 1:
        return transpose(flip(input, (second,)), first, second)
    if k == 2:
        return flip(input, (first, second))
    if k == 3:
        return transpose(flip(input, (first,)), first, second)
    return input.clone()


def swapdims(input, dim0, dim1):
    """transpose under NumPy's name (also swapaxes)."""
    return transpose(input, dim0, dim1)


swapaxes = swapdims


# ----- diagonals -------------------------------------------------------------------------------------------
def _diagonal_positions(n1, n2, offset):
    """The (rows, cols) of the `offset` diagonal of an n1 x n2 matrix (empty when it falls outside)."""
    length = max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0)
    rows = np.arange(length) + max(-offset, 0)
    return rows, rows + offset


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The `offset` diagonal of the (dim1, dim2) planes, as the last dim of the result (a copy)."""
    x_val = array_of(input)
    first, second = normalize_dims((dim1,), x_val.ndim, "diagonal")[0], normalize_dims((dim2,), x_val.ndim,
                                                                                       "diagonal")[0]
    if first == second:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    moved = movedim(input, (first, second), (-2, -1))
    rows, cols = _diagonal_positions(moved.shape[-2], moved.shape[-1], offset)
    return getitem(moved, (Ellipsis, rows, cols))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """y has input's last dim on the `offset` diagonal of the (dim1, dim2) planes of a new dim pair, zeros
    elsewhere (see the formula at the top of this file).  Saves `rows` and `cols` (the diagonal's positions)."""
    x_val = array_of(input)
    out_ndim = x_val.ndim + 1
    first, second = normalize_dims((dim1,), out_ndim, "diag_embed")[0], normalize_dims((dim2,), out_ndim,
                                                                                       "diag_embed")[0]
    if first == second:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = x_val.shape[-1] + abs(offset) if x_val.ndim else 1 + abs(offset)
    rows, cols = _diagonal_positions(n, n, offset)
    planes = np.zeros(x_val.shape[:-1] + (n, n), x_val.dtype)
    planes[..., rows, cols] = x_val
    y = np.moveaxis(planes, (-2, -1), (first, second))

    def diag_embed_backward(grad_out):
        return (np.moveaxis(grad_out, (first, second), (-2, -1))[..., rows, cols],)

    return record(diag_embed, y, (input,), diag_embed_backward)


# ----- grids and products of index sets ------------------------------------------------------------------
def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 0-d/1-D tensors: with indexing 'ij' the k-th output varies along dim k; with 'xy'
    the first two dims swap (Cartesian, as NumPy's default). No `indexing` means 'ij' with PyTorch's warning."""
    tensors = _tensors_of("meshgrid", tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
                      "argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}")
    sizes = [t.numel() for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0  # output dim of each input: x varies along dim 1, y along dim 0
    shape = [sizes[order.index(d)] for d in range(len(tensors))]
    grids = []
    for k, t in enumerate(tensors):
        along = [1] * len(tensors)
        along[order[k]] = sizes[k]
        grids.append(expand(reshape(t, tuple(along)), *shape))
    return tuple(grids)


def cartesian_prod(*tensors):
    """All tuples (a, b, ...) with a from the first 1-D tensor, b from the second...: (N, k) rows in
    lexicographic order; one tensor is returned as it is."""
    tensors = _tensors_of("cartesian_prod", tensors)
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return cat([reshape(g, (-1, 1)) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """The r-element combinations of a 1-D tensor's entries, as rows (itertools' order), gathered from it."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:  # PyTorch's empty result, on the tape like the others
        return getitem(input, np.zeros(0, np.int64))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    return getitem(input, np.array(list(pick(range(input.shape[0]), r)), np.int64).reshape(-1, r))


def block_diag(*tensors):
    """The tensors (0-d, 1-D or 2-D) as blocks along the diagonal of one matrix, zeros elsewhere; each block
    is padded with zeros to the full width and the rows are concatenated."""
    blocks = []
    for k, t in enumerate(_tensors_of("block_diag", tensors)):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has "
                               f"{t.ndim} dimensions")
        blocks.append(reshape(t, (1, t.numel())) if t.ndim < 2 else t)
    if not blocks:
        return Tensor(np.zeros((1, 0)))  # PyTorch's shape for no blocks
    width, left, rows = sum(b.shape[1] for b in blocks), 0, []
    for b in blocks:
        rows.append(pad(b, (left, width - left - b.shape[1])))
        left += b.shape[1]
    return cat(rows, 0)
