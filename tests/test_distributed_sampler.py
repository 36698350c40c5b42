"""DistributedSampler against PyTorch's torch.utils.data.DistributedSampler (num_replicas and rank given,
no process group needed), and DataLoader(sampler=...). Under MPI: tests/mpi_scripts/collectives.py."""
import pytest

import retrograd as rg
from retrograd.data import DataLoader, DistributedSampler, TensorDataset


@pytest.mark.parametrize("n, replicas", [(10, 2), (11, 3), (2, 4), (100, 4)])
@pytest.mark.parametrize("shuffle, drop_last", [(True, False), (False, False), (True, True), (False, True)])
def test_distributed_sampler_yields_pytorchs_indices(n, replicas, shuffle, drop_last):
    from torch.utils.data import DistributedSampler as TorchSampler

    for rank in range(replicas):
        ours = DistributedSampler(list(range(n)), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=7,
                                  drop_last=drop_last)
        theirs = TorchSampler(list(range(n)), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=7,
                              drop_last=drop_last)
        for epoch in (0, 1, 5):
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_the_shards_partition_an_epoch_and_set_epoch_reshuffles():
    shards = [DistributedSampler(range(12), num_replicas=3, rank=r, seed=1) for r in range(3)]
    epoch0 = [list(s) for s in shards]
    assert sorted(i for shard in epoch0 for i in shard) == list(range(12))
    for s in shards:
        s.set_epoch(1)
    epoch1 = [list(s) for s in shards]
    assert sorted(i for shard in epoch1 for i in shard) == list(range(12)) and epoch1 != epoch0
    padded = [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False)) for r in range(2)]
    assert padded == [[0, 2, 4], [1, 3, 0]]  # padded by repeating the first index, as PyTorch does


def test_distributed_sampler_checks_its_rank():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_dataloader_batches_in_the_samplers_order():
    dataset = TensorDataset(rg.arange(10))
    sampler = DistributedSampler(dataset, num_replicas=2, rank=1, seed=4)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [i for (batch,) in loader for i in batch.tolist()] == list(sampler)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(dataset, sampler=sampler, shuffle=True)
