"""Resampling: interpolate (nearest, nearest-exact, (bi/tri)linear, bicubic, area) and pixel_(un)shuffle.

Legend: N batch, C channels, H x W input, Ho x Wo output (one spatial axis, W, for 3-D inputs).

Every interpolation mode here is separable and linear in x: along each axis the output is a fixed
(out, in) matrix A applied to the input, so that
    y = A_h @ x @ A_w^T            (per image and channel; y = x @ A_w^T for a 3-D input)
    dL/dx = A_h^T @ g @ A_w        -- each input pixel collects the gradient of every output that read it,
                                      weighted as it was read
A row of A holds PyTorch's source index and weights for that output position:
    nearest:        src = min(floor(dst * scale), in - 1)                    one 1
    nearest-exact:  src = min(floor((dst + 0.5) * scale), in - 1)             one 1
    (bi)linear:     src = dst * (in - 1)/(out - 1)                  (align_corners=True)
                    src = max((dst + 0.5) * scale - 0.5, 0)         (align_corners=False)
                    i0 = floor(src), i1 = min(i0 + 1, in - 1): weight 1 - (src - i0) at i0, src - i0 at i1
    bicubic:        src as linear, without the clamp at 0; t = src - floor(src); the cubic convolution
                    weights (A = -0.75) of t + 1, t, 1 - t, 2 - t at floor(src) - 1 .. floor(src) + 2 (clamped)
    area:           adaptive average pooling: 1/(e - s) on inputs s = floor(dst in/out) .. e = ceil((dst+1) in/out)
scale is 1/scale_factor when the caller gave a scale factor (and recompute_scale_factor is not True),
else in/out: the two differ when in * scale_factor is not a whole number, and PyTorch keeps that difference.
Nearest reads its input by indexing (exact, also for inf); its backward uses the 0/1 matrices.
"""
import math

import numpy as np

from .base import array_of, record
from .shape import permute, reshape

_LINEAR_MODES = {3: "linear", 4: "bilinear", 5: "trilinear"}


def _axis_map(in_size, out_size, scale_factor, mode, align_corners, dtype):
    """(A, src): the (out, in) matrix of one axis and, for the nearest modes, the source index of each output."""
    dst = np.arange(out_size)
    given = scale_factor is not None and scale_factor > 0
    if mode.startswith("nearest"):  # PyTorch computes these indices in float32, whatever the dtype
        scale = np.float32(1.0 / scale_factor) if given else np.float32(in_size) / np.float32(out_size)
        offset = np.float32(0.5 if mode == "nearest-exact" else 0.0)
        src = np.minimum(np.floor((dst.astype(np.float32) + offset) * scale).astype(np.int64), in_size - 1)
        matrix = np.zeros((out_size, in_size), dtype)
        matrix[dst, src] = 1
        return matrix, src
    if mode == "area":  # adaptive average pooling: output o averages inputs floor(o in/out) .. ceil((o+1) in/out)
        starts, ends = (dst * in_size) // out_size, -((-(dst + 1) * in_size) // out_size)
        matrix = np.zeros((out_size, in_size), dtype)
        for row, (start, end) in enumerate(zip(starts, ends)):
            matrix[row, start:end] = dtype.type(1) / dtype.type(end - start)
        return matrix, None
    if align_corners:
        scale = dtype.type(in_size - 1) / dtype.type(out_size - 1) if out_size > 1 else dtype.type(0)
        position = dst.astype(dtype) * scale
    else:
        scale = dtype.type(1.0 / scale_factor) if given else dtype.type(in_size) / dtype.type(out_size)
        position = (dst.astype(dtype) + dtype.type(0.5)) * scale - dtype.type(0.5)
        if mode != "bicubic":  # the cubic kernel reads left of the first pixel; the linear ones clamp at 0
            position = np.maximum(position, 0)
    if mode == "bicubic":
        return _cubic_map(position, in_size, out_size, dtype), None
    low = np.minimum(np.floor(position).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    weight_high = np.clip(position - low, 0, 1).astype(dtype)
    matrix = np.zeros((out_size, in_size), dtype)
    np.add.at(matrix, (dst, low), 1 - weight_high)  # low == high at the last input: the two weights add to 1
    np.add.at(matrix, (dst, high), weight_high)
    return matrix, None


def _cubic_map(position, in_size, out_size, dtype):
    """Bicubic's (out, in) matrix: PyTorch's cubic convolution (A = -0.75) over the 4 inputs around each
    source position, reading indices clamped to the edge; t is the position's distance past floor(position)."""
    base = np.floor(position)
    t = (position - base).astype(dtype)
    a = dtype.type(-0.75)

    def far(x):  # weight of a neighbour 1 < |distance| < 2 away
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    def near(x):  # weight of a neighbour |distance| <= 1 away
        return ((a + 2) * x - (a + 3)) * x * x + 1

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    matrix = np.zeros((out_size, in_size), dtype)
    rows = np.arange(out_size)
    for k, weight in enumerate(weights):
        np.add.at(matrix, (rows, np.clip(base.astype(np.int64) - 1 + k, 0, in_size - 1)), weight)
    return matrix


def _output_size(op, spatial, size, scale_factor, recompute_scale_factor):
    """(output sizes, scale factors the index maps use: None entries mean in/out), PyTorch's rules."""
    dims = len(spatial)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dims
        if len(sizes) != dims:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(spatial)} and output size of {size}. Please provide input "
                             f"tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
        if not all(isinstance(s, (int, np.integer)) for s in sizes):
            raise TypeError(f"{op}: expected size to be an int or a tuple of ints, got {size!r}")
        scales = [None] * dims
    else:
        scales = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dims
        if len(scales) != dims:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(spatial)} and scale_factor of shape {scale_factor}. "
                             f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                             f"(s1, s2, ...,sK) format.")
        sizes = [math.floor(length * float(s)) for length, s in zip(spatial, scales)]
        if recompute_scale_factor:
            scales = [None] * dims
    if any(s <= 0 for s in sizes) or any(s <= 0 for s in spatial):
        raise RuntimeError(f"{op}: Input and output sizes should be greater than 0, but got input {list(spatial)} "
                           f"output {sizes}")
    return [int(s) for s in sizes], scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, W), (N, C, H, W) or (N, C, D, H, W) by nearest, nearest-exact, linear (3-D), bilinear (4-D),
    bicubic (4-D), trilinear (5-D) interpolation or area averaging,
    as torch.nn.functional.interpolate; see the module docstring for the index maps and the gradient
    dL/dx = A_h^T @ g @ A_w. Saves `width_map`, for 4-D and 5-D input `height_map` and for 5-D input
    `depth_map`: the per-axis (out, in) matrices A_w, A_h, A_d, small and independent of x."""
    x = array_of(input)
    if mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear "
                             "| bicubic | trilinear")
    elif mode == "area":
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear "
                             "| bicubic | trilinear")
    elif mode in ("linear", "bilinear", "trilinear", "bicubic"):
        align_corners = bool(align_corners)
        if mode == "bicubic" and x.ndim != 4:  # PyTorch's words
            raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for "
                                      f"the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area "
                                      f"| nearest-exact (got bicubic)")
        if mode != "bicubic" and x.ndim in _LINEAR_MODES and _LINEAR_MODES[x.ndim] != mode:
            needed = {value: key for key, value in _LINEAR_MODES.items()}[mode]
            raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {needed}D input")
    else:
        raise NotImplementedError(f"interpolate: mode={mode!r} is not supported; retrograd has 'nearest', "
                                  f"'nearest-exact', 'linear', 'bilinear', 'trilinear', 'bicubic' and 'area'")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if x.ndim not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D and 4D input Tensors supported (got {x.ndim}D) for the "
                                  f"modes: nearest | nearest-exact | linear | bilinear (got {mode})")
    spatial = x.shape[2:]
    sizes, scales = _output_size("interpolate", spatial, size, scale_factor, recompute_scale_factor)
    axes = [_axis_map(n_in, n_out, s, mode, align_corners, x.dtype) for n_in, n_out, s in zip(spatial, sizes, scales)]
    width_map = axes[-1][0]
    height_map = axes[-2][0] if len(axes) >= 2 else None
    depth_map = axes[-3][0] if len(axes) == 3 else None  # 5-D input
    if mode.startswith("nearest"):  # indexing: exact, and an inf stays where it was copied
        index = np.ix_(*[src for _, src in axes])
        y = x[(Ellipsis,) + index]
    else:
        y = np.matmul(x, width_map.T)  # (..., Wo)
        if height_map is not None:
            y = np.matmul(height_map, y)  # (Ho, H) @ (N, C, H, Wo)
        if depth_map is not None:  # (Do, D) applied along axis 2 of (N, C, D, Ho, Wo)
            y = np.moveaxis(np.tensordot(depth_map, y, axes=([1], [2])), 0, 2)
    y = np.ascontiguousarray(y)

    def interpolate_backward(grad_out):
        grad = np.matmul(grad_out, width_map)  # (..., W): columns collect their outputs' gradients
        if height_map is not None:
            grad = np.matmul(height_map.T, grad)  # (H, Ho) @ (N, C, Ho, W)
        if depth_map is not None:  # (D, Do) applied along axis 2 of (N, C, Do, H, W)
            grad = np.moveaxis(np.tensordot(depth_map.T, grad, axes=([1], [2])), 0, 2)
        return (grad,)

    return record(interpolate, y, (input,), interpolate_backward)


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): channel c*r*r + i*r + j moves to pixel (h*r + i, w*r + j).
    A reshape, a permute and a reshape; the gradient is the inverse permutation, by those ops' VJPs.
    Saves nothing itself: the nodes it records are reshape's and permute's."""
    x = array_of(input)
    r = upscale_factor
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with {x.ndim} "
                           f"dimension(s)")
    if not isinstance(r, (int, np.integer)) or r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *batch, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(batch)
    split = reshape(input, (*batch, c // (r * r), r, r, h, w))
    moved = permute(split, *range(b), b, b + 3, b + 1, b + 4, b + 2)  # (*, C, H, r, W, r)
    return reshape(moved, (*batch, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of pixel_shuffle; its gradient is pixel_shuffle's map.
    Saves nothing itself: the nodes it records are reshape's and permute's."""
    x = array_of(input)
    r = downscale_factor
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{x.ndim} dimension(s)")
    if not isinstance(r, (int, np.integer)) or r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *batch, c, h, w = x.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)="
                           f"{h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)="
                           f"{w} is not divisible by {r}")
    b = len(batch)
    split = reshape(input, (*batch, c, h // r, r, w // r, r))
    moved = permute(split, *range(b), b, b + 2, b + 4, b + 1, b + 3)  # (*, C, r, r, H, W)
    return reshape(moved, (*batch, c * r * r, h // r, w // r))
