"""MultiheadAttention: PyTorch's layer (parameter names, layouts, masks, kdim/vdim, bias_k/bias_v,
add_zero_attn) composed from linear, matmul, softmax and the fused scaled_dot_product_attention op.
Layers never hand-write gradients: a float mask that requires grad gets its gradient from the ops.

Legend: L target length, S source length (keys), N batch, H heads, E = embed_dim, D = E / H."""
import math
import warnings

import numpy as np

from ..device import check_device
from ..ops import activation, linalg, reduce, shape
from ..ops.base import array_of
from ..tensor import Tensor, empty, zeros
from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter


def _canonical_mask(mask, name, dtype, other=None, other_name=""):
    """PyTorch's F._canonical_mask: a bool mask becomes 0 / -inf in `dtype` (True = not allowed; a constant
    without gradient); a float mask stays the same Tensor, so one that requires grad gets its gradient."""
    if mask is None:
        return None
    mask = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))
    mask_dtype = np.dtype(mask.dtype)
    if mask_dtype != np.bool_ and mask_dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and np.asarray(array_of(other)).dtype != mask_dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both "
                      f"instead.", stacklevel=4)
    if mask_dtype == np.bool_:
        return Tensor(np.where(array_of(mask), np.dtype(dtype).type(-np.inf), np.dtype(dtype).type(0)))
    return mask


def _check_mask_shapes(attn_mask, key_padding_mask, batch, heads, length, source):
    """attn_mask (L, S) or (N*H, L, S) and key_padding_mask (N, S), or an error naming the mask."""
    if attn_mask is not None and tuple(attn_mask.shape) not in {(length, source), (batch * heads, length, source)}:
        raise RuntimeError(f"MultiheadAttention: attn_mask of shape {tuple(attn_mask.shape)} does not match the "
                           f"attention (expected ({length}, {source}) or ({batch * heads}, {length}, {source}))")
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (batch, source):
        raise RuntimeError(f"MultiheadAttention: key_padding_mask of shape {tuple(key_padding_mask.shape)} does not "
                           f"match (expected ({batch}, {source}): one flag per batch item and key)")


def _merged_mask(attn_mask, key_padding_mask, batch, heads, length, source):
    """The float masks as one mask that broadcasts to the (N, H, L, S) scores: attn_mask (L, S) as is or
    (N*H, L, S) as (N, H, L, S), plus key_padding_mask (N, S) as (N, 1, 1, S). Ops, so gradients flow."""
    merged = None
    if attn_mask is not None:
        merged = attn_mask if attn_mask.ndim == 2 else shape.reshape(attn_mask, batch, heads, length, source)
    if key_padding_mask is not None:
        padding = shape.reshape(key_padding_mask, batch, 1, 1, source)
        merged = padding if merged is None else merged + padding
    return merged


class MultiheadAttention(Module):
    """Multi-head attention as PyTorch's. With kdim = vdim = embed_dim, in_proj_weight (3E, E) stacks W_q, W_k,
    W_v; otherwise q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim). in_proj_bias (3E,);
    out_proj is a Linear(E, E); add_bias_kv adds bias_k, bias_v (1, 1, E), a learned key and value appended
    after the S keys, and add_zero_attn then appends a zero key and value (both are attended by every query).
    Inputs are (L, N, E) or (N, L, E) with batch_first, or unbatched (L, E).

    Masks follow PyTorch: bool True = not allowed, float added to the scores (a float mask that requires grad
    gets its gradient). is_causal is PyTorch's hint: it needs attn_mask, and without key_padding_mask and with
    need_weights=False the causal mask is built by scaled_dot_product_attention and attn_mask is ignored.
    The returned weights are the (dropped-out, in training) attention probabilities, averaged over heads
    unless average_attn_weights=False."""

    _tensor_args = 3

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, device=device)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, dtype=dtype))
            self.bias_v = Parameter(empty(1, 1, embed_dim, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's: Xavier-uniform input projections, zero biases (out_proj.weight keeps Linear's init),
        Xavier-normal bias_k and bias_v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for kv_bias in (self.bias_k, self.bias_v):
            if kv_bias is not None:
                init.xavier_normal_(kv_bias)

    def _check_inputs(self, query, key, value, key_padding_mask, attn_mask):
        """PyTorch's _mha_shape_check (its AssertionErrors), then the feature sizes; True for batched input."""
        if query.ndim not in (2, 3):
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D "
                                 f"query tensor")
        kind = "batched (3-D)" if query.ndim == 3 else "unbatched (2-D)"
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and np.ndim(array_of(key_padding_mask)) != query.ndim - 1:
            raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                                 f"{query.ndim - 1}-D but found {np.ndim(array_of(key_padding_mask))}-D tensor instead")
        if attn_mask is not None and np.ndim(array_of(attn_mask)) not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{np.ndim(array_of(attn_mask))}-D tensor instead")
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got {query.shape[-1]}")
        for name, x, size in (("key", key, "kdim"), ("value", value, "vdim")):
            if x.shape[-1] != getattr(self, size):
                raise AssertionError(f"MultiheadAttention: {name} of shape {tuple(x.shape)} does not end in "
                                     f"{size}={getattr(self, size)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:-1])} do not match value's "
                                 f"{tuple(value.shape[:-1])}")
        return query.ndim == 3

    def _in_projection(self, query, key, value, self_attention):
        """q, k, v = x W^T + b with the packed in_proj_weight (one GEMM for self-attention, as PyTorch) or the
        separate q/k/v_proj_weight; the bias is in_proj_bias's three blocks."""
        if self._qkv_same_embed_dim and self_attention:
            return shape.chunk(linalg.linear(query, self.in_proj_weight, self.in_proj_bias), 3, dim=-1)
        if self._qkv_same_embed_dim:
            weights = shape.chunk(self.in_proj_weight, 3)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = (None,) * 3 if self.in_proj_bias is None else shape.chunk(self.in_proj_bias, 3)
        return tuple(linalg.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))

    def _extra_keys(self, k, v, masks, batch):
        """bias_k/bias_v, then a zero key and value (add_zero_attn), appended after the S keys (S, N, E) in
        PyTorch's order; each mask gets a 0 column per added key (every query may attend to it)."""
        extra_k, extra_v = [], []
        if self.bias_k is not None:
            extra_k.append(shape.expand(self.bias_k, 1, batch, self.embed_dim))
            extra_v.append(shape.expand(self.bias_v, 1, batch, self.embed_dim))
        if self.add_zero_attn:
            extra_k.append(zeros(1, batch, self.embed_dim, dtype=k.dtype))
            extra_v.append(zeros(1, batch, self.embed_dim, dtype=v.dtype))
        if not extra_k:
            return k, v, masks
        masks = tuple(None if mask is None else F.pad(mask, (0, len(extra_k))) for mask in masks)
        return shape.cat([k, *extra_k]), shape.cat([v, *extra_v]), masks

    def _heads(self, x, length, batch):
        """(length, N, E) -> (N, H, length, D): PyTorch's (N*H, length, D) head layout with N and H apart."""
        return shape.permute(shape.reshape(x, length, batch, self.num_heads, self.head_dim), 1, 2, 0, 3)

    def _attend(self, q, k, v, mask, need_weights, is_causal):
        """softmax(Q K^T / sqrt(D) + M) V per head: the fused op, or PyTorch's explicit path when the weights
        are an output (PyTorch returns them after dropout)."""
        dropout_p = self.dropout if self.training else 0.0
        if not need_weights:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                                  is_causal=is_causal), None
        scores = linalg.matmul(q * math.sqrt(1.0 / self.head_dim), shape.transpose(k, -2, -1))  # (N, H, L, S)
        weights = activation.softmax(scores if mask is None else mask + scores, dim=-1)
        if dropout_p > 0:
            weights = F.dropout(weights, dropout_p)
        return linalg.matmul(weights, v), weights

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        batched = self._check_inputs(query, key, value, key_padding_mask, attn_mask)
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype, attn_mask, "attn_mask")
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                               "module method `generate_square_subsequent_mask` to create this mask.")
        is_causal = is_causal and key_padding_mask is None and not need_weights
        if is_causal:  # PyTorch's reading of the hint: the fused op builds the causal mask, attn_mask is unused
            attn_mask = None
        self_attention = query is key and key is value
        if not batched:
            query, key, value = (shape.unsqueeze(t, 1) for t in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else shape.unsqueeze(key_padding_mask, 0)
        elif self.batch_first:
            query, key, value = (shape.transpose(t, 0, 1) for t in (query, key, value))
        (length, batch, _), source = query.shape, key.shape[0]
        if key.shape[1] != batch:
            raise RuntimeError(f"MultiheadAttention: query has batch size {batch} but key has {key.shape[1]}")
        _check_mask_shapes(attn_mask, key_padding_mask, batch, self.num_heads, length, source)
        q, k, v = self._in_projection(query, key, value, self_attention)
        k, v, (attn_mask, key_padding_mask) = self._extra_keys(k, v, (attn_mask, key_padding_mask), batch)
        source = k.shape[0]
        q, k, v = (self._heads(t, n, batch) for t, n in ((q, length), (k, source), (v, source)))
        mask = _merged_mask(attn_mask, key_padding_mask, batch, self.num_heads, length, source)
        if mask is not None and mask.dtype != q.dtype:
            mask = shape.cast(mask, q.dtype)
        out, weights = self._attend(q, k, v, mask, need_weights, is_causal)
        out = shape.reshape(shape.permute(out, 2, 0, 1, 3), length * batch, self.embed_dim)  # (L*N, E)
        out = shape.reshape(self.out_proj(out), length, batch, self.embed_dim)
        if weights is not None and average_attn_weights:
            weights = reduce.mean(weights, dim=1)
        if not batched:
            return shape.squeeze(out, 1), None if weights is None else shape.squeeze(weights, 0)
        return (shape.transpose(out, 0, 1) if self.batch_first else out), weights
