"""retrograd.nn.functional: the functional forms of the layers (PyTorch's names).

Everything here is an op from `retrograd.ops` (where its VJP and derivative
live) or a composition of ops; this module only gathers them.
"""
import warnings

import numpy as np

from ..ops import activation as _activation
from ..ops.activation import (  # noqa: F401
    clamp, elu, gelu, hardtanh, leaky_relu, log_softmax, logsigmoid, relu, relu6, sigmoid, silu, softmax,
    softmin, softplus, tanh, threshold,
)
from ..ops.activation_more import (  # noqa: F401
    celu, glu, hardshrink, hardsigmoid, hardswish, mish, prelu, rrelu, selu, softshrink, softsign, tanhshrink,
)
from ..ops.attention import scaled_dot_product_attention  # noqa: F401
from ..ops.bilinear import bilinear  # noqa: F401
from ..ops.distance import cosine_similarity, normalize, pairwise_distance  # noqa: F401
from ..ops.cdist import pdist  # noqa: F401
from ..ops.elementwise import mul as _mul
from ..ops.fold import fold, unfold  # noqa: F401
from ..ops.conv import conv1d, conv2d  # noqa: F401
from ..ops.conv_transpose import conv_transpose1d, conv_transpose2d  # noqa: F401
from ..ops.linalg import embedding as _embedding
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div, l1_loss, mse_loss,
    nll_loss, smooth_l1_loss,
)
from ..ops.loss_composed import (  # noqa: F401
    cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss, margin_ranking_loss, multi_margin_loss,
    multilabel_soft_margin_loss, poisson_nll_loss, soft_margin_loss, triplet_margin_loss,
)
from ..ops.norm import batch_norm as _batch_norm
from ..ops.norm import layer_norm  # noqa: F401
from ..ops.norm_groups import group_norm, instance_norm, local_response_norm, rms_norm  # noqa: F401
from ..ops.pool import (  # noqa: F401
    adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d, max_unpool2d,
)
from ..ops.pool_adaptive1d import adaptive_avg_pool1d, adaptive_max_pool1d  # noqa: F401
from ..ops.resample import interpolate, pixel_shuffle, pixel_unshuffle  # noqa: F401
from ..ops.shape import pad  # noqa: F401
from ..ops.shape import squeeze as _squeeze
from ..ops.shape import unsqueeze as _unsqueeze
from ..random import bernoulli_draws
from ..tensor import Tensor


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
    keep = bernoulli_draws(1.0 - p, x.shape)  # PyTorch's noise.bernoulli_(1 - p): one 53-bit draw per element
    scale = _dropout_scale(p, x.dtype)
    return _mul(x, keep * scale)


def _dropout_scale(p, dtype):
    """PyTorch's noise.div_(1 - p): 1 / (1 - p) computed in the input's dtype."""
    one_minus_p = np.asarray(1.0 - p, dtype=dtype)
    return np.asarray(0.0, dtype=dtype) if p == 1 else np.asarray(1.0, dtype=dtype) / one_minus_p


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


def _feature_dropout(x, p, training):
    """Channel dropout, PyTorch's feature_dropout: y = x * m / (1 - p) with one Bernoulli(1 - p) draw m per
    (dim 0, dim 1) pair, i.e. per (sample, channel) map, broadcast over the other dims; dL/dx = g * m / (1 - p)."""
    if not training or p == 0:
        return x
    if x.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"dropout: result type Float can't be cast to the desired output type {x.dtype} "
                           f"(convert the input with .float())")
    mask_shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    keep = bernoulli_draws(1.0 - p, mask_shape)  # PyTorch's noise (N, C, 1, ...).bernoulli_(1 - p)
    scale = _dropout_scale(p, x.dtype)
    return _mul(x, keep * scale)


def dropout1d(x, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, L) or unbatched (C, L): each length-L channel is kept (and scaled by 1/(1-p))
    or zeroed whole; see `_feature_dropout` for the gradient."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout1d: dropout probability has to be between 0 and 1, but got {p}")
    if x.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input. Note that dropout1d "
                           f"exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
                           f"dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if x.ndim == 2:  # unbatched: one draw per channel
        return _squeeze(_feature_dropout(_unsqueeze(x, 0), p, training), 0)
    return _feature_dropout(x, p, training)


def dropout2d(x, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, H, W): each (sample, channel) map is kept (and scaled by 1/(1-p)) or zeroed
    whole; see `_feature_dropout` for the gradient. Other inputs do what PyTorch 2.13 does, with its warnings:
    a 3-D input is read as (N, C, L), not as an unbatched (C, H, W) (PyTorch keeps that for backward
    compatibility, pytorch/pytorch#77081), and other ranks drop per (dim 0, dim 1) entry."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: dropout probability has to be between 0 and 1, but got {p}")
    if x.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will result "
                      f"in an error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      f"inputs).", stacklevel=2)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    return _feature_dropout(x, p, training)
