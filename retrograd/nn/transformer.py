"""The Transformer layers as PyTorch's (2.13): TransformerEncoderLayer, TransformerDecoderLayer,
TransformerEncoder, TransformerDecoder and Transformer, with PyTorch's signatures, defaults, submodule
names (so a converted PyTorch state_dict loads unchanged), mask rules and initialisation order.

They are compositions of MultiheadAttention, Linear, Dropout and LayerNorm: no new op, no hand-written
gradient. Post-norm (norm_first=False, "Attention Is All You Need"):  x = norm1(x + SA(x)),
x = norm2(x + FF(x)); pre-norm (norm_first=True):  x = x + SA(norm1(x)),  x = x + FF(norm2(x)); the
decoder adds the cross-attention block on the encoder's output (memory) between the two, with norm2, and
the feed-forward block then uses norm3. FF(x) = dropout2(linear2(dropout(activation(linear1(x))))).

PyTorch's inference fast paths (`torch._transformer_encoder_layer_fwd`, nested tensors) are not here:
retrograd always runs the path PyTorch takes in training; the fast paths give the same numbers (to
rounding) but one: where PyTorch's TransformerEncoder would pack the batch into a nested tensor (see
`TransformerEncoder`), its output is 0 at the padded positions, and retrograd gives those zeros too.
"""
import copy
import warnings

import numpy as np

from ..autograd import is_grad_enabled
from ..device import check_device
from ..dtypes import get_default_dtype
from ..ops.base import array_of
from ..tensor import Tensor
from . import functional as F
from . import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention, _canonical_mask
from .containers import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm


def _square_subsequent_mask(size, dtype):
    """(size, size) array: 0 on and below the diagonal, -inf above it (True above it for a bool dtype)."""
    return np.triu(np.full((size, size), -np.inf).astype(dtype), 1)


def _get_clones(module, count):
    """`count` independent deep copies of `module` (PyTorch's _get_clones): equal weights, not shared."""
    return ModuleList([copy.deepcopy(module) for _ in range(count)])


def _get_seq_len(src, batch_first):
    """The sequence length of (S, E), (S, N, E), or (N, S, E) with batch_first."""
    return src.shape[0] if src.ndim == 2 else src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask, is_causal=None, size=None):
    """PyTorch's rule: is_causal=True or False is taken as given; None means "True if the mask equals
    generate_square_subsequent_mask(size) exactly" (then the fused op builds the causal mask itself)."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        mask_val = np.asarray(array_of(mask))
        causal = _square_subsequent_mask(size if size is not None else mask_val.shape[-2], mask_val.dtype)
        make_causal = mask_val.shape == causal.shape and bool(np.all(mask_val == causal))
    return make_causal


def _activation(activation):
    """(the activation function, PyTorch's activation_relu_or_gelu flag: 1 relu, 2 gelu, 0 other)."""
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):
            raise RuntimeError(f"activation should be relu/gelu, not {activation}")
        activation = F.relu if activation == "relu" else F.gelu
    if activation is F.relu or isinstance(activation, ReLU):
        return activation, 1
    return activation, 2 if activation is F.gelu or isinstance(activation, GELU) else 0


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network, each with a residual connection, dropout and LayerNorm
    (post-norm, or pre-norm with norm_first=True). Input (S, N, E), (N, S, E) with batch_first, or (S, E).
    activation is "relu", "gelu" or a callable (a Module is registered as a submodule, as in PyTorch)."""

    _tensor_args = 1

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        activation, self.activation_relu_or_gelu = _activation(activation)
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype, src_mask,
                                               "src_mask")
        src_mask = _canonical_mask(src_mask, "src_mask", src.dtype)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Masked self-attention on the target, attention over the encoder's output (memory) and a feed-forward
    network, each with a residual connection, dropout and LayerNorm (norm1, norm2, norm3; post-norm, or
    pre-norm with norm_first=True). tgt (T, N, E) and memory (S, N, E), (N, ., E) with batch_first."""

    _tensor_args = 2

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)[0]

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _why_not_nested(layer):
    """PyTorch's reason (its wording) why an encoder of copies of `layer` never packs nested tensors, or ''."""
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    attn = layer.self_attn
    reasons = [(layer.norm_first, "norm_first was True"),
               (not attn.batch_first, "self_attn.batch_first was not True(use batch_first for better inference "
                                      "performance)"),
               (not attn._qkv_same_embed_dim, "self_attn._qkv_same_embed_dim was not True"),
               (attn.in_proj_bias is None, "self_attn was passed bias=False"),
               (not layer.activation_relu_or_gelu, "activation_relu_or_gelu was not True"),
               (layer.norm1.eps != layer.norm2.eps, "norm1.eps was not equal to encoder_layer.norm2.eps"),
               (attn.num_heads % 2 == 1, "self_attn.num_heads is odd")]
    return next((f"encoder_layer.{reason}" for failed, reason in reasons if failed), "")


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer (layers.0, layers.1, ...: equal initial weights, trained apart,
    as PyTorch's _get_clones), then the optional final norm.

    enable_nested_tensor: retrograd has no nested tensors, but it gives PyTorch's numbers where PyTorch would
    use them (use_nested_tensor, set with PyTorch's rules and warning; then in eval mode, with a
    src_key_padding_mask whose padding ends each sequence, no mask and nothing requiring grad): the output is
    0 at the padded positions (before the final norm), as PyTorch's nested tensor padded back gives. The
    other positions are what every path computes; the padded ones carry no information either way."""

    _tensor_args = 1

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        why_not = _why_not_nested(encoder_layer)
        self.use_nested_tensor = enable_nested_tensor and not why_not
        if enable_nested_tensor and why_not:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why_not}",
                          stacklevel=2)
        self.mask_check = mask_check

    def _kept_as_nested(self, src, mask, src_key_padding_mask):
        """(N, S) True at the positions PyTorch's nested tensor keeps, where PyTorch would build one; else None."""
        first = self.layers[0]
        if (not self.use_nested_tensor or first.training or src.ndim != 3 or src_key_padding_mask is None
                or mask is not None):
            return None
        if is_grad_enabled() and any(t.requires_grad for t in (src, *first.parameters())):
            return None
        kept = np.asarray(array_of(src_key_padding_mask)) == 0  # PyTorch's logical_not of the float mask
        left_aligned = bool(np.all(kept[:, :-1] >= kept[:, 1:]))  # each sequence's padding comes last
        # padding inside a sequence: PyTorch's mask_check keeps it off the nested path (mask_check=False would
        # pack it wrongly there; retrograd computes every position instead)
        return kept if left_aligned else None

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype, mask, "mask")
        mask = _canonical_mask(mask, "mask", src.dtype)
        seq_len = _get_seq_len(src, self.layers[0].self_attn.batch_first)
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        kept = self._kept_as_nested(src, mask, src_key_padding_mask)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if kept is not None:  # nothing requires grad here: a plain array, as PyTorch's to_padded_tensor(0.0)
            output = Tensor(np.where(kept[:, :, None], array_of(output), 0).astype(output.dtype))
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer, then the optional final norm (PyTorch's)."""

    _tensor_args = 2

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        seq_len = _get_seq_len(tgt, self.layers[0].self_attn.batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder Transformer (Vaswani et al., 2017) as PyTorch's: encoder (num_encoder_layers, final
    LayerNorm) and decoder (num_decoder_layers, final LayerNorm), or custom_encoder / custom_decoder. After
    construction every parameter with more than one dimension is re-drawn with xavier_uniform_, in
    parameters() order, as PyTorch does (so the same manual_seed gives PyTorch's initial weights)."""

    _tensor_args = 2

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation=F.relu, custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        factory = {"device": device, "dtype": dtype}
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                      bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, **factory), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, **factory), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError(f"the batch number of src and tgt must be equal (src of shape {tuple(src.shape)}, "
                               f"tgt of shape {tuple(tgt.shape)}, batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"the feature number of src and tgt must be equal to d_model (d_model={self.d_model}, "
                               f"src of shape {tuple(src.shape)}, tgt of shape {tuple(tgt.shape)})")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The causal mask for a sequence of length sz: 0 on and below the diagonal, -inf above it (float;
        the default dtype unless `dtype` is given)."""
        check_device(device, "Transformer.generate_square_subsequent_mask")
        return Tensor(_square_subsequent_mask(sz, np.dtype(dtype) if dtype is not None else get_default_dtype()))

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
