"""retrograd.distributed: torch.distributed's API for data-parallel training, over MPI (mpi4py).

    import retrograd.distributed as dist
    dist.init_process_group(backend="mpi")           # under `mpiexec -n N python train.py`
    dist.all_reduce(t, op=dist.ReduceOp.SUM)         # in place on every rank; AVG, MIN, MAX, PRODUCT too
    work = dist.all_reduce(t, async_op=True); work.wait()
    dist.broadcast(t, src=0); dist.all_gather(tensors, t); dist.barrier()

Collectives pass the tensors' NumPy arrays to MPI (no pickling), wait at most the group's `timeout`,
and an uncaught exception on one rank aborts every rank. MPI comes from pip:
`pip install "retrograd[distributed]"` installs mpi4py and the mpich wheel (with its `mpiexec`).
Importing this package does not import mpi4py; `init_process_group` does.
`retrograd.nn.parallel.DistributedDataParallel` and `retrograd.data.DistributedSampler` build on it.
"""
from .collectives import DistBackendError, ReduceOp, Work, all_gather, all_reduce, barrier, broadcast  # noqa: F401
from .mpi import launched_world_size  # noqa: F401
from .process_group import (  # noqa: F401
    ProcessGroup, destroy_process_group, get_backend, get_rank, get_world_size, group, init_process_group,
    is_available, is_initialized, is_mpi_available,
)
