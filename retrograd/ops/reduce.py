"""Reductions with `dim` and `keepdim`."""
import numpy as np

from .base import array_of, normalize_dims, record


def sum(x, dim=None, keepdim=False, dtype=None):
    """y = sum of x over `dim` ;  dL/dx = g broadcast back over the summed axes."""
    x_val = array_of(x)
    axes = normalize_dims(dim, x_val.ndim, "sum")
    y = np.sum(x_val, axis=axes, keepdims=keepdim)
    shape = x_val.shape

    def sum_backward(grad_out):
        if not keepdim and axes is not None:
            grad_out = np.expand_dims(grad_out, axes)
        return (np.broadcast_to(grad_out, shape),)

    return record(sum, np.asarray(y), (x,), sum_backward)


def mean(x, dim=None, keepdim=False, dtype=None):
    """y = mean of x over `dim` ;  dL/dx = g / n broadcast back, n = number of averaged entries."""
    x_val = array_of(x)
    axes = normalize_dims(dim, x_val.ndim, "mean")
    y = np.mean(x_val, axis=axes, keepdims=keepdim)
    shape = x_val.shape
    count = x_val.size // np.size(y) if np.size(y) else 1

    def mean_backward(grad_out):
        if not keepdim and axes is not None:
            grad_out = np.expand_dims(grad_out, axes)
        return (np.broadcast_to(grad_out / count, shape),)

    return record(mean, np.asarray(y), (x,), mean_backward)


prod = var = std = max = min = amax = amin = logsumexp = norm = argmax = argmin = None
