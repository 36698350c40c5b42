"""Convolution as one fused op: im2col (a strided view, one copy) and one batched GEMM.

Legend: N batch, C input channels, O output channels, G groups (C = G*Cg, O = G*Og),
kh x kw kernel, H x W padded input, Ho x Wo output, K = Cg*kh*kw, Q = Ho*Wo pixels per image.

Forward (cross-correlation, like PyTorch):
    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * x[n, c, i*s + u*d, j*s + v*d]
    cols (N, G, K, Q) = the receptive field of every output pixel, gathered once (im2col)
    y (N, G, Og, Q)   = w @ cols per image and group  -- the GEMM, already in (N, O, Ho, Wo) order

Backward, with g = dL/dy reshaped to (N, G, Og, Q):
    dL/dw = sum over n of g[n] @ cols[n]^T             (Og, Q) @ (Q, K)
    dL/db = sum over N, Ho, Wo of g
    dL/dx = col2im(w^T @ g): every output pixel sends g * w back to the inputs it read,
            i.e. a "full" convolution of g with the kernel flipped in both axes; col2im
            adds the kh*kw shifted slices of (w^T @ g) into the input gradient.

Batch-major columns cost the same copy as one (K, N*Q) matrix but need no transposes
of y or g, and the per-image GEMMs run several times faster than one GEMM whose inner
dimension is N*Q long and whose other sides are tiny (O x K), the usual CNN shape.
The window geometry (output sizes, the strided view of every window, col2im) is pooling's
too: ops/window.py. With the `fast` extra (Numba; ops/kernels.py), the im2col copy, the bias add and the
col2im scatter-add run as compiled loops (window_kernels.py) that do the same float operations in the
same order.
"""
import numpy as np

from . import kernels, window, window_kernels
from .base import array_of, needs_grad, record
from .shape import reshape, squeeze


def _padding_amounts(padding, kernel, dilation, stride):
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same' (extra padding goes last, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("conv: padding='same' is not supported for strided convolutions")
            amounts = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                amounts.append((total // 2, total - total // 2))
            return tuple(amounts)
        raise ValueError(f"conv: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    ph, pw = window.pair(padding, "padding", "conv2d")
    return ((ph, ph), (pw, pw))


def _check_arguments(op, x_shape, w_shape, bias, stride, padding, dilation, groups):
    """PyTorch's argument checks, worded as PyTorch words them, naming `op` (conv1d or conv2d) and the
    argument, so that conv1d's errors speak of conv1d and its 3-D shapes. Sizes are per spatial dim."""
    for name, values in (("stride", stride), ("dilation", dilation)):
        if any(v <= 0 for v in values):
            raise RuntimeError(f"{op}: non-positive {name} is not supported, got {name}={values}")
    if not isinstance(padding, str) and any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={padding}")
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if bias is not None and array_of(bias).shape != (w_shape[0],):
        raise RuntimeError(f"{op}: Given weight of size {list(w_shape)}, expected bias to be 1-dimensional with "
                           f"{w_shape[0]} elements, but got bias of size {list(array_of(bias).shape)} instead")
    if any(k <= 0 for k in w_shape[2:]):
        raise RuntimeError(f"{op}: kernel size should be greater than zero, got weight of size {list(w_shape)}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of x (N, C, H, W) with weight (O, C/groups, kh, kw); see the module docstring for
    the forward and both gradients.
    Saves `cols` (the im2col matrices) when the weight needs a gradient and `w_groups` (the weight) when x does:
    a first layer keeps no weight, a frozen one no columns. The columns hold kh*kw copies of the input, but
    saving x instead would cost a second im2col copy in every backward (about a sixth of a LeNet step)."""
    x_val, w_val = array_of(x), array_of(weight)
    if x_val.ndim == 3:  # unbatched (C, H, W), as PyTorch accepts: a batch of one
        return squeeze(conv2d(reshape(x, (1, *x_val.shape)), weight, bias, stride, padding, dilation, groups), 0)
    if x_val.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D input (N, C, H, W) or an unbatched 3-D one (C, H, W), got shape "
                         f"{x_val.shape}")
    if w_val.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D weight (O, C/groups, kh, kw), got shape {w_val.shape}")
    stride, dilation = window.pair(stride, "stride", "conv2d"), window.pair(dilation, "dilation", "conv2d")
    _check_arguments("conv2d", x_val.shape, w_val.shape, bias, stride,
                     padding if isinstance(padding, str) else window.pair(padding, "padding", "conv2d"), dilation,
                     groups)
    n, c, h, w = x_val.shape
    o, cg, kh, kw = w_val.shape
    if c != cg * groups or o % groups:
        raise ValueError(f"conv2d: input has {c} channels (shape {x_val.shape}) but weight {w_val.shape} with "
                         f"groups={groups} expects {cg * groups} channels and O divisible by groups")
    pads = _padding_amounts(padding, (kh, kw), dilation, stride)
    x_padded = window.pad(x_val, pads)
    hp, wp = x_padded.shape[2:]
    ho, wo = window.output_size((h, w), (kh, kw), stride, dilation, pads)
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv2d: kernel ({kh}, {kw}) with dilation {dilation} is larger than the padded input "
                         f"({hp}, {wp})")
    og = o // groups
    k = cg * kh * kw
    q = ho * wo

    cols = _im2col(x_padded, (kh, kw), stride, dilation, (ho, wo)).reshape(n, groups, k, q)  # (N, G, K, Q)
    w_groups = w_val.reshape(groups, og, k)  # (G, Og, K)
    y = np.matmul(w_groups, cols)  # (N, G, Og, Q): the GEMM, one per image and group
    if bias is not None:
        _add_bias(y.reshape(n, o, q), array_of(bias))
    y = y.reshape(n, o, ho, wo)

    need_x, need_w, need_b = needs_grad(x), needs_grad(weight), needs_grad(bias)
    cols = cols if need_w else None  # only dL/dw reads the columns
    w_groups = w_groups if need_x else None  # only dL/dx reads the weight
    w_shape = w_val.shape

    def conv2d_backward(grad_out):
        grad_rows = grad_out.reshape(n, groups, og, q)  # (N, G, Og, Q)
        grad_x = grad_w = grad_b = None
        if need_w:  # sum_n cols[n] @ g[n]^T, as (G, K, Og), then laid out like w
            grad_w = np.matmul(cols, grad_rows.transpose(0, 1, 3, 2)).sum(axis=0)
            grad_w = np.ascontiguousarray(grad_w.transpose(0, 2, 1)).reshape(w_shape)
        if need_b:
            grad_b = grad_out.sum(axis=(0, 2, 3))
        if need_x:
            grad_x = _input_grad_function(stride, grad_out.dtype)(grad_out, w_groups, (n, c, hp, wp), (kh, kw),
                                                                  stride, dilation)
            grad_x = window.crop(grad_x, pads, (h, w))
        return grad_x, grad_w, grad_b

    return record(conv2d, y, (x, weight, bias), conv2d_backward, saved=(x, weight))


def _add_bias(y, bias):
    """y (N, O, Q) += b[o], in place: NumPy's broadcast add, or one compiled pass (window_kernels.bias_add)."""
    add = kernels.compiled(window_kernels.bias_add, y.dtype)
    if add is None or bias.dtype != y.dtype:
        y += bias.reshape(-1, 1)
    else:
        add(y, bias)


def _im2col(x_padded, kernel, stride, dilation, out):
    """The columns (N, C*kh*kw, Ho*Wo): one strided view and one copy, whose inner loop runs along contiguous
    input rows; or one compiled pass that writes them in order (window_kernels.im2col)."""
    n, k = x_padded.shape[0], x_padded.shape[1] * kernel[0] * kernel[1]
    copy = kernels.compiled_for(window_kernels.im2col, x_padded.dtype, (*kernel, *stride, *dilation),
                                n * k * out[0] * out[1])
    if copy is None:
        return window.windows(x_padded, kernel, stride, dilation, out).reshape(n, k, -1)
    cols = np.empty((n, k, *out), x_padded.dtype)
    copy(x_padded, cols)
    return cols.reshape(n, k, -1)


def _input_grad_function(stride, dtype):
    """How dL/dx_padded is computed: by one GEMM and a compiled col2im when the kernels are on, else by
    shifted one-dimensional adds for stride 1 and strided slice-adds otherwise."""
    if kernels.enabled() and np.dtype(dtype) in kernels.DTYPES:
        return _input_grad
    return _input_grad_unit_stride if stride == (1, 1) else _input_grad


def _input_grad(grad_out, w_groups, padded_shape, kernel, stride, dilation):
    """dL/dx_padded = col2im(w^T @ g): kh*kw strided slice-adds over the whole batch."""
    n, c, hp, wp = padded_shape
    groups, og, _ = w_groups.shape
    ho, wo = grad_out.shape[2:]
    kh, kw = kernel
    grad_cols = np.matmul(w_groups.transpose(0, 2, 1), grad_out.reshape(n, groups, og, ho * wo))  # (N, G, K, Q)
    scatter = kernels.compiled_for(window_kernels.col2im, grad_out.dtype, (*kernel, *stride, *dilation),
                                   grad_cols.size)
    if scatter is not None:  # the same adds in the same order, in one compiled pass
        grad, disjoint = window.col2im_target(padded_shape, grad_out.dtype, kernel, stride, dilation, (ho, wo))
        scatter(grad_cols.reshape(n, c * kh * kw, ho, wo), disjoint, grad)
        return grad
    grad_cols = grad_cols.reshape(n, c, kh, kw, ho, wo)
    parts = (grad_cols[:, :, u, v] for u in range(kh) for v in range(kw))  # row-major offsets, as col2im takes them
    return window.col2im(parts, padded_shape, grad_out.dtype, kernel, stride, dilation, (ho, wo))


def _input_grad_unit_stride(grad_out, w_groups, padded_shape, kernel, stride, dilation):
    """dL/dx_padded for stride 1, with col2im as kh*kw one-dimensional adds.

    Lay g out on the padded input's grid, channel-major (O, N, Hp, Wp), zero outside the Ho x Wo
    corner. In flat coordinates of that grid, output pixel m reads input m + u*d*Wp + v*d for
    kernel offset (u, v): each offset is one constant shift. So offset (u, v)'s share of
    col2im(w^T @ g), the small GEMM w[:, :, u, v]^T @ g, is added, shifted, into the flat
    (C, N*Hp*Wp) input gradient in one contiguous pass while it is still in cache. The zero
    margins make shifts that run into the next image add nothing."""
    n, c, hp, wp = padded_shape
    groups, og, _ = w_groups.shape
    ho, wo = grad_out.shape[2:]
    kh, kw = kernel
    length = n * hp * wp
    grad_grid = np.zeros((groups, og, n, hp, wp), grad_out.dtype)
    grad_grid[..., :ho, :wo] = grad_out.reshape(n, groups, og, ho, wo).transpose(1, 2, 0, 3, 4)
    grad_grid = grad_grid.reshape(groups, og, length)
    w_offsets = w_groups.reshape(groups, og, c // groups, kh, kw)
    shifts = [[u * dilation[0] * wp + v * dilation[1] for v in range(kw)] for u in range(kh)]
    grad_flat = np.zeros((c, length + shifts[-1][-1]), grad_out.dtype)
    for u in range(kh):
        for v in range(kw):  # offset (u, v)'s share, w[:, :, u, v]^T @ g, made and added while in cache
            share = np.matmul(w_offsets[..., u, v].transpose(0, 2, 1), grad_grid).reshape(c, length)
            grad_flat[:, shifts[u][v]:shifts[u][v] + length] += share
    return grad_flat[:, :length].reshape(c, n, hp, wp).transpose(1, 0, 2, 3)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of x (N, C, L) with weight (O, C/groups, k): conv2d on a height-1 image,
    so the forward and gradients are conv2d's with kh = 1.
    Saves what conv2d saves: the nodes it records are conv2d's and reshapes."""
    x_val, w_val = array_of(x), array_of(weight)
    if x_val.ndim == 2:  # unbatched (C, L), as PyTorch accepts: a batch of one
        return squeeze(conv1d(reshape(x, (1, *x_val.shape)), weight, bias, stride, padding, dilation, groups), 0)
    if x_val.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D input (N, C, L) or an unbatched 2-D one (C, L), got shape "
                         f"{x_val.shape}")
    if w_val.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D weight (O, C/groups, k), got shape {w_val.shape}")
    stride = (window.single(stride, "stride", "conv1d"),)
    dilation = (window.single(dilation, "dilation", "conv1d"),)
    pad = padding if isinstance(padding, str) else (window.single(padding, "padding", "conv1d"),)
    _check_arguments("conv1d", x_val.shape, w_val.shape, bias, stride, pad, dilation, groups)
    _check_conv1d_sizes(x_val.shape, w_val.shape, pad, dilation[0], groups)
    pad = pad if isinstance(pad, str) else (0, pad[0])
    x4 = reshape(x, (x_val.shape[0], x_val.shape[1], 1, x_val.shape[2]))
    w4 = reshape(weight, (w_val.shape[0], w_val.shape[1], 1, w_val.shape[2]))
    y = conv2d(x4, w4, bias, (1, *stride), pad, (1, *dilation), groups)
    return squeeze(y, 2)


def _check_conv1d_sizes(x_shape, w_shape, padding, dilation, groups):
    """conv1d's shape errors in its own 3-D terms (conv2d would report the height-1 4-D view)."""
    (_, c, length), (o, cg, k) = x_shape, w_shape
    if c != cg * groups or o % groups:
        raise ValueError(f"conv1d: input has {c} channels (shape {tuple(x_shape)}) but weight {tuple(w_shape)} with "
                         f"groups={groups} expects {cg * groups} channels and O divisible by groups")
    padded = length + (0 if isinstance(padding, str) else 2 * padding[0])
    if not isinstance(padding, str) and padded < dilation * (k - 1) + 1:
        raise ValueError(f"conv1d: kernel ({k},) with dilation ({dilation},) is larger than the padded input "
                         f"({padded},)")
