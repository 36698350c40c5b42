"""Pooling as fused ops: max (with an explicit tie policy), average, adaptive, and max-unpooling.

Legend: N batch, C channels, H x W (padded) input, Ho x Wo output, kh x kw window, K = kh*kw.
Every window is read through one strided view (N, C, Ho, Wo, kh, kw) of the padded input.
The backward passes build a gradient per window entry and add the kh*kw shifted slices
back into the input gradient ("col2im"), so overlapping windows accumulate correctly.

Max pooling sends each window's gradient to its maximum. Which one, when several entries
tie, is a choice -- retrograd makes it explicit:
    ties="first"  (default, PyTorch's): the first maximum in row-major window order
    ties="split"  every tied maximum gets an equal share (the average of the subgradients)
    ties="random" one tied maximum chosen uniformly (retrograd.manual_seed makes it repeatable)
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..tensor import default_generator
from .base import array_of, pass_where, record

TIE_POLICIES = ("first", "split", "random")


def _pair(value, name, op):
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, (int, np.integer)) for v in value):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {value!r}")
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * 2
    if len(value) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair, got {value}")
    return value


def _out_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's pooling output size, including its ceil_mode rule that the last window must start
    inside the input or the left padding."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


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


def _geometry(op, x_val, kernel_size, stride, padding, dilation, ceil_mode):
    if x_val.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x_val.shape}")
    kernel = _pair(kernel_size, "kernel_size", op)
    stride = _pair(stride, "stride", op) or kernel
    pad = _pair(padding, "padding", op)
    dilation = _pair(dilation, "dilation", op)
    _check_window(op, kernel, stride, pad, dilation)
    h, w = x_val.shape[2:]
    out = tuple(_out_size(size, k, s, p, d, ceil_mode) for size, k, s, p, d in zip((h, w), kernel, stride, pad,
                                                                                  dilation))
    if out[0] <= 0 or out[1] <= 0:
        raise ValueError(f"{op}: input of shape {x_val.shape} is too small for kernel {kernel}, padding {pad}, "
                         f"dilation {dilation} (output size {out})")
    # extra bottom/right padding so that ceil_mode's last windows fit inside the array
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p))
                  for o, s, d, k, size, p in zip(out, stride, dilation, kernel, (h, w), pad))
    pads = ((0, 0), (0, 0), (pad[0], pad[0] + extra[0]), (pad[1], pad[1] + extra[1]))
    return kernel, stride, pad, dilation, out, pads


def _windows(x_padded, kernel, stride, dilation, out):
    """(N, C, Ho, Wo, kh, kw) view of every pooling window: no copy."""
    sN, sC, sH, sW = x_padded.strides
    n, c = x_padded.shape[:2]
    return as_strided(x_padded, shape=(n, c, out[0], out[1], kernel[0], kernel[1]),
                      strides=(sN, sC, stride[0] * sH, stride[1] * sW, dilation[0] * sH, dilation[1] * sW),
                      writeable=False)


def _col2im(grad_windows, padded_shape, kernel, stride, dilation, out):
    """Add each window entry's gradient (N, C, Ho, Wo, kh, kw) back to its input position."""
    n, c, ho, wo = grad_windows.shape[:4]
    if kernel == stride and dilation == (1, 1):  # non-overlapping windows: a reshape, no accumulation
        grad = np.zeros(padded_shape, grad_windows.dtype)
        grad[:, :, :ho * kernel[0], :wo * kernel[1]] = grad_windows.transpose(0, 1, 2, 4, 3, 5).reshape(
            n, c, ho * kernel[0], wo * kernel[1])
        return grad
    grad = np.zeros(padded_shape, grad_windows.dtype)
    for u in range(kernel[0]):
        rows = slice(u * dilation[0], u * dilation[0] + stride[0] * (ho - 1) + 1, stride[0])
        for v in range(kernel[1]):
            cols = slice(v * dilation[1], v * dilation[1] + stride[1] * (wo - 1) + 1, stride[1])
            grad[:, :, rows, cols] += grad_windows[:, :, :, :, u, v]
    return grad


def _crop(grad_padded, pads, size):
    top, left = pads[2][0], pads[3][0]
    return grad_padded[:, :, top:top + size[0], left:left + size[1]]


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               ties="first"):
    """y = the maximum of each window (padding counts as -inf).

    dL/dx: each window's g goes to its maximum; with several tied maxima `ties` decides
    (module docstring). Overlapping windows add their contributions. Saves the argmax of each
    window (and, for split/random, the tie mask). `return_indices` gives PyTorch's flat
    h * W + w index of the chosen (first) maximum in each input plane."""
    if ties not in TIE_POLICIES:
        raise ValueError(f"max_pool2d: ties must be one of {TIE_POLICIES}, got {ties!r}")
    x_val = array_of(x)
    kernel, stride, pad, dilation, out, pads = _geometry("max_pool2d", x_val, kernel_size, stride, padding,
                                                         dilation, ceil_mode)
    fill = -np.inf if x_val.dtype.kind == "f" else np.iinfo(x_val.dtype).min
    x_padded = np.pad(x_val, pads, constant_values=fill) if any(map(sum, pads)) else x_val
    n, c = x_val.shape[:2]
    k = kernel[0] * kernel[1]
    if ties == "first" and not return_indices:
        tiles = kernel == stride and dilation == (1, 1) and x_padded.shape[2:] == (out[0] * kernel[0],
                                                                                  out[1] * kernel[1])
        if tiles:
            fast = _max_pool_first_by_tiles(max_pool2d, x, x_padded, kernel, out)
        else:
            fast = _max_pool_first_by_offsets(max_pool2d, x, x_padded, pads, kernel, stride, dilation, out)
        if fast is not None:
            return fast
    flat = _windows(x_padded, kernel, stride, dilation, out).reshape(n, c, out[0], out[1], k)  # copy
    first = flat.argmax(axis=-1)  # (N, C, Ho, Wo): np.argmax returns the first maximum
    y = np.take_along_axis(flat, first[..., None], axis=-1)[..., 0]

    if ties == "first":
        chosen = first
        weights = None
    else:
        tied = flat == y[..., None]
        if ties == "split":
            weights = tied / tied.sum(axis=-1, keepdims=True)  # equal shares of g among tied maxima
            chosen = None
        else:
            keys = default_generator().random(tied.shape) * tied
            chosen = keys.argmax(axis=-1)  # a uniform pick among the tied entries
            weights = None
    del flat

    def max_pool2d_backward(grad_out):
        if weights is None:
            grad_windows = np.zeros((n, c, out[0], out[1], k), grad_out.dtype)
            np.put_along_axis(grad_windows, chosen[..., None], grad_out[..., None], axis=-1)
        else:
            grad_windows = (grad_out[..., None] * weights).astype(grad_out.dtype, copy=False)
        grad_windows = grad_windows.reshape(n, c, out[0], out[1], kernel[0], kernel[1])
        grad_padded = _col2im(grad_windows, x_padded.shape, kernel, stride, dilation, out)
        return (_crop(grad_padded, pads, x_val.shape[2:]),)

    result = record(max_pool2d, y, (x,), max_pool2d_backward, saved=(x,))
    if not return_indices:
        return result
    u, v = np.divmod(first, kernel[1])
    rows = np.arange(out[0])[:, None] * stride[0] - pad[0] + u * dilation[0]
    cols = np.arange(out[1])[None, :] * stride[1] - pad[1] + v * dilation[1]
    indices = (rows * x_val.shape[3] + cols).astype(np.int64)
    return result, record(max_pool2d, indices, (), None)


def _offset_slices(kernel, stride, dilation, out):
    """(u, v, rows, cols): for each window offset in row-major order, the strided slice of the padded
    input that holds that offset's entry of every window."""
    for u in range(kernel[0]):
        rows = slice(u * dilation[0], u * dilation[0] + stride[0] * (out[0] - 1) + 1, stride[0])
        for v in range(kernel[1]):
            yield rows, slice(v * dilation[1], v * dilation[1] + stride[1] * (out[1] - 1) + 1, stride[1])


def _max_pool_first_by_offsets(op, x, x_padded, pads, kernel, stride, dilation, out):
    """max_pool2d with ties="first", as kh*kw whole-batch passes over strided slices instead of an
    (N, C, Ho, Wo, K) copy and an argmax along a short axis. The same result and gradient: the
    maximum, and each window's g sent to the first offset (row-major) equal to it. Returns None
    when a NaN is present (NaN propagation is left to the general path)."""
    slices = [x_padded[:, :, rows, cols] for rows, cols in _offset_slices(kernel, stride, dilation, out)]
    y = slices[0].copy()
    for part in slices[1:]:
        np.maximum(y, part, out=y)
    if y.dtype.kind == "f" and np.isnan(y).any():
        return None
    chosen = np.zeros(y.shape, np.int16)  # the offset whose entry is the first maximum of each window
    found = slices[0] == y
    for offset, part in enumerate(slices[1:], 1):
        hit = part == y
        hit &= ~found
        np.copyto(chosen, offset, where=hit)
        found |= hit
    del slices, found
    x_shape = x_padded.shape
    size = array_of(x).shape[2:]

    def max_pool2d_backward(grad_out):
        grad_padded = np.zeros(x_shape, grad_out.dtype)
        zero = np.zeros((), grad_out.dtype)
        for offset, (rows, cols) in enumerate(_offset_slices(kernel, stride, dilation, out)):
            grad_padded[:, :, rows, cols] += np.where(chosen == offset, grad_out, zero)
        return (_crop(grad_padded, pads, size),)

    return record(op, y, (x,), max_pool2d_backward, saved=(x,))


def _first_maximum(parts):
    """The elementwise maximum of equal-shape arrays and, per element, the index of the first part
    holding it (a bool array for two parts, int8 otherwise). Comparisons are strict, so a later
    part wins only when it is larger: ties go to the first."""
    if len(parts) == 1:
        return parts[0], None
    best = np.maximum(parts[0], parts[1])
    choice = parts[1] > parts[0]
    if len(parts) > 2:
        choice = choice.astype(np.int8)
        for index, part in enumerate(parts[2:], 2):
            np.copyto(choice, index, where=part > best)
            np.maximum(best, part, out=best)
    return best, choice


def _spread(grad, choice, parts_out):
    """parts_out[:, i] = grad where choice == i, else 0: the VJP of _first_maximum. One finiteness
    check serves all parts; a non-finite grad goes through pass_where, which keeps unchosen
    entries at exactly 0."""
    if choice is None:
        parts_out[:, 0] = grad
        return
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(grad.sum())
    count = parts_out.shape[1]
    for index in range(count):
        mask = (choice if index else ~choice) if count == 2 else choice == index
        if finite:
            np.multiply(grad, mask, out=parts_out[:, index])
        else:
            pass_where(grad, mask, out=parts_out[:, index])


def _max_pool_first_by_tiles(op, x, x_values, kernel, out):
    """max_pool2d with ties="first" when the windows tile the input exactly (stride = kernel, no
    padding or dilation, sizes divisible): the usual MaxPool2d(2). Two stages over flat views
    whose inner loops run over contiguous memory: the maximum along each window row (kw entries
    next to each other), then along the kh rows. Taking the first maximum at each stage gives the
    first maximum in row-major window order. The backward writes every input entry once: no
    zero-fill and no accumulation. Returns None when a NaN is present (left to the general path)."""
    n, c = x_values.shape[:2]
    kh, kw = kernel
    ho, wo = out
    pairs = x_values.reshape(-1, kw)  # each window row's kw entries
    row_max, col_choice = _first_maximum([pairs[:, v] for v in range(kw)])  # (N*C*H*Wo,)
    rows = row_max.reshape(n * c * ho, kh, wo)
    y, row_choice = _first_maximum([rows[:, u] for u in range(kh)])  # (N*C*Ho, Wo)
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore", over="ignore"):
            if np.isnan(y.sum()):  # NaN iff some y is NaN (or +inf meets -inf): the general path decides
                return None
    y = y.reshape(n, c, ho, wo) if kh > 1 else y.reshape(n, c, ho, wo).copy()
    shape = x_values.shape

    def max_pool2d_backward(grad_out):
        grad_rows = np.empty((n * c * ho, kh, wo), grad_out.dtype)
        _spread(grad_out.reshape(n * c * ho, wo), row_choice, grad_rows)
        grad_x = np.empty(shape, grad_out.dtype)
        _spread(grad_rows.reshape(-1), col_choice, grad_x.reshape(-1, kw))
        return (grad_x,)

    return record(op, y, (x,), max_pool2d_backward, saved=(x,))


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               ties="first"):
    """max_pool2d over (N, C, L) seen as (N, C, 1, L): same gradient and tie rules."""
    from .shape import reshape

    x_val = array_of(x)
    if x_val.ndim != 3:
        raise ValueError(f"max_pool1d: expected a 3-D input (N, C, L), got shape {x_val.shape}")
    first_of = lambda v, name: _single("max_pool1d", v, name)  # noqa: E731
    kernel_size, stride = first_of(kernel_size, "kernel_size"), first_of(stride, "stride")
    padding, dilation = first_of(padding, "padding"), first_of(dilation, "dilation")
    _check_1d("max_pool1d", x_val, kernel_size, stride, padding, dilation, ceil_mode)
    result = max_pool2d(reshape(x, (x_val.shape[0], x_val.shape[1], 1, x_val.shape[2])),
                        (1, kernel_size), None if stride is None else (1, stride), (0, padding), (1, dilation),
                        ceil_mode, return_indices, ties)
    if return_indices:
        values, indices = result
        return reshape(values, values.shape[:2] + (values.shape[3],)), reshape(indices, indices.shape[:2] +
                                                                               (indices.shape[3],))
    return reshape(result, result.shape[:2] + (result.shape[3],))


def _single(op, value, name):
    """A 1-D pool's int or 1-tuple argument as an int (None stays None: stride's default)."""
    if value is None or isinstance(value, (int, np.integer)):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 1 and isinstance(value[0], (int, np.integer)):
        return value[0]
    raise TypeError(f"{op}: {name} must be an int or a 1-tuple of ints, got {value!r}")


def _check_1d(op, x_val, kernel, stride, pad, dilation, ceil_mode):
    """The 1-D pools' argument and size errors in their own (N, C, L) terms, before they delegate to the
    2-D pools on an (N, C, 1, L) view (whose errors would speak of 2-D ops and shapes)."""
    stride = kernel if stride is None else stride
    _check_window(op, (kernel,), (stride,), (pad,), (dilation,))
    out = _out_size(x_val.shape[2], kernel, stride, pad, dilation, ceil_mode)
    if out <= 0:
        raise ValueError(f"{op}: input of shape {x_val.shape} is too small for kernel {kernel}, padding {pad}, "
                         f"dilation {dilation} (output size {out})")


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """y = the sum of each window / its divisor (the window size; without count_include_pad, the
    number of real input entries in it; windows running past the padding in ceil_mode are
    clipped, as in PyTorch).

    dL/dx = col2im(g / divisor broadcast over each window): every entry of a window gets an
    equal share. Saves only the divisors."""
    x_val = array_of(x)
    kernel, stride, pad, dilation, out, pads = _geometry("avg_pool2d", x_val, kernel_size, stride, padding, 1,
                                                         ceil_mode)
    x_padded = np.pad(x_val, pads) if any(map(sum, pads)) else x_val
    windows = _windows(x_padded, kernel, stride, dilation, out)
    sums = windows.sum(axis=(-2, -1))
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero, got divisor_override=0")
        divisor = np.asarray(divisor_override, x_val.dtype)
    else:
        h, w = x_val.shape[2:]
        counted = np.zeros(x_padded.shape[2:], x_val.dtype)  # which padded positions count towards the divisor
        if count_include_pad:
            counted[:h + 2 * pad[0], :w + 2 * pad[1]] = 1
        else:
            counted[pad[0]:pad[0] + h, pad[1]:pad[1] + w] = 1
        divisor = _windows(counted[None, None], kernel, stride, dilation, out).sum(axis=(-2, -1))[0, 0]
    y = (sums / divisor).astype(x_val.dtype, copy=False)

    def avg_pool2d_backward(grad_out):
        share = (grad_out / divisor).astype(grad_out.dtype, copy=False)  # (N, C, Ho, Wo)
        grad_windows = np.broadcast_to(share[..., None, None], share.shape + kernel)
        grad_padded = _col2im(grad_windows, x_padded.shape, kernel, stride, dilation, out)
        return (_crop(grad_padded, pads, x_val.shape[2:]),)

    return record(avg_pool2d, y, (x,), avg_pool2d_backward, saved=(x,))


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """avg_pool2d over (N, C, L) seen as (N, C, 1, L)."""
    from .shape import reshape

    x_val = array_of(x)
    if x_val.ndim != 3:
        raise ValueError(f"avg_pool1d: expected a 3-D input (N, C, L), got shape {x_val.shape}")
    first_of = lambda v, name: _single("avg_pool1d", v, name)  # noqa: E731
    kernel_size, stride, padding = first_of(kernel_size, "kernel_size"), first_of(stride, "stride"), first_of(
        padding, "padding")
    _check_1d("avg_pool1d", x_val, kernel_size, stride, padding, 1, ceil_mode)
    y = avg_pool2d(reshape(x, (x_val.shape[0], x_val.shape[1], 1, x_val.shape[2])), (1, kernel_size),
                   None if stride is None else (1, stride), (0, padding), ceil_mode, count_include_pad)
    return reshape(y, y.shape[:2] + (y.shape[3],))


def _adaptive_kernel(op, x_val, output_size):
    """Adaptive pooling as fixed pooling: supported when each output size divides the input size."""
    if x_val.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x_val.shape}")
    size = _pair(output_size, "output_size", op) if not isinstance(output_size, (tuple, list)) else tuple(
        x_val.shape[2 + i] if s is None else int(s) for i, s in enumerate(output_size))
    if any(s < 0 for s in size):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0, but got "
                           f"output_size={size}")
    if 0 in size:
        return size, None  # an empty output: no windows
    kernel = []
    for dim, (n_in, n_out) in enumerate(zip(x_val.shape[2:], size)):
        if n_in % n_out:
            raise NotImplementedError(
                f"{op}: output size {size} must divide the input size {x_val.shape[2:]} (dim {dim + 2}); "
                f"general adaptive windows are not implemented")
        kernel.append(n_in // n_out)
    return size, tuple(kernel)


def _empty_pool(x, size):
    """An output size with a 0 (PyTorch allows it): an empty (N, C, Ho, Wo) result, still on the tape, so
    that backward gives x a zero gradient as PyTorch does."""
    from .shape import reshape

    n, c = array_of(x).shape[:2]
    return reshape(x[:, :, :0, :0], (n, c) + tuple(size))


def adaptive_avg_pool2d(x, output_size):
    """Average over equal windows that tile the input exactly (input size divisible by output size):
    avg_pool2d with kernel = stride = input / output, so the same gradient."""
    size, kernel = _adaptive_kernel("adaptive_avg_pool2d", array_of(x), output_size)
    if kernel is None:
        return _empty_pool(x, size)
    return avg_pool2d(x, kernel, kernel)


def adaptive_max_pool2d(x, output_size, return_indices=False, ties="first"):
    """Max over equal windows tiling the input: max_pool2d with kernel = stride = input / output."""
    size, kernel = _adaptive_kernel("adaptive_max_pool2d", array_of(x), output_size)
    if kernel is None:
        if return_indices:
            raise NotImplementedError("adaptive_max_pool2d: return_indices with an empty output_size is not "
                                      "supported")
        return _empty_pool(x, size)
    return max_pool2d(x, kernel, kernel, return_indices=return_indices, ties=ties)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: y is zero except y.flat[indices] = x per (N, C) plane.

    dL/dx = g gathered at the same indices. Saves the indices."""
    x_val = array_of(x)
    index = np.asarray(array_of(indices), dtype=np.int64)
    kernel = _pair(kernel_size, "kernel_size", "max_unpool2d")
    stride = _pair(stride, "stride", "max_unpool2d") or kernel
    pad = _pair(padding, "padding", "max_unpool2d")
    n, c, hi, wi = x_val.shape
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
        return gathered.reshape(x_val.shape), None

    return record(max_unpool2d, y.reshape(n, c, *size), (x, indices), max_unpool2d_backward, saved=(indices,))
