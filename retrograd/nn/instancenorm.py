"""InstanceNorm1d/2d/3d (torch.nn.modules.instancenorm): PyTorch's options, parameters, buffers and input
checks around ops/norm_groups.py's instance_norm. Unlike BatchNorm the defaults are affine=False and
track_running_stats=False, and an input without its batch dim, (C, L) or (C, H, W), is accepted."""
import warnings

import numpy as np

from ..device import check_device
from ..ops import norm_groups
from ..ops.shape import squeeze, unsqueeze
from ..tensor import Tensor
from .module import Module, Parameter


class _InstanceNorm(Module):
    _tensor_args = 1
    spatial_dims = 1  # the dims after the channel dim

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        check_device(device, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = np.dtype(dtype or np.float32)
        self.register_parameter("weight", Parameter(Tensor(np.ones(num_features, dtype))) if affine else None)
        self.register_parameter("bias", Parameter(Tensor(np.zeros(num_features, dtype))) if affine and bias
                                else None)
        stats = track_running_stats
        self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)) if stats else None)
        self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)) if stats else None)
        self.register_buffer("num_batches_tracked", Tensor(np.zeros((), np.int64)) if stats else None)

    def forward(self, input):
        unbatched = self.spatial_dims + 1
        if input.ndim not in (unbatched, unbatched + 1):
            raise ValueError(f"expected {unbatched}D or {unbatched + 1}D input (got {input.ndim}D input)")
        feature_dim = input.ndim - unbatched
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          f"warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        if input.ndim == unbatched:
            return squeeze(self._instance_norm(unsqueeze(input, 0)), 0)
        return self._instance_norm(input)

    def _instance_norm(self, input):
        # PyTorch passes the momentum only: num_batches_tracked stays 0 and momentum=None means 0
        return norm_groups.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                                         self.training or not self.track_running_stats,
                                         0.0 if self.momentum is None else self.momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L) or (C, L) input."""

    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) or (C, H, W) input."""

    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of (N, C, D, H, W) or (C, D, H, W) input."""

    spatial_dims = 3
