"""Margin, embedding and likelihood losses, composed from ops as PyTorch composes them (ATen's Loss.cpp and
torch.nn.functional), so each gets its gradient, its kinks and its NaNs from those ops:

    margin_ranking_loss        max(0, -y (x1 - x2) + margin)                     (clamp: passes g at 0)
    hinge_embedding_loss       x where y = 1, max(0, margin - x) where y = -1    (clamp: passes g at 0)
    soft_margin_loss           log(1 + e^(-y x))
    multilabel_soft_margin_loss  -mean over classes of w (y log sigmoid(x) + (1 - y) log sigmoid(-x))
    cosine_embedding_loss      1 - cos where y = 1, max(0, cos - margin) where y = -1,
                               cos = x1.x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))
    triplet_margin_loss        max(0, margin + d(a, p) - d(a, n)), d = pairwise_distance, with swap
                               d(a, n) = min(d(a, n), d(p, n))                   (minimum splits ties)
    multi_margin_loss          sum over j != y of max(0, margin - x_y + x_j)^p * w_y / C  (relu: no g at 0,
                               PyTorch's 'z > 0' test)
    gaussian_nll_loss          (log v + (x - y)^2 / v) / 2 [+ log(2 pi) / 2], v floored at eps outside the graph
    poisson_nll_loss           e^x - y x (log_input) or x - y log(x + eps) [+ Stirling's term where y > 1]

`reduction` is 'mean', 'sum' or 'none' (the deprecated size_average/reduce flags are honoured as in PyTorch);
what the reduction divides by is stated per loss where it is not the element count.
"""
import math

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from .activation import clamp, logsigmoid, relu
from .base import array_of, needs_grad
from .distance import eps_floor, pairwise_distance
from .elementwise import add, div, exp, log, log1p, minimum, mul, neg, sqrt, sub, where
from .indexing import gather
from .loss import _reduction_mode
from .reduce import mean
from .reduce import sum as reduce_sum
from .shape import reshape, unsqueeze


def _reduce(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    return reduce_sum(loss) if reduction == "sum" else loss


def _refuse_gradient(op_name, argument, tensor):
    """PyTorch's error for an argument its kernel has no derivative for (it would be silently wrong here)."""
    if is_grad_enabled() and needs_grad(tensor):
        raise RuntimeError(f"The function '{op_name}' is not differentiable with respect to argument "
                           f"'{argument}'. This input cannot have requires_grad True.")


def _values(tensor_or_number):
    return array_of(tensor_or_number) if isinstance(tensor_or_number, Tensor) else np.asarray(tensor_or_number)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -y (x1 - x2) + margin) per element: y = 1 asks x1 to rank above x2, y = -1 below."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {_size(input1)}, input2: {_size(input2)}, target: {_size(target)} ")
    return _reduce(clamp(add(mul(neg(target), sub(input1, input2)), margin), min=0), reduction)


def _size(tensor):
    return f"torch.Size([{', '.join(str(size) for size in tensor.shape)}])"


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where y = 1 and max(0, margin - x) where y = -1, per element (x usually a distance)."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    y = _values(target)
    zeros = np.zeros((), array_of(input).dtype)
    margin_part = where(y != 1, clamp(sub(margin, input), min=0), zeros)
    return _reduce(add(margin_part, where(y != -1, input, zeros)), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + e^(-y x)) per element: the two-class logistic loss with labels y = +-1. As in PyTorch, the
    target gets no gradient (one that requires it is refused)."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    _refuse_gradient("soft_margin_loss", "target", target)
    return _reduce(log1p(exp(neg(mul(input, target)))), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-(1/C) sum over the C classes (last dim) of w (y log sigmoid(x) + (1 - y) log sigmoid(-x)), per sample;
    'mean' averages the samples."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    loss = neg(add(mul(target, logsigmoid(input)), mul(sub(1, target), logsigmoid(neg(input)))))
    if weight is not None:
        loss = mul(loss, weight)
    classes = input.shape[input.ndim - 1] if input.ndim else 1
    return _reduce(div(reduce_sum(loss, input.ndim - 1 if input.ndim else None), classes), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, per pair of rows (1-D inputs
    with a 0-d target: one pair); cos with 1e-12 added to each squared norm, as PyTorch."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    dim = target.ndim
    if dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.ndim != dim + 1 or input2.ndim != dim + 1:
        raise RuntimeError(f"{dim}D target tensor expects {dim + 1}D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    product = reduce_sum(mul(input1, input2), dim)
    squares1 = add(reduce_sum(mul(input1, input1), dim), 1e-12)
    squares2 = add(reduce_sum(mul(input2, input2), dim), 1e-12)
    cos = div(product, sqrt(mul(squares1, squares2)))
    y, zeros = _values(target), np.zeros((), array_of(cos).dtype)
    loss = add(where(y == 1, sub(1, cos), zeros), where(y == -1, clamp(sub(cos, margin), min=0), zeros))
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) per triplet, d = pairwise_distance(p, eps); with swap, d(a, n) is
    the smaller of d(a, n) and d(p, n) (Balntas et al.)."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    distance_positive = pairwise_distance(anchor, positive, p, eps)
    distance_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        distance_negative = minimum(distance_negative, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp(sub(add(distance_positive, margin), distance_negative), min=0), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """(1/C) sum over j != y of w_y * max(0, margin - x_y + x_j)^p per sample of (N, C) or (C,) input, y the
    target class. The kink takes no gradient (relu, as PyTorch's 'z > 0' test)."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _refuse_gradient("multi_margin_loss", "weight", weight)
    rows = input if input.ndim == 2 else reshape(input, (1, -1))  # a (C,) or 0-d input is one sample
    if input.ndim > 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    labels = np.asarray(_values(target)).reshape(-1)
    samples, classes = rows.shape
    if labels.shape[0] != samples or target.ndim > 1:
        raise RuntimeError(f"inconsistent target size, expected {samples} but got {list(target.shape)}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise RuntimeError("target out of range")
    picked = gather(rows, 1, Tensor(labels.reshape(-1, 1).astype(np.int64)))  # (N, 1): x_y
    hinge = relu(add(sub(margin, picked), rows))  # (N, C)
    if p == 2:
        hinge = mul(hinge, hinge)
    if weight is not None:
        hinge = mul(hinge, unsqueeze(gather(weight, 0, Tensor(labels.astype(np.int64))), 1))
    others = np.arange(classes) != labels[:, None]  # j != y
    loss = div(reduce_sum(where(others, hinge, np.zeros((), array_of(hinge).dtype)), 1), classes)
    if reduction == "none" and target.ndim == 0:  # PyTorch: one loss per target entry, 0-d for a 0-d target
        loss = reshape(loss, ())
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """(log v + (x - y)^2 / v) / 2 per element [+ log(2 pi) / 2 when full], v = max(var, eps) with the floor
    outside the graph (PyTorch's no-grad clamp_, so var keeps its gradient below eps). var has input's shape,
    or one dim less (a variance per row), or input's rank with a single dim of size 1 (shared along it)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = Tensor(np.full(input.shape, var, array_of(input).dtype))
    elif np.any(array_of(var) < 0):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = unsqueeze(var, -1)
        elif not (input.ndim == var.ndim and
                  sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = eps_floor(var, eps)
    difference = sub(input, target)
    loss = mul(add(log(var), div(mul(difference, difference), var)), 0.5)
    if full:
        loss = add(loss, 0.5 * math.log(2 * math.pi))
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """e^x - y x per element when x is the log-rate (log_input), else x - y log(x + eps); full adds Stirling's
    approximation of log(y!), y log y - y + log(2 pi y) / 2, where y > 1 (0 elsewhere)."""
    if size_average is not None or reduce is not None:
        reduction = _reduction_mode(reduction, size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = sub(exp(input), mul(target, input))
    else:
        loss = sub(input, mul(target, log(add(input, eps))))
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) where y = 0: masked out just below
            stirling = add(sub(mul(target, log(target)), target), mul(log(mul(target, 2 * math.pi)), 0.5))
        loss = add(loss, where(_values(target) <= 1, np.zeros((), array_of(stirling).dtype), stirling))
    return _reduce(loss, reduction)
