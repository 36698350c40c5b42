"""Padding layers (ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad in 1-D, 2-D and 3-D):
each holds its padding and calls `pad` (ops/shape.py), which owns the modes and their gradients.
`padding` is one int for every side or PyTorch's (left, right[, top, bottom[, front, back]]) tuple."""
from ..ops.shape import pad
from .module import Module


class _PadNd(Module):
    _tensor_args = 1
    mode = "constant"
    sides = 2  # 2 * the number of padded dims
    expected_dims = None  # the input ranks the layer accepts (CircularPad checks them, as PyTorch)

    def __init__(self, padding):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * self.sides

    def forward(self, input):
        if self.expected_dims and input.ndim not in self.expected_dims:
            raise ValueError(f"expected {self.expected_dims[0]}D or {self.expected_dims[1]}D input (got "
                             f"{input.ndim}D input)")
        return pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    sides = 2


class ConstantPad2d(_ConstantPadNd):
    sides = 4


class ConstantPad3d(_ConstantPadNd):
    sides = 6


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    mode, sides = "reflect", 2


class ReflectionPad2d(_PadNd):
    mode, sides = "reflect", 4


class ReflectionPad3d(_PadNd):
    mode, sides = "reflect", 6


class ReplicationPad1d(_PadNd):
    mode, sides = "replicate", 2


class ReplicationPad2d(_PadNd):
    mode, sides = "replicate", 4


class ReplicationPad3d(_PadNd):
    mode, sides = "replicate", 6


class CircularPad1d(_PadNd):
    mode, sides, expected_dims = "circular", 2, (2, 3)


class CircularPad2d(_PadNd):
    mode, sides, expected_dims = "circular", 4, (3, 4)


class CircularPad3d(_PadNd):
    mode, sides, expected_dims = "circular", 6, (4, 5)
