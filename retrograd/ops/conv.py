"""Convolution as one fused op: im2col (a strided view, one copy) and one GEMM.

Legend: N batch, C input channels, O output channels, G groups (C = G*Cg, O = G*Og),
kh x kw kernel, H x W padded input, Ho x Wo output, K = Cg*kh*kw, P = N*Ho*Wo.

Forward (cross-correlation, like PyTorch):
    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * x[n, c, i*s + u*d, j*s + v*d]
    cols (G, K, P) = the receptive field of every output pixel, gathered once (im2col, transposed)
    y (G, Og, P)   = w @ cols per group       -- the single GEMM

Backward, with g = dL/dy reshaped to (G, Og, P):
    dL/dw = g @ cols^T per group              (Og, P) @ (P, K)
    dL/db = sum over N, Ho, Wo of g
    dL/dx = col2im(g @ w): every output pixel sends g * w back to the inputs it read,
            i.e. a "full" convolution of g with the kernel flipped in both axes; col2im
            adds the kh*kw shifted slices of (g @ w) into the input gradient.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import array_of, needs_grad, record


def _pair(value, name):
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"conv2d: {name} must be an int or a pair, got {value}")
    return value


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
    ph, pw = _pair(padding, "padding")
    return ((ph, ph), (pw, pw))


def _columns(x_padded, kernel, stride, dilation, out_size):
    """The im2col matrix, transposed: (C, kh, kw, N, Ho, Wo) from one strided view, reshaped (copied) to (K*G, P).

    Channel-and-offset-major order keeps the copy's inner loop on contiguous output rows, which is
    several times faster than the pixel-major (P, K) layout for small kernels."""
    sN, sC, sH, sW = x_padded.strides
    n, c = x_padded.shape[:2]
    view = as_strided(
        x_padded,
        shape=(c, kernel[0], kernel[1], n, out_size[0], out_size[1]),
        strides=(sC, dilation[0] * sH, dilation[1] * sW, sN, stride[0] * sH, stride[1] * sW),
        writeable=False,
    )
    return view.reshape(c * kernel[0] * kernel[1], n * out_size[0] * out_size[1])


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of x (N, C, H, W) with weight (O, C/groups, kh, kw); see the module docstring for
    the forward and both gradients. Saves the im2col matrix (reused by dL/dw) and the weight."""
    x_val, w_val = array_of(x), array_of(weight)
    b_val = None if bias is None else array_of(bias)
    if x_val.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D input (N, C, H, W), got shape {x_val.shape}")
    if w_val.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D weight (O, C/groups, kh, kw), got shape {w_val.shape}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    n, c, h, w = x_val.shape
    o, cg, kh, kw = w_val.shape
    if c != cg * groups or o % groups:
        raise ValueError(f"conv2d: input has {c} channels (shape {x_val.shape}) but weight {w_val.shape} with "
                         f"groups={groups} expects {cg * groups} channels and O divisible by groups")
    pads = _padding_amounts(padding, (kh, kw), dilation, stride)
    x_padded = np.pad(x_val, ((0, 0), (0, 0)) + pads) if any(sum(p) for p in pads) else x_val
    hp, wp = x_padded.shape[2:]
    ho = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv2d: kernel ({kh}, {kw}) with dilation {dilation} is larger than the padded input "
                         f"({hp}, {wp})")
    og = o // groups
    k = cg * kh * kw
    p = n * ho * wo

    cols = _columns(x_padded, (kh, kw), stride, dilation, (ho, wo)).reshape(groups, k, p)  # (G, K, P)
    w_groups = w_val.reshape(groups, og, k)  # (G, Og, K)
    y = (w_groups[0] @ cols[0] if groups == 1 else np.matmul(w_groups, cols)).reshape(o, n, ho, wo)  # the GEMM
    if b_val is not None:
        y += b_val.reshape(o, 1, 1, 1)
    y = np.ascontiguousarray(y.transpose(1, 0, 2, 3))  # (N, O, Ho, Wo)

    def conv2d_backward(grad_out):
        grad_rows = np.ascontiguousarray(grad_out.transpose(1, 0, 2, 3)).reshape(groups, og, p)  # (G, Og, P)
        grad_x = grad_w = grad_b = None
        if needs_grad(weight):
            if groups == 1:
                grad_w = (grad_rows[0] @ cols[0].T).reshape(w_val.shape)  # (O, P) @ (P, K)
            else:
                grad_w = np.matmul(grad_rows, cols.transpose(0, 2, 1)).reshape(w_val.shape)
        if b_val is not None and needs_grad(bias):
            grad_b = grad_rows.reshape(o, p).sum(axis=1)
        if needs_grad(x):
            if groups == 1:
                grad_cols = w_groups[0].T @ grad_rows[0]  # (K, P)
            else:
                grad_cols = np.matmul(w_groups.transpose(0, 2, 1), grad_rows)  # (G, K, P)
            grad_cols = grad_cols.reshape(c, kh, kw, n, ho, wo)
            grad_padded = np.zeros((c, n, hp, wp), grad_out.dtype)  # channel-major, like the columns
            for u in range(kh):  # col2im: a loop over kernel offsets, each a strided slice of the whole batch
                rows = slice(u * dilation[0], u * dilation[0] + stride[0] * (ho - 1) + 1, stride[0])
                for v in range(kw):
                    columns = slice(v * dilation[1], v * dilation[1] + stride[1] * (wo - 1) + 1, stride[1])
                    grad_padded[:, :, rows, columns] += grad_cols[:, u, v]
            (top, _), (left, _) = pads
            grad_x = grad_padded[:, :, top:top + h, left:left + w].transpose(1, 0, 2, 3)
        return grad_x, grad_w, grad_b

    return record(conv2d, y, (x, weight, bias), conv2d_backward)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of x (N, C, L) with weight (O, C/groups, k): conv2d on a height-1 image,
    so the forward and gradients are conv2d's with kh = 1."""
    from .shape import reshape, squeeze

    x_val, w_val = array_of(x), array_of(weight)
    if x_val.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D input (N, C, L), got shape {x_val.shape}")
    if w_val.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D weight (O, C/groups, k), got shape {w_val.shape}")
    one = lambda value: (1, value) if isinstance(value, (int, np.integer)) else (1, *value)  # noqa: E731
    pad = padding if isinstance(padding, str) else (0, padding if isinstance(padding, (int, np.integer))
                                                   else padding[0])
    x4 = reshape(x, (x_val.shape[0], x_val.shape[1], 1, x_val.shape[2]))
    w4 = reshape(weight, (w_val.shape[0], w_val.shape[1], 1, w_val.shape[2]))
    y = conv2d(x4, w4, bias, one(stride), pad, one(dilation), groups)
    return squeeze(y, 2)
