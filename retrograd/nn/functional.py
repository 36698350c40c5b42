"""retrograd.nn.functional: the functional forms of the layers (PyTorch's names).

Everything here is an op from `retrograd.ops` (where its VJP and derivative
live) or a composition of ops; this module only gathers them.
"""
import numpy as np

from ..ops import activation as _activation
from ..ops.activation import (  # noqa: F401
    clamp, elu, gelu, hardtanh, leaky_relu, log_softmax, logsigmoid, relu, relu6, sigmoid, silu, softmax,
    softmin, softplus, tanh,
)
from ..ops.elementwise import mul as _mul
from ..ops.linalg import linear  # noqa: F401
from ..ops.shape import pad  # noqa: F401
from ..tensor import default_generator


def dropout(x, p=0.5, training=True, inplace=False):
    """y = x * m / (1 - p) with m ~ Bernoulli(1 - p) per element (inverted dropout);
    dL/dx = g * m / (1 - p). Identity when not training. Composed from `mul`."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x
    keep = default_generator().random(x.shape) >= p
    scale = np.asarray(0.0 if p == 1 else 1.0 / (1 - p), dtype=x.dtype)
    return _mul(x, keep * scale)


def relu_(x):
    return x.relu_()


del _activation


def dropout2d(x, p=0.5, training=True, inplace=False):
    """Channel dropout: y = x * m / (1 - p) with one Bernoulli(1 - p) draw per (N, C) map, broadcast
    over H and W; dL/dx = g * m / (1 - p)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
    mask_shape = tuple(x.shape[:-2]) + (1, 1)
    keep = default_generator().random(mask_shape) >= p
    scale = np.asarray(0.0 if p == 1 else 1.0 / (1 - p), dtype=x.dtype)
    return _mul(x, keep * scale)
