"""Standard Gamma(alpha, 1) draws for Gamma, Chi2, Beta and Dirichlet: PyTorch's CPU sampler
(ATen's `sample_gamma`, Marsaglia and Tsang's 2000 method) on retrograd's generator, so the draws after
the same `manual_seed` are PyTorch's (to the few ulp of its normal draws) and the stream stays in step.

Per element, in row-major order, on one stream of 53-bit uniforms U and scalar normals N (Box-Muller
pairs: two U, the second half kept for the next N, as at::normal_distribution<double> does):

    alpha = 0:  0, no draw
    alpha < 1:  scale = (1 - U)^(1/alpha), alpha += 1               (the boost)
    d = alpha - 1/3 (the float 1/3), c = 1 / sqrt(9 d)
    repeat:  x = N until y = 1 + c x > 0;  v = y^3;  u = 1 - U
             accept scale d v  if u < 1 - 0.0331 x^4  or  log u < x^2 / 2 + d (1 - v + log v)

then clamped below at the dtype's smallest normal number. Each element's draws depend on how many draws
the elements before it took, so the loop is vectorised by speculation: a window of elements is evaluated
at once as if each accepted its first try (where every draw sits then follows from a cumulative sum), the
prefix up to the first rejection is kept, and the window restarts at the rejected element (about one in
twenty), whose next try continues the stream where its first stopped.
"""
import numpy as np

from ..ops.base import OUTPUT, record
from ..ops.gamma_functions import _digamma_values
from ..random import default_generator

_ONE_THIRD = float(np.float32(1) / np.float32(3))  # the C++ 1.0f / 3.0f
_SQUEEZE = float(np.float32(0.0331))               # 0.0331f, in double arithmetic
_WINDOW = 128


class _Stream:
    """The generator's 53-bit uniforms read ahead into a pool; `finish` leaves the generator exactly
    `used` uniforms further on, with the normal cache as the draws left it."""

    def __init__(self, generator):
        self.generator = generator
        self.saved = generator.get_state()
        self.pool = np.empty(0)
        self.used = 0
        cached = generator._next_normal
        self.cache_valid, self.cache_value = cached is not None, 0.0 if cached is None else cached

    def take(self, stop):
        """The pool, holding at least `stop` uniforms."""
        if stop > self.pool.size:
            more = max(stop - self.pool.size, 4 * _WINDOW)
            self.pool = np.concatenate([self.pool, self.generator.uniform((more,), np.float64)])
        return self.pool

    def finish(self):
        self.generator.set_state(self.saved)
        self.generator.random64(self.used)
        self.generator._next_normal = self.cache_value if self.cache_valid else None


def _constants(alpha):
    """1/alpha, d and c as ATen computes them for this dtype (float32 steps in float32)."""
    one, third = alpha.dtype.type(1), alpha.dtype.type(_ONE_THIRD)
    with np.errstate(divide="ignore"):
        inverse = (one / alpha).astype(np.float64)
    shifted = np.where(alpha < 1, alpha + one, alpha)
    d = (shifted - third).astype(np.float64)
    return inverse, d, 1.0 / np.sqrt(9.0 * d)


def _speculate(stream, alpha, boost, d, c, start_index, stop):
    """Evaluate elements start_index..stop-1 as if each accepted its first try. Returns (the number of
    leading elements accepted, their values, boost scales, and the state after the first rejected one)."""
    active = alpha[start_index:stop] > 0
    boosted = boost[start_index:stop] & active
    normals_before = np.cumsum(active) - active
    valid = active & (stream.cache_valid ^ (normals_before % 2 == 1))  # a cached N is waiting
    new_pair = active & ~valid
    consumed = boosted.astype(np.int64) + 2 * new_pair + active
    first = stream.used + np.cumsum(consumed) - consumed
    pool = stream.take(int(first[-1] + consumed[-1]))
    boost_u = np.where(boosted, pool[np.minimum(first, pool.size - 1)], 0.0)
    u1 = pool[np.minimum(first + boosted, pool.size - 1)]
    u2 = pool[np.minimum(first + boosted + 1, pool.size - 1)]
    radius = np.sqrt(-2.0 * np.log1p(-u2))
    theta = 2.0 * np.pi * u1
    x_new, x_kept = radius * np.cos(theta), radius * np.sin(theta)
    # a cached N is the kept half of the previous active element's pair (or the generator's cache)
    active_at = np.flatnonzero(active)
    previous_kept = np.concatenate([[stream.cache_value], x_kept[active_at[:-1]]])
    x = np.zeros(active.size)
    x[active_at] = np.where(new_pair[active_at], x_new[active_at], previous_kept)
    y = 1.0 + c[start_index:stop] * x
    v = y * y * y
    u = 1.0 - pool[np.minimum(first + boosted + 2 * new_pair, pool.size - 1)]
    xx = x * x
    d_here = d[start_index:stop]
    with np.errstate(divide="ignore", invalid="ignore"):
        accepted = ~active | ((y > 0) & ((u < 1.0 - _SQUEEZE * xx * xx)
                                        | (np.log(u) < 0.5 * xx + d_here * (1.0 - v + np.log(v)))))
    rejected = np.flatnonzero(~accepted)
    kept = rejected[0] if rejected.size else active.size
    last = kept if rejected.size else (active_at[-1] if active_at.size else -1)
    if last >= 0:  # the stream after the last element that drew (the rejected one: up to its draws)
        stream.used = int(first[last] + boosted[last] + 2 * new_pair[last] + (y[last] > 0 or not rejected.size))
        stream.cache_valid, stream.cache_value = bool(new_pair[last]), float(x_kept[last])
    return kept, np.where(active, d_here * v, 0.0), boost_u, boosted


def standard_gamma(concentration, dtype, generator=None):
    """Gamma(concentration, 1) draws of concentration's shape (alpha >= 0) in `dtype`, PyTorch's."""
    dtype = np.dtype(dtype)
    alpha = np.asarray(concentration, dtype=dtype).ravel()
    inverse, d, c = _constants(alpha)
    boost = (alpha < 1) & (alpha > 0)
    scale, draws = np.ones(alpha.size), np.zeros(alpha.size)
    stream = _Stream(generator or default_generator)
    start_index, boost_pending = 0, True
    while start_index < alpha.size:
        stop = min(alpha.size, start_index + _WINDOW)
        window_boost = boost.copy() if boost_pending else np.where(np.arange(alpha.size) == start_index, False, boost)
        kept, values, boost_u, boosted = _speculate(stream, alpha, window_boost, d, c, start_index, stop)
        with np.errstate(divide="ignore"):
            scales = np.where(boosted, np.power(1.0 - boost_u, inverse[start_index:stop]), 1.0)
        touched = start_index + np.flatnonzero(boosted[:kept + 1])
        scale[touched] = scales[touched - start_index]
        draws[start_index:start_index + kept] = scale[start_index:start_index + kept] * values[:kept]
        start_index, boost_pending = start_index + kept, kept == stop - start_index
    stream.finish()
    result = draws.astype(dtype)
    return np.maximum(result, np.finfo(dtype).tiny).reshape(np.shape(concentration))


# ----- the reparameterised draw: d x / d alpha by implicit differentiation ------------------------------------
# PyTorch's approximation of -(d cdf(x; alpha)/d alpha) / pdf(x; alpha) (ATen's standard_gamma_grad_one), in
# three regimes: a series for x < 0.8, Rice's saddle-point expansion for alpha > 8, else a fitted rational
# function of log(x / alpha) and log(alpha) (its coefficients below, rows: constant, u and u^2 terms; the
# first four make the numerator's polynomial in v, the last four the denominator's).
_RATIONAL = np.array([
    [0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084],
    [0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915, -0.00058392623],
    [0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326, 0.00085092367,
     -1.5247877e-07]])
_F = {name: float(np.float32(value)) for name, value in (("0.8", 0.8), ("0.9", 0.9), ("1.1", 1.1))}


def _grad_small_x(alpha, x):
    """The Taylor series of the lower incomplete gamma function (six terms) and its alpha-derivative."""
    numer, denom = np.ones_like(x), alpha.copy()
    series1, series2 = numer / denom, numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / float(i))
        denom = denom + 1
        series1 = series1 + numer / denom
        series2 = series2 + numer / (denom * denom)
    pow_x_alpha = np.power(x, alpha)
    pdf = np.power(x, alpha - 1) * np.exp(-x)
    cdf_alpha = (np.log(x) - _digamma_values(alpha)) * (pow_x_alpha * series1) - pow_x_alpha * series2
    result = -cdf_alpha / pdf
    return np.where(np.isnan(result), 0.0, result)


def _grad_large_alpha(alpha, x):
    """Rice's saddle-point expansion (its near-mean polynomial form within 10% of alpha)."""
    numer_1 = 1 + 24 * alpha * (1 + 12 * alpha)
    numer_2 = 1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x)
    near_mean = numer_1 * numer_2 / (1244160 * (alpha * alpha) * (alpha * alpha))
    denom = np.sqrt(8 * alpha)
    term2 = denom / (alpha - x)
    term3 = np.power(x - alpha - alpha * np.log(x / alpha), -1.5)
    term23 = np.where(x < alpha, term2 - term3, term2 + term3)
    term1 = np.log(x / alpha) * term23 - np.sqrt(2 / alpha) * (alpha + x) / ((alpha - x) * (alpha - x))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    far = -stirling * (x * term1) / denom
    return np.where((_F["0.9"] * alpha <= x) & (x <= _F["1.1"] * alpha), near_mean, far)


def _grad_rational(alpha, x):
    u, v = np.log(x / alpha), np.log(alpha)
    c = _RATIONAL[0][:, None] + u * (_RATIONAL[1][:, None] + u * _RATIONAL[2][:, None])  # (8, n)
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    return np.exp(p / q)


def standard_gamma_grad(alpha, x):
    """d x / d alpha for draws x of Gamma(alpha, 1), PyTorch's `_standard_gamma_grad` (computed in float64)."""
    alpha, x = np.broadcast_arrays(np.asarray(alpha, dtype=np.float64), np.asarray(x, dtype=np.float64))
    alpha, x = alpha.ravel(), x.ravel()
    grad = np.empty_like(x)
    small = x < _F["0.8"]
    large = ~small & (alpha > 8.0)
    rest = ~small & ~large
    with np.errstate(all="ignore"):
        grad[small] = _grad_small_x(alpha[small], x[small])
        grad[large] = _grad_large_alpha(alpha[large], x[large])
        grad[rest] = _grad_rational(alpha[rest], x[rest])
    return grad


def standard_gamma_op(concentration):
    """x ~ Gamma(alpha, 1), drawn as PyTorch's `_standard_gamma` ;  dL/dalpha = g * dx/dalpha, the implicit
    reparameterisation gradient -(d cdf/d alpha) / pdf at x (PyTorch's approximation, standard_gamma_grad).
    Saves `alpha_val` (alpha) and `draws` (the output)."""
    alpha_val = concentration.array
    draws = standard_gamma(alpha_val, alpha_val.dtype)

    def standard_gamma_backward(grad_out):
        slope = standard_gamma_grad(alpha_val, draws).reshape(draws.shape).astype(draws.dtype)
        return (grad_out * slope,)

    return record(standard_gamma_op, draws, (concentration,), standard_gamma_backward, saved=(concentration, OUTPUT))
