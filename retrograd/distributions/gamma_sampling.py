"""Standard Gamma(alpha, 1) draws for Gamma, Chi2, Beta and Dirichlet: Marsaglia and Tsang's (2000)
acceptance-rejection method, the one PyTorch's CPU sampler runs, on retrograd's generator.

    alpha < 1:  draw for alpha + 1 and scale by U^(1/alpha)      (the boost PyTorch applies)
    d = alpha - 1/3, c = 1 / sqrt(9 d);  x ~ N(0, 1), v = (1 + c x)^3, u ~ U(0, 1]
    accept d v  if v > 0 and (u < 1 - 0.0331 x^4  or  log u < x^2 / 2 + d (1 - v + log v))

Vectorised: every pending element draws at once and the rejected ones (a few percent) draw again. The
distribution is PyTorch's, the individual draws are not: PyTorch runs the method element by element,
interleaving each element's normal and uniform draws on one stream, which a vectorised sampler cannot
reproduce. Draws are computed in float64 and clamped below at the dtype's smallest normal number, as in
PyTorch (a Beta or Dirichlet then never divides 0 by 0).
"""
import numpy as np

from ..random import rand, randn


def _uniform(count):
    return rand(count, dtype=np.float64).array


def standard_gamma(concentration, dtype):
    """Gamma(concentration, 1) draws of concentration's shape (a float64 array, all > 0 or 0) in `dtype`."""
    alpha = np.asarray(concentration, dtype=np.float64).ravel()
    scale = np.ones_like(alpha)
    boosted = np.flatnonzero(alpha < 1)
    if boosted.size:
        with np.errstate(divide="ignore"):
            scale[boosted] = (1 - _uniform(boosted.size)) ** (1 / alpha[boosted])
    alpha = np.where(alpha < 1, alpha + 1, alpha)
    d = alpha - 1 / 3
    c = 1 / np.sqrt(9 * d)
    draws = np.zeros_like(alpha)
    pending = np.flatnonzero(np.isfinite(scale) & (scale > 0) & (concentration.ravel() > 0))
    while pending.size:
        x = randn(pending.size, dtype=np.float64).array
        y = 1 + c[pending] * x
        v = y * y * y
        u = 1 - _uniform(pending.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            squeeze = u < 1 - 0.0331 * (x * x) * (x * x)
            accepted = (y > 0) & (squeeze | (np.log(u) < 0.5 * x * x + d[pending] * (1 - v + np.log(v))))
        chosen = pending[accepted]
        draws[chosen] = scale[chosen] * d[chosen] * v[accepted]
        pending = pending[~accepted]
    draws = draws.reshape(np.shape(concentration)).astype(dtype)
    return np.maximum(draws, np.finfo(dtype).tiny)
