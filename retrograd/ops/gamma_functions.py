"""log Gamma and its derivatives, each with its VJP (PyTorch's `torch.lgamma`, `torch.digamma`,
`torch.polygamma`): what the Gamma, Beta and Dirichlet distributions' densities and entropies are made of.

    lgamma(x)       = log |Gamma(x)|                  d lgamma(x)/dx       = digamma(x)
    digamma(x)      = d/dx log Gamma(x)               d digamma(x)/dx      = polygamma(1, x)
    polygamma(n, x) = d^n/dx^n digamma(x)             d polygamma(n, x)/dx = polygamma(n + 1, x)

All three run in float64 (float32 inputs are rounded back) and are vectorised: the only loops run over
recurrence steps or series terms, never over elements.

lgamma is ours and accurate to a few ulp (the C library's `math.lgamma`, which PyTorch calls): on
(-1/2, 5/2) a Taylor series of log Gamma about 1, 3/2 or 2 (coefficients (-1)^k zeta(k, c) / k), so the
zeros at 1 and 2 keep their relative precision; log Gamma(x) = log Gamma(1 + x) - log |x| near 0; the
recurrence Gamma(x + 1) = x Gamma(x) down to that interval below 10; Stirling's series from 10 on; and the
reflection log |Gamma(x)| = log pi - log |sin(pi x)| - log Gamma(1 - x) for x <= -1/2 (+inf at the poles).

digamma, trigamma (polygamma(1, .)) and polygamma(n >= 2, .) follow PyTorch's CPU kernels step for step
(Cephes' psi; a six-step recurrence and a short asymptotic series for trigamma; n! times Cephes' Hurwitz zeta
for n >= 2), so they give PyTorch's numbers, its quirks included: digamma is NaN at the negative integers and
-inf/+inf at +0/-0, and trigamma is good to about 1e-10 relative (its series stops early), not to 1e-16.

igamma(a, x) = P(a, x), the regularised lower incomplete gamma function (torch.igamma: Gamma.cdf), is ours:
its power series below x = a + 1, the continued fraction of 1 - P above, both to full precision (the
prefactor x^a e^-x / Gamma(a + 1) written so that its terms of size a log a cancel exactly). It agrees with
PyTorch's to 1e-14 for a < 20; for larger a near x = a PyTorch switches to an asymptotic series that is
off by up to 2e-9 (against mpmath), where ours keeps ~1e-15.
"""
import math

import numpy as np

from .base import array_of, binary_operands, check_broadcast, needs_grad, record, to_float, unbroadcast

_MACHEP = 1.11022302462515654042e-16
_EULER = 0.57721566490153286061  # -digamma(1)


# ----- Hurwitz zeta (Cephes' zeta, as PyTorch's polygamma runs it) -----------------------------------------
# (2j)! / B_2j: the Euler-Maclaurin tail's coefficients
_ZETA_TAIL = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
              -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
              1.8152105401943546773e17, -7.1661652561756670113e18)


def _hurwitz_zeta(s, q):
    """zeta(s, q) = sum_{k >= 0} (q + k)^-s for float64 arrays (s > 1): the first terms summed until
    q + k > 9 (at least 10 of them), then the Euler-Maclaurin tail; each element stops where Cephes does
    (its next term below machine precision). inf at s = 1 or at q a non-positive integer, NaN for s < 1 or
    q < 0 with s not an integer."""
    s, q = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(q, dtype=np.float64))
    with np.errstate(all="ignore"):
        total = np.power(q, -s)
        a = q.copy()
        term = np.zeros_like(q)
        done = ~np.isfinite(total) | np.isnan(s)
        steps = 0
        while True:
            active = ~done & ((steps < 9) | (a <= 9.0))
            if not active.any():
                break
            steps += 1
            a = np.where(active, a + 1.0, a)
            term = np.where(active, np.power(a, -s), term)
            total = np.where(active, total + term, total)
            done |= active & (-_MACHEP * total < term) & (term < _MACHEP * total)
        tail = ~done
        w = a
        total = np.where(tail, total + term * w / (s - 1.0) - 0.5 * term, total)
        factor, k = np.ones_like(q), 0.0
        for coefficient in _ZETA_TAIL:
            factor = factor * (s + k)
            term = term / w
            t = factor * term / coefficient
            total = np.where(tail, total + t, total)
            tail &= ~(np.abs(t / total) < _MACHEP)
            k += 1.0
            factor = factor * (s + k)
            term = term / w
            k += 1.0
        poles = (q <= 0) & (q == np.floor(q))
        total = np.where(poles | (s == 1), np.inf, total)
        total = np.where((q <= 0) & ~poles & (s != np.floor(s)), np.nan, total)
        return np.where(s < 1, np.nan, total)


# ----- lgamma ----------------------------------------------------------------------------------------------
# Taylor series of log Gamma(c + e) about c = 1, 3/2, 2: value, slope digamma(c), then (-1)^k zeta(k, c) / k
_SERIES_TERMS = {1.0: 60, 1.5: 26, 2.0: 32}
_SERIES_START = {1.0: (0.0, -_EULER), 1.5: (-0.12078223763524522235, 0.03648997397857652056),
                 2.0: (0.0, 1 - _EULER)}


def _series_coefficients(center, terms):
    k = np.arange(2, terms, dtype=np.float64)
    higher = (-1.0) ** k * _hurwitz_zeta(k, center) / k
    return np.concatenate([_SERIES_START[center], higher])


_SERIES = {center: _series_coefficients(center, terms) for center, terms in _SERIES_TERMS.items()}

# Stirling: log Gamma(x) = (x - 1/2) log x - x + log(2 pi) / 2 + sum_k B_2k / (2k (2k - 1) x^(2k - 1))
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)
_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)


def _horner(coefficients, e):
    value = np.zeros_like(e)
    for coefficient in reversed(coefficients):
        value = value * e + coefficient
    return value


def _lgamma_near_one_to_two(x):
    """log Gamma(x) for x in [1/2, 5/2], by the series about the nearest of 1, 3/2, 2 (e = x - c is exact)."""
    center = np.where(x < 1.25, 1.0, np.where(x < 1.75, 1.5, 2.0))
    value = np.empty_like(x)
    for c, coefficients in _SERIES.items():
        at = center == c
        value[at] = _horner(coefficients, x[at] - c)
    return value


def _lgamma_positive(x):
    """log Gamma(x) for x >= 1/2 (inf and NaN pass through), float64."""
    value = np.empty_like(x)
    middle = x <= 2.5
    value[middle] = _lgamma_near_one_to_two(x[middle])
    shifted = (x > 2.5) & (x < 10)      # log Gamma(x) = log Gamma(y) + log(y (y + 1) ... (x - 1)), y in (3/2, 5/2]
    steps = np.ceil(x[shifted] - 2.5)
    y = x[shifted] - steps
    product, factor = np.ones_like(y), y.copy()
    for _ in range(int(steps.max(initial=0))):
        product = np.where(factor < x[shifted], product * factor, product)
        factor = factor + 1.0
    value[shifted] = _lgamma_near_one_to_two(y) + np.log(product)
    large = ~(x < 10)                   # Stirling, and inf at inf, NaN at NaN
    z = x[large]
    with np.errstate(invalid="ignore", over="ignore"):
        correction = _horner(_STIRLING, 1 / (z * z)) / z
        value[large] = np.where(np.isinf(z), np.inf, (z - 0.5) * np.log(z) - z + _HALF_LOG_TWO_PI + correction)
    return value


def _lgamma_values(x):
    """log |Gamma(x)| of a float64 array: +inf at 0 and the negative integers and at +-inf, NaN at NaN."""
    value = np.full_like(x, np.inf)
    near_zero = (np.abs(x) < 0.5) & (x != 0)  # log Gamma(1 + x) - log |x|, the series about 1 at e = x
    with np.errstate(divide="ignore"):
        value[near_zero] = _horner(_SERIES[1.0], x[near_zero]) - np.log(np.abs(x[near_zero]))
    positive = (x >= 0.5) | np.isnan(x)
    value[positive] = _lgamma_positive(x[positive])
    negative = x <= -0.5
    x_neg = x[negative]
    with np.errstate(invalid="ignore"):  # -inf - -inf
        offset = x_neg - np.round(x_neg)    # exact: sin(pi x) = +-sin(pi offset) without pi x's rounding
    reflected = np.full_like(x_neg, np.inf)
    off_pole = (offset != 0) & np.isfinite(x_neg)
    reflected[off_pole] = (_LOG_PI - np.log(np.abs(np.sin(np.pi * offset[off_pole])))
                           - _lgamma_positive(1 - x_neg[off_pole]))
    value[negative] = reflected
    return value


def lgamma(x):
    """y = log |Gamma(x)| (inf at 0 and the negative integers) ;  dL/dx = g * digamma(x).  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    y = _lgamma_values(x_val.astype(np.float64)).astype(x_val.dtype)
    return record(lgamma, y, (x,), lambda grad_out: (grad_out * _digamma_values(x_val).astype(x_val.dtype),),
                  saved=(x,))


# ----- digamma and trigamma (PyTorch's calc_digamma, calc_trigamma) ----------------------------------------
_PSI_10 = 2.25175258906672110764  # digamma(10)
_PSI_ASYMPTOTIC = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
                   -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
                   8.33333333333333333333e-2)


def _kernel_dtype(x):
    """The dtype PyTorch's kernels compute in: float64 for float64, float32 for the other floats."""
    return np.float64 if x.dtype == np.float64 else np.float32


def _digamma_values(x_in):
    """digamma as PyTorch's calc_digamma computes it, in float64 for float64 input and float32 otherwise:
    the reflection digamma(x) = digamma(1 - x) - pi / tan(pi r) (r = x - trunc(x), in float64) for x < 0, the
    recurrence digamma(x) = digamma(x + 1) - 1/x up to x >= 10, then log x - 1/(2x) - sum B_2k / (2k x^2k).
    NaN at the negative integers, -inf at +0, +inf at -0."""
    x_orig = np.asarray(x_in)
    x = x_orig.astype(_kernel_dtype(x_orig))
    with np.errstate(all="ignore"):
        negative = x < 0
        offset = (x - np.trunc(x)).astype(np.float64)
        reflection = np.where(negative, np.pi / np.tan(np.pi * offset), 0.0).astype(x.dtype)
        x = np.where(negative, 1 - x, x)
        result = np.zeros_like(x)
        while True:
            below = x < 10
            if not below.any():
                break
            result = np.where(below, result - 1 / x, result)
            x = np.where(below, x + 1, x)
        z = 1 / (x * x)
        coefficients = np.array(_PSI_ASYMPTOTIC, dtype=x.dtype)
        series = np.where(x < 1.0e17, z * _horner(coefficients[::-1], z), 0)
        result = np.where(x == 10, result + x.dtype.type(_PSI_10), result + np.log(x) - 0.5 / x - series)
        result = result - reflection
        result = np.where(x_orig == 0, np.copysign(np.inf, -x_orig).astype(x.dtype), result)
        return np.where(negative & (x_orig == np.trunc(x_orig)), np.nan, result).astype(x.dtype)


def _trigamma_values(x_in):
    """polygamma(1, x) as PyTorch's calc_trigamma computes it (float64 for float64, float32 otherwise):
    pi^2 / sin^2(pi x) - trigamma(1 - x) for x < 1/2, six steps of trigamma(x) = trigamma(x + 1) + 1/x^2,
    then (1 + 1/(2x) + 1/(6x^2) - 1/(30x^4) + 1/(42x^6)) / x."""
    x = np.asarray(x_in)
    x = x.astype(_kernel_dtype(x))
    pi = x.dtype.type(np.pi)
    with np.errstate(all="ignore"):
        reflect = x < 0.5
        sin_pi_x = np.sin(pi * x)
        result = np.where(reflect, -(pi * pi) / (sin_pi_x * sin_pi_x), 0).astype(x.dtype)
        x = np.where(reflect, 1 - x, x)
        for _ in range(6):
            result = result + 1 / (x * x)
            x = x + 1
        ixx = 1 / (x * x)
        result = result + (1 + 1 / (2 * x) + ixx * (1. / 6 - ixx * (1. / 30 - ixx * (1. / 42)))) / x
        return np.where(reflect, -result, result)


def _polygamma_values(n, x):
    """polygamma(n, x) of a float array in float64: digamma, trigamma, or (-1)^(n+1) n! zeta(n + 1, x)."""
    if n == 0:
        return _digamma_values(x)
    if n == 1:
        return _trigamma_values(x)
    sign = 1.0 if n % 2 else -1.0
    return sign * math.exp(math.lgamma(n + 1.0)) * _hurwitz_zeta(float(n + 1), np.asarray(x, dtype=np.float64))


def digamma(x):
    """y = digamma(x) = d log Gamma(x)/dx ;  dL/dx = g * polygamma(1, x).  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    y = _digamma_values(x_val).astype(x_val.dtype)
    return record(digamma, y, (x,), lambda grad_out: (grad_out * _trigamma_values(x_val).astype(x_val.dtype),),
                  saved=(x,))


def polygamma(n, x):
    """y = polygamma(n, x) = d^(n+1) log Gamma(x)/dx^(n+1), n a non-negative int ;
    dL/dx = g * polygamma(n + 1, x).  Saves `x_val` (x)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    x_val = to_float(array_of(x))
    y = _polygamma_values(n, x_val).astype(x_val.dtype)
    return record(polygamma, y, (x,),
                  lambda grad_out: (grad_out * _polygamma_values(n + 1, x_val).astype(x_val.dtype),), saved=(x,))


# ----- the regularised lower incomplete gamma function ------------------------------------------------------
_IGAMMA_MAX_STEPS = 5000
_TINY = 1e-300


def _log_igamma_prefactor(a, x):
    """log(x^a e^-x / Gamma(a + 1)). For a >= 10 written as a (log1p(t) - t) - log(2 pi a) / 2 - Stirling's
    correction, t = (x - a) / a: the terms of size a log a cancel exactly instead of in rounding."""
    direct = a * np.log(x) - x - _lgamma_values(a + 1)
    t = (x - a) / a
    large = np.maximum(a, 10.0)
    stirling = (large * (np.log1p(t) - t) - 0.5 * np.log(2 * np.pi * large)
                - _horner(_STIRLING, 1 / (large * large)) / large)
    return np.where(a >= 10, stirling, direct)


def _igamma_series(a, x):
    """P(a, x) = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n)), for x < a + 1."""
    term, total, denom = np.ones_like(x), np.ones_like(x), a.copy()
    active = np.ones(x.shape, dtype=bool)
    for _ in range(_IGAMMA_MAX_STEPS):
        denom = denom + 1
        term = np.where(active, term * x / denom, 0.0)
        total = total + term
        active &= term > total * _MACHEP
        if not active.any():
            break
    return np.exp(_log_igamma_prefactor(a, x)) * total


def _igammac_fraction(a, x):
    """Q(a, x) = 1 - P(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...)), for
    x >= a + 1: the continued fraction by the modified Lentz method."""
    b = x + 1 - a
    c = np.full_like(x, 1 / _TINY)
    d = 1 / b
    fraction = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for i in range(1, _IGAMMA_MAX_STEPS):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1 / d
        delta = np.where(active, d * c, 1.0)
        fraction = fraction * delta
        active &= np.abs(delta - 1) > _MACHEP
        if not active.any():
            break
    return np.exp(_log_igamma_prefactor(a, x) + np.log(a)) * fraction


def _igamma_values(a, x):
    """P(a, x) for float64 arrays, PyTorch's values at the edges: NaN for a < 0, x < 0, a = x = 0 or both
    infinite; 1 for a = 0 < x or x = inf; 0 for x = 0 < a or a = inf."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    result = np.full(a.shape, np.nan)
    inside = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    series = inside & (x < a + 1)
    fraction = inside & ~series
    with np.errstate(all="ignore"):
        result[series] = _igamma_series(a[series], x[series])
        result[fraction] = 1 - _igammac_fraction(a[fraction], x[fraction])
    result[(a == 0) & (x > 0)] = 1.0
    result[(x == 0) & (a > 0)] = 0.0
    result[(a > 0) & (x == np.inf) & np.isfinite(a)] = 1.0
    result[(a == np.inf) & (x >= 0) & np.isfinite(x)] = 0.0
    return result


def igamma(a, x):
    """y = P(a, x) = 1 / Gamma(a) * integral_0^x t^(a-1) e^-t dt (torch.igamma, torch.special.gammainc) ;
    dL/dx = g * x^(a-1) e^-x / Gamma(a) ;  no gradient for a (PyTorch has none: backward raises).
    Saves `a_val` (a) and `x_val` (x) when x needs a gradient."""
    a_val, x_val = binary_operands(a, x)
    dtype = to_float(np.empty(0, np.result_type(a_val, x_val))).dtype
    a_val, x_val = np.asarray(a_val, dtype=dtype), np.asarray(x_val, dtype=dtype)
    check_broadcast("igamma", a_val.shape, x_val.shape)
    y = _igamma_values(a_val, x_val).astype(dtype)
    a_needs, x_shape = needs_grad(a), (x_val.shape if needs_grad(x) else None)

    def igamma_backward(grad_out):
        if a_needs:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        a64, x64 = a_val.astype(np.float64), x_val.astype(np.float64)
        with np.errstate(all="ignore"):
            density = np.exp((a64 - 1) * np.log(x64) - x64 - _lgamma_values(a64))
        return None, unbroadcast(grad_out * density.astype(dtype), x_shape)

    return record(igamma, y, (a, x), igamma_backward, saved=(a, x) if x_shape is not None else ())
