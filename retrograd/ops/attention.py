"""Scaled dot-product attention as one fused op: forward and a hand-written backward pass.

Shapes: Q (N, ..., L, E), K (N, ..., S, E), V (N, ..., S, Ev); leading axes broadcast as in matmul.
"""
import numpy as np

from ..random import bernoulli_draws
from .base import array_of, needs_grad, record, unbroadcast


def _check_shapes(q_val, k_val, v_val):
    """PyTorch's rank and dtype errors; shape errors name the argument, what it got and what was expected."""
    if min(np.ndim(q_val), np.ndim(k_val), np.ndim(v_val)) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{np.ndim(q_val)} key.dim: {np.ndim(k_val)} and value.dim: {np.ndim(v_val)} instead.")
    if not q_val.dtype == k_val.dtype == v_val.dtype:
        names = {np.dtype(np.float32): "float", np.dtype(np.float64): "double", np.dtype(np.float16): "c10::Half"}
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{names.get(q_val.dtype, q_val.dtype)} key.dtype: {names.get(k_val.dtype, k_val.dtype)} "
                           f"and value.dtype: {names.get(v_val.dtype, v_val.dtype)} instead.")
    if k_val.shape[-1] != q_val.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: key of shape {k_val.shape} does not match query of shape "
                           f"{q_val.shape} (expected key (..., S, {q_val.shape[-1]}): the same embedding size E)")
    if v_val.shape[-2] != k_val.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: value of shape {v_val.shape} does not match key of shape "
                           f"{k_val.shape} (expected value (..., {k_val.shape[-2]}, Ev): one value per key)")
    try:
        np.broadcast_shapes(q_val.shape[:-2], k_val.shape[:-2], v_val.shape[:-2])
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: the batch dimensions of query {q_val.shape}, key "
                           f"{k_val.shape} and value {v_val.shape} do not broadcast (expected equal or 1)") from None


def _additive_mask(attn_mask, is_causal, q_val, k_val):
    """The array added to the scores: a float mask as is, a bool mask as 0 / -inf (False = masked out),
    causal as -inf above the diagonal with PyTorch's top-left alignment (query i sees keys j <= i)."""
    length, source = q_val.shape[-2], k_val.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is None:
        return None
    mask_val = np.asarray(array_of(attn_mask))
    scores_shape = np.broadcast_shapes(q_val.shape[:-2], k_val.shape[:-2]) + (length, source)
    try:
        np.broadcast_shapes(mask_val.shape, scores_shape)
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {mask_val.shape} does not broadcast "
                           f"to the attention scores' shape {scores_shape} "
                           f"(expected (..., {length}, {source}))") from None
    if mask_val.dtype == bool:
        return np.where(mask_val, q_val.dtype.type(0), q_val.dtype.type(-np.inf))
    return mask_val.astype(q_val.dtype, copy=False)


def _safe_softmax(scores):
    """softmax over the last axis; a row with every score -inf gives zeros (PyTorch's _safe_softmax), not NaN."""
    row_max = np.max(scores, axis=-1, keepdims=True)
    row_max[~np.isfinite(row_max)] = 0  # an all -inf row: exp(-inf - 0) = 0 everywhere
    p_attn = np.exp(scores - row_max)
    row_sum = np.sum(p_attn, axis=-1, keepdims=True)
    np.divide(p_attn, row_sum, out=p_attn, where=row_sum > 0)
    return p_attn


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """O = P_d V with S = Q K^T * scale + M, P = softmax(S) over keys, P_d = P * D (D = dropout's m / (1 - p),
    or 1); scale defaults to 1 / sqrt(E); M is the float mask, or 0 / -inf from a bool or causal mask.

    With g = dL/dO, the backward pass is softmax's VJP between two matmuls:
      dV = P_d^T g                     (..., S, L) @ (..., L, Ev)
      dP = (g V^T) * D                 (..., L, Ev) @ (..., Ev, S)
      dS = P * (dP - rowsum(dP * P))   softmax's VJP, row by row
      dQ = dS K * scale,   dK = dS^T Q * scale,   dM = dS (a float mask that requires grad; none for bool)
    A row whose scores are all -inf gives P = 0 (PyTorch's safe softmax), so O = 0 and its gradients are 0.
    Saves `p_attn` (P, not S), `drop` (D, when dropout_p > 0), `q_val` when K needs a gradient, `k_val`
    when Q does, `v_val` when Q, K or the mask does."""
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa=True is not supported yet")
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p has to be between 0 and 1, but got {dropout_p}")
    q_arr, k_arr, v_arr = array_of(query), array_of(key), array_of(value)
    _check_shapes(q_arr, k_arr, v_arr)
    mask_add = _additive_mask(attn_mask, is_causal, q_arr, k_arr)
    scale_factor = q_arr.dtype.type(1 / np.sqrt(q_arr.shape[-1]) if scale is None else scale)
    scores = (q_arr @ np.swapaxes(k_arr, -1, -2)) * scale_factor
    if mask_add is not None:
        scores = scores + mask_add
    p_attn = _safe_softmax(scores)
    del scores
    drop = None
    if dropout_p > 0:
        keep_scale = 0.0 if dropout_p == 1 else 1.0 / (1.0 - dropout_p)
        drop = (bernoulli_draws(1.0 - dropout_p, p_attn.shape) * keep_scale).astype(p_attn.dtype)
    out = (p_attn if drop is None else p_attn * drop) @ v_arr

    q_shape, k_shape, v_shape = q_arr.shape, k_arr.shape, v_arr.shape
    q_needs, k_needs, v_needs = needs_grad(query), needs_grad(key), needs_grad(value)
    mask_needs, mask_shape = needs_grad(attn_mask), np.shape(array_of(attn_mask)) if attn_mask is not None else ()
    q_val = q_arr if k_needs else None  # dK reads Q, dQ reads K, dP reads V: keep only what is asked for
    k_val = k_arr if q_needs else None
    v_val = v_arr if (q_needs or k_needs or mask_needs) else None
    del q_arr, k_arr, v_arr

    def scaled_dot_product_attention_backward(grad_out):
        grad_q = grad_k = grad_v = grad_mask = None
        if v_needs:
            p_used = p_attn if drop is None else p_attn * drop
            grad_v = unbroadcast(np.swapaxes(p_used, -1, -2) @ grad_out, v_shape)
        if v_val is not None:
            grad_p = grad_out @ np.swapaxes(v_val, -1, -2)
            if drop is not None:
                grad_p *= drop
            grad_s = p_attn * (grad_p - np.sum(grad_p * p_attn, axis=-1, keepdims=True))
            if q_needs:
                grad_q = unbroadcast((grad_s @ k_val) * scale_factor, q_shape)
            if k_needs:
                grad_k = unbroadcast((np.swapaxes(grad_s, -1, -2) @ q_val) * scale_factor, k_shape)
            if mask_needs:
                grad_mask = unbroadcast(grad_s, mask_shape)
        return grad_q, grad_k, grad_v, grad_mask

    return record(scaled_dot_product_attention, out, (query, key, value, attn_mask),
                  scaled_dot_product_attention_backward,
                  saved=(query if k_needs else None, key if q_needs else None, value if v_val is not None else None))
