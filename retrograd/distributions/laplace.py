"""Laplace(loc, scale): the double exponential around mu = loc with scale b (PyTorch's
`torch.distributions.Laplace`).

    log_prob(x) = -log(2b) - |x - mu| / b                    entropy = 1 + log(2b)
    cdf(x)      = 1/2 - 1/2 sign(x - mu) expm1(-|x - mu| / b)
    icdf(u)     = mu - b sign(u - 1/2) log1p(-2 |u - 1/2|)
    rsample     = mu - b sign(u) log1p(-|u|), u ~ U[eps - 1, 1)   (PyTorch's `uniform_` draw and formula)

d log_prob/dmu = sign(x - mu) / b (0 at x = mu, the subgradient `abs` takes); through rsample dx/dmu = 1 and
dx/db = -sign(u) log1p(-|u|).
"""
import numbers

import numpy as np

from ..tensor import Size, empty
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class Laplace(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale, names=["loc", "scale"], owner="Laplace")
        scalars = isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number)
        super().__init__(() if scalars else self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Laplace, _instance)
        batch_shape = Size(batch_shape)
        new.loc, new.scale = self.loc.expand(*batch_shape), self.scale.expand(*batch_shape)
        return self._finish_expand(new, batch_shape)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=()):
        """u uniform in [eps - 1, 1) (eps the dtype's: log1p(-|u|) stays finite), then mu - b sign(u) log1p(-|u|)."""
        shape = self._extended_shape(sample_shape)
        eps = float(np.finfo(self.loc.dtype).eps)
        unit = empty(*shape, dtype=self.loc.dtype).uniform_(eps - 1, 1)
        return self.loc - self.scale * unit.sign() * (-unit.abs()).log1p()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()
