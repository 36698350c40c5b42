"""The Transformer layers against torch 2.13: state_dict keys, forward and every gradient in float64 with the
weights copied, masks (causal, padding, float masks with gradients), initial weights and dropout draws after
the same manual_seed, and PyTorch's errors."""
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn

# torch deprecates a bool padding mask beside a float attention mask (both warn; tested once below)
# and says for every encoder that is not batch_first that it will not use nested tensors (tested below)
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]

D_MODEL, NHEAD, FF = 8, 2, 12
BATCH, SRC, TGT = 3, 5, 4


def _copy_weights(ours, theirs):
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})


def _layer_pair(name, *args, **kwargs):
    """The same layer in torch and retrograd (float64, dropout 0), weights copied from torch's."""
    torch.manual_seed(0)
    with warnings.catch_warnings():  # torch's enable_nested_tensor warning for batch_first=False
        warnings.simplefilter("ignore")
        theirs = _build(torch.nn, name, *args, dtype=torch.float64, **kwargs)
    ours = _build(nn, name, *args, dtype=rg.float64, **kwargs)
    _copy_weights(ours, theirs)
    return ours, theirs


def _build(namespace, name, *args, dtype, num_layers=2, **kwargs):
    kwargs = {"dropout": 0.0, **kwargs}
    if name == "Transformer":
        return namespace.Transformer(D_MODEL, NHEAD, num_layers, num_layers, FF, *args, dtype=dtype, **kwargs)
    layer_name = name.removesuffix("Layer") + "Layer" if name.endswith("Layer") else name + "Layer"
    layer = getattr(namespace, layer_name)(D_MODEL, NHEAD, FF, *args, dtype=dtype, **kwargs)
    if name.endswith("Layer"):
        return layer
    norm = namespace.LayerNorm(D_MODEL, dtype=dtype)
    return getattr(namespace, name)(layer, num_layers, norm)


def _inputs(shapes, batch_first, seed=1):
    """Float64 arrays of the given (length, batch, E) shapes, (batch, length, E) with batch_first."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, b, e) if not batch_first else (b, n, e)) for n, b, e in shapes]


def _masks(batch, float_padding=False):
    """PyTorch's causal tgt mask, and padding masks: the last item's last keys are padding (True = ignore)."""
    src_padding = np.zeros((batch, SRC), dtype=bool)
    src_padding[-1, SRC - 2:] = True
    tgt_padding = np.zeros((batch, TGT), dtype=bool)
    tgt_padding[0, TGT - 1] = True
    if float_padding:
        src_padding, tgt_padding = (np.where(m, -np.inf, 0.0) for m in (src_padding, tgt_padding))
    causal = torch.nn.Transformer.generate_square_subsequent_mask(TGT, dtype=torch.float64).numpy()
    return src_padding, tgt_padding, causal


def _compare(ours, theirs, arrays, masks=None, grad_masks=(), **kwargs):
    """ours(*inputs, **masks, **kwargs) == theirs(...) in float64, and the gradients of every input, every
    parameter and every float mask in grad_masks, for a random cotangent."""
    masks = masks or {}
    ours_in = [rg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours_masks = {k: rg.tensor(m, requires_grad=k in grad_masks) for k, m in masks.items()}
    theirs_masks = {k: torch.tensor(m, requires_grad=k in grad_masks) for k, m in masks.items()}
    out = ours(*ours_in, **ours_masks, **kwargs)
    expected = theirs(*theirs_in, **theirs_masks, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    cotangent = np.random.default_rng(2).standard_normal(expected.shape)
    out.backward(rg.tensor(cotangent))
    expected.backward(torch.tensor(cotangent))
    pairs = [(f"input {i}", a, b) for i, (a, b) in enumerate(zip(ours_in, theirs_in))]
    pairs += [(k, ours_masks[k], theirs_masks[k]) for k in grad_masks]
    pairs += [(n, p, tp) for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters())]
    for name, mine, reference in pairs:
        assert (mine.grad is None) == (reference.grad is None), name
        if reference.grad is not None:
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-10, atol=1e-11,
                                       err_msg=name)  # atol: the key bias's gradient is 0 up to rounding
    return out


BOTH_WAYS = [(False, False), (False, True), (True, False), (True, True)]


@pytest.mark.parametrize("batch_first,norm_first", BOTH_WAYS)
def test_encoder_matches_torch_with_causal_and_padding_masks(batch_first, norm_first):
    ours, theirs = _layer_pair("TransformerEncoder", batch_first=batch_first, norm_first=norm_first)
    src_padding, _, _ = _masks(BATCH)
    causal = nn.Transformer.generate_square_subsequent_mask(SRC, dtype=rg.float64).numpy()
    _compare(ours, theirs, _inputs([(SRC, BATCH, D_MODEL)], batch_first),
             {"mask": causal, "src_key_padding_mask": src_padding})


@pytest.mark.parametrize("batch_first,norm_first", BOTH_WAYS)
def test_decoder_matches_torch_with_causal_and_padding_masks(batch_first, norm_first):
    ours, theirs = _layer_pair("TransformerDecoder", batch_first=batch_first, norm_first=norm_first)
    src_padding, tgt_padding, causal = _masks(BATCH)
    arrays = _inputs([(TGT, BATCH, D_MODEL), (SRC, BATCH, D_MODEL)], batch_first)
    _compare(ours, theirs, arrays, {"tgt_mask": causal, "tgt_key_padding_mask": tgt_padding,
                                    "memory_key_padding_mask": src_padding})


@pytest.mark.parametrize("batch_first,norm_first", BOTH_WAYS)
def test_transformer_matches_torch_with_every_mask(batch_first, norm_first):
    ours, theirs = _layer_pair("Transformer", batch_first=batch_first, norm_first=norm_first)
    src_padding, tgt_padding, causal = _masks(BATCH)
    memory_mask = np.random.default_rng(3).standard_normal((TGT, SRC))
    arrays = _inputs([(SRC, BATCH, D_MODEL), (TGT, BATCH, D_MODEL)], batch_first)
    _compare(ours, theirs, arrays, {"tgt_mask": causal, "memory_mask": memory_mask, "src_key_padding_mask": src_padding,
                                    "tgt_key_padding_mask": tgt_padding, "memory_key_padding_mask": src_padding},
             grad_masks=("memory_mask",))


def test_transformer_without_masks_unbatched_and_float_padding_masks():
    ours, theirs = _layer_pair("Transformer", num_layers=1)
    _compare(ours, theirs, _inputs([(SRC, BATCH, D_MODEL), (TGT, BATCH, D_MODEL)], False))
    rng = np.random.default_rng(4)
    _compare(ours, theirs, [rng.standard_normal((SRC, D_MODEL)), rng.standard_normal((TGT, D_MODEL))])
    src_padding, tgt_padding, _ = _masks(BATCH, float_padding=True)
    _compare(ours, theirs, _inputs([(SRC, BATCH, D_MODEL), (TGT, BATCH, D_MODEL)], False),
             {"src_key_padding_mask": src_padding, "tgt_key_padding_mask": tgt_padding})


@pytest.mark.parametrize("activation", ["gelu", "relu", torch.nn.functional.gelu])
def test_layers_with_activation_bias_and_eps_options_match_torch(activation):
    """"relu", "gelu" or a callable (here torch's gelu for torch, retrograd's for retrograd); bias=False drops
    every bias (LayerNorm's too); layer_norm_eps reaches all norms."""
    ours_activation = rg.nn.functional.gelu if callable(activation) else activation
    torch.manual_seed(0)
    theirs = torch.nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, 0.0, activation, 1e-3, bias=False,
                                              dtype=torch.float64)
    ours = nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, 0.0, ours_activation, 1e-3, bias=False, dtype=rg.float64)
    assert not any(name.endswith("bias") for name in ours.state_dict())
    assert ours.norm3.eps == 1e-3
    _copy_weights(ours, theirs)
    _compare(ours, theirs, _inputs([(TGT, BATCH, D_MODEL), (SRC, BATCH, D_MODEL)], False), tgt_is_causal=False)


def test_encoder_layer_flags_its_activation_as_torch():
    for activation, flag in [("relu", 1), ("gelu", 2), (nn.GELU(), 2), (rg.tanh, 0)]:
        assert nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, activation=activation).activation_relu_or_gelu == flag
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(D_MODEL, NHEAD, activation="tanh")


def test_causal_hint_ignores_the_mask_as_torch_does():
    """A mask equal to generate_square_subsequent_mask is detected as causal (is_causal=None): the fused op
    builds the causal mask and the given float mask gets no gradient, in both libraries. With a padding mask
    the mask is used as given and gets its gradient."""
    ours, theirs = _layer_pair("TransformerEncoder", num_layers=1)
    causal = nn.Transformer.generate_square_subsequent_mask(SRC, dtype=rg.float64).numpy()
    arrays = _inputs([(SRC, BATCH, D_MODEL)], False)
    _compare(ours, theirs, arrays, {"mask": causal}, grad_masks=("mask",))
    float_padding = np.where(_masks(BATCH)[0], -np.inf, 0.0)
    _compare(ours, theirs, arrays, {"mask": causal, "src_key_padding_mask": float_padding}, grad_masks=("mask",))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        ours(rg.tensor(arrays[0]), is_causal=True)


def test_decoder_with_a_bool_causal_mask_matches_torch():
    """True = not allowed above the diagonal: detected as causal as PyTorch does (compared in the mask's dtype)."""
    ours, theirs = _layer_pair("TransformerDecoder", num_layers=1, batch_first=True)
    causal = np.triu(np.ones((TGT, TGT), dtype=bool), 1)
    arrays = _inputs([(TGT, BATCH, D_MODEL), (SRC, BATCH, D_MODEL)], True)
    out = _compare(ours, theirs, arrays, {"tgt_mask": causal})
    first = ours(rg.tensor(arrays[0][:, :1]), rg.tensor(arrays[1]), tgt_mask=rg.tensor(causal[:1, :1]))
    np.testing.assert_allclose(out.detach().numpy()[:, :1], first.detach().numpy(), rtol=1e-12)  # the future is unseen


def test_custom_encoder_and_decoder_are_used_and_initialised_as_torch():
    torch.manual_seed(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Transformer(D_MODEL, NHEAD, dim_feedforward=FF, custom_encoder=torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF), 1), custom_decoder=torch.nn.Identity())
    rg.manual_seed(10)
    ours = nn.Transformer(D_MODEL, NHEAD, dim_feedforward=FF, custom_encoder=nn.TransformerEncoder(
        nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF), 1), custom_decoder=nn.Identity())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (key, mine), reference in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy(), err_msg=key)


def test_mixed_mask_types_warn_as_torch():
    ours, theirs = _layer_pair("TransformerEncoder", num_layers=1)
    src_padding, _, _ = _masks(BATCH)
    causal = nn.Transformer.generate_square_subsequent_mask(SRC, dtype=rg.float64)
    src = _inputs([(SRC, BATCH, D_MODEL)], False)[0]
    message = "Support for mismatched src_key_padding_mask and mask is deprecated"
    with pytest.warns(UserWarning, match=message):
        theirs(torch.tensor(src), mask=torch.tensor(causal.numpy()), src_key_padding_mask=torch.tensor(src_padding))
    with pytest.warns(UserWarning, match=message):
        ours(rg.tensor(src), mask=causal, src_key_padding_mask=rg.tensor(src_padding))


def test_generate_square_subsequent_mask_is_torchs():
    for kwargs, torch_kwargs in [({}, {}), ({"dtype": rg.float64}, {"dtype": torch.float64})]:
        mask = nn.Transformer.generate_square_subsequent_mask(4, **kwargs)
        expected = torch.nn.Transformer.generate_square_subsequent_mask(4, **torch_kwargs)
        assert str(mask.dtype) == str(expected.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(mask.numpy(), expected.numpy())


# ----- same seed, same model -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Transformer", "TransformerEncoderLayer", "TransformerDecoder"])
def test_construction_after_the_same_seed_gives_torchs_initial_weights(name):
    """Linear's init, MultiheadAttention's xavier_uniform_ and Transformer._reset_parameters draw the same
    uniform numbers in the same order: bit for bit equal, float32 as built by default."""
    torch.manual_seed(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _build(torch.nn, name, dtype=None)
    rg.manual_seed(5)
    ours = _build(nn, name, dtype=None)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (key, mine), reference in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert mine.dtype == np.float32, key
        np.testing.assert_array_equal(mine.numpy(), reference.numpy(), err_msg=key)


def test_encoder_layers_are_deep_copies():
    layer = nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF)
    encoder = nn.TransformerEncoder(layer, 3, enable_nested_tensor=True)
    first, second = encoder.layers[0], encoder.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.detach().numpy(), layer.linear1.weight.detach().numpy())
    with rg.no_grad():
        first.linear1.weight.mul_(2.0)
    assert not np.allclose(first.linear1.weight.detach().numpy(), second.linear1.weight.detach().numpy())
    assert len(list(encoder.parameters())) == 3 * len(list(layer.parameters()))
    assert encoder.enable_nested_tensor and not encoder.use_nested_tensor  # accepted, no effect


@pytest.mark.parametrize("kwargs", [{}, {"norm_first": True}, {"batch_first": True, "nhead": 3},
                                    {"batch_first": True, "activation": rg.tanh}, {"batch_first": True}])
def test_nested_tensor_warning_and_flag_are_torchs(kwargs):
    kwargs = dict(kwargs)
    nhead = kwargs.pop("nhead", NHEAD)
    torch_kwargs = {k: torch.tanh if v is rg.tanh else v for k, v in kwargs.items()}
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(6, nhead, FF, **torch_kwargs), 1)
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(6, nhead, FF, **kwargs), 1)
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    assert ours.use_nested_tensor == theirs.use_nested_tensor == (not theirs_warned)
    assert not nn.TransformerEncoder(nn.TransformerEncoderLayer(6, nhead, FF, **kwargs), 1,
                                     enable_nested_tensor=False).use_nested_tensor


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors is in prototype stage")
def test_encoder_outputs_zeros_at_padding_where_torch_uses_nested_tensors():
    """PyTorch's eval-mode path packs a padded batch into a nested tensor and pads it back with zeros; with
    gradients it computes every position. Both ways retrograd's output equals PyTorch's."""
    ours, theirs = _layer_pair("TransformerEncoder", batch_first=True)
    assert ours.use_nested_tensor and theirs.use_nested_tensor
    src = _inputs([(SRC, BATCH, D_MODEL)], True)[0]
    padding = _masks(BATCH)[0]
    ours.eval()
    theirs.eval()
    with rg.no_grad(), torch.no_grad():
        out = ours(rg.tensor(src), src_key_padding_mask=rg.tensor(padding))
        expected = theirs(torch.tensor(src), src_key_padding_mask=torch.tensor(padding))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    norm_of_zero = ours.norm.bias.detach().numpy()  # the final LayerNorm maps a zero row to its bias
    np.testing.assert_array_equal(out.numpy()[padding], np.broadcast_to(norm_of_zero, (padding.sum(), D_MODEL)))
    _compare(ours, theirs, [src], {"src_key_padding_mask": padding})  # with gradients: every position computed
    assert not np.allclose(ours(rg.tensor(src), src_key_padding_mask=rg.tensor(padding)).detach().numpy()[padding],
                           norm_of_zero)


def test_training_step_with_dropout_matches_torch_from_the_seed():
    """Built after the same seed, trained in train mode with dropout 0.3 after the same seed: the Bernoulli
    draws of every dropout (attention probabilities, residual and feed-forward) come in PyTorch's order, so
    the loss, every gradient and the weights after two SGD steps equal PyTorch's. (SGD, not Adam: the key
    bias's gradient is 0 up to rounding, softmax being blind to it, and Adam would blow that noise up.)"""
    torch.manual_seed(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Transformer(D_MODEL, NHEAD, 1, 1, FF, dropout=0.3, dtype=torch.float64)
    rg.manual_seed(6)
    ours = nn.Transformer(D_MODEL, NHEAD, 1, 1, FF, dropout=0.3, dtype=rg.float64)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy(), err_msg=name)
    src, tgt = _inputs([(SRC, BATCH, D_MODEL), (TGT, BATCH, D_MODEL)], False, seed=7)
    target = np.random.default_rng(8).standard_normal((TGT, BATCH, D_MODEL))
    causal = nn.Transformer.generate_square_subsequent_mask(TGT, dtype=rg.float64)
    ours_opt = rg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    theirs_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(2):
        rg.manual_seed(9 + step)
        torch.manual_seed(9 + step)
        loss = ((ours(rg.tensor(src), rg.tensor(tgt), tgt_mask=causal) - rg.tensor(target)) ** 2).mean()
        t_loss = ((theirs(torch.tensor(src), torch.tensor(tgt), tgt_mask=torch.tensor(causal.numpy()))
                   - torch.tensor(target)) ** 2).mean()
        for optimizer, value in ((ours_opt, loss), (theirs_opt, t_loss)):
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
        assert loss.item() == pytest.approx(t_loss.item(), rel=1e-12)
        losses.append(loss.item())
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-11, err_msg=name)
    ours.eval()
    with rg.no_grad():
        eval_loss = ((ours(rg.tensor(src), rg.tensor(tgt), tgt_mask=causal) - rg.tensor(target)) ** 2).mean()
    assert eval_loss.item() != pytest.approx(losses[-1], rel=1e-3)  # dropout really acted in training


# ----- errors ------------------------------------------------------------------------------------
def test_transformer_shape_errors_are_torchs():
    model = nn.Transformer(D_MODEL, NHEAD, 1, 1, FF, batch_first=True)
    with pytest.raises(RuntimeError, match=r"the batch number of src and tgt must be equal \(src of shape \(2, 5, 8\)"):
        model(rg.zeros(2, 5, D_MODEL), rg.zeros(3, 4, D_MODEL))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        model(rg.zeros(2, 5, D_MODEL), rg.zeros(2, 4, 6))
    with pytest.raises(TypeError, match="Transformer: argument 2 must be a Tensor, not list"):
        model(rg.zeros(2, 5, D_MODEL), [[0.0]])
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.TransformerEncoderLayer(D_MODEL, 3)
