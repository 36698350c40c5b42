"""MultiheadAttention: PyTorch's layer (parameter names, layouts, masks) composed from linear, matmul, softmax
and the fused scaled_dot_product_attention op. Layers never hand-write gradients."""
import math

import numpy as np

from ..ops import activation, linalg, reduce, shape
from ..ops.base import array_of
from ..tensor import empty
from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter


def _additive(mask, dtype):
    """A mask as an array added to the scores: a bool mask is -inf where True (PyTorch's MHA convention:
    True = not allowed), a float mask as is. Masks get no gradient here."""
    mask_val = np.asarray(array_of(mask))
    if mask_val.dtype == bool:
        return np.where(mask_val, dtype.type(-np.inf), dtype.type(0))
    return mask_val.astype(dtype, copy=False)


def _merged_mask(attn_mask, key_padding_mask, batch, heads, length, source, dtype):
    """attn_mask (L, S) or (N*H, L, S) plus key_padding_mask (N, S), as one (N*H or 1, L or 1, S) array."""
    merged = None
    if attn_mask is not None:
        merged = _additive(attn_mask, dtype)
        expected = {(length, source), (batch * heads, length, source)}
        if merged.shape not in expected:
            raise RuntimeError(f"MultiheadAttention: attn_mask of shape {merged.shape} does not match the attention "
                               f"(expected ({length}, {source}) or ({batch * heads}, {length}, {source}))")
        merged = merged.reshape((-1, length, source))
    if key_padding_mask is not None:
        padding = _additive(key_padding_mask, dtype)
        if padding.shape != (batch, source):
            raise RuntimeError(f"MultiheadAttention: key_padding_mask of shape {padding.shape} does not match "
                               f"(expected ({batch}, {source}): one flag per batch item and key)")
        padding = np.broadcast_to(padding[:, None, None, :], (batch, heads, 1, source))
        padding = padding.reshape(batch * heads, 1, source)
        merged = padding if merged is None else merged + padding
    return merged


class MultiheadAttention(Module):
    """Multi-head attention as PyTorch's: in_proj_weight (3E, E) stacks W_q, W_k, W_v; in_proj_bias (3E,);
    out_proj is a Linear(E, E). Inputs are (L, N, E) or (N, L, E) with batch_first, or unbatched (L, E).
    Only kdim = vdim = embed_dim and no bias_k/bias_v/add_zero_attn (NotImplementedError otherwise)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        if embed_dim % num_heads != 0:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim different "
                                      "from embed_dim are not supported yet")
        self.embed_dim, self.kdim, self.vdim = embed_dim, embed_dim, embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
        self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dtype)) if bias else None
        if not bias:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, device=device)
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's: Xavier-uniform in_proj_weight, zero biases (out_proj.weight keeps Linear's init)."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _heads(self, x, length, batch):
        """(length, N, E) -> (N*H, length, head_dim), PyTorch's head layout."""
        return shape.transpose(shape.reshape(x, length, batch * self.num_heads, self.head_dim), 0, 1)

    def _project(self, x, index):
        """x W_i^T + b_i with the i-th (q, k or v) block of the stacked in-projection."""
        rows = slice(index * self.embed_dim, (index + 1) * self.embed_dim)
        bias = None if self.in_proj_bias is None else self.in_proj_bias[rows]
        return linalg.linear(x, self.in_proj_weight[rows], bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        batched = query.ndim == 3
        if not batched:
            query, key, value = (shape.unsqueeze(t, 1) for t in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else array_of(key_padding_mask)[None]
        elif self.batch_first:
            query, key, value = (shape.transpose(t, 0, 1) for t in (query, key, value))
        length, batch, _ = query.shape
        source = key.shape[0]
        q, k, v = (self._heads(self._project(t, i), n, batch) for i, (t, n) in
                   enumerate(((query, length), (key, source), (value, source))))
        mask = _merged_mask(attn_mask, key_padding_mask, batch, self.num_heads, length, source, q.dtype)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:  # PyTorch's explicit path: the weights are an output
            scores = linalg.matmul(q * (1.0 / math.sqrt(self.head_dim)), shape.transpose(k, 1, 2))
            weights = activation.softmax(scores if mask is None else scores + mask, dim=-1)
            out = linalg.matmul(F.dropout(weights, dropout_p) if dropout_p > 0 else weights, v)
            weights = shape.reshape(weights, batch, self.num_heads, length, source)
            weights = reduce.mean(weights, dim=1) if average_attn_weights else weights
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        out = shape.reshape(shape.transpose(out, 0, 1), length * batch, self.embed_dim)
        out = shape.reshape(self.out_proj(out), length, batch, self.embed_dim)
        if not batched:
            return shape.squeeze(out, 1), None if weights is None else shape.squeeze(weights, 0)
        return (shape.transpose(out, 0, 1) if self.batch_first else out), weights
