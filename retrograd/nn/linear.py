"""Linear, Identity, Flatten and Unflatten."""
import math

from ..ops import linalg, shape
from . import init
from .module import Module, Parameter
from ..tensor import empty
from ..device import check_device


class Identity(Module):
    """Returns its input (arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) (PyTorch's layout).

    Default init (PyTorch's): W and b ~ U(-k, k) with k = 1/sqrt(in_features)
    (kaiming_uniform_ with a = sqrt(5) gives exactly that bound for W)."""

    _tensor_args = 1

    def __init__(self, in_features, out_features, bias=True, dtype=None, device=None):
        super().__init__()
        check_device(device, type(self).__name__)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.dtype.kind not in "fc":  # NumPy would promote an int or bool input; PyTorch refuses it
            raise RuntimeError(f"Linear: expected a floating-point input, got dtype {x.dtype} (convert it with "
                               f"x.float())")
        if x.shape[-1:] != (self.in_features,):
            raise RuntimeError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                               f"input of shape {tuple(x.shape)} does not end in {self.in_features}")
        return linalg.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Flattens dims start_dim..end_dim (default: all but the batch dim)."""

    _tensor_args = 1

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return shape.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Unflattens dim `dim` into `unflattened_size`."""

    _tensor_args = 1

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim
        return shape.reshape(x, tuple(x.shape[:dim]) + self.unflattened_size + tuple(x.shape[dim + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
