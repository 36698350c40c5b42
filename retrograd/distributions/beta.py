"""Beta(concentration1, concentration0): probabilities in [0, 1], alpha = concentration1, beta =
concentration0 (PyTorch's `torch.distributions.Beta`): the Dirichlet over (x, 1 - x) with concentration
(alpha, beta), which does the work, as in PyTorch.

    log_prob(x) = (alpha - 1) log x + (beta - 1) log(1 - x) + lgamma(alpha + beta) - lgamma(alpha) - lgamma(beta)
    mean = alpha / (alpha + beta),  variance = alpha beta / ((alpha + beta)^2 (alpha + beta + 1))

`rsample` is the first coordinate of the Dirichlet's draw, with its gradient (PyTorch's, see
dirichlet_sampling.py).
"""
import numbers

from ..ops.shape import stack
from ..tensor import Size, tensor
from . import constraints
from .dirichlet import Dirichlet
from .distribution import Distribution
from .utils import broadcast_all


class Beta(Distribution):
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        if isinstance(concentration1, numbers.Number) and isinstance(concentration0, numbers.Number):
            both = tensor([float(concentration1), float(concentration0)])
        else:
            concentration1, concentration0 = broadcast_all(concentration1, concentration0,
                                                           names=["concentration1", "concentration0"], owner="Beta")
            both = stack([concentration1, concentration0], -1)
        self._dirichlet = Dirichlet(both, validate_args=validate_args)
        super().__init__(self._dirichlet.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = Size(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        return self._finish_expand(new, batch_shape)

    @property
    def concentration1(self):
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._dirichlet.log_prob(stack([value, 1.0 - value], -1))

    def entropy(self):
        return self._dirichlet.entropy()
