"""kl_divergence(p, q) = KL(p || q) = E_p[log p(x) - log q(x)], batched over batch_shape, and register_kl
(PyTorch's `torch.distributions.kl`): the closed forms for pairs of each distribution here, composed
of differentiable ops so the divergence is a loss that trains both sides.

    Categorical  sum_k p_k (log p_k - log q_k)                       (inf where q_k = 0 < p_k; 0 * log 0 = 0)
    Bernoulli    p (softplus(-z_q) - softplus(-z_p)) + (1 - p) (softplus(z_q) - softplus(z_p)),  z the logits
    Normal       1/2 (r + ((mu_p - mu_q) / sigma_q)^2 - 1 - log r),  r = (sigma_p / sigma_q)^2
    Uniform      log((high_q - low_q) / (high_p - low_p))               (inf where p's interval leaves q's)
    Laplace      -log r + |mu_p - mu_q| / b_q + r e^(-|mu_p - mu_q| / b_p) - 1,  r = b_p / b_q
    Exponential  -log r + r - 1,  r = lambda_q / lambda_p
    Independent  the base distributions' divergence summed over the reinterpreted axes
    OneHotCategorical  the Categoricals'
    MultivariateNormal  sum log diag L_q - sum log diag L_p + 1/2 (|L_q^{-1} L_p|_F^2 + |L_q^{-1}(mu_q - mu_p)|^2 - n)

A pair of types finds its function as in PyTorch: the most specific registered (type_p, type_q) for the
subclasses given, so a subclass of Normal uses Normal's formula unless it registers its own.
"""
import math

import numpy as np

from ..ops.activation import softplus
from ..ops.elementwise import where
from ..ops.factorization import solve_triangular
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .exponential import Exponential
from .independent import Independent
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal, _batch_mahalanobis, _diagonal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform
from .utils import sum_rightmost

_KL_REGISTRY = {}  # (type_p, type_q) -> function(p, q)


def register_kl(type_p, type_q):
    """Decorator: @register_kl(P, Q) makes kl_divergence(p, q) call the function for p a P and q a Q."""
    for name, kind in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(kind, type) and issubclass(kind, Distribution)):
            raise TypeError(f"register_kl: expected {name} to be a Distribution subclass but got {kind!r}")

    def decorator(function):
        _KL_REGISTRY[type_p, type_q] = function
        return function

    return decorator


def _most_specific(type_p, type_q):
    """The registered pair closest to (type_p, type_q) by method resolution order (p's first), or None."""
    matches = [pair for pair in _KL_REGISTRY if issubclass(type_p, pair[0]) and issubclass(type_q, pair[1])]
    if not matches:
        return None
    return min(matches, key=lambda pair: (type_p.__mro__.index(pair[0]), type_q.__mro__.index(pair[1])))


def kl_divergence(p, q):
    """KL(p || q), of shape batch_shape."""
    pair = _most_specific(type(p), type(q))
    if pair is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
                                  f"{type(q).__name__}")
    return _KL_REGISTRY[pair](p, q)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    terms = p.probs * (p.logits - q.logits)
    terms = where((q.probs == 0).expand_as(terms), math.inf, terms)  # p puts mass where q has none
    terms = where((p.probs == 0).expand_as(terms), 0.0, terms)       # 0 log 0 = 0
    return terms.sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    ones = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    ones = where(q.probs == 0, math.inf, ones)
    ones = where(p.probs == 0, 0.0, ones)
    zeros = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    zeros = where(q.probs == 1, math.inf, zeros)
    zeros = where(p.probs == 1, 0.0, zeros)
    return ones + zeros


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    variance_ratio = (p.scale / q.scale).pow(2)
    mean_term = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (variance_ratio + mean_term - 1 - variance_ratio.log())


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    result = where(q.low > p.low, math.inf, result)  # p has mass where q has none
    return where(q.high < p.high, math.inf, result)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + loc_abs_diff / q.scale + scale_ratio * (-loc_abs_diff / p.scale).exp() - 1


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(f"kl_divergence: Independent distributions with different "
                                  f"reinterpreted_batch_ndims ({p.reinterpreted_batch_ndims} vs "
                                  f"{q.reinterpreted_batch_ndims}) have no KL implemented (nor in PyTorch)")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot be "
                         "computed")
    p_tril, q_tril = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_log_det_ratio = _diagonal(q_tril).log().sum(-1) - _diagonal(p_tril).log().sum(-1)
    n = p.event_shape[0]
    batch = tuple(np.broadcast_shapes(q_tril.shape[:-2], p_tril.shape[:-2]))
    ratio = solve_triangular(q_tril.expand(*batch, n, n), p_tril.expand(*batch, n, n), upper=False)
    trace = ratio.pow(2).sum(-1).sum(-1)                     # trace(Sigma_q^{-1} Sigma_p)
    mahalanobis = _batch_mahalanobis(q_tril, q.loc - p.loc)
    return half_log_det_ratio + 0.5 * (trace + mahalanobis - n)
