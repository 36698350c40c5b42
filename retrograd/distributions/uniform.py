"""Uniform(low, high): every value of [low, high) equally likely (PyTorch's `torch.distributions.Uniform`).

    log_prob(x) = -log(high - low) inside [low, high), -inf outside
    cdf(x)      = clamp((x - low) / (high - low), 0, 1)        icdf(u) = low + u (high - low)
    entropy     = log(high - low)
    rsample     = low + u (high - low), u ~ U[0, 1)   (PyTorch's `rand` draw: the same bits after the same seed)

Through rsample dx/dlow = 1 - u and dx/dhigh = u; d log_prob/dlow = 1 / (high - low) = -d log_prob/dhigh.
"""
import math
import numbers

from ..random import rand
from ..tensor import Size
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class Uniform(Distribution):
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high, names=["low", "high"], owner="Uniform")
        scalars = isinstance(low, numbers.Number) and isinstance(high, numbers.Number)
        super().__init__(() if scalars else self.low.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Uniform, _instance)
        batch_shape = Size(batch_shape)
        new.low, new.high = self.low.expand(*batch_shape), self.high.expand(*batch_shape)
        return self._finish_expand(new, batch_shape)

    @property
    def arg_constraints(self):
        """low < high, each checked against the other (PyTorch's pair of constraints)."""
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        """NaN: every point of the interval is a mode."""
        return math.nan * self.high

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        """low + u (high - low), u = rand(shape) in the parameters' dtype."""
        shape = self._extended_shape(sample_shape)
        unit = rand(*shape, dtype=self.low.dtype)
        return self.low + unit * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value).to(self.low.dtype) * (self.high > value).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()
