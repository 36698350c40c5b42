"""Window geometry shared by convolution and pooling: sizes as pairs, output sizes, the strided view of
every window (im2col) and its adjoint (col2im).

Legend: N batch, C channels, Hp x Wp padded input, Ho x Wo output, kh x kw window, s stride, d dilation.
Output pixel (i, j) reads the window entries at offsets (u, v), u < kh, v < kw:
    windows(x)[n, c, u, v, i, j] = x[n, c, i*s_h + u*d_h, j*s_w + v*d_w]
For one offset (u, v), the entries of all Ho x Wo windows form one strided slice of x: rows u*d_h,
u*d_h + s_h, ..., columns likewise (`offset_slices`). col2im, the adjoint of windows, adds each offset's
part of a gradient back into its slice, so entries shared by overlapping windows accumulate.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def pair(value, name, op):
    """A 2-D op's size argument, an int or a sequence of one or two ints, as a pair (PyTorch accepts all three)."""
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, (int, np.integer)) for v in value):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {value!r}")
    if len(value) not in (1, 2):
        raise RuntimeError(f"{op}: {name} must be a single int or a tuple of two ints, got {name}={tuple(value)}")
    value = tuple(int(v) for v in value)
    return value * 2 if len(value) == 1 else value


def single(value, name, op):
    """A 1-D op's size argument, an int or a sequence of one int, as an int (None stays None: a default)."""
    if value is None or isinstance(value, (int, np.integer)):
        return value
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, (int, np.integer)) for v in value):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {value!r}")
    if len(value) != 1:
        raise RuntimeError(f"{op}: {name} must be a single int or a tuple of one int, got {name}={tuple(value)}")
    return int(value[0])


def output_size(size, kernel, stride, dilation, pads, ceil_mode=False):
    """(Ho, Wo, ...): how many windows fit along each dim of `size` padded by `pads` ((before, after) per dim).

    A window spans d*(k-1)+1 entries; floor((padded - span) / s) + 1 of them fit. With ceil_mode (pooling) a
    last partial window counts too, but, PyTorch's rule, only if it starts inside the input or the left padding."""
    out = []
    for length, k, s, d, (before, after) in zip(size, kernel, stride, dilation, pads):
        room = length + before + after - d * (k - 1) - 1
        count = (-(-room // s) if ceil_mode else room // s) + 1
        if ceil_mode and (count - 1) * s >= length + before:
            count -= 1
        out.append(count)
    return tuple(out)


def pad(x, pads, fill=0):
    """x (N, C, H, W) padded by pads = ((top, bottom), (left, right)) with `fill`; x itself when there is none."""
    if not any(map(sum, pads)):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=fill)


def crop(grad_padded, pads, size):
    """The gradient of the unpadded input: the (H, W) = `size` block after the top and left padding."""
    (top, _), (left, _) = pads
    return grad_padded[:, :, top:top + size[0], left:left + size[1]]


def windows(x_padded, kernel, stride, dilation, out):
    """(N, C, kh, kw, Ho, Wo) view of every window of x_padded (N, C, Hp, Wp), offset-major: no copy.
    windows[:, :, u, v] is offset (u, v)'s slice; a reshape to (N, C*kh*kw, Ho*Wo) is im2col's matrix."""
    sN, sC, sH, sW = x_padded.strides
    n, c = x_padded.shape[:2]
    return as_strided(x_padded, shape=(n, c, kernel[0], kernel[1], out[0], out[1]),
                      strides=(sN, sC, dilation[0] * sH, dilation[1] * sW, stride[0] * sH, stride[1] * sW),
                      writeable=False)


def gathered(x_padded, kernel, stride, dilation, out):
    """(kh*kw, N, C, Ho, Wo): a contiguous copy of every window, offset-major ([o] holds offset o's entry of every
    window, row-major offsets). One copy, after which every pass over the windows reads contiguous memory:
    several times faster than the same passes over strided slices or along a short last window axis."""
    n, c = x_padded.shape[:2]
    view = windows(x_padded, kernel, stride, dilation, out).transpose(2, 3, 0, 1, 4, 5)
    return np.ascontiguousarray(view).reshape(kernel[0] * kernel[1], n, c, out[0], out[1])


def offset_slices(kernel, stride, dilation, out):
    """(rows, cols) for each window offset (u, v) in row-major order: the strided slice of the padded input
    that holds offset (u, v)'s entry of every window (rows u*d, u*d + s, ..., Ho of them)."""
    for u in range(kernel[0]):
        rows = slice(u * dilation[0], u * dilation[0] + stride[0] * (out[0] - 1) + 1, stride[0])
        for v in range(kernel[1]):
            yield rows, slice(v * dilation[1], v * dilation[1] + stride[1] * (out[1] - 1) + 1, stride[1])


def col2im(parts, padded_shape, dtype, kernel, stride, dilation, out):
    """The adjoint of `windows`: the gradient of the padded input, given each window offset's part of the
    windows' gradient (kh*kw arrays broadcastable to (N, C, Ho, Wo), in row-major offset order).

    Each part is added into its offset's slice, so entries of overlapping windows accumulate. Disjoint windows
    (stride = kernel, no dilation) assign instead, and when they also cover the whole padded input, every entry
    is written exactly once: no zero-fill."""
    grad, disjoint = col2im_target(padded_shape, dtype, kernel, stride, dilation, out)
    for part, (rows, cols) in zip(parts, offset_slices(kernel, stride, dilation, out)):
        if disjoint:
            grad[:, :, rows, cols] = part
        else:
            grad[:, :, rows, cols] += part
    return grad


def col2im_target(padded_shape, dtype, kernel, stride, dilation, out):
    """(grad, disjoint): the array col2im writes into, and whether the windows are disjoint (stride = kernel, no
    dilation), so that each part is assigned rather than added. It is zero-filled unless disjoint windows cover
    the whole padded input, when every entry is written exactly once."""
    disjoint = tuple(kernel) == tuple(stride) and tuple(dilation) == (1, 1)
    covered = disjoint and tuple(padded_shape[2:]) == (out[0] * kernel[0], out[1] * kernel[1])
    return (np.empty(padded_shape, dtype) if covered else np.zeros(padded_shape, dtype)), disjoint
