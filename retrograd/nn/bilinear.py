"""Bilinear (torch.nn.modules.linear's): y = x1^T A x2 + b with PyTorch's parameter layout and initial values."""
import math

from ..device import check_device
from ..ops.bilinear import bilinear
from ..tensor import empty
from . import init
from .module import Module, Parameter


class Bilinear(Module):
    """y[..., o] = x1 A[o] x2 + b[o]: weight (out_features, in1_features, in2_features), bias (out_features,).

    Default init (PyTorch's): weight and bias ~ U(-k, k) with k = 1/sqrt(in1_features), weight drawn first."""

    _tensor_args = 2

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, dtype=dtype))
        self.register_parameter("bias", Parameter(empty(out_features, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
