"""Sparse layers: Embedding, a lookup table of rows (PyTorch's torch.nn.modules.sparse)."""
import numpy as np

from ..ops import linalg
from ..tensor import Tensor, empty
from . import init
from .module import Module, Parameter
from ..device import check_device


class Embedding(Module):
    """A lookup table: row `i` of `weight` (num_embeddings, embedding_dim) for index i; weight ~ N(0, 1).

    The row at `padding_idx` is initialised to zeros and never receives a gradient."""

    _tensor_args = 1

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, scale_grad_by_freq=False,
                 sparse=False, _weight=None, _freeze=False, dtype=None, device=None):
        super().__init__()
        check_device(device, type(self).__name__)
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), got "
                                 f"{padding_idx}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype), requires_grad=not _freeze)
            init.normal_(self.weight)
            if padding_idx is not None:
                self.weight.array[padding_idx] = 0
        else:
            array = _weight.array if isinstance(_weight, Tensor) else np.asarray(_weight)
            if array.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {array.shape}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(Tensor(array.copy()), requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, **kwargs):
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze, **kwargs)

    def forward(self, indices):
        return linalg.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
