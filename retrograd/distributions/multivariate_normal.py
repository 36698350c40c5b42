"""MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril): the Gaussian over vectors of
length n with mean mu and covariance Sigma = L L^T (PyTorch's `torch.distributions.MultivariateNormal`).
Everything is computed from the Cholesky factor L (given, or `cholesky(Sigma)`, or from the precision P by
factoring P with its rows and columns reversed, as PyTorch does, so L comes out lower triangular):

    log_prob(x) = -1/2 (n log(2 pi) + |L^{-1}(x - mu)|^2) - sum_i log L_ii
    entropy     = n/2 (1 + log(2 pi)) + sum_i log L_ii
    rsample     = mu + L eps, eps ~ N(0, I)   (PyTorch's normal stream)

The triangular solve and the Cholesky factor are ops with VJPs (retrograd/ops/factorization.py), so the
gradient reaches loc and whichever matrix was given.
"""
import math

import numpy as np

from ..ops.factorization import cholesky, cholesky_inverse, solve_triangular
from ..random import randn
from ..tensor import Size, Tensor, eye
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

_MATRICES = ("covariance_matrix", "precision_matrix", "scale_tril")


def _diagonal(matrices):
    """The diagonals of (..., n, n) matrices (a product with the identity, so the gradient lands there)."""
    return (matrices * eye(matrices.shape[-1], dtype=matrices.dtype)).sum(-1)


def _batch_mahalanobis(scale_tril, diff):
    """|L^{-1} x|^2 for batches of L and x that broadcast against each other."""
    return solve_triangular(scale_tril, diff.unsqueeze(-1), upper=False).squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(precision):
    """L with L L^T = P^{-1}: the factor of P with reversed axes, flipped back and transposed, is L^{-1}."""
    factor = cholesky(precision.flip((-2, -1)))
    scale_tril_inverse = factor.flip((-2, -1)).transpose(-2, -1)
    return solve_triangular(scale_tril_inverse, eye(precision.shape[-1], dtype=precision.dtype), upper=False)


class MultivariateNormal(Distribution):
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if not isinstance(loc, Tensor):
            raise TypeError(f"MultivariateNormal: `loc` must be a Tensor, got {type(loc).__name__}")
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {name: value for name, value in zip(_MATRICES, (covariance_matrix, precision_matrix, scale_tril))
                 if value is not None}
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        (name, matrix), = given.items()
        if not isinstance(matrix, Tensor):
            raise TypeError(f"MultivariateNormal: `{name}` must be a Tensor, got {type(matrix).__name__}")
        if matrix.dim() < 2:
            raise ValueError(f"{'scale_tril matrix' if name == 'scale_tril' else name} must be at least "
                             f"two-dimensional, with optional leading batch dimensions")
        batch_shape = Size(np.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1]))
        setattr(self, name, matrix.expand(*batch_shape, -1, -1))
        self.loc = loc.expand(*batch_shape, -1)
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        new.loc = self.loc.expand(*batch_shape, *self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in _MATRICES:
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(*batch_shape, *self._event_shape, *self._event_shape))
        return self._finish_expand(new, batch_shape)

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(*self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        factor = self._unbroadcasted_scale_tril
        return (factor @ factor.transpose(-2, -1)).expand(*self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        """(L L^T)^{-1}."""
        return cholesky_inverse(self._unbroadcasted_scale_tril).expand(*self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()):
        """mu + L eps, eps = randn(sample_shape + batch_shape + (n,))."""
        eps = randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        mahalanobis = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        half_log_det = _diagonal(self._unbroadcasted_scale_tril).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + mahalanobis) - half_log_det

    def entropy(self):
        half_log_det = _diagonal(self._unbroadcasted_scale_tril).log().sum(-1)
        entropy = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return entropy.expand(*self._batch_shape) if len(self._batch_shape) else entropy
