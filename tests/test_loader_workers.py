"""DataLoader's worker options: accepted and checked as PyTorch checks them; loading stays in-process."""
import numpy as np
import pytest
import torch
import torch.utils.data

import retrograd as rg
from retrograd.data import DataLoader, TensorDataset


def _batches(loader):
    return [[field.numpy().copy() for field in batch] for batch in loader]


@pytest.mark.parametrize("options", [
    {"num_workers": 2},
    {"num_workers": 4, "pin_memory": True, "persistent_workers": True, "prefetch_factor": 4},
    {"num_workers": 1, "timeout": 5, "worker_init_fn": lambda worker_id: None},
])
def test_worker_options_give_the_batches_of_num_workers_0(options):
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ours = DataLoader(TensorDataset(rg.tensor(x), rg.tensor(y)), batch_size=3, shuffle=True, seed=7, **options)
    plain = DataLoader(TensorDataset(rg.tensor(x), rg.tensor(y)), batch_size=3, shuffle=True, seed=7)
    for got, expected in zip(_batches(ours), _batches(plain), strict=True):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)
    # PyTorch's batches without shuffling (its workers would return the same; not started here: they cost seconds)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=3)
    unshuffled = DataLoader(TensorDataset(rg.tensor(x), rg.tensor(y)), batch_size=3, **options)
    for got, expected in zip(_batches(unshuffled), ([f.numpy() for f in b] for b in theirs), strict=True):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)


def test_worker_init_fn_is_not_called_in_process():
    calls = []
    loader = DataLoader(TensorDataset(rg.arange(4)), batch_size=2, num_workers=2, worker_init_fn=calls.append)
    assert len(list(loader)) == 2 and calls == []
    assert (loader.num_workers, loader.pin_memory, loader.persistent_workers) == (2, False, False)


@pytest.mark.parametrize("options", [{"num_workers": -1}, {"prefetch_factor": 2}, {"persistent_workers": True},
                                     {"timeout": -1}, {"num_workers": 2, "prefetch_factor": -1}])
def test_bad_worker_options_raise_torchs_errors(options):
    with pytest.raises(ValueError) as theirs:
        torch.utils.data.DataLoader(list(range(4)), **options)
    with pytest.raises(ValueError) as ours:
        DataLoader(TensorDataset(rg.arange(4)), **options)
    assert str(ours.value) == str(theirs.value)
