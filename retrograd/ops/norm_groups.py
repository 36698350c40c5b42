"""Group, instance, RMS and local-response normalisation, composed from the fused norms of ops/norm.py and
from elementwise ops, as PyTorch reduces them:

    group_norm     x viewed as (N, G, C/G * spatial): layer norm over the last axis, then the per-channel
                   affine map; dL/dx from layer_norm's fused backward, dL/dweight, dL/dbias from mul/add.
    instance_norm  x viewed as (1, N*C, spatial): batch norm with the weight, bias and running statistics
                   repeated N times, the updated statistics then averaged over N (PyTorch's
                   at::instance_norm); the gradients are batch_norm's.
    rms_norm       y = x / sqrt(mean(x^2 over the trailing dims) + eps) * weight, composed.
    local_response_norm  y = x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta,
                   the mean an average pool over zero-padded channels (PyTorch's composition).
"""
import math

import numpy as np

from ..tensor import Tensor
from .base import array_of
from .elementwise import add, div, mul, rsqrt
from .elementwise import pow as power
from .norm import batch_norm, layer_norm
from .pool import avg_pool2d
from .reduce import mean
from .shape import pad, repeat, reshape, squeeze


def _channel_shape(x, channels):
    """(C, 1, 1, ...): a per-channel vector broadcast over x's (N, C, ...) layout."""
    return (channels,) + (1,) * (x.ndim - 2)


def _affine(y, weight, bias, channels):
    if weight is not None:
        y = mul(y, reshape(weight, _channel_shape(y, channels)))
    if bias is not None:
        y = add(y, reshape(bias, _channel_shape(y, channels)))
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each of `num_groups` groups of channels of (N, C, ...) input over its channels and positions,
    then scale and shift per channel (weight, bias of shape (C,)). See the module docstring."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    batch, channels = input.shape[:2]
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != (channels,):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(param.shape)} and input of shape {list(input.shape)}")
    group_size = int(np.prod(input.shape[1:])) // num_groups
    if batch * channels // num_groups * int(np.prod(input.shape[2:])) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{_size_text([batch * channels // num_groups, num_groups] + list(input.shape[2:]))}")
    groups = reshape(input, (batch, num_groups, group_size))
    y = reshape(layer_norm(groups, (group_size,), None, None, eps), tuple(input.shape))
    return _affine(y, weight, bias, channels)


def _size_text(shape):
    return f"torch.Size([{', '.join(str(int(size)) for size in shape)}])"


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) plane of (N, C, ...) input over its positions (use_input_stats), or
    with the running statistics; in the first case running_mean/running_var (C,) are updated in place with
    the instances' statistics averaged over the batch. See the module docstring."""
    if use_input_stats and int(np.prod(input.shape[2:])) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{_size_text(input.shape)}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    batch, channels = input.shape[:2]
    flat = reshape(input, (1, batch * channels) + tuple(input.shape[2:]))
    repeated = [None if stat is None else Tensor(np.tile(array_of(stat), batch)) for stat in (running_mean,
                                                                                             running_var)]
    y = batch_norm(flat, repeated[0], repeated[1], None if weight is None else repeat(weight, batch),
                   None if bias is None else repeat(bias, batch), use_input_stats, momentum, eps)
    if use_input_stats:
        for stat, stats_per_instance in zip((running_mean, running_var), repeated):
            if stat is not None:
                array_of(stat)[...] = array_of(stats_per_instance).reshape(batch, channels).mean(axis=0)
    return reshape(y, tuple(input.shape))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / sqrt(mean(x^2) + eps) * weight, the mean over the trailing dims `normalized_shape`; eps None
    means the input dtype's machine epsilon (PyTorch's default). Composed."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    count = len(normalized_shape)
    if tuple(input.shape[input.ndim - count:]) != normalized_shape or count > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*{', '.join(str(size) for size in normalized_shape)}], but got input of size"
                           f"{list(input.shape)}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"rms_norm: expected a floating-point input, got {input.dtype}")
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    dims = tuple(range(input.ndim - count, input.ndim))
    y = mul(input, rsqrt(add(mean(mul(input, input), dims, keepdim=True), eps)))
    return y if weight is None else mul(y, weight)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """y = x / (k + alpha * mean(x^2 over the `size` channels around each one, zeros beyond the edges))^beta
    (Krizhevsky et al.; PyTorch's composition, with a 2-D average pool over (channels, positions))."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if int(np.prod(input.shape)) == 0:
        return input
    shape = tuple(input.shape)
    squares = reshape(mul(input, input), (shape[0], 1, shape[1], int(math.prod(shape[2:]))))  # (N, 1, C, rest)
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    averaged = reshape(squeeze(avg_pool2d(squares, (size, 1), stride=1), 1), shape)
    return div(input, power(add(mul(averaged, alpha), k), beta))
