"""Dropout1d / Dropout2d (and F.dropout1d / F.dropout2d): one draw per (sample, channel), PyTorch's handling
of unbatched and odd-rank inputs (its warnings, not errors), the gradient is the scaled mask."""
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn

F = nn.functional


def _caught(fn, *args, **kwargs):
    """fn's result and the messages of the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught]


def _assert_channel_mask(y, x, p, mask_shape):
    """y is x times a 0 / (1/(1-p)) mask constant over every dim that mask_shape has as 1."""
    kept = y != 0
    np.testing.assert_allclose(y, x * kept / (1 - p), rtol=1e-15)
    first = kept[tuple(slice(None) if m > 1 else slice(0, 1) for m in mask_shape)]
    np.testing.assert_array_equal(kept, np.broadcast_to(first, kept.shape))


@pytest.mark.parametrize("shape,mask_shape", [((40, 30, 5), (40, 30, 1)), ((200, 6), (200, 1))])
def test_dropout1d_drops_whole_channels_batched_and_unbatched(shape, mask_shape):
    rg.manual_seed(0)
    x = np.random.default_rng(0).uniform(1, 2, shape)
    xt = rg.tensor(x, requires_grad=True)
    y = nn.Dropout1d(0.25)(xt)
    _assert_channel_mask(y.detach().numpy(), x, 0.25, mask_shape)
    kept = (y.detach().numpy() != 0).reshape(-1, shape[-1])[:, 0]
    assert abs(kept.mean() - 0.75) < 0.13  # over 4 standard deviations for 200 channels: any seed passes
    g = np.random.default_rng(1).standard_normal(shape)
    (y * rg.tensor(g)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), g * y.detach().numpy() / x)  # dL/dx = g * m / (1 - p)


def test_dropout1d_refuses_other_ranks_with_torchs_message():
    for shape in [(4,), (2, 3, 4, 5)]:
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.dropout1d(torch.ones(shape))
        with pytest.raises(RuntimeError, match="received a %dD input" % len(shape)) as ours:
            F.dropout1d(rg.ones(*shape))
        assert str(ours.value) == str(theirs.value)


def test_dropout2d_on_3d_input_warns_and_drops_per_row_like_torch():
    """PyTorch 2.13 reads a 3-D input as (N, C, L) (pytorch/pytorch#77081), with a warning: the mask varies
    along dims 0 and 1 and is constant along the last."""
    rg.manual_seed(0)
    x = np.random.default_rng(0).uniform(1, 2, (30, 20, 4))
    y, ours = _caught(F.dropout2d, rg.tensor(x), 0.5)
    _, theirs = _caught(torch.nn.functional.dropout2d, torch.tensor(x), 0.5)
    assert ours == theirs and len(ours) == 1
    _assert_channel_mask(y.numpy(), x, 0.5, (30, 20, 1))
    per_row = y.numpy()[..., 0] != 0
    assert 0.35 < per_row.mean() < 0.65 and not np.all(per_row == per_row[:, :1])  # varies along dim 1 too
    _, module_warnings = _caught(nn.Dropout2d(0.5), rg.tensor(x))
    assert module_warnings == theirs


@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_dropout2d_on_other_ranks_warns_not_raises_like_torch(shape, training):
    x = np.ones(shape)
    y, ours = _caught(F.dropout2d, rg.tensor(x), 0.5, training)
    _, theirs = _caught(torch.nn.functional.dropout2d, torch.tensor(x), 0.5, training)
    assert ours == theirs and len(ours) == 1
    assert y.shape == shape
    if not training:
        np.testing.assert_array_equal(y.numpy(), x)
    else:
        _assert_channel_mask(y.numpy(), x, 0.5, shape[:2] + (1,) * (len(shape) - 2))


def test_dropout2d_on_a_vector_raises_like_torch_when_training_only():
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions in the input"):
        _caught(F.dropout2d, rg.ones(4), 0.5)
    y, _ = _caught(F.dropout2d, rg.ones(4), 0.5, False)
    np.testing.assert_array_equal(y.numpy(), np.ones(4))


def test_dropout2d_4d_input_does_not_warn():
    _, messages = _caught(F.dropout2d, rg.ones(2, 3, 2, 2), 0.5)
    assert messages == []


def test_modules_repr_and_probability_check():
    assert repr(nn.Dropout1d(0.3)) == repr(torch.nn.Dropout1d(0.3))
    with pytest.raises(ValueError, match="probability has to be between 0 and 1, but got 1.5"):
        F.dropout1d(rg.ones(2, 3), 1.5)
