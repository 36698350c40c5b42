"""Normal(loc, scale): the Gaussian with mean mu = loc and standard deviation sigma = scale (PyTorch's
`torch.distributions.Normal`).

    log_prob(x) = -(x - mu)^2 / (2 sigma^2) - log sigma - log sqrt(2 pi)
    entropy     = 1/2 + 1/2 log(2 pi) + log sigma
    rsample     = mu + eps * sigma, eps ~ N(0, 1)   (the reparameterisation trick)
    cdf(x)      = 1/2 (1 + erf((x - mu) / (sigma sqrt 2)))
    icdf(u)     = mu + sigma sqrt(2) erfinv(2u - 1)

All of them are composed of differentiable ops, so the gradient reaches loc and scale: dlog_prob/dmu =
(x - mu) / sigma^2, dlog_prob/dsigma = (x - mu)^2 / sigma^3 - 1 / sigma; through rsample, dx/dmu = 1 and
dx/dsigma = eps. `sample` and `rsample` draw from PyTorch's normal stream (see retrograd.random).
"""
import math
import numbers

from ..autograd import no_grad
from ..ops.special import erf, erfinv
from ..random import normal, randn
from . import constraints
from ..tensor import Size
from .distribution import Distribution
from .utils import broadcast_all


class Normal(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale, names=["loc", "scale"], owner="Normal")
        scalars = isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number)
        super().__init__(() if scalars else self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Normal, _instance)
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
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def sample(self, sample_shape=()):
        """Draws of shape sample_shape + batch_shape, no graph: normal(loc, scale), PyTorch's call."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return normal(self.loc.detach().expand(*shape), self.scale.detach().expand(*shape))

    def rsample(self, sample_shape=()):
        """loc + eps * scale with eps ~ N(0, 1): the draw carries the gradient to loc and scale."""
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        variance = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * variance) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)
