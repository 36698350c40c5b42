"""Conv1d, Conv2d, ConvTranspose1d and ConvTranspose2d: PyTorch's weight layouts (O, C/groups, kernel...) and
(C, O/groups, kernel...), and its default initialisation."""
import math

import numpy as np

from ..ops import conv, conv_transpose
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
        self.output_padding = (0,) * self.dims  # PyTorch's convolutions carry it too; transposed ones set it
        self.weight = Parameter(empty(*self._weight_shape(), dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _weight_shape(self):
        """PyTorch's layout: (out, in/groups, kernel...)."""
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

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
        # (N, C, *spatial), or PyTorch's unbatched (C, *spatial)
        if x.ndim not in (self.dims + 1, self.dims + 2) or x.shape[-self.dims - 1] != self.in_channels:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, "
                             f"{', '.join('*' * self.dims)}) or ({self.in_channels}, {', '.join('*' * self.dims)}), "
                             f"got {tuple(x.shape)}")

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0,) * self.dims, "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
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


class _ConvTransposeNd(_ConvNd):
    """The transposed convolutions: PyTorch's argument order (output_padding, groups, bias, dilation), weight
    (in, out/groups, kernel...) and the same default initialisation as a convolution (fan_in = out/groups * kernel,
    PyTorch's choice: it reads the weight's second dim)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        for argument, value in (("padding", padding), ("output_padding", output_padding)):
            if not _ints(value, self.dims):
                raise TypeError(f"{name}: {argument} must be an int or a tuple of {self.dims} ints, got {value!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, device)
        self.output_padding = (output_padding,) * self.dims if isinstance(output_padding, (int, np.integer)) \
            else tuple(output_padding)

    def _weight_shape(self):
        """PyTorch's transposed layout: (in, out/groups, kernel...)."""
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    def _output_padding(self, x, output_size):
        """output_padding that makes the output `output_size` (PyTorch's rule: it may also name the batch and
        channel dims; it must lie between the smallest output and the smallest plus stride - 1)."""
        if output_size is None:
            return self.output_padding
        output_size = list(output_size)
        non_spatial = x.ndim - self.dims
        if len(output_size) == non_spatial + self.dims:
            output_size = output_size[non_spatial:]
        if len(output_size) != self.dims:
            raise ValueError(f"ConvTranspose{self.dims}D: for {x.ndim}D input, output_size must have {self.dims} "
                             f"or {non_spatial + self.dims} elements (got {len(output_size)})")
        spatial = x.shape[non_spatial:]
        smallest = [(size - 1) * s - 2 * p + d * (k - 1) + 1 for size, s, p, d, k in zip(
            spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [low + s - 1 for low, s in zip(smallest, self.stride)]
        if any(not low <= want <= high for want, low, high in zip(output_size, smallest, largest)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of {list(spatial)})")
        return tuple(want - low for want, low in zip(output_size, smallest))


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C, H, W) or (C, H, W); see ops/conv_transpose.py for the forward and
    the gradients. `output_size=` in forward picks output_padding, as in PyTorch."""

    dims = 2

    def forward(self, x, output_size=None):
        self._check_input(x)
        return conv_transpose.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                               self._output_padding(x, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C, L) or (C, L)."""

    dims = 1

    def forward(self, x, output_size=None):
        self._check_input(x)
        return conv_transpose.conv_transpose1d(x, self.weight, self.bias, self.stride[0], self.padding[0],
                                               self._output_padding(x, output_size)[0], self.groups,
                                               self.dilation[0])
