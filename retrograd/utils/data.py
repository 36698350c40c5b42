"""`retrograd.utils.data`: the names of PyTorch's `torch.utils.data` that retrograd has.

They live in `retrograd.data` (with retrograd's own additions: stateful layouts, MNIST, text);
this module gives them PyTorch's import path, so `from torch.utils.data import DataLoader`
becomes `from retrograd.utils.data import DataLoader` and means the same class.
"""
from ..data.dataset import Dataset, Subset, TensorDataset, random_split
from ..data.distributed import DistributedSampler
from ..data.loader import DataLoader, default_collate

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate",
           "DistributedSampler"]
