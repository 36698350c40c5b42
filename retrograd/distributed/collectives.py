"""Collectives with torch.distributed's names, in place on retrograd tensors, over MPI.

Each call hands the tensor's NumPy array to MPI through the buffer protocol (no pickling) and starts the
non-blocking MPI call (MPI_Iallreduce, MPI_Ibcast, MPI_Iallgather, MPI_Ibarrier). `async_op=True`
returns the `Work` at once; otherwise the call waits for it. Waiting polls the request until the group's
timeout: MPI's own waits never give up, and a rank that died or called a different collective would
leave the others blocked for ever, where here they raise `DistBackendError` naming the collective.

MPI runs collectives in the order each rank calls them: every rank must call the same collectives in
the same order (as with PyTorch's backends).
"""
import enum
import time

import numpy as np

from ..tensor import Tensor
from .mpi import mpi
from .process_group import default_group


class DistBackendError(RuntimeError):
    """A collective failed or timed out (PyTorch's torch.distributed.DistBackendError)."""


class ReduceOp(enum.Enum):
    """How all_reduce combines the ranks' values. AVG is SUM divided by the world size (MPI has no AVG)."""

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"


_MPI_OPS = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN",
            ReduceOp.MAX: "MAX"}


class Work:
    """A collective in flight (PyTorch's Work): `wait()` blocks until it is done (or the timeout passes),
    then runs what finishes it (AVG's division, copying into non-contiguous or gathered tensors)."""

    def __init__(self, name, request, process_group, finish=None):
        self.name, self._request, self._group, self._finish = name, request, process_group, finish
        self._done = False

    def is_completed(self):
        """Whether the collective is done (and its result in place), without waiting."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def is_success(self):
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            limit = self._group.timeout if timeout is None else timeout
            wait_for(self._request, self._group, self.name, limit.total_seconds())
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def wait_for(request, process_group, name, seconds):
    """Poll an MPI request until it completes; DistBackendError after `seconds`. Busy-polls for the first
    2 ms, as MPI's own wait does (a collective between ranks in step takes microseconds, and a sleep would
    add its latency to every step), then sleeps between polls (up to 1 ms), leaving the core to the rank it
    waits for when the machine runs more processes than it has cores."""
    start = time.monotonic()
    while not request.Test():
        waited = time.monotonic() - start
        if waited > seconds:
            process_group.broken = True
            raise DistBackendError(
                f"{name} timed out after {seconds:g} s on rank {process_group.rank()} of {process_group.size()}: "
                f"another rank did not join it (it failed, hangs, or called a different collective). MPI cannot "
                f"cancel a collective, so this process aborts at exit instead of hanging")
        if waited > 2e-3:
            time.sleep(min(1e-3, waited / 20))


def _buffer(tensor, name):
    """(array MPI reads and writes, function copying it back into the tensor or None)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a retrograd Tensor, got {type(tensor).__name__}")
    array = tensor.array
    if array.flags.c_contiguous and array.flags.writeable:
        return array, None
    scratch = np.ascontiguousarray(array)

    def copy_back():
        tensor.array[...] = scratch

    return scratch, copy_back


def _run(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def start_all_reduce(array, op, process_group):
    """Start summing (or min/max/...) a contiguous array across ranks in place; returns the MPI request."""
    MPI = mpi()
    return process_group.comm.Iallreduce(MPI.IN_PLACE, array, op=getattr(MPI, _MPI_OPS[op]))


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `tensor` across all ranks, in place: every rank ends with the same result."""
    process_group = default_group(group)
    if not isinstance(op, ReduceOp):
        raise ValueError(f"all_reduce: op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), got {op!r}")
    array, copy_back = _buffer(tensor, "all_reduce")
    if op is ReduceOp.AVG and array.dtype.kind not in "fc":
        raise ValueError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got {array.dtype}")
    tensor._bump_version()
    size = process_group.size()

    def finish():
        if op is ReduceOp.AVG:
            np.divide(array, size, out=array)
        if copy_back is not None:
            copy_back()

    return _run(Work("all_reduce", start_all_reduce(array, op, process_group), process_group, finish), async_op)


def start_broadcast(array, src, process_group):
    return process_group.comm.Ibcast(array, root=src)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy rank `src`'s tensor into `tensor` on every other rank, in place."""
    process_group = default_group(group)
    src = group_src if src is None else src
    size = process_group.size()
    if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < size:
        raise ValueError(f"broadcast: src must be a rank in [0, {size - 1}], got {src!r}")
    array, copy_back = _buffer(tensor, "broadcast")
    tensor._bump_version()
    return _run(Work("broadcast", start_broadcast(array, src, process_group), process_group, copy_back), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's `tensor`, gathered into `tensor_list` (one tensor per rank, in rank order) on every rank."""
    process_group = default_group(group)
    size = process_group.size()
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != size:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must hold one tensor per rank ({size}), got {got}")
    send, _ = _buffer(tensor, "all_gather")
    for position, out in enumerate(tensor_list):
        if not isinstance(out, Tensor) or out.array.shape != send.shape or out.array.dtype != send.dtype:
            described = (f"{out.array.dtype} {tuple(out.array.shape)}" if isinstance(out, Tensor)
                         else type(out).__name__)
            raise ValueError(f"all_gather: tensor_list[{position}] is {described}; every entry must be a tensor "
                             f"of the input's shape and dtype ({send.dtype} {tuple(send.shape)})")
    gathered = np.empty((size,) + send.shape, send.dtype)
    request = process_group.comm.Iallgather(np.ascontiguousarray(send), gathered)

    def finish():
        for out, values in zip(tensor_list, gathered):
            out._bump_version()
            out.array[...] = values

    return _run(Work("all_gather", request, process_group, finish), async_op)


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Wait until every rank has reached its barrier (or the timeout passes)."""
    process_group = default_group(group)
    work = Work("barrier", process_group.comm.Ibarrier(), process_group)
    if async_op:
        return work
    work.wait(timeout)
    return None
