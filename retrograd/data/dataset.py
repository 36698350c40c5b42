"""Datasets with PyTorch's names: Dataset, TensorDataset, Subset, random_split.

A dataset is anything with `__getitem__(i)` and `__len__()`. Datasets that can produce a
whole batch at once with NumPy fancy indexing also define `_gather(indices)` (and may set
`_gather_enabled = False` to opt out), which `DataLoader` uses instead of a Python loop
over items and a collate: TensorDataset, MNIST, CharDataset, and Subsets of them.
"""
import math
import numbers

import numpy as np

from ..random import default_generator
from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split"]


class Dataset:
    """Base class: subclasses define `__getitem__(index)` and `__len__()`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _as_array(x, who):
    if isinstance(x, Tensor):
        return x.array
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{who}: expected Tensors or NumPy arrays, got {type(x).__name__}")


class TensorDataset(Dataset):
    """Item i is `tuple(t[i] for t in tensors)`; all tensors must share their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: at least one tensor is required")
        arrays = [_as_array(t, "TensorDataset") for t in tensors]
        for position, array in enumerate(arrays):
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {position} is 0-d; every tensor needs a first (sample) "
                                 f"dimension")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) > 1:
            shapes = ", ".join(f"tensor {i}: {tuple(a.shape)}" for i, a in enumerate(arrays))
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions {sizes} differ "
                             f"({shapes})")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor._from_array(t) for t in tensors)

    def __getitem__(self, index):
        return tuple(Tensor._from_array(np.asarray(t.array[index])) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].array.shape[0]

    def _gather(self, indices):
        """The batch for `indices` (an int array, or a slice) as a list of Tensors: one gather per tensor."""
        if isinstance(indices, slice):
            return [Tensor._from_array(t.array[indices].copy()) for t in self.tensors]
        return [Tensor._from_array(t.array[indices]) for t in self.tensors]


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)

def random_split(dataset, lengths, generator=None):
    """Split `dataset` into non-overlapping random Subsets of the given lengths.

    `lengths` are item counts summing to len(dataset), or fractions summing to 1: each
    subset then gets floor(n * fraction) items and the remainder is dealt one item at a time
    to the subsets in order (PyTorch's rule). The permutation comes from `generator` (a
    NumPy Generator), else from retrograd's generator (`retrograd.manual_seed`)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and not all(
            isinstance(x, numbers.Integral) for x in lengths):
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1: {fraction}")
        counts = [int(math.floor(n * fraction)) for fraction in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions summing to 1, "
                         f"got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n})")
    rng = generator if generator is not None else default_generator
    order = rng.permutation(n)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start:start + length].tolist()))
        start += length
    return subsets
