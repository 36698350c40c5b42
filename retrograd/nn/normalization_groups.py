"""GroupNorm, RMSNorm and LocalResponseNorm (torch.nn.modules.normalization's other layers): parameters with
PyTorch's names, shapes and initial values around the functions of ops/norm_groups.py."""
import numpy as np

from ..device import check_device
from ..ops import norm_groups
from ..tensor import Tensor
from .module import Module, Parameter


class GroupNorm(Module):
    """Normalises each group of num_channels / num_groups channels; per-channel weight (ones), bias (zeros)."""

    _tensor_args = 1

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        check_device(device, type(self).__name__)
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = np.dtype(dtype or np.float32)
        self.register_parameter("weight", Parameter(Tensor(np.ones(num_channels, dtype))) if affine else None)
        self.register_parameter("bias", Parameter(Tensor(np.zeros(num_channels, dtype))) if affine and bias
                                else None)

    def forward(self, input):
        return norm_groups.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """x / sqrt(mean(x^2 over normalized_shape) + eps) * weight (ones); eps None: the dtype's machine epsilon."""

    _tensor_args = 1

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        weight = Parameter(Tensor(np.ones(self.normalized_shape, np.dtype(dtype or np.float32))))
        self.register_parameter("weight", weight if elementwise_affine else None)

    def forward(self, x):
        return norm_groups.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta (no parameters)."""

    _tensor_args = 1

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return norm_groups.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
