"""Gamma(concentration, rate): shape alpha, rate beta (PyTorch's `torch.distributions.Gamma`).

    log_prob(x) = alpha log beta + (alpha - 1) log x - beta x - lgamma(alpha)     (xlogy: 0 log 0 = 0)
    entropy     = alpha - log beta + lgamma(alpha) + (1 - alpha) digamma(alpha)
    mean = alpha / beta,  mode = max((alpha - 1) / beta, 0),  variance = alpha / beta^2

d log_prob/d alpha = log beta + log x - digamma(alpha), d log_prob/d beta = alpha / beta - x, composed of
differentiable ops. `rsample` = z / beta with z ~ Gamma(alpha, 1) drawn as PyTorch draws it (gamma_sampling.py:
the same values after the same seed); dx/dbeta = -x / beta, and dz/dalpha is PyTorch's implicit
reparameterisation gradient. cdf(x) = P(alpha, beta x), the regularised incomplete gamma function (igamma);
as in PyTorch it has a gradient for beta and x but none for alpha (backward raises).
"""
import numbers

import numpy as np

from ..ops.gamma_functions import digamma, igamma, lgamma
from ..ops.special import xlogy
from ..tensor import Size, Tensor, as_tensor
from . import constraints
from .distribution import Distribution
from .gamma_sampling import standard_gamma_op
from .utils import broadcast_all


class Gamma(Distribution):
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate, names=["concentration", "rate"],
                                                      owner=type(self).__name__)
        scalars = isinstance(concentration, numbers.Number) and isinstance(rate, numbers.Number)
        super().__init__(() if scalars else self.concentration.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(*batch_shape)
        new.rate = self.rate.expand(*batch_shape)
        return self._finish_expand(new, batch_shape)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        """z / rate, z ~ Gamma(concentration, 1) (PyTorch's draw), clamped below at the dtype's smallest normal
        number outside the graph, as PyTorch does."""
        shape = self._extended_shape(sample_shape)
        value = standard_gamma_op(self.concentration.expand(*shape)) / self.rate.expand(*shape)
        np.maximum(value.array, np.finfo(value.dtype).tiny, out=value.array)  # PyTorch's value.detach().clamp_()
        return value

    def log_prob(self, value):
        value = value if isinstance(value, Tensor) else as_tensor(value, dtype=self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value)
                - self.rate * value - lgamma(self.concentration))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return igamma(self.concentration, self.rate * value)

    def entropy(self):
        return (self.concentration - self.rate.log() + lgamma(self.concentration)
                + (1.0 - self.concentration) * digamma(self.concentration))
