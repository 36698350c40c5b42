"""Exponential(rate): waiting times of rate lambda (PyTorch's `torch.distributions.Exponential`).

    log_prob(x) = log lambda - lambda x                 entropy = 1 - log lambda
    cdf(x)      = 1 - e^(-lambda x)                      icdf(u) = -log(1 - u) / lambda
    rsample     = e / lambda, e ~ Exp(1)   (PyTorch's `exponential_` draw: -log(1 - u) from its uniform u)

Through rsample dx/dlambda = -x / lambda; d log_prob/dlambda = 1 / lambda - x.
"""
import numbers

from ..tensor import Size, empty, zeros_like
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class Exponential(Distribution):
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate, names=["rate"], owner="Exponential")
        super().__init__(() if isinstance(rate, numbers.Number) else self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Exponential, _instance)
        batch_shape = Size(batch_shape)
        new.rate = self.rate.expand(*batch_shape)
        return self._finish_expand(new, batch_shape)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        """Exp(1) draws (exponential_, PyTorch's call) divided by the rate."""
        shape = self._extended_shape(sample_shape)
        return empty(*shape, dtype=self.rate.dtype).exponential_() / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()
