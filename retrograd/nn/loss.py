"""Loss modules: hold a loss's options (and class weights as buffers, as PyTorch does) and call its op.

Constructor arguments, attribute names and state_dict keys are PyTorch's. The repr shows only the
options that differ from the defaults, so a default loss prints as in PyTorch (`CrossEntropyLoss()`).
"""
import numpy as np

from ..ops import loss as F
from ..ops.loss import _reduction_mode
from ..tensor import Tensor
from .module import Module


def _as_buffer(value):
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value))


class _Loss(Module):
    _tensor_args = 2
    _defaults = {"reduction": "mean"}

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = _reduction_mode(reduction, size_average, reduce, ("mean", "sum", "none", "batchmean"))

    def extra_repr(self):
        return ", ".join(f"{name}={getattr(self, name)!r}" for name, default in self._defaults.items()
                         if getattr(self, name) != default)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer(weight))


class MSELoss(_Loss):
    """Mean squared error: (x - y)^2 per element, then `reduction`."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: |x - y| per element (subgradient 0 at x = y), then `reduction`."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic for |x - y| < beta, linear beyond (slope 1)."""
    _defaults = {"reduction": "mean", "beta": 1.0}

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic for |x - y| < delta, linear beyond (slope delta)."""
    _defaults = {"reduction": "mean", "delta": 1.0}

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities in [0, 1] (logs clamped at -100); `weight` is a buffer."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, fused and stable for any logit; `weight` and `pos_weight` are buffers."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer(weight))
        self.register_buffer("pos_weight", _as_buffer(pos_weight))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices given log-probabilities; `weight` (C,) is a buffer."""
    _defaults = {"reduction": "mean", "ignore_index": -100}

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Fused log-softmax + NLL on logits (class indices or class probabilities); `weight` (C,) is a buffer.

    dL/dz = (softmax(z) - onehot(y)) / N for index targets with the defaults; see
    `retrograd.ops.loss.cross_entropy` for weights, ignore_index and label smoothing."""
    _defaults = {"reduction": "mean", "ignore_index": -100, "label_smoothing": 0.0}

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class KLDivLoss(_Loss):
    """KL divergence with log-probability inputs; use reduction='batchmean' for the true KL per sample."""
    _defaults = {"reduction": "mean", "log_target": False}

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
