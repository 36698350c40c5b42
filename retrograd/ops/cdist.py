"""Distances between rows, PyTorch's `torch.cdist` (one op, its VJP below), `torch.pdist` and `torch.dist`
(composed). For x1 (..., P, M) and x2 (..., R, M), with diff_ijk = x1_ik - x2_jk and d_ij = ||diff_ij||_p:

    p = 2:       dL/dx1_i = sum_j w_ij (x1_i - x2_j),  w = g / d (0 where d = 0)   two GEMMs, no (P, R, M) array
    p = 1:       dL/ddiff = g sign(diff)
    p = inf:     dL/ddiff = g sign(diff) on every k with |diff_ijk| = d_ij (each tie gets all of g, as PyTorch's
                 cdist and pdist; torch.dist splits it, as a norm does)
    p = 0:       0 (a count)
    other p:     dL/ddiff = g sign(diff) |diff|^(p-1) / d^(p-1)  (0 where diff = 0 or d = 0)
    and dL/dx2_j = -sum_i dL/ddiff_ij, each summed back over broadcast batch dimensions.

For p = 2 the forward computes d^2 = |x1|^2 + |x2|^2 - 2 x1 x2^T with a GEMM when P or R exceeds 25 (PyTorch's
default compute_mode, 'use_mm_for_euclid_dist_if_necessary'), as PyTorch does, and the differences otherwise.
"""
import math

import numpy as np

from ..tensor import Tensor
from . import elementwise
from .base import array_of, needs_grad, record, unbroadcast
from .compare import _SCALAR_TYPE_NAMES
from .matrix_norms import vector_norm

_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _check(x1_val, x2_val, p, compute_mode):
    for name, value in (("X1", x1_val), ("X2", x2_val)):
        if value.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {value.ndim}D")
        if value.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_SCALAR_TYPE_NAMES.get(value.dtype.name, value.dtype.name)}")
    if x1_val.dtype != x2_val.dtype:
        raise RuntimeError(f"expected scalar type {_SCALAR_TYPE_NAMES.get(x1_val.dtype.name)} but found "
                           f"{_SCALAR_TYPE_NAMES.get(x2_val.dtype.name)}")
    if x1_val.shape[-1] != x2_val.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1_val.shape[-1]} X2: "
                           f"{x2_val.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode is not None and compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")


def _distances(x1_val, x2_val, p, use_mm):
    """(..., P, R) distances; with use_mm (p = 2) through the GEMM expansion, clamped at 0 before the root."""
    if p == 2 and use_mm:
        squares = (x1_val * x1_val).sum(-1)[..., :, None] + (x2_val * x2_val).sum(-1)[..., None, :]
        return np.sqrt(np.maximum(squares - 2 * (x1_val @ np.swapaxes(x2_val, -1, -2)), 0))
    diff = np.abs(x1_val[..., :, None, :] - x2_val[..., None, :, :])               # (..., P, R, M)
    if p == 0:
        return (diff != 0).sum(-1).astype(x1_val.dtype)
    if p == 1:
        return diff.sum(-1)
    if p == 2:
        return np.sqrt((diff * diff).sum(-1))
    if math.isinf(p):
        return diff.max(-1, initial=0.0)
    return (diff ** p).sum(-1) ** (1 / p)


def _diff_gradient(grad_out, x1_val, x2_val, d, p):
    """dL/ddiff (..., P, R, M) for p not 2 (see the module docstring)."""
    diff = x1_val[..., :, None, :] - x2_val[..., None, :, :]
    g = grad_out[..., None]
    if p == 1:
        return g * np.sign(diff)
    if math.isinf(p):
        return g * np.sign(diff) * (np.abs(diff) == d[..., None])
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.sign(diff) * np.abs(diff) ** (p - 1) / d[..., None] ** (p - 1)
    return g * np.where((diff == 0) | (d[..., None] == 0), 0, scaled)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """d_ij = ||x1_i - x2_j||_p over the last dimension, batch dimensions broadcast ;  dL/dx1, dL/dx2 as in the
    module docstring.  Saves `x1_val`, `x2_val` (the inputs) and `d` (the output)."""
    x1_val, x2_val = np.asarray(array_of(x1)), np.asarray(array_of(x2))
    _check(x1_val, x2_val, p, compute_mode)
    rows, cols = x1_val.shape[-2], x2_val.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or
                         (compute_mode in (None, _MODES[0]) and (rows > 25 or cols > 25)))
    batch = np.broadcast_shapes(x1_val.shape[:-2], x2_val.shape[:-2])
    d = _distances(x1_val, x2_val, p, use_mm).reshape(batch + (rows, cols))
    x1_shape, x2_shape = x1_val.shape, x2_val.shape
    wanted = needs_grad(x1), needs_grad(x2)

    def cdist_backward(grad_out):
        if p == 0:
            return (np.zeros(x1_shape, x1_val.dtype) if wanted[0] else None,
                    np.zeros(x2_shape, x2_val.dtype) if wanted[1] else None)
        if p == 2:
            w = np.divide(grad_out, d, out=np.zeros_like(d), where=d != 0)                # (..., P, R)
            grad_x1 = x1_val * w.sum(-1)[..., None] - w @ x2_val                           # (..., P, M)
            grad_x2 = x2_val * w.sum(-2)[..., None] - np.swapaxes(w, -1, -2) @ x1_val      # (..., R, M)
        else:
            grad_diff = _diff_gradient(grad_out, x1_val, x2_val, d, p)                     # (..., P, R, M)
            grad_x1, grad_x2 = grad_diff.sum(-2), -grad_diff.sum(-3)
        return (unbroadcast(grad_x1, x1_shape) if wanted[0] else None,
                unbroadcast(grad_x2, x2_shape) if wanted[1] else None)

    return record(cdist, d, (x1, x2), cdist_backward, saved=(x1, x2))


def pdist(input, p=2):
    """The distances ||x_i - x_j||_p between the rows i < j of a 2-D input, in row-major order (cdist's values
    and gradient conventions, computed from the differences)."""
    x_val = np.asarray(array_of(input))
    if x_val.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x_val.ndim}D")
    if x_val.dtype.kind != "f":
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows, cols = np.triu_indices(x_val.shape[0], 1)
    all_pairs = cdist(input, input, p, compute_mode="donot_use_mm_for_euclid_dist")
    return all_pairs[Tensor._from_array(rows), Tensor._from_array(cols)]


def dist(input, other, p=2):
    """||input - other||_p of the broadcast difference, flattened (vector_norm's gradient: ties split)."""
    for value in (input, other):
        dtype = np.asarray(array_of(value)).dtype
        if dtype.kind not in "fc":
            raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got "
                               f"{_SCALAR_TYPE_NAMES.get(dtype.name, dtype.name)} instead.")
    a_shape, b_shape = np.shape(array_of(input)), np.shape(array_of(other))
    try:
        np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        axis = next(i for i in range(1, min(len(a_shape), len(b_shape)) + 1)
                    if a_shape[-i] != b_shape[-i] and 1 not in (a_shape[-i], b_shape[-i]))
        raise RuntimeError(f"The size of tensor a ({a_shape[-axis]}) must match the size of tensor b "
                           f"({b_shape[-axis]}) at non-singleton dimension {max(len(a_shape), len(b_shape)) - axis}"
                           ) from None
    return vector_norm(elementwise.sub(input, other), p)
