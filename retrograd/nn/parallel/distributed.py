"""DistributedDataParallel: one model replica per process, gradients averaged across processes.

As PyTorch's DDP does:

- at construction, rank 0's parameters and buffers are broadcast, so every replica starts equal, and
  the parameters are laid out in buckets: in reverse order (the order backward produces their
  gradients), a bucket closing once it holds `bucket_cap_mb` (25 MB; the first bucket 1 MB, so that
  communication starts early);
- during backward, each parameter's post-accumulate-grad hook marks it ready; once every parameter of
  a bucket (and of every bucket before it) is ready, the bucket's gradients, divided by the world
  size, are copied into one flat array and its non-blocking all-reduce (MPI_Iallreduce) starts while
  backward goes on computing the earlier layers' gradients. When the last bucket has started (the
  first layer's gradients were the last ones backward produced) the reducer waits for all of them and
  writes the averages into `.grad`. So after `loss.backward()` every rank holds the same mean gradient
  and the optimizers step identically;
- buckets start in index order on every rank, because MPI matches collectives by order;
- `no_sync()` skips the averaging (gradients accumulate locally); the first backward after it averages
  the accumulated sum;
- with `broadcast_buffers` (the default), each forward pass that follows a training pass first copies
  rank 0's buffers to every rank: BatchNorm's running statistics are rank 0's. In training mode each
  rank normalises with its own batch's statistics (PyTorch's BatchNorm does the same under DDP), so the
  result is not one process's on the whole batch; `nn.SyncBatchNorm.convert_sync_batchnorm(model)` makes
  every rank normalise with the whole batch's statistics, and then it is.

MPICH advances a non-blocking collective only inside MPI calls (unless MPIR_CVAR_ASYNC_PROGRESS=1 is
set): the reducer tests the requests in flight each time a bucket starts, so they move on during
backward.

A parameter that takes no part in the loss never gets a gradient, so its bucket never starts: as in
PyTorch, the next forward raises, naming those parameters (`find_unused_parameters=True` is not
implemented).
"""
import contextlib

import numpy as np

from ...autograd.grad_mode import is_grad_enabled
from ...distributed.collectives import ReduceOp, start_all_reduce, start_broadcast, wait_for
from ...distributed.process_group import default_group
from ..module import Module

FIRST_BUCKET_BYTES = 1024 * 1024  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES
DEFAULT_BUCKET_CAP_MB = 25


class Bucket:
    """Parameters whose gradients travel in one all-reduce, and the flat array they travel in."""

    def __init__(self, indices, params):
        self.indices = indices  # positions in the DDP's parameter list
        self.params = [params[i] for i in indices]
        self.offsets = np.cumsum([0] + [p.array.size for p in self.params])
        self.flat = np.empty(int(self.offsets[-1]), self.params[0].array.dtype)
        self.pending = 0
        self.request = None  # the MPI request while its all-reduce is in flight

    def gather(self, world_size):
        """Copy every gradient, divided by the world size, into the flat array (PyTorch divides first too)."""
        for param, start, stop in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            np.divide(param.grad.array.reshape(-1), world_size, out=self.flat[start:stop])

    def scatter(self):
        """Write the averaged gradients back into each parameter's `.grad` (in place where it can)."""
        for param, start, stop in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            averaged = self.flat[start:stop].reshape(param.array.shape)
            grad = param.grad.array
            if grad.flags.writeable and grad.flags.c_contiguous:
                np.copyto(grad, averaged)
            else:
                param.grad.array = averaged.copy()


def assign_buckets(params, bucket_cap_mb=None):
    """Bucket the parameters in reverse order, one open bucket per dtype, closing a bucket once it holds
    `bucket_cap_mb` (default 25; with the default the first bucket closes at 1 MB, as PyTorch's does).
    Returns lists of parameter positions, in the order their all-reduces will start."""
    cap = int((DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
    limits = [min(FIRST_BUCKET_BYTES, cap), cap] if bucket_cap_mb is None else [cap, cap]
    buckets, open_buckets = [], {}
    for index in reversed(range(len(params))):
        array = params[index].array
        indices, size = open_buckets.get(array.dtype, ([], 0))
        indices.append(index)
        size += array.nbytes
        if size >= limits[min(len(buckets), 1)]:
            buckets.append(indices)
            open_buckets.pop(array.dtype, None)
        else:
            open_buckets[array.dtype] = (indices, size)
    buckets.extend(indices for indices, _ in open_buckets.values())
    return buckets


class Reducer:
    """Counts ready parameters per bucket during backward, starts the buckets' all-reduces in order, and
    waits for them all once the last one has started."""

    def __init__(self, params, bucket_indices, process_group):
        self.params = params
        self.group = process_group
        self.buckets = [Bucket(indices, params) for indices in bucket_indices]
        self.bucket_of = {}
        for bucket in self.buckets:
            for index in bucket.indices:
                self.bucket_of[index] = bucket
        self.expecting = False  # a synchronising forward ran: its backward's hooks count
        self.started = 0  # buckets whose all-reduce started in this backward
        self.ready = set()
        self.handles = [param.register_post_accumulate_grad_hook(self._hook(i)) for i, param in enumerate(params)]

    def _hook(self, index):
        def mark_ready(param):
            self.mark_ready(index)

        return mark_ready

    def prepare(self):
        """Called by a synchronising forward: a backward is expected, every bucket waits for its gradients."""
        unfinished = [i for i in range(len(self.params)) if i not in self.ready] if self.ready else []
        if unfinished:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss: parameter "
                f"indices {unfinished} received no gradient in the last backward on rank {self.group.rank()}. "
                "Make sure all forward outputs participate in calculating the loss (find_unused_parameters=True "
                "is not implemented in retrograd)")
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
        self.ready = set()
        self.started = 0
        self.expecting = True

    def mark_ready(self, index):
        if not self.expecting:
            return
        if index in self.ready:
            raise RuntimeError(f"DistributedDataParallel: parameter {index} got its gradient twice in one backward "
                               f"(backward called twice after one forward?); DDP averages once per forward")
        self.ready.add(index)
        self.bucket_of[index].pending -= 1
        while self.started < len(self.buckets) and self.buckets[self.started].pending == 0:
            bucket = self.buckets[self.started]
            bucket.gather(self.group.size())
            bucket.request = start_all_reduce(bucket.flat, ReduceOp.SUM, self.group)
            self.started += 1
        for bucket in self.buckets[:self.started]:  # MPICH progresses the ones in flight inside MPI calls
            if bucket.request is not None and bucket.request.Test():
                bucket.request = None  # done: only the scatter is left
        if self.started == len(self.buckets):
            self.finish()

    def finish(self):
        """Wait for every bucket's all-reduce and write the averages into `.grad`."""
        seconds = self.group.timeout.total_seconds()
        for bucket in self.buckets:
            if bucket.request is not None:
                wait_for(bucket.request, self.group, "DistributedDataParallel's gradient all_reduce", seconds)
            bucket.request = None
            bucket.scatter()
        self.expecting = False


class DistributedDataParallel(Module):
    """Data parallelism across processes with PyTorch's API: wrap the model after
    `retrograd.distributed.init_process_group("mpi")`, train `ddp(x)` as usual, save `ddp.module`.
    `check_reduction`, `gradient_as_bucket_view` and `static_graph` (PyTorch's memory and speed hints) are
    accepted and change nothing; `device_ids` must be None (CPU)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True, init_sync=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a retrograd nn.Module, got {type(module).__name__}")
        if device_ids not in (None, [], ["cpu"]) or output_device not in (None, "cpu"):
            raise ValueError("DistributedDataParallel: device_ids and output_device must be None for a CPU module "
                             f"(got device_ids={device_ids!r}, output_device={output_device!r})")
        if find_unused_parameters:
            raise NotImplementedError("DistributedDataParallel: find_unused_parameters=True is not implemented; "
                                      "make every parameter take part in the loss")
        if bucket_cap_mb is not None and not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        group = default_group(process_group)
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.process_group = group
        self.bucket_cap_mb = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        params = [p for p in module.parameters() if p.requires_grad]
        _check_same_model(params, group)
        if init_sync:
            self._broadcast([p.array for p in module.parameters()] + [b.array for b in module.buffers()])
        self._reducer = Reducer(params, assign_buckets(params, bucket_cap_mb), group) if params else None

    @property
    def bucket_sizes(self):
        """The number of parameters in each bucket, in the order their all-reduces start."""
        return [] if self._reducer is None else [len(bucket.indices) for bucket in self._reducer.buckets]

    def _broadcast(self, arrays):
        seconds = self.process_group.timeout.total_seconds()
        for array in arrays:
            buffer = array if array.flags.c_contiguous and array.flags.writeable else np.ascontiguousarray(array)
            wait_for(start_broadcast(buffer, 0, self.process_group), self.process_group, "broadcast from rank 0",
                     seconds)
            if buffer is not array:
                array[...] = buffer

    def forward(self, *inputs, **kwargs):
        buffers = list(self.module.buffers())
        if self.broadcast_buffers and self.require_forward_param_sync and buffers:
            self._broadcast([b.array for b in buffers])
        synchronising = is_grad_enabled() and self.require_backward_grad_sync
        if self._reducer is not None:
            if synchronising:
                self._reducer.prepare()
            else:  # a backward of this forward (no_sync, or none under no_grad) must not reduce
                self._reducer.expecting = False
        self.require_forward_param_sync = synchronising
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward accumulates local gradients without averaging (gradient accumulation); the first
        synchronised backward after it averages the accumulated sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


def _check_same_model(params, group):
    """Every rank must wrap the same architecture: compare the parameter count and each shape's size."""
    signature = np.array([len(params), sum(p.array.size for p in params),
                          sum((i + 1) * p.array.size for i, p in enumerate(params))], dtype=np.int64)
    low, high = signature.copy(), signature.copy()
    seconds = group.timeout.total_seconds()
    wait_for(start_all_reduce(low, ReduceOp.MIN, group), group, "DistributedDataParallel's model check", seconds)
    wait_for(start_all_reduce(high, ReduceOp.MAX, group), group, "DistributedDataParallel's model check", seconds)
    if not np.array_equal(low, high):
        raise RuntimeError(f"DistributedDataParallel: the ranks wrap different models (rank {group.rank()} has "
                           f"{len(params)} parameters with {signature[1]} elements; across ranks the counts range "
                           f"over {low[:2].tolist()}..{high[:2].tolist()}); every rank must build the same model")
