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
