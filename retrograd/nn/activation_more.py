"""More activation layers (PReLU, RReLU, SELU, CELU, Mish, Hardswish, Hardsigmoid, GLU, Softsign, Softshrink,
Hardshrink, Tanhshrink, Softmax2d): thin wrappers holding the options of ops/activation_more.py's functions,
with PyTorch's constructor arguments and repr text."""
import numpy as np

from ..device import check_device
from ..ops import activation_more as F
from ..tensor import Tensor
from .module import Module, Parameter


class _Elementwise(Module):
    """An activation without options but, for some, `inplace` (kept out of the repr, as PyTorch does)."""

    _tensor_args = 1
    function = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).function(input, inplace=self.inplace)


class SELU(_Elementwise):
    function = F.selu

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Mish(SELU):
    function = F.mish


class Hardswish(_Elementwise):
    function = F.hardswish


class Hardsigmoid(_Elementwise):
    function = F.hardsigmoid


class _NoOptions(Module):
    _tensor_args = 1
    function = None

    def forward(self, input):
        return type(self).function(input)


class Softsign(_NoOptions):
    function = F.softsign


class Tanhshrink(_NoOptions):
    function = F.tanhshrink


class Softmax2d(_NoOptions):
    function = F.softmax2d


class CELU(Module):
    _tensor_args = 1

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    _tensor_args = 1

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softshrink(Module):
    _tensor_args = 1

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.softshrink(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink):
    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class PReLU(Module):
    """x where x > 0, else weight * x: one learnt slope (num_parameters = 1) or one per channel, all `init`."""

    _tensor_args = 1

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(Tensor(np.full(num_parameters, init, np.dtype(dtype or np.float32))))

    def reset_parameters(self):
        self.weight.array[...] = self.init

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """x where x > 0, else a * x; a ~ U(lower, upper) per entry in training, (lower + upper) / 2 in eval."""

    _tensor_args = 1

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")
