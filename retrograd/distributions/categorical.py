"""Categorical: K classes with probabilities p_k (PyTorch's `torch.distributions.Categorical`).

Given `probs` (any non-negative weights) or `logits` (any reals), the distribution keeps the normalised one
and computes the other on first use:

    probs  = w / sum(w)                    logits = z - logsumexp(z)    (normalised log-probabilities)
    logits = log(clamp(probs, eps, 1-eps))  probs = softmax(z)

    log_prob(k) = logits[k]                                  (a gather: the gradient flows to that logit)
    entropy     = -sum_k p_k logits_k   (logits clamped at the dtype's lowest value so 0 * -inf = 0)

Every step is a differentiable op, so `log_prob(a).backward()` reaches whatever made the probs or logits:
dlog p_a/dz_k = [k = a] - p_k for logits z, the policy-gradient identity REINFORCE uses.
`sample` draws with `multinomial(probs, n, replacement=True)` exactly as PyTorch does, so after the same
`manual_seed` the draws are PyTorch's, bit for bit.
"""
import math

import numpy as np

from ..ops.reduce import logsumexp
from ..random import multinomial
from ..tensor import Size, Tensor, arange, full
from . import constraints
from .distribution import Distribution
from .utils import lazy_property, logits_to_probs, probs_to_logits


class Categorical(Distribution):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, param = ("probs", probs) if probs is not None else ("logits", logits)
        if not isinstance(param, Tensor):
            raise TypeError(f"Categorical: `{name}` must be a Tensor, got {type(param).__name__}")
        if param.dim() < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logsumexp(logits, -1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = Size(batch_shape)
        param_shape = tuple(batch_shape) + (self._num_events,)
        for name in ("probs", "logits"):  # the given parameter, and the other if it was computed already
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(*param_shape))
                new._param = getattr(new, name)
        new._num_events = self._num_events
        return self._finish_expand(new, batch_shape)

    @lazy_property
    def logits(self):
        """Normalised log-probabilities."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """Normalised probabilities."""
        return logits_to_probs(self.logits)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        """NaN: the classes are labels, not numbers (PyTorch's choice)."""
        return full(self._extended_shape(), math.nan, dtype=self.probs.dtype)

    @property
    def variance(self):
        return full(self._extended_shape(), math.nan, dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    def sample(self, sample_shape=()):
        """Class indices of shape sample_shape + batch_shape: multinomial with replacement on each row."""
        sample_shape = Size(sample_shape)
        rows = self.probs.detach().reshape(-1, self._num_events)
        draws = multinomial(rows, sample_shape.numel(), True).T
        return draws.reshape(*self._extended_shape(sample_shape))

    def log_prob(self, value):
        """logits[value], value broadcast against the batch."""
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(value.shape, self.logits.shape)
        log_pmf = self.logits.expand(*shape)
        return log_pmf.gather(-1, value.expand(*shape[:-1], 1)).squeeze(-1)

    def entropy(self):
        lowest = float(np.finfo(self.logits.dtype).min)
        p_log_p = self.logits.clamp(min=lowest) * self.probs
        return -p_log_p.sum(-1)

    def enumerate_support(self, expand=True):
        """0 .. K-1 along the first axis, expanded over the batch (or with size-1 batch axes)."""
        values = arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values
