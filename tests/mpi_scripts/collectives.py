"""Run under `mpiexec -n 2` by tests/test_distributed.py: the collectives on retrograd tensors, in place,
with torch.distributed's semantics; DistributedSampler's shards of an epoch, gathered, are the epoch."""
import sys

import numpy as np

import retrograd as rg
import retrograd.distributed as dist
from retrograd.data import DataLoader, DistributedSampler, TensorDataset

plain_excepthook = sys.excepthook
dist.init_process_group(backend="mpi")
assert sys.excepthook is not plain_excepthook  # an uncaught exception now aborts every rank
rank, world = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi" and world == 2

# all_reduce: every op, float and integer tensors, each rank ending with the same result
values = {0: [1.0, -2.0, 3.0], 1: [4.0, 5.0, -6.0]}
expected = {dist.ReduceOp.SUM: [5.0, 3.0, -3.0], dist.ReduceOp.AVG: [2.5, 1.5, -1.5],
            dist.ReduceOp.MAX: [4.0, 5.0, 3.0], dist.ReduceOp.MIN: [1.0, -2.0, -6.0],
            dist.ReduceOp.PRODUCT: [4.0, -10.0, -18.0]}
for op, result in expected.items():
    t = rg.tensor(values[rank], dtype=rg.float64)
    assert dist.all_reduce(t, op=op) is None
    assert t.tolist() == result, (op, t.tolist())
counts = rg.tensor([rank + 1, 10])
dist.all_reduce(counts)
assert counts.dtype == rg.int64 and counts.tolist() == [3, 20]

# in place on a non-contiguous tensor (a transposed view): the values land in its storage
base = rg.tensor([[1.0, 2.0], [3.0, 4.0]]) * (rank + 1)
view = base.T
dist.all_reduce(view)
assert base.tolist() == [[3.0, 6.0], [9.0, 12.0]], base.tolist()

# async_op returns a Work; the tensor holds the result once wait() returns
t = rg.full((1000,), float(rank + 1))
work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
assert isinstance(work, dist.Work) and work.wait() is True and work.is_completed()
assert np.all(t.numpy() == 1.5)
assert t._version == 1  # an in-place change, counted as PyTorch counts it

work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
while not work.is_completed():  # polling instead of wait(): the result is in place once it says so
    pass
assert np.all(t.numpy() == 1.5)

# broadcast from either rank
for src in (0, 1):
    t = rg.tensor([float(rank), float(rank) + 0.5])
    dist.broadcast(t, src=src)
    assert t.tolist() == [src, src + 0.5]

# all_gather: one tensor per rank, in rank order
gathered = [rg.zeros(2, 3) for _ in range(world)]
dist.all_gather(gathered, rg.full((2, 3), float(rank)))
assert [g.numpy().tolist() for g in gathered] == [[[0.0] * 3] * 2, [[1.0] * 3] * 2]
try:
    dist.all_gather([rg.zeros(2)], rg.zeros(2))
except ValueError as error:
    assert "one tensor per rank (2), got 1" in str(error)
else:
    raise AssertionError("all_gather accepted a list of the wrong length")

dist.barrier()
dist.barrier(async_op=True).wait()

# DistributedSampler: the ranks' shards of an epoch, gathered, are the epoch's permutation, each index once
dataset = TensorDataset(rg.arange(10, dtype=rg.float64))
for epoch in (0, 1):
    sampler = DistributedSampler(dataset, shuffle=True, seed=3)  # num_replicas and rank from the group
    sampler.set_epoch(epoch)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler)
    mine = rg.cat([x for (x,) in loader])
    shards = [rg.zeros(5, dtype=rg.float64) for _ in range(world)]
    dist.all_gather(shards, mine)
    everything = sorted(value for shard in shards for value in shard.tolist())
    assert everything == list(range(10)), everything
print(f"rank {rank}: collectives and sampler behave", flush=True)
dist.destroy_process_group()
assert not dist.is_initialized() and sys.excepthook is plain_excepthook
