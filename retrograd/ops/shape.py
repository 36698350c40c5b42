"""Shape ops: views, joins, splits, padding and casts; their VJPs move gradients back into place.

Notation: x is the input, y the output, g = dL/dy (`grad_out`). Every op here
only moves, copies, selects or drops elements, so each VJP moves g back to
where the element came from: a view's VJP is the inverse view, a copy's VJP
sums the copies (expand, repeat, an index repeated in an integer array), and
positions no output depends on get zero. The indexing ops (getitem, index_put,
gather, scatter_add, index_select, masked_fill) live in `indexing.py`: import them from there.
"""
import numpy as np

from ..tensor import Tensor
from .base import array_of, needs_grad, normalize_dims, record, record_multi, result_dtype, unbroadcast
from .indexing import _axis, _scatter_add, _slice_of


# ----- argument helpers -----------------------------------------------------------
def _sizes(args):
    """Sizes given as varargs `f(x, 2, 3)` or as one sequence `f(x, (2, 3))`."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer, Tensor)):
        args = args[0]
    return tuple(int(n) for n in args)


def _view_of(op, x, x_val, y):
    """Record `y`, a re-shaped view of x's elements: dL/dx = g reshaped to x's shape."""
    x_shape = x_val.shape
    return record(op, y, (x,), lambda grad_out: (grad_out.reshape(x_shape),))


# ----- reshaping views ------------------------------------------------------------
def reshape(x, *shape):
    """y = x's elements (row-major order) in a new shape; one size may be -1 (inferred).

    dL/dx = g reshaped to x's shape.  Saves nothing (only x's shape)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, Tensor)):
        shape = tuple(shape[0])
    x_val = array_of(x)
    try:
        y = x_val.reshape(shape)
    except ValueError:
        raise RuntimeError(f"reshape: cannot reshape a tensor of shape {x_val.shape} ({x_val.size} elements) "
                           f"into shape {tuple(shape)}") from None
    return _view_of(reshape, x, x_val, y)


def reshape_as(x, other):
    """y = x reshaped to other's shape ;  dL/dx = g reshaped to x's shape.  Saves nothing."""
    return reshape(x, tuple(np.shape(array_of(other))))


def flatten(x, start_dim=0, end_dim=-1):
    """y = x with dims start_dim..end_dim merged into one (a 0-d x becomes shape (1,)).

    dL/dx = g reshaped to x's shape.  Saves nothing."""
    x_val = array_of(x)
    shape = x_val.shape
    if x_val.ndim == 0:
        return _view_of(flatten, x, x_val, x_val.reshape(1))
    start, end = _axis(start_dim, x_val.ndim, "flatten"), _axis(end_dim, x_val.ndim, "flatten")
    if start > end:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    new_shape = shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
    return _view_of(flatten, x, x_val, x_val.reshape(new_shape))


def squeeze(x, dim=None):
    """y = x without its size-1 dims (only those in `dim` if given; other dims in `dim` stay).

    dL/dx = g reshaped to x's shape.  Saves nothing."""
    x_val = array_of(x)
    dims = normalize_dims(dim, x_val.ndim, "squeeze")
    new_shape = tuple(n for i, n in enumerate(x_val.shape) if n != 1 or (dims is not None and i not in dims))
    return _view_of(squeeze, x, x_val, x_val.reshape(new_shape))


def unsqueeze(x, dim):
    """y = x with a new size-1 dim at position `dim` (in [-x.ndim - 1, x.ndim]).

    dL/dx = g reshaped to x's shape (the size-1 dim dropped).  Saves nothing."""
    x_val = array_of(x)
    axis = _axis(dim, x_val.ndim + 1, "unsqueeze")
    return _view_of(unsqueeze, x, x_val, x_val.reshape(x_val.shape[:axis] + (1,) + x_val.shape[axis:]))


# ----- permuting views --------------------------------------------------------------
def transpose(x, dim0, dim1):
    """y = x with dims dim0 and dim1 swapped ;  dL/dx = g with the same two dims swapped back.  Saves nothing."""
    x_val = array_of(x)
    a, b = _axis(dim0, x_val.ndim, "transpose"), _axis(dim1, x_val.ndim, "transpose")
    if a == b:
        return record(transpose, x_val.view(), (x,), lambda grad_out: (grad_out,))
    return record(transpose, np.swapaxes(x_val, a, b), (x,), lambda grad_out: (np.swapaxes(grad_out, a, b),))


def t(x):
    """y = x^T for a 2-D x (a 0-D or 1-D x is returned as is) ;  dL/dx = g^T."""
    ndim = np.ndim(array_of(x))
    if ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got a {ndim}-D tensor "
                           f"(use transpose(dim0, dim1) or mT)")
    return transpose(x, 0, -1)


def permute(x, *dims):
    """y = x with dims reordered: y.shape[i] = x.shape[dims[i]].

    dL/dx = g permuted by the inverse permutation (argsort(dims)).  Saves nothing."""
    x_val = array_of(x)
    ndim = x_val.ndim
    if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
        dims = dims[0]
    axes = tuple(d + ndim if d < 0 else d for d in dims)
    if sorted(axes) != list(range(ndim)):
        raise RuntimeError(f"permute: dims {_sizes(dims)} are not a permutation of the {x_val.ndim} dims of "
                           f"a tensor of shape {x_val.shape}")
    return record(permute, x_val.transpose(axes), (x,),
                  lambda grad_out: (grad_out.transpose(np.argsort(axes)),))


def movedim(x, source, destination):
    """y = x with dims `source` moved to positions `destination` (ints or tuples).

    dL/dx = g with the dims moved back from `destination` to `source`.  Saves nothing."""
    x_val = array_of(x)
    src = tuple(_axis(d, x_val.ndim, "movedim") for d in np.atleast_1d(source))
    dst = tuple(_axis(d, x_val.ndim, "movedim") for d in np.atleast_1d(destination))
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {source} and destination {destination} must have the same length")
    return record(movedim, np.moveaxis(x_val, src, dst), (x,), lambda grad_out: (np.moveaxis(grad_out, dst, src),))


# ----- copies: expand, repeat -----------------------------------------------------
def expand(x, *sizes):
    """y = x broadcast to `sizes` (-1 keeps a dim; new dims are added in front), a view.

    dL/dx = g summed over the broadcast copies (`unbroadcast`).  Saves nothing."""
    x_val = array_of(x)
    sizes = _sizes(sizes)
    lead = len(sizes) - x_val.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                           f"the number of dimensions in the tensor ({x_val.ndim})")
    target = list(sizes)
    for i, old in enumerate(x_val.shape):
        n = sizes[lead + i]
        if n == -1:
            target[lead + i] = old
        elif old != 1 and n != old:
            raise RuntimeError(f"expand: the expanded size of the tensor ({n}) must match the existing size "
                               f"({old}) at non-singleton dimension {lead + i}. Target sizes: {sizes}. "
                               f"Tensor sizes: {x_val.shape}")
    if any(n < 0 for n in target):
        raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension (sizes {sizes})")
    x_shape = x_val.shape
    return record(expand, np.broadcast_to(x_val, target), (x,),
                  lambda grad_out: (unbroadcast(grad_out, x_shape),))


def expand_as(x, other):
    """y = x expanded to other's shape ;  dL/dx = g summed over the broadcast copies.  Saves nothing."""
    return expand(x, tuple(np.shape(array_of(other))))


def repeat(x, *sizes):
    """y = x tiled sizes[i] times along dim i (x gets leading size-1 dims if sizes is longer).

    Along each dim, y viewed as (r_i, s_i) holds r_i copies of x's s_i entries, so
    dL/dx = g reshaped to (r0, s0, r1, s1, ...) and summed over the r axes.  Saves nothing."""
    x_val = array_of(x)
    sizes = _sizes(sizes)
    if len(sizes) < x_val.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than the number "
                           f"of dimensions of the tensor ({x_val.ndim})")
    x_shape = x_val.shape
    padded = (1,) * (len(sizes) - x_val.ndim) + x_shape

    def repeat_backward(grad_out):
        interleaved = [n for pair in zip(sizes, padded) for n in pair]  # (r0, s0, r1, s1, ...)
        summed = grad_out.reshape(interleaved).sum(axis=tuple(range(0, 2 * len(sizes), 2)))
        return (summed.reshape(x_shape),)

    return record(repeat, np.tile(x_val.reshape(padded), sizes), (x,), repeat_backward)


# ----- joining -----------------------------------------------------------------------
def _joint_dtype(arrays):
    """PyTorch's promotion over all inputs, or None when they share a dtype (the common case)."""
    dtype = arrays[0].dtype
    if all(a.dtype == dtype for a in arrays):
        return None
    for a in arrays[1:]:
        if a.dtype != dtype:
            dtype = result_dtype(np.empty((1,), dtype), a if a.ndim else a.reshape(1))
    return dtype


def _wanted_dtypes(tensors):
    """Each joined input's dtype where it needs a gradient, else None: all a join's VJP needs of them."""
    return [array_of(t).dtype if needs_grad(t) else None for t in tensors]


def _grads_to_inputs(dtypes, pieces):
    """One gradient piece per joined input, cast to the input's dtype; None where none is needed."""
    return tuple(None if dtype is None else p if p.dtype == dtype else p.astype(dtype)
                 for dtype, p in zip(dtypes, pieces))


def cat(tensors, dim=0):
    """y = the tensors joined along `dim` (PyTorch's type promotion; 1-D empty tensors are skipped).

    dL/dx_k = the slice of g along `dim` where x_k was placed.  Saves nothing (sizes and dtypes)."""
    tensors = tuple(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of tensors")
    arrays = [array_of(a) for a in tensors]
    keep = None
    empty_1d = [a.shape == (0,) for a in arrays]
    if True in empty_1d and False in empty_1d:  # PyTorch's legacy rule, for cat([torch.tensor([]), x])
        keep = [i for i, empty in enumerate(empty_1d) if not empty]
    joined = arrays if keep is None else [arrays[i] for i in keep]
    axis = _axis(dim, joined[0].ndim, "cat")
    try:
        y = np.concatenate(joined, axis=axis, dtype=_joint_dtype(joined))
    except ValueError:
        raise RuntimeError(f"cat: tensors must have the same shape except in dimension {dim}, got shapes "
                           f"{[a.shape for a in arrays]}") from None
    sizes = [a.shape[axis] for a in joined]
    dtypes = _wanted_dtypes(tensors)

    def cat_backward(grad_out):
        pieces = np.split(grad_out, np.cumsum(sizes[:-1]), axis=axis)
        if keep is not None:  # a skipped empty input gets an empty gradient
            full = [np.zeros(0, dtype or grad_out.dtype) for dtype in dtypes]
            for i, p in zip(keep, pieces):
                full[i] = p
            pieces = full
        return _grads_to_inputs(dtypes, pieces)

    return record(cat, y, tensors, cat_backward)


def stack(tensors, dim=0):
    """y = the tensors (all the same shape) stacked along a new dim `dim`.

    dL/dx_k = g[..., k, ...], the k-th slice of g along `dim`.  Saves nothing (dtypes)."""
    tensors = tuple(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    arrays = [array_of(a) for a in tensors]
    for k, a in enumerate(arrays):
        if a.shape != arrays[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {arrays[0].shape} at entry 0 "
                               f"and {a.shape} at entry {k}")
    axis = _axis(dim, arrays[0].ndim + 1, "stack")
    y = np.stack(arrays, axis=axis, dtype=_joint_dtype(arrays))
    dtypes = _wanted_dtypes(tensors)

    def stack_backward(grad_out):
        return _grads_to_inputs(dtypes, np.moveaxis(grad_out, axis, 0))

    return record(stack, y, tensors, stack_backward)


# ----- splitting: one node with one output per piece ----------------------------------
def _split_sizes(op, x, sizes, dim):
    """Record the pieces of x along `dim` with the given sizes; the VJP concatenates their gradients
    (zeros for pieces that got none)."""
    x_val = array_of(x)
    axis = _axis(dim, x_val.ndim, op.__name__)
    index = [slice(None)] * x_val.ndim
    pieces, start = [], 0
    for n in sizes:
        index[axis] = slice(start, start + n)
        pieces.append(x_val[tuple(index)])
        start += n

    def split_backward(grads_out):
        return (np.concatenate(grads_out, axis=axis),)

    return tuple(record_multi(op, pieces, (x,), split_backward))


def split(x, split_size_or_sections, dim=0):
    """y_k = consecutive pieces of x along `dim`: of size split_size (the last one smaller), or of the
    listed sizes.  dL/dx = the g_k concatenated along `dim` (zeros for unused pieces).  Saves nothing."""
    x_val = array_of(x)
    n = x_val.shape[_axis(dim, x_val.ndim, "split")]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n > 0:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split: split_with_sizes expects split_sizes to sum exactly to {n} (input "
                               f"tensor's size at dimension {dim}), but got split_sizes={sizes}")
    return _split_sizes(split, x, sizes, dim)


def chunk(x, chunks, dim=0):
    """y_k = x split into pieces of size ceil(n / chunks) along `dim` (may give fewer than `chunks`).

    dL/dx = the g_k concatenated along `dim` (zeros for unused pieces).  Saves nothing."""
    if chunks <= 0:
        raise RuntimeError(f"chunk: number of chunks must be greater than 0, got {chunks}")
    x_val = array_of(x)
    n = x_val.shape[_axis(dim, x_val.ndim, "chunk")]
    if n == 0:
        return _split_sizes(chunk, x, [0] * chunks, dim)
    size = -(-n // chunks)
    return _split_sizes(chunk, x, [size] * (n // size) + ([n % size] if n % size else []), dim)


def unbind(x, dim=0):
    """y_k = x[..., k, ...] along `dim`, the dim removed.  dL/dx = the g_k stacked along `dim`.

    Saves nothing."""
    x_val = array_of(x)
    axis = _axis(dim, x_val.ndim, "unbind")
    moved = np.moveaxis(x_val, axis, 0)
    pieces = [moved[k, ...] for k in range(len(moved))]  # `...` keeps 0-d pieces arrays, not scalars

    def unbind_backward(grads_out):
        return (np.stack(grads_out, axis=axis),)

    return tuple(record_multi(unbind, pieces, (x,), unbind_backward))


# ----- slicing, flipping, padding --------------------------------------------------
def narrow(x, dim, start, length):
    """y = x[..., start:start + length, ...] along `dim` (a negative start counts from the end).

    dL/dx = g placed at those positions, zeros elsewhere.  Saves nothing."""
    x_val = array_of(x)
    axis = _axis(dim, x_val.ndim, "narrow")
    n = x_val.shape[axis]
    start = start + n if start < 0 else start
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) of a tensor "
                         f"of shape {x_val.shape}")
    return _slice_of(narrow, x, x_val, (slice(None),) * axis + (slice(start, start + length),))


def flip(x, dims):
    """y = x reversed along `dims` ;  dL/dx = g reversed along the same dims.  Saves nothing."""
    x_val = array_of(x)
    axes = normalize_dims(dims, x_val.ndim, "flip")
    return record(flip, np.flip(x_val, axes), (x,), lambda grad_out: (np.flip(grad_out, axes),))


def roll(x, shifts, dims=None):
    """y = x rolled by `shifts` along `dims` (flattened and restored when dims is None).

    dL/dx = g rolled by -shifts along the same dims.  Saves nothing."""
    x_val = array_of(x)
    if dims is not None:
        dims = tuple(_axis(d, x_val.ndim, "roll") for d in np.atleast_1d(dims))
        dims = dims if len(dims) > 1 else dims[0]
    back = tuple(-s for s in shifts) if isinstance(shifts, (tuple, list)) else -shifts
    return record(roll, np.roll(x_val, shifts, dims), (x,), lambda grad_out: (np.roll(grad_out, back, dims),))


def tril(x, diagonal=0):
    """y = x with entries above the `diagonal`-th diagonal zeroed (last two dims) ;  dL/dx = tril(g).

    Saves nothing."""
    x_val = array_of(x)
    if x_val.ndim < 2:
        raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got shape {x_val.shape}")
    return record(tril, np.tril(x_val, diagonal), (x,), lambda grad_out: (np.tril(grad_out, diagonal),))


def triu(x, diagonal=0):
    """y = x with entries below the `diagonal`-th diagonal zeroed (last two dims) ;  dL/dx = triu(g).

    Saves nothing."""
    x_val = array_of(x)
    if x_val.ndim < 2:
        raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got shape {x_val.shape}")
    return record(triu, np.triu(x_val, diagonal), (x,), lambda grad_out: (np.triu(grad_out, diagonal),))


def unfold(x, dimension, size, step):
    """y[..., w, ..., k] = x[..., w * step + k, ...]: the windows of `size` entries along `dimension`, `step`
    apart, in a new last dim (a copy here; PyTorch returns a view; a 0-d x unfolds as one entry, y = [x]) ;
    dL/dx[..., w * step + k, ...] += g[..., w, ..., k], overlapping windows adding up.

    Saves nothing."""
    x_val = array_of(x)
    axis = _axis(dimension, x_val.ndim, "unfold")
    length = x_val.shape[axis] if x_val.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if x_val.ndim == 0:
        return record(unfold, x_val.reshape(1), (x,), lambda grad_out: (grad_out.reshape(()),))
    windows = np.lib.stride_tricks.sliding_window_view(x_val, size, axis=axis)
    out = np.ascontiguousarray(windows[(slice(None),) * axis + (slice(None, None, step),)])
    count, shape = out.shape[axis], x_val.shape

    def vjp(grad_out):
        grad = np.zeros(shape, dtype=grad_out.dtype)
        for offset in range(size):  # one position within the windows at a time: windows may overlap
            grad[(slice(None),) * axis + (slice(offset, offset + step * (count - 1) + 1, step),)] += \
                grad_out[..., offset]
        return (grad,)
    return record(unfold, out, (x,), vjp)


def diag(x, diagonal=0):
    """1-D x: y = the square matrix with x on its `diagonal`-th diagonal ;  dL/dx = that diagonal of g.
    2-D x: y = the `diagonal`-th diagonal of x ;  dL/dx = zeros with g on that diagonal.

    Saves nothing."""
    x_val = array_of(x)
    if x_val.ndim == 1:
        size = x_val.shape[0] + abs(diagonal)
        out = np.zeros((size, size), dtype=x_val.dtype)
        out[_diagonal_index(out.shape, diagonal)] = x_val
        return record(diag, out, (x,), lambda grad_out: (np.diagonal(grad_out, diagonal).copy(),))
    if x_val.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x_val.ndim}D")
    shape = x_val.shape

    def vjp(grad_out):
        grad = np.zeros(shape, dtype=grad_out.dtype)
        grad[_diagonal_index(shape, diagonal)] = grad_out
        return (grad,)
    return record(diag, np.diagonal(x_val, diagonal).copy(), (x,), vjp)


def _diagonal_index(shape, diagonal):
    """(rows, cols) of the `diagonal`-th diagonal of a matrix of `shape` (above the main one when positive)."""
    length = max(0, min(shape[0] + min(diagonal, 0), shape[1] - max(diagonal, 0)))
    steps = np.arange(length)
    return steps - min(diagonal, 0), steps + max(diagonal, 0)


def pad(x, pad, mode="constant", value=0):
    """y = x padded as torch.nn.functional.pad: `pad` = (left, right) pairs from the LAST dim backwards;
    a negative pad crops.  mode 'constant' fills with `value`; 'reflect' mirrors without repeating the
    edge, 'replicate' repeats the edge, 'circular' wraps around (within what negative pads keep).

    constant: dL/dx = g's entries at the positions that hold x (zeros where x was cropped away).
    reflect/replicate/circular: y = x[src] per padded dim, so dL/dx = scatter-add of g onto src
    (an edge entry copied k times gets k gradients).
    Saves `sources` (reflect/replicate/circular: per padded dim, the source position of each output position)."""
    x_val = array_of(x)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x_val.ndim:
        raise RuntimeError(f"pad: padding length must be even and at most 2 * ndim ({2 * x_val.ndim}), got "
                           f"{len(pad)} for a tensor of shape {x_val.shape}")
    pairs = [(x_val.ndim - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]
    for axis, left, right in pairs:
        if x_val.shape[axis] + min(left, 0) + min(right, 0) < 0:
            raise RuntimeError(f"pad: negative padding ({left}, {right}) crops more than the size of dimension "
                               f"{axis} of a tensor of shape {x_val.shape}")
    if mode == "constant":
        return _pad_constant(x, x_val, pairs, value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    sources = []  # (axis, the source position of each output position along it)
    for axis, left, right in pairs:
        n = x_val.shape[axis]
        positions = np.arange(-left, n + right)
        if mode == "reflect":
            if left >= n or right >= n:
                raise RuntimeError(f"pad: padding size should be less than the corresponding input dimension, "
                                   f"but got padding ({left}, {right}) at dimension {axis} of input {x_val.shape}")
            positions = np.abs(positions)
            source = np.where(positions >= n, 2 * (n - 1) - positions, positions)
        elif mode == "replicate":
            source = np.clip(positions, 0, n - 1)
        else:
            if left > n or right > n:
                raise RuntimeError(f"pad: padding ({left}, {right}) at dimension {axis} of input {x_val.shape} "
                                   f"would wrap around more than once")
            # negative pads crop first, as in PyTorch, so the wrap-around is within the kept range
            start, kept = max(-left, 0), n - max(-left, 0) - max(-right, 0)
            source = start + (positions - start) % max(kept, 1)
        sources.append((axis, source))

    return _pad_from_sources(x, x_val, sources)


def _pad_from_sources(x, x_val, sources):
    """'reflect'/'replicate'/'circular' pad: y = x[source] along each padded dim; the VJP scatter-adds g back.
    (A function of its own because `pad`'s argument named pad, PyTorch's name, hides the op in its body.)"""
    def take_sources(a):
        for axis, source in sources:
            a = np.take(a, source, axis=axis)
        return a

    x_shape, x_dtype = x_val.shape, x_val.dtype
    return record(pad, take_sources(x_val), (x,),
                  lambda grad_out: (_scatter_add(x_shape, x_dtype, take_sources, grad_out),))


def _pad_constant(x, x_val, pairs, value):
    """'constant' pad: y = full(value); y[dst] = x[src], where src/dst are the kept ranges per dim."""
    src, dst = [slice(None)] * x_val.ndim, [slice(None)] * x_val.ndim
    out_shape, crops = list(x_val.shape), False
    for axis, left, right in pairs:
        n = x_val.shape[axis]
        kept = n - max(-left, 0) - max(-right, 0)
        src[axis] = slice(max(-left, 0), max(-left, 0) + kept)
        dst[axis] = slice(max(left, 0), max(left, 0) + kept)
        out_shape[axis] = n + left + right
        crops = crops or left < 0 or right < 0
    src, dst = tuple(src), tuple(dst)
    y = np.full(out_shape, value, dtype=x_val.dtype)
    y[dst] = x_val[src]
    x_shape, x_dtype = x_val.shape, x_val.dtype

    def pad_backward(grad_out):
        if not crops:
            return (grad_out[dst],)
        grad = np.zeros(x_shape, x_dtype)
        grad[src] = grad_out[dst]
        return (grad,)

    return record(pad, y, (x,), pad_backward)


# ----- copies and casts ----------------------------------------------------------------
def cast(x, dtype):
    """y = x converted to `dtype` (Tensor.to / float / double); x itself when the dtype is unchanged.

    dL/dx = g converted back to x's dtype.  A cast to an integer or bool dtype is not differentiable.
    Saves nothing."""
    dtype = np.dtype(dtype)
    x_val = array_of(x)
    if isinstance(x, Tensor) and x_val.dtype == dtype:
        return x
    y = x_val.astype(dtype)
    if dtype.kind not in "fc":
        return record(cast, y, (), None)
    x_dtype = x_val.dtype
    return record(cast, y, (x,), lambda grad_out: (grad_out.astype(x_dtype),))


def clone(x):
    """y = a copy of x ;  dL/dx = g.  Saves nothing."""
    return record(clone, array_of(x).copy(), (x,), lambda grad_out: (grad_out,))
