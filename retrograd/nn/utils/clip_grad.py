"""Gradient clipping, in place on `.grad`, with PyTorch's formulas (never recorded on the tape).

    total_norm = || (||g_1||_p, ..., ||g_n||_p) ||_p        (the p-norm of all gradients as one vector)
    clip_coef  = min(max_norm / (total_norm + 1e-6), 1)      and every g_i <- g_i * clip_coef

float16 gradients: each norm is accumulated in float32 and rounded to float16, as PyTorch does (a float16
sum of squares overflows at 65,504, and an inf norm would scale every gradient to 0).
"""
import types
import warnings

import numpy as np

from ...ops.base import accumulation_dtype
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    is_generator = isinstance(tensors, types.GeneratorType)
    tensors = list(tensors)
    if is_generator and not tensors:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    return tensors


def _vector_norm(array, norm_type):
    """||x||_p of the flattened array, as a NumPy scalar of its accumulation dtype (float32 for float16)."""
    array = array.astype(accumulation_dtype(array.dtype), copy=False)
    if norm_type == 2.0:
        flat = array.reshape(-1)
        return np.sqrt(np.dot(flat, flat))
    if array.size == 0:
        return array.dtype.type(0)
    if norm_type == np.inf:
        return np.max(np.abs(array))
    if norm_type == -np.inf:
        return np.min(np.abs(array))
    if norm_type == 0:
        return array.dtype.type(np.count_nonzero(array))
    if norm_type == 1.0:
        return np.sum(np.abs(array))
    return np.sum(np.abs(array) ** norm_type) ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of the norms of `tensors` (a Tensor or an iterable of them), as a 0-d Tensor.

    norm_type may be any p > 0, 0 (count of non-zeros), inf (max |x|) or -inf (min |x|).
    With error_if_nonfinite, a NaN or infinite total raises RuntimeError."""
    arrays = [t.array for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._from_array(np.array(0.0, np.float32))
    dtype = np.result_type(*arrays)
    norms = np.array([_vector_norm(a, norm_type) for a in arrays], dtype=dtype)
    total = np.asarray(_vector_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           f"it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           f"norm anyway, set `error_if_nonfinite=False`")
    return Tensor._from_array(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every `.grad` in place by min(max_norm / (total_norm + 1e-6), 1), given the total norm."""
    grads = [p.grad.array for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm.array if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    with np.errstate(invalid="ignore", divide="ignore"):  # a non-finite norm spreads NaNs silently, as in PyTorch
        coef = np.divide(float(max_norm), total + 1e-6, dtype=accumulation_dtype(total.dtype))  # max_norm unrounded
        clip_coef = np.minimum(coef, 1.0).astype(total.dtype, copy=False)  # NaN stays NaN, as torch.clamp does
        for grad in grads:
            grad *= clip_coef


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of `parameters` so that their total p-norm is at most `max_norm`.

    total_norm = p-norm over all gradients joined into one vector (p = norm_type; inf: max |g|);
    each g <- g * min(max_norm / (total_norm + 1e-6), 1). Returns total_norm (before clipping)
    as a 0-d Tensor. The gradients are always multiplied, by 1 when nothing is clipped (as in
    PyTorch); a NaN/inf total raises if error_if_nonfinite, else it propagates into the grads."""
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of `clip_grad_norm_` (as in PyTorch)."""
    warnings.warn("`retrograd.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`retrograd.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element in place to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            grad = p.grad.array
            np.clip(grad, -clip_value, clip_value, out=grad)
