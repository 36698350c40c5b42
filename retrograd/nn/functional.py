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
from ..ops.conv import conv1d, conv2d  # noqa: F401
from ..ops.conv_transpose import conv_transpose1d, conv_transpose2d  # noqa: F401
from ..ops.linalg import embedding as _embedding
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div, l1_loss, mse_loss,
    nll_loss, smooth_l1_loss,
)
from ..ops.norm import batch_norm as _batch_norm
from ..ops.norm import layer_norm  # noqa: F401
from ..ops.pool import (  # noqa: F401
    adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d, max_unpool2d,
)
from ..ops.shape import pad  # noqa: F401
from ..tensor import Tensor, default_generator


def dropout(x, p=0.5, training=True, inplace=False):
    """y = x * m / (1 - p) with m ~ Bernoulli(1 - p) per element (inverted dropout);
    dL/dx = g * m / (1 - p). Identity when not training. Composed from `mul`."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x
    if x.dtype.kind not in "fc":  # the scaled result cannot be cast back (PyTorch's error)
        raise RuntimeError(f"dropout: result type Float can't be cast to the desired output type {x.dtype} "
                           f"(convert the input with .float())")
    keep = default_generator().random(x.shape) >= p
    scale = np.asarray(0.0 if p == 1 else 1.0 / (1 - p), dtype=x.dtype)
    return _mul(x, keep * scale)


def embedding(input, weight, padding_idx=None):
    """Rows of `weight` looked up by `input` (see ops.linalg.embedding for the gradient)."""
    return _embedding(input, weight, padding_idx)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """PyTorch's argument order for ops.norm.batch_norm."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding of class indices (not differentiable), like torch.nn.functional.one_hot."""
    index = np.asarray(tensor.array if isinstance(tensor, Tensor) else tensor)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor, got dtype {index.dtype}")
    if index.size == 0 and num_classes < 0:
        raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
    if index.size and index.min() < 0:  # numpy would wrap -1 round to the last class
        raise RuntimeError(f"one_hot: Class values must be non-negative, got {int(index.min())}")
    classes = int(index.max()) + 1 if num_classes < 0 else num_classes
    if index.size and index.max() >= classes:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes ({classes}), got "
                           f"{int(index.max())}")
    return Tensor._from_array(np.eye(classes, dtype=np.int64)[index])


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
