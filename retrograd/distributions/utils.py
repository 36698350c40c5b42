"""Helpers shared by the distributions (PyTorch's `torch.distributions.utils`): broadcasting parameters,
converting between probabilities and logits, and the lazily computed parameter."""
import numbers

import numpy as np

from ..autograd import enable_grad
from ..dtypes import _default_dtype
from ..ops.activation import clamp, sigmoid, softmax
from ..tensor import Tensor, tensor


def broadcast_all(*values, names=None, owner="broadcast_all"):
    """Tensors and numbers -> Tensors of one broadcast shape; a number takes the dtype of the first
    Tensor (the default dtype if there is none). Expanding keeps the gradient flowing to the originals."""
    for index, value in enumerate(values):
        if not isinstance(value, Tensor) and (isinstance(value, (complex, np.complexfloating))
                                              or not isinstance(value, numbers.Number)):
            name = names[index] if names else f"argument {index}"
            raise ValueError(f"{owner}: input arguments must all be instances of Number or retrograd.Tensor, "
                             f"got {type(value).__name__} for {name}")
    dtype = next((value.dtype for value in values if isinstance(value, Tensor)), _default_dtype[0])
    tensors = [value if isinstance(value, Tensor) else tensor(value, dtype=dtype) for value in values]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        raise ValueError(f"{owner}: the shapes {shapes} do not broadcast together") from None
    return tuple(t if t.shape == shape else t.expand(*shape) for t in tensors)


def clamp_probs(probs):
    """Probabilities clamped to [eps, 1 - eps], eps the dtype's machine epsilon (so their log is finite)."""
    eps = float(np.finfo(probs.dtype).eps)
    return clamp(probs, min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """log p (categorical), or the log-odds log p - log(1 - p) (binary), of the clamped probabilities."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


def logits_to_probs(logits, is_binary=False):
    """sigmoid(logits) (binary), softmax over the last axis (categorical)."""
    if is_binary:
        return sigmoid(logits)
    return softmax(logits, dim=-1)


class lazy_property:
    """A parameter computed from the other on first use, then kept on the instance (so `logits` of a
    distribution made from `probs` is computed once, with the gradient recorded even under no_grad,
    as PyTorch does)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def sum_rightmost(value, dim):
    """`value` summed over its last `dim` axes (none for dim = 0): log-densities of independent axes add up."""
    if dim == 0:
        return value
    return value.reshape(*value.shape[:value.dim() - dim], -1).sum(-1)
