"""Data: datasets, batching, stateful sequence layouts, MNIST and character-level text.

PyTorch's `torch.utils.data` names (Dataset, TensorDataset, Subset, DataLoader,
random_split, default_collate) with the same behaviour, plus what retrograd adds:
`stateful_batches` (Keras-style stateful layout with reset masks), the embedded MNIST test
set and tinyshakespeare excerpt (offline defaults), IDX and text loaders for any file.
"""
from .dataset import Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .loader import DataLoader, StatefulBatch, StatefulBatches, default_collate, stateful_batches
from .mnist import (
    MNIST, DownloadError, download_mnist, load_embedded_mnist, load_mnist_dir, load_mnist_idx, read_idx,
)
from .text import CharDataset, CharVocab, load_text

__all__ = [
    "Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate", "DistributedSampler",
    "stateful_batches", "StatefulBatches", "StatefulBatch",
    "MNIST", "load_mnist_idx", "load_mnist_dir", "load_embedded_mnist", "read_idx", "download_mnist", "DownloadError",
    "CharDataset", "CharVocab", "load_text",
]
