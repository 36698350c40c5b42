"""Pooling as fused ops: max (with an explicit tie policy), average, adaptive, and max-unpooling.

Legend: N batch, C channels, H x W (padded) input, Ho x Wo output, kh x kw window, K = kh*kw.
The forward passes copy every window once, offset-major (K, N, C, Ho, Wo) (`window.gathered`),
so that their K passes read contiguous memory. The backward passes build each window offset's
part of the gradient and add the K parts back at the input entries they came from (`window.col2im`),
so overlapping windows accumulate correctly.

Max pooling sends each window's gradient to its maximum. Which one, when several entries
tie, is a choice -- retrograd makes it explicit:
    ties="first"  (default, PyTorch's): the first maximum in row-major window order
    ties="split"  every tied maximum gets an equal share (the average of the subgradients)
    ties="random" one tied maximum chosen uniformly (retrograd.manual_seed makes it repeatable)

With the `fast` extra (Numba; ops/kernels.py), max pooling finds each window's maximum, its tied entries and
its random pick in one compiled pass per window, and scatters the gradient back in one more
(window_kernels.py): the same bits as the NumPy code here, which stays the reference, and the same draws
from the generator for ties="random".
"""
import itertools

import numpy as np

from ..random import default_generator
from . import kernels, window, window_kernels
from .base import accumulation_dtype, array_of, pass_where, record, uint_view
from .reduce import mean
from .shape import reshape

TIE_POLICIES = ("first", "split", "random")


def _check_window(op, kernel, stride, pad, dilation):
    """PyTorch's checks (its max_pool1d wording), before any size arithmetic can divide by zero."""
    for name, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if values is not None and any(v <= 0 for v in values):
            raise RuntimeError(f"{op}: {name} must be greater than zero, but got {name}={values}")
    if any(p < 0 for p in pad):
        raise RuntimeError(f"{op}: padding must be non-negative, but got padding={pad}")
    for k, p in zip(kernel, pad):
        if p > k // 2:
            raise ValueError(f"{op}: pad should be at most half of effective kernel size, but got pad={p} and "
                             f"kernel_size={k}")


def _unbatched(pool, x, *args):
    """`pool` of an unbatched input ((C, H, W) for a 2-D pool, (C, L) for a 1-D one), which PyTorch accepts:
    the pool of a batch of one, with that batch dimension dropped from its result (and indices)."""
    result = pool(reshape(x, (1, *array_of(x).shape)), *args)
    if isinstance(result, tuple):
        return tuple(reshape(part, tuple(part.shape[1:])) for part in result)
    return reshape(result, tuple(result.shape[1:]))


def _default_stride(stride):
    """PyTorch reads stride=None and an empty stride (stride=() or []) as 'the kernel size'."""
    return stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)


def _geometry(op, x_val, kernel_size, stride, padding, dilation, ceil_mode):
    """kernel, stride, dilation, output size (Ho, Wo) and the spatial pads ((top, bottom), (left, right)):
    the bottom and right pads grow so that ceil_mode's last windows fit inside the padded array."""
    if x_val.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or an unbatched 3-D one (C, H, W), got shape "
                         f"{x_val.shape}")
    kernel = window.pair(kernel_size, "kernel_size", op)
    stride = kernel if _default_stride(stride) else window.pair(stride, "stride", op)
    pad = window.pair(padding, "padding", op)
    dilation = window.pair(dilation, "dilation", op)
    _check_window(op, kernel, stride, pad, dilation)
    size = x_val.shape[2:]
    out = window.output_size(size, kernel, stride, dilation, ((pad[0], pad[0]), (pad[1], pad[1])), ceil_mode)
    if out[0] <= 0 or out[1] <= 0:
        raise ValueError(f"{op}: input of shape {x_val.shape} is too small for kernel {kernel}, padding {pad}, "
                         f"dilation {dilation} (output size {out})")
    pads = tuple((p, p + max(0, (o - 1) * s + d * (k - 1) + 1 - (length + 2 * p)))
                 for o, s, d, k, length, p in zip(out, stride, dilation, kernel, size, pad))
    return kernel, stride, dilation, out, pads


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               ties="first"):
    """y = the maximum of each window (padding counts as -inf).

    dL/dx: each window's g goes to its maximum; with several tied maxima `ties` decides
    (module docstring); a window holding NaN has NaN as its maximum and sends g to its last NaN,
    as PyTorch does. Overlapping windows add their contributions.
    Saves `choice`: per window, the offset of the entry its g goes to (its row-major position in the
    window, in the smallest integer type that holds them all), or for ties="split" the mask of its tied
    maxima -- not the input or its windows. `return_indices` gives PyTorch's flat h * W + w index, in
    each input plane, of the entry PyTorch picks: the first maximum, or the last NaN."""
    if ties not in TIE_POLICIES:
        raise ValueError(f"max_pool2d: ties must be one of {TIE_POLICIES}, got {ties!r}")
    x_val = array_of(x)
    if x_val.ndim == 3:
        return _unbatched(max_pool2d, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, ties)
    kernel, stride, dilation, out, pads = _geometry("max_pool2d", x_val, kernel_size, stride, padding, dilation,
                                                    ceil_mode)
    fill = -np.inf if x_val.dtype.kind == "f" else np.iinfo(x_val.dtype).min
    x_padded = window.pad(x_val, pads, fill)
    y, offset, choice = _find_maxima(x_padded, kernel, stride, dilation, out, ties)
    padded_shape, size = x_padded.shape, x_val.shape[2:]

    def max_pool2d_backward(grad_out):
        grad_padded = _window_gradient(grad_out, choice, ties, padded_shape, kernel, stride, dilation, out)
        return (window.crop(grad_padded, pads, size),)

    result = record(max_pool2d, y, (x,), max_pool2d_backward, saved=(x,))
    if not return_indices:
        return result
    u, v = np.divmod(offset.astype(np.int64), kernel[1])
    rows = np.arange(out[0])[:, None] * stride[0] - pads[0][0] + u * dilation[0]
    cols = np.arange(out[1])[None, :] * stride[1] - pads[1][0] + v * dilation[1]
    return result, record(max_pool2d, rows * size[1] + cols, (), None)


def _find_maxima(x_padded, kernel, stride, dilation, out, ties):
    """y, each window's maximum (N, C, Ho, Wo); `offset`, the entry PyTorch picks (the window's first maximum,
    or its last NaN), for return_indices; and `choice`, what the backward reads under the tie policy.

    One path for every geometry: a running first maximum over the windows copied offset-major, K contiguous
    passes. For tiling and overlapping windows alike it is faster than the same passes over strided slices of
    the input, two stages over the rows of tiling windows, or np.argmax along a short last window axis. The copy
    is freed on return."""
    k = kernel[0] * kernel[1]
    offset_type = np.min_scalar_type(-k)  # the smallest signed type that holds every offset
    geometry = (*kernel, *stride, *dilation)
    work = x_padded.shape[0] * x_padded.shape[1] * out[0] * out[1] * k  # window entries: the kernels' loop count
    # float32 only: Numba leaves the float64 loop scalar, its selects turned into mispredicted branches (LeNet's
    # first pool, float64: 620 against 240 us for the NumPy passes; float32: 45 against 160 us)
    first_maximum = (kernels.compiled_for(window_kernels.max_pool_first, x_padded.dtype, geometry, work)
                     if x_padded.dtype == np.float32 else None)
    if first_maximum is not None:
        return _find_maxima_compiled(x_padded, first_maximum, geometry, out, ties, offset_type, work)
    flat = window.gathered(x_padded, kernel, stride, dilation, out)  # (K, N, C, Ho, Wo)
    y, offset = _first_maximum(flat, offset_type)
    nan = y.dtype.kind == "f" and _has_nan(y)
    if nan:  # y is NaN there already (np.maximum propagates it); PyTorch's kernel takes each NaN it meets
        last_nan = k - 1 - np.isnan(flat[::-1]).argmax(axis=0)
        offset = np.where(np.isnan(y), last_nan, offset).astype(offset_type)
    if ties == "first":
        return y, offset, offset
    tied = flat == y
    if nan:
        tied |= np.isnan(flat)  # a window holding NaN ties among its NaNs
    if ties == "split":
        return y, offset, tied
    keys = default_generator.random(tied.shape) * tied
    return y, offset, keys.argmax(axis=0).astype(offset_type)  # a uniform pick among the tied entries


def _find_maxima_compiled(x_padded, first_maximum, geometry, out, ties, offset_type, work):
    """_find_maxima in compiled passes over the windows of x_padded (window_kernels.py), with the same results:
    y and offset in one pass (`first_maximum`, the compiled max_pool_first), then the tied mask (split) or the
    pick (random) in a second. ties="random" draws the same K x N x C x Ho x Wo uniform keys, in the same order,
    as the NumPy code. `work`: the window entries each pass visits."""
    dtype, windows_shape = x_padded.dtype, x_padded.shape[:2] + tuple(out)
    y, offset = np.empty(windows_shape, dtype), np.empty(windows_shape, offset_type)
    first_maximum(x_padded, y, offset)
    if ties == "first":
        return y, offset, offset
    k = geometry[0] * geometry[1]
    if ties == "split":
        tied = np.empty((k, *windows_shape), bool)
        kernels.compiled_for(window_kernels.max_pool_tied, dtype, geometry, work)(x_padded, y, tied)
        return y, offset, tied
    keys = default_generator.random((k, *windows_shape))
    choice = np.empty(windows_shape, offset_type)
    pick = kernels.compiled_for(window_kernels.max_pool_random_pick, dtype, geometry, work)
    pick(x_padded, y, keys, choice)
    return y, offset, choice


def _has_nan(y):
    """Whether a NaN is in y: one sum (also NaN when +inf meets -inf, which only costs the exact check)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.isnan(y.sum())) and bool(np.isnan(y).any())


def _first_maximum(parts, offset_type):
    """The elementwise maximum of the K equal-shape `parts` and, per element, the index of the first part that
    holds it. The comparison is strict, so a later part wins only when it is larger: ties go to the first. The
    index is updated arithmetically, index += (i - index) * larger: a masked copy under so unpredictable a mask
    runs about 40 times slower."""
    best, index = parts[0], np.zeros(parts[0].shape, offset_type)
    for i, part in enumerate(parts[1:], 1):
        index += (offset_type.type(i) - index) * (part > best)
        best = np.maximum(best, part)
    return best, index


def _window_gradient(grad_out, choice, ties, padded_shape, kernel, stride, dilation, out):
    """dL/dx_padded: each window's g (for ties="split", g / count, the share of each of its count tied maxima)
    added at the entries `choice` names, into zeros, in row-major window order, as PyTorch's max-pool backward
    adds them: an entry no window chose is +0.0, one chosen once is 0 + g (+0.0 for g = -0.0), one chosen by
    several windows the sum in that order, bit for bit. By col2im's loop below, or in one compiled pass that adds
    the same terms in the same order (window_kernels.max_pool_backward)."""
    if ties == "split":
        grad_out = grad_out / choice.sum(axis=0, dtype=grad_out.dtype)
    scatter = kernels.compiled_for(window_kernels.max_pool_backward_split if ties == "split"
                                   else window_kernels.max_pool_backward, grad_out.dtype, (*kernel, *stride, *dilation),
                                   grad_out.size * kernel[0] * kernel[1])
    grad, disjoint = window.col2im_target(padded_shape, grad_out.dtype, kernel, stride, dilation, out)
    if scatter is not None:
        scatter(grad_out, choice, disjoint, grad)
        return grad
    # col2im with the select written straight into each offset's slice; offsets last first: an entry is offset
    # (u, v) of window (i, j) where it sits at (i s + u d, j s + v d), so a later offset is an earlier window
    slices = list(window.offset_slices(kernel, stride, dilation, out))[::-1]
    # disjoint windows assign: 0 + g makes a chosen -0.0 +0.0, as added into zeros; every other g keeps its bits
    g = grad_out + 0.0 if disjoint else grad_out
    g_bits, grad_bits = uint_view(g), uint_view(grad)  # pass_where's select, its views made once
    for o, (rows, cols) in zip(reversed(range(len(slices))), slices):
        chosen = choice[o] if ties == "split" else choice == o
        if g_bits is None:  # no integer of g's width: pass_where's masked copy
            part = pass_where(g, chosen)
            grad[:, :, rows, cols] = part if disjoint else grad[:, :, rows, cols] + part
        elif disjoint:  # one term per entry: the select is the entry
            np.multiply(g_bits, chosen.view(np.uint8), out=grad_bits[:, :, rows, cols])
        else:
            grad[:, :, rows, cols] += np.multiply(g_bits, chosen.view(np.uint8)).view(g.dtype)
    return grad


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               ties="first"):
    """max_pool2d over (N, C, L) seen as (N, C, 1, L): same gradient and tie rules.
    Saves what max_pool2d saves: the nodes it records are max_pool2d's and reshapes."""
    x_val = array_of(x)
    if x_val.ndim == 2:
        return _unbatched(max_pool1d, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, ties)
    kernel, stride, padding, dilation = _pool1d_as_2d("max_pool1d", x_val, kernel_size, stride, padding, dilation,
                                                      ceil_mode)
    result = max_pool2d(_as_image(x, x_val), kernel, stride, padding, dilation, ceil_mode, return_indices, ties)
    if return_indices:
        values, indices = result
        return _as_sequence(values), _as_sequence(indices)
    return _as_sequence(result)


def _pool1d_as_2d(op, x_val, kernel, stride, pad, dilation, ceil_mode):
    """A 1-D pool's (kernel, stride, padding, dilation) as its 2-D pool's on the (N, C, 1, L) view, after
    the checks in the 1-D pool's own (N, C, L) terms (the 2-D pool's errors would speak of 2-D ops and shapes)."""
    if x_val.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D input (N, C, L) or an unbatched 2-D one (C, L), got shape "
                         f"{x_val.shape}")
    kernel = window.single(kernel, "kernel_size", op)
    stride = kernel if _default_stride(stride) else window.single(stride, "stride", op)
    pad, dilation = window.single(pad, "padding", op), window.single(dilation, "dilation", op)
    _check_window(op, (kernel,), (stride,), (pad,), (dilation,))
    (out,) = window.output_size(x_val.shape[2:], (kernel,), (stride,), (dilation,), ((pad, pad),), ceil_mode)
    if out <= 0:
        raise ValueError(f"{op}: input of shape {x_val.shape} is too small for kernel {kernel}, padding {pad}, "
                         f"dilation {dilation} (output size {out})")
    return (1, kernel), (1, stride), (0, pad), (1, dilation)


def _as_image(x, x_val):
    """(N, C, L) as (N, C, 1, L)."""
    n, c, length = x_val.shape
    return reshape(x, (n, c, 1, length))


def _as_sequence(y):
    """(N, C, 1, Lo) back to (N, C, Lo)."""
    n, c, _, length = y.shape
    return reshape(y, (n, c, length))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """y = the sum of each window / its divisor (the window size; without count_include_pad, the
    number of real input entries in it; windows running past the padding in ceil_mode are
    clipped, as in PyTorch).

    dL/dx = col2im(g / divisor broadcast over each window): every entry of a window gets an
    equal share.
    Saves `divisor` (one per window position, or the override): not the input."""
    x_val = array_of(x)
    if x_val.ndim == 3:
        return _unbatched(avg_pool2d, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override)
    kernel, stride, dilation, out, pads = _geometry("avg_pool2d", x_val, kernel_size, stride, padding, 1, ceil_mode)
    x_padded = window.pad(x_val, pads)
    sums = window.gathered(x_padded, kernel, stride, dilation, out).sum(axis=0, dtype=accumulation_dtype(x_val.dtype))
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero, got divisor_override=0")
        divisor = np.asarray(divisor_override, x_val.dtype)
    else:
        h, w = x_val.shape[2:]
        (top, _), (left, _) = pads
        counted = np.zeros(x_padded.shape[2:], x_val.dtype)  # which padded positions count towards the divisor
        if count_include_pad:
            counted[:h + 2 * top, :w + 2 * left] = 1
        else:
            counted[top:top + h, left:left + w] = 1
        divisor = window.windows(counted[None, None], kernel, stride, dilation, out).sum(axis=(2, 3))[0, 0]
    y = (sums / divisor).astype(x_val.dtype, copy=False)
    padded_shape, size = x_padded.shape, x_val.shape[2:]

    def avg_pool2d_backward(grad_out):
        share = (grad_out / divisor).astype(grad_out.dtype, copy=False)  # (N, C, Ho, Wo): each entry's part
        parts = itertools.repeat(share, kernel[0] * kernel[1])  # the same at every window offset
        grad_padded = window.col2im(parts, padded_shape, grad_out.dtype, kernel, stride, dilation, out)
        return (window.crop(grad_padded, pads, size),)

    return record(avg_pool2d, y, (x,), avg_pool2d_backward, saved=(x,))


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """avg_pool2d over (N, C, L) seen as (N, C, 1, L).
    Saves what avg_pool2d saves: the nodes it records are avg_pool2d's and reshapes."""
    x_val = array_of(x)
    if x_val.ndim == 2:
        return _unbatched(avg_pool1d, x, kernel_size, stride, padding, ceil_mode, count_include_pad)
    kernel, stride, padding, _ = _pool1d_as_2d("avg_pool1d", x_val, kernel_size, stride, padding, 1, ceil_mode)
    return _as_sequence(avg_pool2d(_as_image(x, x_val), kernel, stride, padding, ceil_mode, count_include_pad))


def _adaptive_size(op, x_val, output_size):
    """The output size (Ho, Wo) asked for, after PyTorch's checks (None in output_size keeps that input size)."""
    if x_val.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or an unbatched 3-D one (C, H, W), got shape "
                         f"{x_val.shape}")
    size = window.pair(output_size, "output_size", op) if not isinstance(output_size, (tuple, list)) else tuple(
        x_val.shape[2 + i] if s is None else int(s) for i, s in enumerate(output_size))
    if any(s < 0 for s in size):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0, but got "
                           f"output_size={size}")
    return size


def _require_float(op, x_val):
    """PyTorch's adaptive pools have float kernels only (max_pool2d and avg_pool2d also take integers)."""
    if x_val.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for input of dtype {x_val.dtype}, as in PyTorch "
                                  f"(\"{op}\" not implemented for this dtype); convert it with .float()")


def _equal_windows(x_val, size):
    """The kernel (= stride) when every output size divides its input size, so adaptive pooling is fixed
    pooling; None otherwise."""
    if any(n_in % n_out for n_in, n_out in zip(x_val.shape[2:], size)):
        return None
    return tuple(n_in // n_out for n_in, n_out in zip(x_val.shape[2:], size))


def _adaptive_windows(n_in, n_out):
    """PyTorch's adaptive windows along one dim: window i covers [floor(i n_in / n_out), ceil((i+1) n_in / n_out)).
    Returns (positions, inside), both (n_out, k) for k the widest window: the input position of each window
    offset (clipped to the input) and whether that offset is inside its window."""
    i = np.arange(n_out)
    starts, ends = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
    offsets = np.arange(int((ends - starts).max()))
    positions = starts[:, None] + offsets  # (n_out, k)
    return np.minimum(positions, n_in - 1), positions < ends[:, None]


def _empty_pool(x, size):
    """An output size with a 0 (PyTorch allows it): an empty (N, C, Ho, Wo) result, still on the tape, so
    that backward gives x a zero gradient as PyTorch does."""
    n, c = array_of(x).shape[:2]
    return reshape(x[:, :, :0, :0], (n, c) + tuple(size))


def adaptive_avg_pool2d(x, output_size):
    """Average over PyTorch's adaptive windows (see `_adaptive_windows`; they may overlap by one entry).
    Equal windows that tile the input (input size divisible by output size) are avg_pool2d with kernel =
    stride = input / output, so the same gradient. Otherwise, with P_h (Ho, H) and P_w (Wo, W) holding
    1/window size on each window's entries:
        y = P_h x P_w^T ;  dL/dx = P_h^T g P_w
    An output of 1 x 1 (global average pooling) is the mean over each plane, as PyTorch computes it (its node is
    mean's): one reduction instead of windows of the whole plane (about 2 against 60 ms for (64, 64, 32, 32) float32).
    Saves `p_rows` and `p_cols` (general windows: P_h and P_w), not the input."""
    x_val = array_of(x)
    batched = x_val.reshape((1,) + x_val.shape) if x_val.ndim == 3 else x_val
    size = _adaptive_size("adaptive_avg_pool2d", batched, output_size)  # checks the rank too
    if size == (1, 1):
        return mean(x, (-2, -1), keepdim=True)
    if x_val.ndim == 3:
        return _unbatched(adaptive_avg_pool2d, x, output_size)
    _require_float("adaptive_avg_pool2d", x_val)
    if 0 in size:
        return _empty_pool(x, size)
    kernel = _equal_windows(x_val, size)
    if kernel is not None:
        return avg_pool2d(x, kernel, kernel)
    p_rows, p_cols = (_averaging_matrix(n_in, n_out, x_val.dtype) for n_in, n_out in zip(x_val.shape[2:], size))
    y = p_rows @ x_val @ p_cols.T  # (Ho, H) @ (N, C, H, W) @ (W, Wo) -> (N, C, Ho, Wo)

    def adaptive_avg_pool2d_backward(grad_out):
        return (p_rows.T @ grad_out @ p_cols,)  # (H, Ho) @ (N, C, Ho, Wo) @ (Wo, W) -> (N, C, H, W)

    return record(adaptive_avg_pool2d, y, (x,), adaptive_avg_pool2d_backward)


def _averaging_matrix(n_in, n_out, dtype):
    """P (n_out, n_in): row i holds 1 / (window i's size) on window i's entries, 0 elsewhere."""
    positions, inside = _adaptive_windows(n_in, n_out)
    matrix = np.zeros((n_out, n_in), dtype)
    np.add.at(matrix, (np.arange(n_out)[:, None], positions), inside)
    return matrix / matrix.sum(axis=1, keepdims=True)


def adaptive_max_pool2d(x, output_size, return_indices=False, ties="first"):
    """y = the maximum of each of PyTorch's adaptive windows (see `_adaptive_windows`; they may overlap).
    Equal windows that tile the input are max_pool2d with kernel = stride = input / output (every tie
    policy, the same gradient). Otherwise (ties="first" only): each window picks its first maximum in
    row-major order, or its last NaN, as PyTorch does; dL/dx: each window's g added at the entry it picked.
    Saves `flat_index` (general windows: per window, the picked entry's h * W + w), not the input."""
    x_val = array_of(x)
    if x_val.ndim == 3:
        return _unbatched(adaptive_max_pool2d, x, output_size, return_indices, ties)
    _require_float("adaptive_max_pool2d", x_val)
    size = _adaptive_size("adaptive_max_pool2d", x_val, output_size)
    if 0 in size:
        if return_indices:
            raise NotImplementedError("adaptive_max_pool2d: return_indices with an empty output_size is not "
                                      "supported")
        return _empty_pool(x, size)
    kernel = _equal_windows(x_val, size)
    if kernel is not None:
        return max_pool2d(x, kernel, kernel, return_indices=return_indices, ties=ties)
    if ties != "first":
        raise NotImplementedError(f"adaptive_max_pool2d: ties={ties!r} needs windows that tile the input "
                                  f"(output size {size} dividing the input size {x_val.shape[2:]})")
    return _adaptive_max_pool2d(x, x_val, size, return_indices)


def _adaptive_max_pool2d(x, x_val, size, return_indices):
    """adaptive_max_pool2d over windows that do not tile the input (its docstring has the formulas)."""
    n, c, h, w = x_val.shape
    (rows, row_inside), (cols, col_inside) = _adaptive_windows(h, size[0]), _adaptive_windows(w, size[1])
    kh, kw = rows.shape[1], cols.shape[1]
    windows = x_val[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, Ho, Wo, kh, kw)
    inside = row_inside[:, None, :, None] & col_inside[None, :, None, :]  # (Ho, Wo, kh, kw)
    windows = np.where(inside, windows, -np.inf).reshape(n, c, *size, kh * kw)
    is_nan = np.isnan(windows)
    last_nan = kh * kw - 1 - np.argmax(is_nan[..., ::-1], axis=-1)
    choice = np.where(is_nan.any(axis=-1), last_nan, np.argmax(windows, axis=-1))  # (N, C, Ho, Wo)
    y = np.take_along_axis(windows, choice[..., None], axis=-1)[..., 0].astype(x_val.dtype, copy=False)
    u, v = np.divmod(choice, kw)
    flat_index = rows[np.arange(size[0])[:, None], u] * w + cols[np.arange(size[1]), v]  # (N, C, Ho, Wo)

    def adaptive_max_pool2d_backward(grad_out):
        grad = np.zeros((n * c, h * w), grad_out.dtype)
        np.add.at(grad, (np.arange(n * c)[:, None], flat_index.reshape(n * c, -1)), grad_out.reshape(n * c, -1))
        return (grad.reshape(n, c, h, w),)

    result = record(adaptive_max_pool2d, y, (x,), adaptive_max_pool2d_backward)
    return (result, record(adaptive_max_pool2d, flat_index.astype(np.int64), (), None)) if return_indices else result


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: y is zero except y.flat[indices] = x per (N, C) plane.

    dL/dx = g gathered at the same indices.
    Saves `index` (the indices)."""
    x_val = array_of(x)
    index = np.asarray(array_of(indices), dtype=np.int64)
    kernel = window.pair(kernel_size, "kernel_size", "max_unpool2d")
    stride = kernel if stride is None else window.pair(stride, "stride", "max_unpool2d")
    pad = window.pair(padding, "padding", "max_unpool2d")
    x_shape = x_val.shape
    n, c, hi, wi = x_shape
    if output_size is None:
        size = ((hi - 1) * stride[0] - 2 * pad[0] + kernel[0], (wi - 1) * stride[1] - 2 * pad[1] + kernel[1])
    else:
        size = tuple(output_size)[-2:]
    plane = size[0] * size[1]
    if index.shape != x_val.shape or (index.size and (index.min() < 0 or index.max() >= plane)):
        raise ValueError(f"max_unpool2d: indices of shape {index.shape} must match the input {x_val.shape} and lie "
                         f"in [0, {plane}) for output size {size}")
    y = np.zeros((n, c, plane), x_val.dtype)
    np.put_along_axis(y, index.reshape(n, c, -1), x_val.reshape(n, c, -1), axis=-1)

    def max_unpool2d_backward(grad_out):
        gathered = np.take_along_axis(grad_out.reshape(n, c, plane), index.reshape(n, c, -1), axis=-1)
        return gathered.reshape(x_shape), None

    return record(max_unpool2d, y.reshape(n, c, *size), (x, indices), max_unpool2d_backward, saved=(indices,))
