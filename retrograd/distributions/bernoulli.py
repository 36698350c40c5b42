"""Bernoulli: 1 with probability p, else 0 (PyTorch's `torch.distributions.Bernoulli`).

Given `probs` p or `logits` z (the log-odds), the other is computed on first use:
p = sigmoid(z), z = log(p) - log(1 - p) with p clamped to [eps, 1 - eps].

    log_prob(x) = x log p + (1 - x) log(1 - p) = -BCEWithLogits(z, x)
    entropy     = -p log p - (1 - p) log(1 - p) = BCEWithLogits(z, p)

The fused, overflow-free binary cross-entropy carries the gradient to z (sigmoid(z) - x) and, for the
entropy, to p as well (-z): d entropy/dz = -z p (1 - p) once both paths are added, as in PyTorch.
"""
import math
import numbers

from ..autograd import no_grad
from ..ops.elementwise import where
from ..ops.loss import binary_cross_entropy_with_logits
from ..random import bernoulli
from ..tensor import Size, arange
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits


class Bernoulli(Distribution):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, param = ("probs", probs) if probs is not None else ("logits", logits)
        (param,) = broadcast_all(param, names=[name], owner="Bernoulli")
        setattr(self, name, param)
        self._param = param
        is_scalar = isinstance(probs if probs is not None else logits, numbers.Number)
        super().__init__(() if is_scalar else param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = Size(batch_shape)
        for name in ("probs", "logits"):  # the given parameter, and the other if it was computed already
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(*batch_shape))
                new._param = getattr(new, name)
        return self._finish_expand(new, batch_shape)

    @lazy_property
    def logits(self):
        """The log-odds log(p / (1 - p))."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The probability of a 1."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        """1 where p > 1/2, 0 where p < 1/2, NaN at p = 1/2 (no single mode)."""
        probs = self.probs.detach()
        return where(probs == 0.5, math.nan, (probs >= 0.5).to(probs.dtype))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """0/1 draws (in the parameter's dtype) of shape sample_shape + batch_shape: bernoulli(probs)."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return bernoulli(self.probs.detach().expand(*shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value, names=["logits", "value"], owner="Bernoulli.log_prob")
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        """[0, 1] along the first axis (in the parameter's dtype), expanded over the batch."""
        values = arange(2, dtype=self._param.dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values
