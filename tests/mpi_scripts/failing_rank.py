"""Run under `mpiexec -n 2` by tests/test_distributed.py: one rank fails, and every rank must end with an
error instead of waiting for ever.

    raise    rank 1 raises while rank 0 waits in DDP's gradient all-reduce: the uncaught exception aborts
             both ranks at once (MPI_Abort)
    timeout  rank 1 hangs outside any collective while rank 0 waits in all_reduce with a 1 s timeout:
             rank 0 raises DistBackendError, which aborts both
"""
import datetime
import sys
import time

import retrograd as rg
import retrograd.distributed as dist
from retrograd import nn
from retrograd.nn.parallel import DistributedDataParallel

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1 if mode == "timeout" else 600))
rank = dist.get_rank()
if mode == "raise":
    model = DistributedDataParallel(nn.Linear(3, 1))
    if rank == 1:
        raise RuntimeError("rank 1 failed on purpose")
    model(rg.ones(2, 3)).sum().backward()  # waits for rank 1's gradients
elif mode == "timeout":
    if rank == 1:
        time.sleep(120)
    dist.all_reduce(rg.ones(3))
print(f"rank {rank} finished, which it must not", flush=True)
