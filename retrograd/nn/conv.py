"""Conv1d and Conv2d: PyTorch's weight layout (O, C/groups, kernel...) and default initialisation."""
import math

import numpy as np

from ..ops import conv
from ..tensor import empty
from . import init
from .module import Module, Parameter


def _ints(value, count):
    """Whether value is an int or a tuple/list of `count` ints (a float or NaN size is a caller's mistake)."""
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (tuple, list)) and len(value) == count and all(
        isinstance(v, (int, np.integer)) for v in value)


class _ConvNd(Module):
    _tensor_args = 1
    dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", dtype=None, device=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported; only 'zeros'")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
        as_tuple = lambda v: (v,) * self.dims if isinstance(v, (int, np.integer)) else tuple(v)  # noqa: E731
        for argument, value in (("kernel_size", kernel_size), ("stride", stride), ("padding", padding),
                                ("dilation", dilation)):
            if not (isinstance(value, str) and argument == "padding") and not _ints(value, self.dims):
                raise TypeError(f"{name}: {argument} must be an int or a tuple of {self.dims} ints, got {value!r}")
        if padding == "same" and any(s != 1 for s in as_tuple(stride)):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions, got stride={stride}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = as_tuple(kernel_size), as_tuple(stride)
        self.padding = padding if isinstance(padding, str) else as_tuple(padding)
        self.dilation, self.groups, self.padding_mode = as_tuple(dilation), groups, padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: W ~ U(-k, k), b ~ U(-k, k), k = 1/sqrt(fan_in), fan_in = C/groups * prod(kernel)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x):
        if x.dtype.kind not in "fc":  # NumPy would promote an int image; PyTorch refuses it
            raise RuntimeError(f"{type(self).__name__}: expected a floating-point input, got dtype {x.dtype} "
                               f"(convert it with x.float())")
        if x.ndim != self.dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, "
                             f"{', '.join('*' * self.dims)}), got {tuple(x.shape)}")

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0,) * self.dims, "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W); see ops/conv.py for the forward and the gradients."""

    dims = 2

    def forward(self, x):
        self._check_input(x)
        return conv.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L)."""

    dims = 1

    def forward(self, x):
        self._check_input(x)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)
