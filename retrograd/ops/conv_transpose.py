"""Transposed convolution: the VJP of convolution with respect to its input, run forward.

Legend: N batch, C input channels, O output channels, G groups (C = G*Cg, O = G*Og), kh x kw kernel,
H x W input, Q = H*W input pixels per image, K = Og*kh*kw, Hf x Wf the uncropped ("full") output,
Ho x Wo the output. The weight is laid out as PyTorch's: (C, O/groups, kh, kw).

A convolution y = conv(x, w) maps each output pixel's window of x through w; its input gradient is
col2im(w^T @ g) (ops/conv.py). conv_transpose2d is that map applied to x itself:
    cols (N, G, K, Q)    = w^T @ x per image and group: each input pixel's contribution to a kh x kw patch
    full (N, O, Hf, Wf)  = col2im(cols): the patches added at stride s, dilation d (ops/window.py)
    y                    = full cropped by `padding` on each side, plus the bias
    Hf = (H - 1)*s + d*(kh - 1) + 1 + output_padding,   Ho = Hf - 2*padding  (width likewise)
output_padding only adds rows and columns at the bottom and right that no patch reaches (they hold the bias).

Backward, with g = dL/dy padded back to (N, O, Hf, Wf) by zeros (the adjoint of the crop):
    gcols (G, K, N*Q)  = windows(g): the adjoint of col2im is im2col, i.e. g's kh x kw window at every input pixel
    dL/dx = w @ gcols                        -- a plain convolution of g with the same weight
    dL/dw = sum over n of x[n] @ gcols[n]^T  -- one GEMM (Cg, N*Q) @ (N*Q, K) over all images
    dL/db = sum over N, Ho, Wo of g
"""
import numpy as np

from . import window
from .base import array_of, needs_grad, record
from .conv import _input_grad_function
from .shape import reshape, squeeze, unsqueeze


def _check_arguments(op, x_shape, w_shape, bias, stride, padding, output_padding, dilation, groups):
    """PyTorch's argument checks for a transposed convolution, naming `op` and the argument."""
    for name, values in (("stride", stride), ("dilation", dilation)):
        if any(v <= 0 for v in values):
            raise RuntimeError(f"{op}: non-positive {name} is not supported, got {name}={values}")
    for name, values in (("padding", padding), ("output_padding", output_padding)):
        if any(v < 0 for v in values):
            raise RuntimeError(f"{op}: negative {name} is not supported, got {name}={values}")
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if any(p >= s and p >= d for p, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_height: {output_padding[0]} output_padding_width: {output_padding[1]} "
                           f"stride_height: {stride[0]} stride_width: {stride[1]} dilation_height: {dilation[0]} "
                           f"dilation_width: {dilation[1]}")
    if x_shape[1] != w_shape[0]:
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {list(w_shape)}, expected input"
                           f"{list(x_shape)} to have {w_shape[0]} channels, but got {x_shape[1]} channels instead")
    if w_shape[0] % groups:
        raise RuntimeError(f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(w_shape)} instead")
    out_channels = w_shape[1] * groups
    if bias is not None and array_of(bias).shape != (out_channels,):
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {list(w_shape)}, expected bias to be "
                           f"1-dimensional with {out_channels} elements, but got bias of size "
                           f"{list(array_of(bias).shape)} instead")


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution of x (N, C, H, W) or unbatched (C, H, W) with weight (C, O/groups, kh, kw);
    see the module docstring for the forward (col2im of w^T @ x) and the gradients (a conv and a weight GEMM).
    Saves `x_groups` (the input) when the weight needs a gradient and `w_groups` (the weight) when x does."""
    x_val, w_val = array_of(x), array_of(weight)
    if x_val.ndim == 3:  # unbatched, as PyTorch accepts it
        return squeeze(conv_transpose2d(unsqueeze(x, 0), weight, bias, stride, padding, output_padding, groups,
                                        dilation), 0)
    if x_val.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, "
                           f"but got input of size: {list(x_val.shape)}")
    if w_val.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: expected a 4-D weight (C, O/groups, kh, kw), got shape "
                           f"{list(w_val.shape)}")
    stride, dilation = window.pair(stride, "stride", "conv_transpose2d"), window.pair(dilation, "dilation",
                                                                                      "conv_transpose2d")
    padding = window.pair(padding, "padding", "conv_transpose2d")
    output_padding = window.pair(output_padding, "output_padding", "conv_transpose2d")
    _check_arguments("conv_transpose2d", x_val.shape, w_val.shape, bias, stride, padding, output_padding, dilation,
                     groups)
    n, c, h, w = x_val.shape
    _, og, kh, kw = w_val.shape
    o = og * groups
    full = tuple((size - 1) * s + d * (k - 1) + 1 + extra
                 for size, s, d, k, extra in zip((h, w), stride, dilation, (kh, kw), output_padding))
    ho, wo = full[0] - 2 * padding[0], full[1] - 2 * padding[1]
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"conv_transpose2d: Given input size per channel: ({h} x {w}). Calculated output size "
                           f"per channel: ({ho} x {wo}). Output size is too small")
    pads = ((padding[0], padding[0]), (padding[1], padding[1]))
    k, q = og * kh * kw, h * w

    if x_val.dtype != w_val.dtype:  # the GEMM's promotion, made once for both passes
        dtype = np.result_type(x_val, w_val)
        x_val, w_val = x_val.astype(dtype), w_val.astype(dtype)
    x_groups = x_val.reshape(n, groups, c // groups, q)  # (N, G, Cg, Q)
    w_groups = w_val.reshape(groups, c // groups, k)  # (G, Cg, K)
    # col2im(w^T @ x) is conv2d's input gradient with x in the place of g: its code, whose col2im is compiled with
    # the fast extra (and is a shifted add per offset at stride 1 without it), 3-5x faster than slice-adds here
    y_full = _input_grad_function(stride, x_val.dtype)(x_val, w_groups, (n, o, *full), (kh, kw), stride, dilation)
    y = np.ascontiguousarray(window.crop(y_full, pads, (ho, wo)))
    if bias is not None:
        y += array_of(bias).reshape(o, 1, 1)

    need_x, need_w, need_b = needs_grad(x), needs_grad(weight), needs_grad(bias)
    x_groups = x_groups if need_w else None  # only dL/dw reads the input
    w_groups = w_groups if need_x else None  # only dL/dx reads the weight
    w_shape = w_val.shape

    def conv_transpose2d_backward(grad_out):
        grad_full = window.pad(grad_out, pads)  # the crop's adjoint; output_padding's rows are in grad_out already
        grad_cols = _channel_major_columns(grad_full, (kh, kw), stride, dilation, (h, w), groups)  # (G, K, N*Q)
        grad_x = grad_w = grad_b = None
        if need_x:  # w @ gcols: a convolution of g with the same weight, (G, Cg, N*Q), then batch-major
            grad_x = np.matmul(w_groups, grad_cols).reshape(c, n, h, w).transpose(1, 0, 2, 3)
        if need_w:  # sum_n x[n] @ gcols[n]^T as one GEMM over all N*Q columns, (G, Cg, K), laid out like w
            x_rows = x_groups.transpose(1, 2, 0, 3).reshape(groups, c // groups, n * q)  # (G, Cg, N*Q), a copy
            grad_w = np.matmul(x_rows, grad_cols.transpose(0, 2, 1)).reshape(w_shape)
        if need_b:
            grad_b = grad_out.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b

    return record(conv_transpose2d, y, (x, weight, bias), conv_transpose2d_backward,
                  saved=(x if need_w else None, weight if need_x else None))


def _channel_major_columns(grad_full, kernel, stride, dilation, out, groups):
    """gcols (G, K, N*Q): the kh x kw window of g at every input pixel, channel-major (row (o, u, v) of group G holds
    that offset's entry for all N images): one copy of the strided window view, laid out so that the weight
    gradient is one GEMM over all N*Q columns (2.7 against 7.4 ms as N GEMMs and a sum, DCGAN's 128->64 layer)."""
    n, o = grad_full.shape[:2]
    view = window.windows(grad_full, kernel, stride, dilation, out).transpose(1, 2, 3, 0, 4, 5)  # (O, kh, kw, N, H, W)
    return np.ascontiguousarray(view).reshape(groups, o // groups * kernel[0] * kernel[1], n * out[0] * out[1])


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution of x (N, C, L) or unbatched (C, L) with weight (C, O/groups, k):
    conv_transpose2d on a height-1 image, so its forward and gradients are conv_transpose2d's with kh = 1.
    Saves nothing itself: the nodes it records are conv_transpose2d's and reshapes."""
    x_val, w_val = array_of(x), array_of(weight)
    if x_val.ndim == 2:
        return squeeze(conv_transpose1d(unsqueeze(x, 0), weight, bias, stride, padding, output_padding, groups,
                                        dilation), 0)
    if x_val.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, "
                           f"but got input of size: {list(x_val.shape)}")
    if w_val.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: expected a 3-D weight (C, O/groups, k), got shape {list(w_val.shape)}")
    stride, padding, output_padding, dilation = (window.single(value, name, "conv_transpose1d") for name, value in (
        ("stride", stride), ("padding", padding), ("output_padding", output_padding), ("dilation", dilation)))
    if x_val.shape[1] != w_val.shape[0]:  # in 3-D terms, as PyTorch words it (the other checks speak 2-D there too)
        raise RuntimeError(f"conv_transpose1d: Given transposed=1, weight of size {list(w_val.shape)}, expected input"
                           f"{list(x_val.shape)} to have {w_val.shape[0]} channels, but got {x_val.shape[1]} channels "
                           f"instead")
    x4 = reshape(x, (x_val.shape[0], x_val.shape[1], 1, x_val.shape[2]))
    w4 = reshape(weight, (w_val.shape[0], w_val.shape[1], 1, w_val.shape[2]))
    y = conv_transpose2d(x4, w4, bias, (1, stride), (0, padding), (0, output_padding), groups, (1, dilation))
    return squeeze(y, 2)
