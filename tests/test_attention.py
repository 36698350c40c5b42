"""scaled_dot_product_attention: one fused op matching torch's F.scaled_dot_product_attention in float64,
forward and every gradient (random cotangent), plus a finite-difference gradcheck, dropout and errors."""
import numpy as np
import pytest
import torch

import retrograd as rg
import retrograd.nn.functional as F
from retrograd.autograd import gradcheck

TF = torch.nn.functional


def _arrays(q_shape, k_shape, v_shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in (q_shape, k_shape, v_shape)]


def _both(arrays, grad=True):
    """The same float64 arrays as retrograd and torch tensors."""
    ours = [rg.tensor(a, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    return ours, theirs


def _compare(q_shape, k_shape, v_shape, mask=None, mask_grad=False, **kwargs):
    """Forward and the gradients of Q, K, V (and a float mask) equal torch's for a random cotangent."""
    (q, k, v), (tq, tk, tv) = _both(_arrays(q_shape, k_shape, v_shape))
    mask_ours = mask_theirs = None
    if mask is not None:
        mask_ours = rg.tensor(mask, requires_grad=mask_grad)
        mask_theirs = torch.tensor(mask, requires_grad=mask_grad)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask_ours, **kwargs)
    expected = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=mask_theirs, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = np.random.default_rng(1).standard_normal(expected.shape)
    out.backward(rg.tensor(cotangent))
    expected.backward(torch.tensor(cotangent))
    pairs = [(q, tq), (k, tk), (v, tv)] + ([(mask_ours, mask_theirs)] if mask_grad else [])
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    return out


def test_no_mask_3d():
    _compare((2, 3, 4), (2, 5, 4), (2, 5, 6))


def test_no_mask_4d():
    _compare((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5))


def test_bool_mask_broadcast_over_batch():
    mask = np.random.default_rng(2).uniform(size=(4, 6)) > 0.4
    mask[:, 0] = True
    _compare((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5), mask=mask)


def test_bool_mask_with_a_fully_masked_row_gives_zeros_as_torch():
    mask = np.ones((4, 6), dtype=bool)
    mask[2] = False
    out = _compare((2, 4, 3), (2, 6, 3), (2, 6, 5), mask=mask)
    np.testing.assert_array_equal(out.detach().numpy()[:, 2], 0.0)


def test_float_mask_with_grad():
    mask = np.random.default_rng(3).standard_normal((3, 4, 6))
    _compare((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5), mask=mask, mask_grad=True)


def test_float_mask_broadcast_gets_summed_grad():
    mask = np.random.default_rng(4).standard_normal((1, 6))
    _compare((2, 4, 3), (2, 6, 3), (2, 6, 5), mask=mask, mask_grad=True)


@pytest.mark.parametrize("length,source", [(5, 5), (3, 6), (6, 3)])
def test_causal_top_left_aligned(length, source):
    _compare((2, 2, length, 4), (2, 2, source, 4), (2, 2, source, 3), is_causal=True)


def test_custom_scale():
    _compare((2, 3, 4), (2, 5, 4), (2, 5, 6), scale=0.3)


def test_gradcheck_float64():
    q, k, v = (rg.tensor(a, requires_grad=True) for a in _arrays((2, 3, 4), (2, 5, 4), (2, 5, 2), seed=5))
    mask = rg.tensor(np.random.default_rng(6).standard_normal((3, 5)), requires_grad=True)
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), (q, k, v, mask))
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7), (q, k, v))


def test_dropout_matches_torch_stream():
    """Same seed, same Bernoulli draws on P: torch's math path does dropout(P) with bernoulli_(1 - p)."""
    arrays = _arrays((2, 4, 3), (2, 6, 3), (2, 6, 5), seed=7)
    (q, k, v), (tq, tk, tv) = _both(arrays)
    rg.manual_seed(11)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    torch.manual_seed(11)
    expected = TF.scaled_dot_product_attention(tq, tk, tv, dropout_p=0.3)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    undropped = F.scaled_dot_product_attention(q, k, v).detach().numpy()
    assert not np.allclose(out.detach().numpy(), undropped)  # some weights really were dropped
    cotangent = np.random.default_rng(8).standard_normal(expected.shape)
    out.backward(rg.tensor(cotangent))
    expected.backward(torch.tensor(cotangent))
    for ours, theirs in [(q, tq), (k, tk), (v, tv)]:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bool_mask_gets_no_grad_and_float32_stays_float32():
    q, k, v = (rg.tensor(a.astype(np.float32), requires_grad=True) for a in _arrays((3, 4), (5, 4), (5, 2)))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=rg.tensor(np.ones((3, 5), dtype=bool)))
    assert out.dtype == np.float32 and out.shape == (3, 2)
    out.sum().backward()
    assert q.grad.dtype == np.float32


@pytest.mark.parametrize("shapes,kwargs,message", [
    (((2, 3, 4), (2, 5, 3), (2, 5, 6)), {}, r"key of shape \(2, 5, 3\) does not match query of shape \(2, 3, 4\)"),
    (((2, 3, 4), (2, 5, 4), (2, 4, 6)), {}, r"value of shape \(2, 4, 6\) does not match key of shape \(2, 5, 4\)"),
    (((2, 3, 4), (3, 5, 4), (3, 5, 6)), {}, r"batch dimensions of query \(2, 3, 4\), key \(3, 5, 4\)"),
    (((4,), (4,), (4,)), {}, r"at least 2 dimensional, but got query.dim: 1 key.dim: 1 and value.dim: 1"),
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"attn_mask": np.ones((4, 5), dtype=bool)},
     r"attn_mask of shape \(4, 5\) does not broadcast to the attention scores' shape \(2, 3, 5\)"),
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"attn_mask": np.ones((3, 5), dtype=bool), "is_causal": True},
     r"Explicit attn_mask should not be set when is_causal=True"),
])
def test_shape_errors_name_the_argument(shapes, kwargs, message):
    q, k, v = (rg.tensor(a) for a in _arrays(*shapes))
    if "attn_mask" in kwargs:
        kwargs = dict(kwargs, attn_mask=rg.tensor(kwargs["attn_mask"]))
    with pytest.raises(RuntimeError, match=message):
        F.scaled_dot_product_attention(q, k, v, **kwargs)


def test_dtype_mismatch_is_torchs_error():
    q = rg.tensor(np.ones((3, 4)))
    k = rg.tensor(np.ones((5, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match="query.dtype: double key.dtype: float and value.dtype: float"):
        F.scaled_dot_product_attention(q, k, k)


def test_enable_gqa_is_not_implemented():
    q = rg.tensor(np.ones((1, 2, 3, 4)))
    with pytest.raises(NotImplementedError, match="enable_gqa"):
        F.scaled_dot_product_attention(q, q, q, enable_gqa=True)


# ----- nn.MultiheadAttention: parity with torch's layer, weights copied ------------------------------------
def _mha_pair(embed_dim=6, num_heads=2, **kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(embed_dim, num_heads, dtype=torch.float64, **kwargs)
    ours = rg.nn.MultiheadAttention(embed_dim, num_heads, dtype=rg.float64, **kwargs)
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("batch_first,need_weights,average,float_masks", [
    (False, True, True, True), (True, True, False, False), (True, False, True, False), (False, False, True, True),
])
def test_multihead_attention_matches_torch(batch_first, need_weights, average, float_masks):
    """Masks of one kind (torch deprecates mixing them): bool True = not allowed, or float added to the scores."""
    ours, theirs = _mha_pair(batch_first=batch_first)
    assert [name for name, _ in ours.named_parameters()] == [name for name, _ in theirs.named_parameters()]
    shapes = [(2, 4, 6), (2, 5, 6), (2, 5, 6)] if batch_first else [(4, 2, 6), (5, 2, 6), (5, 2, 6)]
    (q, k, v), (tq, tk, tv) = _both(_arrays(*shapes, seed=9))
    padding = np.zeros((2, 5), dtype=bool)
    padding[1, 3:] = True  # the second item's last two keys are padding
    attn_mask = np.random.default_rng(10).standard_normal((4, 5))
    if float_masks:
        padding = np.where(padding, -np.inf, 0.0)
    else:
        attn_mask = attn_mask > 1.0  # a few disallowed pairs; column 0 stays allowed for every query
        attn_mask[:, 0] = False
    kwargs = dict(need_weights=need_weights, average_attn_weights=average)
    out, weights = ours(q, k, v, key_padding_mask=rg.tensor(padding), attn_mask=rg.tensor(attn_mask), **kwargs)
    t_out, t_weights = theirs(tq, tk, tv, key_padding_mask=torch.tensor(padding),
                              attn_mask=torch.tensor(attn_mask), **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    if need_weights:
        np.testing.assert_allclose(weights.detach().numpy(), t_weights.detach().numpy(), rtol=1e-10, atol=1e-12)
    else:
        assert weights is None and t_weights is None
    cotangent = np.random.default_rng(11).standard_normal(t_out.shape)
    out.backward(rg.tensor(cotangent))
    t_out.backward(torch.tensor(cotangent))
    for ours_t, theirs_t in [(q, tq), (k, tk), (v, tv)]:
        np.testing.assert_allclose(ours_t.grad.numpy(), theirs_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_multihead_attention_default_init_matches_torch():
    rg.manual_seed(3)
    ours = rg.nn.MultiheadAttention(6, 3)
    torch.manual_seed(3)
    theirs = torch.nn.MultiheadAttention(6, 3)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6, err_msg=name)


def test_multihead_attention_unbatched_matches_torch():
    ours, theirs = _mha_pair()
    (q, k, v), (tq, tk, tv) = _both(_arrays((4, 6), (5, 6), (5, 6), seed=12))
    padding = np.array([False, False, True, False, True])
    out, weights = ours(q, k, v, key_padding_mask=rg.tensor(padding))
    t_out, t_weights = theirs(tq, tk, tv, key_padding_mask=torch.tensor(padding))
    assert out.shape == (4, 6) and weights.shape == (4, 5)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), t_weights.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_multihead_attention_mask_shape_errors_name_the_mask():
    ours, _ = _mha_pair()
    q, k, v = (rg.tensor(a) for a in _arrays((4, 2, 6), (5, 2, 6), (5, 2, 6)))
    with pytest.raises(RuntimeError, match=r"key_padding_mask of shape \(2, 4\) does not match \(expected \(2, 5\)"):
        ours(q, k, v, key_padding_mask=rg.tensor(np.zeros((2, 4), dtype=bool)))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(5, 5\) does not .*expected \(4, 5\) or \(4, 4, 5\)"):
        ours(q, k, v, attn_mask=rg.tensor(np.zeros((5, 5), dtype=bool)))


# ----- kdim/vdim, bias_k/bias_v, add_zero_attn, float masks with gradients, is_causal ----------------------
def _mha_check(ours, theirs, arrays, masks=(), mask_grad=False, **kwargs):
    """Forward (output and weights) and the gradients of every input, parameter and float mask equal torch's."""
    (q, k, v), (tq, tk, tv) = _both(arrays)
    names = [name for name, _ in masks]
    ours_masks = {name: rg.tensor(m, requires_grad=mask_grad and m.dtype != bool) for name, m in masks}
    theirs_masks = {name: torch.tensor(m, requires_grad=mask_grad and m.dtype != bool) for name, m in masks}
    out, weights = ours(q, k, v, **ours_masks, **kwargs)
    t_out, t_weights = theirs(tq, tk, tv, **theirs_masks, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert (weights is None) == (t_weights is None)
    if t_weights is not None:
        np.testing.assert_allclose(weights.detach().numpy(), t_weights.detach().numpy(), rtol=1e-10, atol=1e-12)
    cotangent = np.random.default_rng(13).standard_normal(t_out.shape)
    out.backward(rg.tensor(cotangent))
    t_out.backward(torch.tensor(cotangent))
    pairs = [("query", q, tq), ("key", k, tk), ("value", v, tv)]
    pairs += [(name, ours_masks[name], theirs_masks[name]) for name in names]
    pairs += [(name, p, tp) for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters())]
    for name, ours_t, theirs_t in pairs:
        assert (ours_t.grad is None) == (theirs_t.grad is None), name
        if theirs_t.grad is not None:
            np.testing.assert_allclose(ours_t.grad.numpy(), theirs_t.grad.numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=name)


def _padding_and_attn_mask(length, source, batch, float_masks):
    padding = np.zeros((batch, source), dtype=bool)
    padding[-1, source - 2:] = True  # the last item's last two keys are padding
    attn_mask = np.random.default_rng(14).standard_normal((length, source))
    if float_masks:
        return np.where(padding, -np.inf, 0.0) + 0.1 * np.random.default_rng(15).standard_normal(padding.shape), \
            attn_mask
    attn_mask = attn_mask > 1.0
    attn_mask[:, 0] = False  # every query keeps a key
    return padding, attn_mask


@pytest.mark.parametrize("kdim,vdim,add_bias_kv,add_zero_attn,batch_first,need_weights,float_masks", [
    (4, 3, False, False, False, True, True),
    (4, 3, True, True, True, False, False),
    (None, None, True, False, False, False, True),
    (None, None, False, True, True, True, False),
    (5, None, True, True, False, True, False),
])
def test_multihead_attention_options_match_torch(kdim, vdim, add_bias_kv, add_zero_attn, batch_first, need_weights,
                                                 float_masks):
    options = dict(kdim=kdim, vdim=vdim, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, batch_first=batch_first)
    ours, theirs = _mha_pair(**options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours._qkv_same_embed_dim == theirs._qkv_same_embed_dim
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    kdim, vdim = kdim or 6, vdim or 6
    shapes = [(4, 2, 6), (5, 2, kdim), (5, 2, vdim)]
    if batch_first:
        shapes = [(b, n, e) for n, b, e in shapes]
    padding, attn_mask = _padding_and_attn_mask(4, 5, 2, float_masks)
    _mha_check(ours, theirs, _arrays(*shapes, seed=16), masks=[("key_padding_mask", padding), ("attn_mask", attn_mask)],
               mask_grad=float_masks, need_weights=need_weights, average_attn_weights=False)


@pytest.mark.parametrize("need_weights", [True, False])
def test_float_masks_that_require_grad_get_torchs_gradient(need_weights):
    ours, theirs = _mha_pair(add_bias_kv=True)
    per_head_mask = np.random.default_rng(17).standard_normal((2 * 2, 4, 5))  # (N*H, L, S)
    padding = np.random.default_rng(18).standard_normal((2, 5))
    _mha_check(ours, theirs, _arrays((4, 2, 6), (5, 2, 6), (5, 2, 6), seed=19),
               masks=[("key_padding_mask", padding), ("attn_mask", per_head_mask)], mask_grad=True,
               need_weights=need_weights)


def test_unbatched_with_kdim_vdim_and_a_per_head_mask():
    ours, theirs = _mha_pair(kdim=3, vdim=2, add_zero_attn=True)
    per_head_mask = np.random.default_rng(20).standard_normal((2, 4, 5))  # (H, L, S) for unbatched input
    _mha_check(ours, theirs, _arrays((4, 6), (5, 3), (5, 2), seed=21), masks=[("attn_mask", per_head_mask)],
               mask_grad=True)


@pytest.mark.parametrize("need_weights,with_padding", [(False, False), (True, False), (False, True)])
def test_is_causal_is_torchs_hint(need_weights, with_padding):
    """Without padding or weights to return, is_causal makes the fused op build the causal mask and attn_mask is
    ignored (it gets no gradient); otherwise attn_mask is used as given. A deliberately non-causal mask shows which."""
    ours, theirs = _mha_pair()
    not_causal = np.random.default_rng(22).standard_normal((4, 4))
    masks = [("attn_mask", not_causal)]
    if with_padding:
        masks.append(("key_padding_mask", np.array([[0.0, 0.0, 0.0, -np.inf], [0.0, 0.0, 0.0, 0.0]])))
    x = _arrays((4, 2, 6), (4, 2, 6), (4, 2, 6), seed=23)
    _mha_check(ours, theirs, x, masks=masks, mask_grad=True, need_weights=need_weights, is_causal=True)


def test_is_causal_without_a_mask_is_torchs_error():
    ours, _ = _mha_pair()
    q = rg.tensor(_arrays((4, 2, 6), (4, 2, 6), (4, 2, 6))[0])
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        ours(q, q, q, is_causal=True)


def test_self_attention_shares_one_projection_and_matches_torch():
    """query is key is value: one GEMM with the packed weight (PyTorch's self-attention path), same numbers."""
    ours, theirs = _mha_pair(batch_first=True)
    x = np.random.default_rng(24).standard_normal((2, 4, 6))
    mine, reference = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, _ = ours(mine, mine, mine, need_weights=False)
    t_out, _ = theirs(reference, reference, reference, need_weights=False)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.backward(rg.tensor(x))
    t_out.backward(torch.tensor(x))
    np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.in_proj_weight.grad.numpy(), theirs.in_proj_weight.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("need_weights", [True, False])
def test_attention_dropout_in_training_matches_torchs_draws(need_weights):
    """Same seed, same Bernoulli draws; the returned weights are PyTorch's: after dropout."""
    ours, theirs = _mha_pair(dropout=0.4, add_bias_kv=True)
    arrays = _arrays((4, 2, 6), (5, 2, 6), (5, 2, 6), seed=25)
    rg.manual_seed(26)
    torch.manual_seed(26)
    _mha_check(ours, theirs, arrays, need_weights=need_weights, average_attn_weights=False)
    ours.eval()
    undropped, _ = ours(*(rg.tensor(a) for a in arrays))
    rg.manual_seed(26)
    ours.train()
    dropped, weights = ours(*(rg.tensor(a) for a in arrays), need_weights=True, average_attn_weights=False)
    assert not np.allclose(dropped.detach().numpy(), undropped.detach().numpy())
    assert np.any(weights.detach().numpy() == 0)


def test_multihead_attention_options_default_init_matches_torch():
    """Uniform-based init (xavier_uniform_, Linear) is bit-identical; bias_k/bias_v are normal draws (few ulp)."""
    rg.manual_seed(27)
    ours = rg.nn.MultiheadAttention(6, 2, kdim=4, vdim=3, add_bias_kv=True)
    torch.manual_seed(27)
    theirs = torch.nn.MultiheadAttention(6, 2, kdim=4, vdim=3, add_bias_kv=True)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        if name.startswith("bias_"):
            np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy(), err_msg=name)
    assert ours.bias_k.shape == (1, 1, 6) and rg.nn.MultiheadAttention(6, 2).bias_k is None


def test_multihead_attention_input_errors_name_the_argument():
    ours, _ = _mha_pair(kdim=4, vdim=3)
    q, k, v = (rg.tensor(a) for a in _arrays((4, 2, 6), (5, 2, 4), (5, 2, 3)))
    with pytest.raises(AssertionError, match=r"key of shape \(4, 2, 6\) does not end in kdim=4"):
        ours(q, q, v)
    with pytest.raises(AssertionError, match=r"expected `key` and `value` to be 3-D but found 2-D and 3-D"):
        ours(q, k[0], v)
    with pytest.raises(AssertionError, match=r"key's sequence and batch dims \(5, 2\) do not match value's \(4, 2\)"):
        ours(q, k, rg.tensor(np.zeros((4, 2, 3))))
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask are supported"):
        ours(q, k, v, attn_mask=rg.tensor(np.zeros((4, 5), dtype=np.int64)))
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        ours(q, k, v, attn_mask=rg.tensor(np.zeros((4, 5))), key_padding_mask=rg.tensor(np.zeros((2, 5), bool)))
