"""What a job does differently when `mpiexec -n N` (N > 1) started it: data-parallel training.

Every rank builds the same model and draws the same batches (same seed); each trains on its share of
every batch (rows rank, rank + N, ...) through DistributedDataParallel, which averages the gradients,
so N processes take the steps one process would take on whole batches. Only rank 0 prints, plots and
writes checkpoints; every rank loads a checkpoint it resumes from (the optimizer's state is per rank).
An error on one rank aborts all of them, after printing it, instead of leaving the others waiting.
"""
import contextlib
import sys

import numpy as np

from ..distributed.collectives import ReduceOp, start_all_reduce, wait_for
from ..distributed.mpi import launched_world_size
from ..distributed.process_group import default_group, get_rank, get_world_size, init_process_group, is_initialized
from ..nn.parallel import DistributedDataParallel


class DataParallel:
    """The job's view of the processes: `rank`, `world_size`, `is_main`, and the steps that differ."""

    def __init__(self, rank=0, world_size=1):
        self.rank, self.world_size = rank, world_size
        self.is_main = rank == 0

    @classmethod
    def from_environment(cls):
        """One process, unless an MPI launcher started several: then join them (init_process_group)."""
        if launched_world_size() == 1:
            return cls()
        if not is_initialized():
            init_process_group("mpi")
        return cls(get_rank(), get_world_size())

    def wrap(self, model):
        """The model to train: the model itself, or DistributedDataParallel around it."""
        return model if self.world_size == 1 else DistributedDataParallel(model)

    def log(self, log):
        """`log` on rank 0, a function that prints nothing on the others."""
        return log if self.is_main else _silent

    def shard(self, batches):
        """Each batch's rows for this rank (every N-th row from `rank`); a batch's last rows that would give
        the ranks unequal shares are dropped, so the mean gradients average to the whole batch's."""
        return batches if self.world_size == 1 else ShardedBatches(batches, self.rank, self.world_size)

    def describe(self):
        """A note for the job's log: empty for one process."""
        if self.world_size == 1:
            return ""
        return (f"data-parallel over {self.world_size} processes (MPI): the training loss shown is rank 0's share "
                f"of each batch")

    def any_rank(self, flag):
        """Whether `flag` is true on any rank (a decision every rank must take alike, such as stopping)."""
        if self.world_size == 1:
            return bool(flag)
        vote = np.array([1 if flag else 0], dtype=np.int64)
        process_group = default_group()
        wait_for(start_all_reduce(vote, ReduceOp.MAX, process_group), process_group, "any_rank",
                 process_group.timeout.total_seconds())
        return bool(vote[0])

    @contextlib.contextmanager
    def abort_on_error(self):
        """With several ranks, an exception prints one line naming the rank, then ends every rank (MPI_Abort):
        the others would otherwise wait in their next collective until its timeout (30 minutes)."""
        try:
            yield self
        except Exception as error:
            if self.world_size == 1:
                raise
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            print(f"retrograd: error on rank {self.rank} of {self.world_size}: {message}", file=sys.stderr)
            default_group().abort(1)


class ShardedBatches:
    """A batch iterable whose (inputs, targets, ...) tensors keep this rank's rows; state passes through."""

    def __init__(self, batches, rank, world_size):
        self.batches, self.rank, self.world_size = batches, rank, world_size

    def __len__(self):
        return len(self.batches)

    def state_dict(self):
        return self.batches.state_dict()

    def load_state_dict(self, state):
        self.batches.load_state_dict(state)

    def __iter__(self):
        for batch in self.batches:
            rows = (len(batch[0]) // self.world_size) * self.world_size
            if rows == 0:  # fewer rows than ranks: every rank skips it alike
                continue
            yield tuple(part[self.rank:rows:self.world_size] for part in batch)


def _silent(*args, **kwargs):
    return None
