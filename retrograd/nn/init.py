"""Parameter initialisation, PyTorch's functions and formulas (torch.nn.init).

All draw from retrograd's generator (`retrograd.manual_seed`), or a `generator=`, PyTorch's
stream and transforms (retrograd.random), and write in place without recording on the tape. fan_in = in_features * receptive field size.
"""
import math
import warnings

import numpy as np

from ..random import _generator as _rng


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (PyTorch's table)."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fill(tensor, values):
    tensor._bump_version()
    tensor.array[...] = values
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return _fill(tensor, _rng(generator).uniform(tensor.shape, tensor.dtype, a, b))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _fill(tensor, _rng(generator).normal(tensor.shape, tensor.dtype, mean, std))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Normal(mean, std) restricted to [a, b], with PyTorch's two samplers, draw for draw. When [a, b] holds
    over 30% of the mass: normal draws for the whole tensor, redrawn whole and kept only where the previous
    ones fell outside, until none does. Otherwise rejection from uniform proposals x ~ U[a, b): x is kept when
    log u <= -((x - mean) / std)^2 / 2 - log_peak, u ~ U[0, 1), log_peak the same exponent at the point of
    [a, b] nearest the mean (so the test accepts with probability density(x) / max density)."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    mass = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
    sampler = _truncated_by_normals if mass > 0.3 else _truncated_by_uniforms
    return _fill(tensor, sampler(_rng(generator), tensor.shape, tensor.dtype, mean, std, a, b))


def _normal_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _truncated_by_normals(rng, shape, dtype, mean, std, a, b):
    low, high = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)  # the bounds as the tensor holds them
    values = rng.normal(shape, dtype, mean, std)
    outside = (values < low) | (values > high)
    while outside.any():
        values = np.where(outside, rng.normal(shape, dtype, mean, std), values)
        outside = (values < low) | (values > high)
    return values


def _truncated_by_uniforms(rng, shape, dtype, mean, std, a, b):
    """PyTorch's narrow-window sampler: a proposal and an acceptance uniform per element each round, still
    pending elements take the round's proposal and test; each step rounds in the tensor's dtype, as its
    in-place chain (sub_, div_, pow_, mul_, sub_, then log_ of the acceptance draw) does."""
    work = np.dtype(dtype).type
    log_peak = work(-0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2)

    def rejected(proposal):
        scaled = (proposal - work(mean)) / work(std)
        return np.log(rng.uniform(shape, dtype)) > scaled * scaled * work(-0.5) - log_peak

    values = rng.uniform(shape, dtype, a, b)
    pending = rejected(values)
    while pending.any():
        proposal = rng.uniform(shape, dtype, a, b)
        values = np.where(pending, proposal, values)
        pending &= rejected(proposal)
    return values


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError("eye_: only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("dirac_: only tensors with 3, 4, or 5 dimensions are supported")
    out_per_group = tensor.shape[0] // groups
    min_dim = min(out_per_group, tensor.shape[1])
    values = np.zeros(tensor.shape)
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(min_dim):
            values[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    # PyTorch's rounding: sqrt(3) * std, not sqrt(6 / n) (1 ulp apart, visible in float64 weights)
    bound = math.sqrt(3.0) * (gain * math.sqrt(2.0 / float(fan_in + fan_out)))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _zero_element(tensor):
    """PyTorch's rule: a tensor with a zero-size dimension (Linear(0, 3), Conv2d(1, 2, 0)) has no fan to
    scale by and nothing to fill, so kaiming init warns and leaves it alone instead of dividing by zero."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015)."""
    if _zero_element(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if _zero_element(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix (Saxe et al., 2013)."""
    if tensor.ndim < 2:
        raise ValueError("orthogonal_: only tensors with 2 or more dimensions are supported")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).normal((rows, cols), tensor.dtype)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # make the decomposition unique, as PyTorch does
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def _deprecated(method):
    """PyTorch's old name without the trailing underscore: the same initialiser, with PyTorch's FutureWarning."""
    old_name, new_name = method.__name__[:-1], method.__name__

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return method(*args, **kwargs)

    deprecated_init.__name__ = old_name
    deprecated_init.__doc__ = f"Deprecated: use `nn.init.{new_name}`."
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
