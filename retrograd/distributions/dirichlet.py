"""Dirichlet(concentration): distributions over the simplex of K categories' probabilities, alpha of shape
batch_shape + (K,) (PyTorch's `torch.distributions.Dirichlet`; event_shape (K,)).

    log_prob(x) = sum_k (alpha_k - 1) log x_k + lgamma(alpha_0) - sum_k lgamma(alpha_k),  alpha_0 = sum_k alpha_k
    entropy     = sum_k lgamma(alpha_k) - lgamma(alpha_0) - (K - alpha_0) digamma(alpha_0)
                  - sum_k (alpha_k - 1) digamma(alpha_k)
    mean = alpha / alpha_0,  variance = alpha (alpha_0 - alpha) / (alpha_0^2 (alpha_0 + 1))
    mode = (alpha - 1)+ / sum (alpha - 1)+, and the first corner e_0 where every alpha_k < 1 (PyTorch's choice:
           the argmax of its all-NaN row)

`rsample` normalises independent Gamma(alpha_k, 1) draws, PyTorch's after the same seed, and carries
PyTorch's implicit reparameterisation gradient to alpha (dirichlet_sampling.py).
"""
import numpy as np

from ..ops.elementwise import where
from ..ops.gamma_functions import digamma, lgamma
from ..ops.special import xlogy
from ..tensor import Size, tensor
from . import constraints
from .distribution import Distribution
from .dirichlet_sampling import dirichlet_op


class Dirichlet(Distribution):
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(*(batch_shape + self.event_shape))
        return self._finish_expand(new, batch_shape)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        excess = (self.concentration - 1).clamp(min=0.0)
        with np.errstate(invalid="ignore"):  # 0 / 0 in the rows replaced below
            mode = excess / excess.sum(-1, keepdim=True)
        all_below_one = np.all(self.concentration.detach().numpy() < 1, axis=-1, keepdims=True)
        first_corner = (np.arange(self.event_shape[0]) == 0).astype(mode.dtype)
        return where(tensor(np.broadcast_to(all_below_one, mode.shape)), tensor(first_corner), mode)

    @property
    def variance(self):
        total = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return dirichlet_op(self.concentration.expand(*shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration - 1.0, value).sum(-1) + lgamma(self.concentration.sum(-1))
                - lgamma(self.concentration).sum(-1))

    def entropy(self):
        k = self.concentration.shape[-1]
        total = self.concentration.sum(-1)
        return (lgamma(self.concentration).sum(-1) - lgamma(total) - (k - total) * digamma(total)
                - ((self.concentration - 1.0) * digamma(self.concentration)).sum(-1))
