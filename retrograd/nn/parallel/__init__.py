"""torch.nn.parallel's import path: DistributedDataParallel (over retrograd.distributed's MPI)."""
from .distributed import DistributedDataParallel  # noqa: F401
