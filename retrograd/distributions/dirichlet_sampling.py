"""Dirichlet draws and their reparameterisation gradient, as PyTorch's `_sample_dirichlet` and
`_dirichlet_grad` compute them (the Beta's rsample is the first coordinate of a two-category Dirichlet's).

A draw normalises independent Gamma(alpha_k, 1) draws (in float64, PyTorch's sampler), clamped to
[tiny, 1 - ulp] of the dtype. Its gradient is implicit: coordinate x_k of a Dirichlet(alpha) draw is
marginally Beta(alpha_k, alpha_0 - alpha_k), and with g_k = dx_k/dalpha_k / (1 - x_k) (the Beta's scaled
reparameterisation gradient -(d cdf/d alpha) / pdf / (1 - x)),

    dL/dalpha_k = g_k * (dL/dx_k - sum_j x_j dL/dx_j).

g is PyTorch's approximation (ATen's dirichlet_grad_one), in four regimes: a series in x near 0, one in
1 - x near 1, Rice's saddle-point expansion when alpha and beta both exceed 6, else a fitted rational
correction to x (digamma(alpha_0) - digamma(alpha)) / beta. Everything runs in float64; float32 results
are rounded from it (PyTorch runs the two series in float32: they agree to about 1e-6).
"""
import numpy as np

from ..ops.base import OUTPUT, record
from ..ops.gamma_functions import _digamma_values
from .gamma_sampling import standard_gamma

# PyTorch's fitted coefficients of the rational correction: [numerator, denominator][power of u][power of a]
# [power of b]
_RATIONAL = np.array([
    [[[1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
      [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
      [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013]],
     [[0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
      [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
      [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05]],
     [[-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
      [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
      [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05]]],
    [[[1, -0.02924021934, -0.04438342661, 0.007285809825],
      [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
      [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149]],
     [[0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
      [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
      [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05]],
     [[0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
      [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
      [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06]]]])


def _alpha_small(x, alpha, beta):
    """x near 0: the series of the Beta's incomplete-function derivative in x (ten terms)."""
    factor = _digamma_values(alpha) - _digamma_values(alpha + beta) - np.log(x)
    numer = np.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    result = x * np.power(1 - x, -beta) * series
    return np.where(np.isnan(result), 0.0, result)


def _beta_small(x, alpha, beta):
    """The gradient with respect to beta for x near 0 (eight terms); x near 1 is this at (1 - x, beta, alpha)."""
    factor = _digamma_values(alpha + beta) - _digamma_values(beta)
    numer, betas, dbetas = np.ones_like(x), np.ones_like(x), np.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    result = -np.power(1 - x, 1 - beta) * series
    return np.where(np.isnan(result), 0.0, result)


def _alpha_mid(x, alpha, beta):
    """alpha, beta > 6: Rice's saddle-point expansion (a polynomial form within 0.1 std of the mean)."""
    total = alpha + beta
    mean = alpha / total
    std = np.sqrt(alpha * beta / (total + 1)) / total
    poly = 47 * x * (beta * beta) * (beta * beta) + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * (beta * beta) * beta + alpha * (
            3 * (59 + 180 * beta - 90 * x) * (beta * beta) + alpha * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (8 * (1 - x) * (135 * beta - 11)))))
    prefactor_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    prefactor_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    near_mean = prefactor_num / (1 - x) * poly / prefactor_den
    prefactor = -x / np.sqrt(2 * alpha * beta / total)
    stirling = ((1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha)) * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    term1_num = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * (beta * beta)
    axbx = alpha * (x - 1) + beta * x
    term1 = term1_num / (np.sqrt(2 * alpha / beta) * np.power(total, 1.5) * axbx * axbx)
    term2 = 0.5 * np.log(alpha / (total * x))
    term3 = np.sqrt(8 * alpha * beta / total) / (beta * x + alpha * (x - 1))
    term4 = np.power(beta * np.log(beta / (total * (1 - x))) + alpha * np.log(alpha / (total * x)), -1.5)
    far = stirling * prefactor * (term1 + term2 * (term3 + np.where(x < mean, term4, -term4)))
    return np.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), near_mean, far)


def _rational(x, alpha, total):
    u = np.log(x)
    a = np.log(alpha) - u
    b = np.log(total) - a
    powers_u, powers_a = (1.0, u, u * u), (1.0, a, a * a)
    p, q = np.zeros_like(x), np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            ua = powers_u[i] * powers_a[j]
            num, den = _RATIONAL[0, i, j], _RATIONAL[1, i, j]
            p = p + ua * (num[0] + b * (num[1] + b * (num[2] + b * num[3])))
            q = q + ua * (den[0] + b * (den[1] + b * (den[2] + b * den[3])))
    approx = x * (_digamma_values(total) - _digamma_values(alpha)) / (total - alpha)
    return p / q * approx


def dirichlet_grad(x, alpha, total):
    """g = (dx/dalpha) / (1 - x) for x ~ Beta(alpha, total - alpha), PyTorch's `_dirichlet_grad` (float64)."""
    x, alpha, total = (a.ravel() for a in np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                                                for v in (x, alpha, total))))
    beta = total - alpha
    boundary = total * x * (1 - x)
    near_zero = (x <= 0.5) & (boundary < 2.5)
    near_one = ~near_zero & (x >= 0.5) & (boundary < 0.75)
    mid = ~near_zero & ~near_one & (alpha > 6) & (beta > 6)
    rest = ~(near_zero | near_one | mid)
    grad = np.empty_like(x)
    with np.errstate(all="ignore"):
        grad[near_zero] = _alpha_small(x[near_zero], alpha[near_zero], beta[near_zero])
        grad[near_one] = -_beta_small(1 - x[near_one], beta[near_one], alpha[near_one])
        grad[mid] = _alpha_mid(x[mid], alpha[mid], beta[mid])
        grad[rest] = _rational(x[rest], alpha[rest], total[rest])
    return grad


def sample_dirichlet(concentration):
    """Dirichlet draws of concentration's shape (an array, the last axis the categories), PyTorch's."""
    dtype = concentration.dtype
    gammas = standard_gamma(concentration, np.float64)
    with np.errstate(invalid="ignore"):
        draws = (gammas / gammas.sum(-1, keepdims=True)).astype(dtype)
    return np.clip(draws, np.finfo(dtype).tiny, np.nextafter(dtype.type(1), dtype.type(0)))


def dirichlet_op(concentration):
    """x ~ Dirichlet(alpha), drawn as PyTorch's `_sample_dirichlet` ;  dL/dalpha_k = g_k * (dL/dx_k -
    sum_j x_j dL/dx_j), g = dirichlet_grad(x, alpha, alpha_0) (implicit reparameterisation).
    Saves `alpha_val` (alpha) and `draws` (the output)."""
    alpha_val = concentration.array
    draws = sample_dirichlet(alpha_val)

    def dirichlet_backward(grad_out):
        total = np.broadcast_to(alpha_val.sum(-1, keepdims=True), alpha_val.shape)
        slope = dirichlet_grad(draws, alpha_val, total).reshape(draws.shape).astype(draws.dtype)
        return (slope * (grad_out - (draws * grad_out).sum(-1, keepdims=True)),)

    return record(dirichlet_op, draws, (concentration,), dirichlet_backward, saved=(concentration, OUTPUT))
