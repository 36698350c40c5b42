"""Pooling layers. MaxPool takes an explicit `ties` policy ("first", "split", "random"): see ops/pool.py."""
from ..ops import pool
from .module import Module


class _MaxPoolNd(Module):
    _tensor_args = 1

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False,
                 ties="first"):
        super().__init__()
        if ties not in pool.TIE_POLICIES:
            raise ValueError(f"{type(self).__name__}: ties must be one of {pool.TIE_POLICIES}, got {ties!r}")
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode, self.ties = return_indices, ceil_mode, ties

    def extra_repr(self):
        text = (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")
        return text + (f", ties='{self.ties}'" if self.ties != "first" else "")


class MaxPool2d(_MaxPoolNd):
    def forward(self, x):
        return pool.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                               self.return_indices, self.ties)


class MaxPool1d(_MaxPoolNd):
    def forward(self, x):
        return pool.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                               self.return_indices, self.ties)


class _AvgPoolNd(Module):
    _tensor_args = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    def forward(self, x):
        return pool.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                               self.count_include_pad, self.divisor_override)


class AvgPool1d(_AvgPoolNd):
    def forward(self, x):
        return pool.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                               self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    _tensor_args = 1

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return pool.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    def __init__(self, output_size, return_indices=False, ties="first"):
        super().__init__(output_size)
        self.return_indices, self.ties = return_indices, ties

    def forward(self, x):
        return pool.adaptive_max_pool2d(x, self.output_size, self.return_indices, self.ties)


class MaxUnpool2d(Module):
    _tensor_args = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x, indices, output_size=None):
        return pool.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)
