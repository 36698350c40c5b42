"""DistributedSampler: each rank's share of a dataset, PyTorch's `torch.utils.data.DistributedSampler`.

The indices (shuffled with a generator seeded `seed + epoch`, the permutation PyTorch's `randperm` draws
for that seed) are made divisible by the number of replicas, by repeating the first ones (padding) or,
with `drop_last`, by dropping the tail; rank r then takes every num_replicas-th index starting at r.
Call `set_epoch(epoch)` before each epoch, or every epoch repeats the same order.
"""
import math
import numbers

from ..distributed.process_group import get_rank, get_world_size
from ..random import Generator


class DistributedSampler:
    """Yields this rank's indices of `dataset` for one epoch (`len()` of them, the same on every rank)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.epoch = 0
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = bool(shuffle)
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:  # PyTorch's randperm(n) from a generator seeded seed + epoch
            indices = Generator().manual_seed(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:  # pad with the first indices, repeated as often as needed
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / len(indices)))[:padding] if padding > 0 else []
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Reshuffle: the next iteration uses the permutation of `seed + epoch`."""
        self.epoch = epoch
