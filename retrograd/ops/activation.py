"""Activation functions, each with its VJP; kinks follow PyTorch (stated per op)."""
import numpy as np

from .base import array_of, record, to_float


def sigmoid(x):
    """y = 1 / (1 + e^-x) ;  dL/dx = g * y * (1 - y).  Saves y: the derivative needs only the output."""
    x_val = to_float(array_of(x))
    y = 0.5 * (1 + np.tanh(0.5 * x_val))  # no overflow for large |x|, unlike 1 / (1 + exp(-x))
    return record(sigmoid, y, (x,), lambda grad_out: (grad_out * y * (1 - y),))


def tanh(x):
    """y = tanh(x) ;  dL/dx = g * (1 - y^2).  Saves y: the derivative needs only the output."""
    y = np.tanh(to_float(array_of(x)))
    return record(tanh, y, (x,), lambda grad_out: (grad_out * (1 - y * y),))


def relu(x):
    """y = max(x, 0) ;  dL/dx = g where y > 0, else 0.

    At x = 0 the subgradient is 0 (PyTorch's and JAX's choice). Saves y (x > 0 iff y > 0)."""
    y = np.maximum(array_of(x), 0)
    return record(relu, y, (x,), lambda grad_out: (grad_out * (y > 0),))


def clamp(x, min=None, max=None):
    raise NotImplementedError


def softmax(x, dim=None):
    raise NotImplementedError


def log_softmax(x, dim=None):
    raise NotImplementedError
