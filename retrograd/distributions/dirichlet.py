"""Dirichlet(concentration): distributions over the simplex of K categories' probabilities, alpha of shape
batch_shape + (K,) (PyTorch's `torch.distributions.Dirichlet`; event_shape (K,)).

    log_prob(x) = sum_k (alpha_k - 1) log x_k + lgamma(alpha_0) - sum_k lgamma(alpha_k),  alpha_0 = sum_k alpha_k
    entropy     = sum_k lgamma(alpha_k) - lgamma(alpha_0) - (K - alpha_0) digamma(alpha_0)
                  - sum_k (alpha_k - 1) digamma(alpha_k)
    mean = alpha / alpha_0,  variance = alpha (alpha_0 - alpha) / (alpha_0^2 (alpha_0 + 1))
    mode = (alpha - 1)+ / sum (alpha - 1)+, and the first corner e_0 where every alpha_k < 1 (PyTorch's choice:
           the argmax of its all-NaN row)

`sample` normalises independent Gamma(alpha_k, 1) draws (gamma_sampling.py), clamped to [tiny, 1 - ulp] as
PyTorch's; `rsample` is not offered (PyTorch's implicit gradient, _dirichlet_grad, is not reproduced).
"""
import numpy as np

from ..ops.elementwise import where
from ..ops.gamma_functions import digamma, lgamma
from ..ops.special import xlogy
from ..tensor import Size, tensor
from . import constraints
from .distribution import Distribution
from .gamma_sampling import standard_gamma


class Dirichlet(Distribution):
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = False

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

    def sample(self, sample_shape=()):
        """Gamma(alpha_k, 1) draws over their sum, no graph."""
        shape = self._extended_shape(sample_shape)
        alpha = self.concentration.detach().expand(*shape).numpy()
        gammas = standard_gamma(alpha, np.float64)
        with np.errstate(invalid="ignore"):
            draws = gammas / gammas.sum(-1, keepdims=True)
        draws = draws.astype(alpha.dtype)
        return tensor(np.clip(draws, np.finfo(alpha.dtype).tiny, np.nextafter(alpha.dtype.type(1), 0)))

    def rsample(self, sample_shape=()):
        """Not offered: see the module docstring."""
        raise NotImplementedError(f"{type(self).__name__}.rsample: reparameterised Dirichlet draws (PyTorch's "
                                  f"implicit gradient) are not implemented in retrograd; use sample() for draws "
                                  f"without a gradient")

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
