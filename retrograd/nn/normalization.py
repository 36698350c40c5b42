"""BatchNorm1d/2d, SyncBatchNorm and LayerNorm: parameters, buffers and input checks around the fused ops in
ops/norm.py."""
import numpy as np

from ..distributed.collectives import ReduceOp, start_all_reduce, wait_for
from ..distributed.process_group import default_group, get_world_size, is_initialized
from ..ops import norm
from ..tensor import Tensor
from .module import Module, Parameter
from ..device import check_device


def _check_floating(layer, x):
    """PyTorch has no integer kernel for batch or layer norm; NumPy would quietly compute in float64."""
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f"{type(layer).__name__}: expected a floating-point input, got dtype {x.dtype} "
                                  f"(convert it with x.float())")


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d. Buffers running_mean, running_var, num_batches_tracked (PyTorch's names)."""

    _tensor_args = 1

    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None,
                 device=None):
        super().__init__()
        check_device(device, type(self).__name__)
        if not isinstance(num_features, (int, np.integer)) or num_features < 0:
            raise RuntimeError(f"{type(self).__name__}: num_features must be a non-negative integer, got "
                               f"{num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = np.dtype(dtype or np.float32)
        if affine:
            self.weight = Parameter(Tensor(np.ones(num_features, dtype)))
            self.bias = Parameter(Tensor(np.zeros(num_features, dtype)))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def forward(self, x):
        _check_floating(self, x)
        if x.ndim not in self.expected_dims:
            raise ValueError(f"{type(self).__name__}: expected {' or '.join(f'{d}D' for d in self.expected_dims)} "
                             f"input, got {x.ndim}D input of shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input has {x.shape[1]} channels "
                             f"(shape {tuple(x.shape)}), expected {self.num_features}")
        if self.num_features == 0:  # PyTorch fails with an IndexError here too, less clearly
            raise IndexError(f"{type(self).__name__}(0): there are no features to normalize (input shape "
                             f"{tuple(x.shape)})")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or self.running_mean is None
        update_stats = self.training and self.track_running_stats
        return self._normalize(x, use_batch_stats, update_stats, momentum)

    def _normalize(self, x, use_batch_stats, update_stats, momentum):
        return norm.batch_norm(
            x,
            self.running_mean if update_stats or not use_batch_stats else None,
            self.running_var if update_stats or not use_batch_stats else None,
            self.weight, self.bias, use_batch_stats, momentum, self.eps,
        )

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs, per channel C."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs, per channel C."""

    expected_dims = (4,)


class SyncBatchNorm(_BatchNorm):
    """Batch norm whose training statistics are the whole batch's when processes train data-parallel
    (`retrograd.distributed`, DistributedDataParallel): each process normalises its part of the batch with
    the mean and variance of all the parts, and all processes keep the same running statistics; with one
    process, in eval mode, or without a process group it is BatchNorm. `convert_sync_batchnorm(model)`
    swaps it in for every BatchNorm layer. Costs three small blocking all-reduces per layer and step (count
    and sums, then squared deviations in forward; two sums in backward). PyTorch's runs on GPUs only."""

    expected_dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype, device=device)
        self.process_group = process_group

    def _normalize(self, x, use_batch_stats, update_stats, momentum):
        if not (use_batch_stats and self.training and is_initialized() and get_world_size(self.process_group) > 1):
            return super()._normalize(x, use_batch_stats, update_stats, momentum)
        return norm.sync_batch_norm(x, self.running_mean if update_stats else None,
                                    self.running_var if update_stats else None, self.weight, self.bias, momentum,
                                    self.eps, self._sum_across_processes)

    def _sum_across_processes(self, *arrays):
        """The arrays summed over all processes, in one blocking all-reduce."""
        group = default_group(self.process_group)
        flat = np.concatenate([array.ravel() for array in arrays])
        wait_for(start_all_reduce(flat, ReduceOp.SUM, group), group, "SyncBatchNorm's all_reduce",
                 group.timeout.total_seconds())
        ends = np.cumsum([array.size for array in arrays])
        return [part.reshape(array.shape) for part, array in zip(np.split(flat, ends[:-1]), arrays)]

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm layer replaced by a SyncBatchNorm holding the same parameters and
        buffers (PyTorch's classmethod); returns the new module when `module` itself is a BatchNorm."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(converted, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(converted, name, getattr(module, name))
            converted.train(module.training)
        for name, child in list(module.named_children()):
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted


class LayerNorm(Module):
    """Normalises over the trailing `normalized_shape` dims; elementwise affine weight (ones) and bias (zeros)."""

    _tensor_args = 1

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None, device=None):
        super().__init__()
        check_device(device, type(self).__name__)
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        if not all(isinstance(size, (int, np.integer)) and size >= 0 for size in self.normalized_shape):
            raise RuntimeError(f"LayerNorm: normalized_shape must be non-negative integers, got {normalized_shape!r}")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = np.dtype(dtype or np.float32)
        if elementwise_affine:
            self.weight = Parameter(Tensor(np.ones(self.normalized_shape, dtype)))
            if bias:
                self.bias = Parameter(Tensor(np.zeros(self.normalized_shape, dtype)))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        _check_floating(self, x)
        return norm.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
