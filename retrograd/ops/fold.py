"""unfold (im2col) and fold (col2im) as PyTorch's F.unfold / F.fold: two ops, each the other's adjoint.

Legend: N batch, C channels, kh x kw kernel, Hp x Wp padded input, Ho x Wo blocks, L = Ho * Wo, K = C*kh*kw.
    unfold: cols[n, (c, u, v), (i, j)] = x_padded[n, c, i*s_h + u*d_h, j*s_w + v*d_w]       (N, K, L)
            dL/dx = crop(col2im(g)): each block entry's gradient added back where it was read
    fold:   y_padded = col2im(cols), cropped to output_size: overlapping block entries are summed
            dL/dcols = unfold(g): each block entry reads the gradient of the position it was added to
The window geometry (the strided view of every block, col2im) is conv2d's and pooling's: ops/window.py.
Both accept an unbatched input ((C, H, W) for unfold, (K, L) for fold), as PyTorch does.
"""
import numpy as np

from . import window
from .base import array_of, record


def _geometry(op, kernel_size, dilation, padding, stride):
    kernel, dilation = window.pair(kernel_size, "kernel_size", op), window.pair(dilation, "dilation", op)
    padding, stride = window.pair(padding, "padding", op), window.pair(stride, "stride", op)
    if min(stride) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {stride[0]} stride_width: "
                           f"{stride[1]}")
    if min(kernel) <= 0 or min(dilation) <= 0 or min(padding) < 0:
        raise RuntimeError(f"{op}: kernel_size and dilation must be positive and padding non-negative, got "
                           f"kernel_size={kernel}, dilation={dilation}, padding={padding}")
    return kernel, dilation, ((padding[0], padding[0]), (padding[1], padding[1])), stride


def _blocks(x_padded, kernel, stride, dilation, blocks):
    """(N, C*kh*kw, Ho*Wo): every block of x_padded, one copy (im2col's matrix)."""
    n, c = x_padded.shape[:2]
    view = window.windows(x_padded, kernel, stride, dilation, blocks)  # (N, C, kh, kw, Ho, Wo)
    cols = view.reshape(n, c * kernel[0] * kernel[1], blocks[0] * blocks[1])
    return cols.copy() if np.may_share_memory(cols, x_padded) else cols  # a 1 x 1 kernel reshapes to a view


def _summed_blocks(cols, padded_shape, kernel, stride, dilation, blocks):
    """col2im of (N, C*kh*kw, Ho*Wo) columns into an (N, C, Hp, Wp) array, overlaps summed."""
    n, c = padded_shape[:2]
    parts = cols.reshape(n, c, kernel[0] * kernel[1], blocks[0], blocks[1])
    return window.col2im([parts[:, :, o] for o in range(parts.shape[2])], padded_shape, cols.dtype, kernel, stride,
                         dilation, blocks)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Every kernel_size block of (N, C, H, W) input as a column: (N, C*kh*kw, L). See the module docstring.
    Saves nothing (the VJP needs only shapes)."""
    kernel, dilation, pads, stride = _geometry("unfold", kernel_size, dilation, padding, stride)
    x_val = array_of(input)
    if x_val.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(x_val.shape)}")
    if x_val.dtype.kind != "f":
        raise NotImplementedError(f"\"im2col_out_cpu\" not implemented for '{x_val.dtype}'")
    batched = x_val if x_val.ndim == 4 else x_val[None]
    blocks = window.output_size(batched.shape[2:], kernel, stride, dilation, pads)
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(batched.shape[2:])}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={tuple(p for p, _ in pads)}, calculated shape of the array "
                           f"of sliding blocks as {blocks}, but its components must be at least one.")
    x_padded = window.pad(batched, pads)
    cols = _blocks(x_padded, kernel, stride, dilation, blocks)
    padded_shape, size, was_batched = x_padded.shape, batched.shape[2:], x_val.ndim == 4

    def unfold_backward(grad_out):
        grad_cols = grad_out if was_batched else grad_out[None]
        grad = window.crop(_summed_blocks(grad_cols, padded_shape, kernel, stride, dilation, blocks), pads, size)
        return (grad if was_batched else grad[0],)

    return record(unfold, cols if was_batched else cols[0], (input,), unfold_backward)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The columns of (N, C*kh*kw, L) input summed back into an (N, C, H, W) image, (H, W) = output_size
    (overlapping entries add up). See the module docstring. Saves nothing (the VJP needs only shapes)."""
    kernel, dilation, pads, stride = _geometry("fold", kernel_size, dilation, padding, stride)
    size = window.pair(output_size, "output_size", "fold")
    x_val = array_of(input)
    if x_val.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(x_val.shape)}")
    batched = x_val if x_val.ndim == 3 else x_val[None]
    if batched.shape[1] % (kernel[0] * kernel[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={batched.shape[1]} and kernel_size={kernel}.")
    blocks = window.output_size(size, kernel, stride, dilation, pads)
    if batched.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, padding="
                           f"{tuple(p for p, _ in pads)}, stride={stride}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={batched.shape[2]}.")
    channels = batched.shape[1] // (kernel[0] * kernel[1])
    padded_shape = (batched.shape[0], channels, size[0] + 2 * pads[0][0], size[1] + 2 * pads[1][0])
    y = window.crop(_summed_blocks(batched, padded_shape, kernel, stride, dilation, blocks), pads, size)
    was_batched = x_val.ndim == 3

    def fold_backward(grad_out):
        grad_image = grad_out if was_batched else grad_out[None]
        cols = _blocks(window.pad(grad_image, pads), kernel, stride, dilation, blocks)
        return (cols if was_batched else cols[0],)

    y = np.ascontiguousarray(y)
    return record(fold, y if was_batched else y[0], (input,), fold_backward)
