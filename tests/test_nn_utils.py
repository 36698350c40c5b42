"""nn.utils: gradient clipping and parameter/vector conversion against PyTorch."""
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import optim
from retrograd.nn.utils import (
    clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm, parameters_to_vector,
    vector_to_parameters,
)

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def _pair(scale=1.0, dtype=np.float64, seed=0, with_none=False):
    """The same parameters with the same gradients in both libraries (the last one gradless if with_none)."""
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [(scale * rng.standard_normal(s)).astype(dtype) for s in SHAPES]
    ours = [rg.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    for i, (a, b, g) in enumerate(zip(ours, theirs, grads)):
        if with_none and i == len(grads) - 1:
            continue
        a.grad, b.grad = rg.tensor(g.copy()), torch.tensor(g.copy())
    return ours, theirs


def _assert_grads_equal(ours, theirs, rtol=1e-13, atol=0.0):
    for a, b in zip(ours, theirs):
        if b.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, float("inf"), float("-inf"), 0.0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6], ids=["clips", "no-clip"])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _pair(scale=2.0)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=float(norm_type))
    assert isinstance(total, rg.Tensor) and total.shape == () and total.dtype == np.float64
    np.testing.assert_allclose(total.array, expected.numpy(), rtol=1e-13)
    _assert_grads_equal(ours, theirs)
    if max_norm < 1 and norm_type != 0.0:  # (scaling cannot change a count of non-zeros)
        assert float(get_total_norm([p.grad for p in ours], norm_type)) <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_float32_and_generator_and_gradless_params():
    ours, theirs = _pair(scale=3.0, dtype=np.float32, with_none=True)
    total = clip_grad_norm_((p for p in ours), 1.0)
    expected = torch.nn.utils.clip_grad_norm_((p for p in theirs), 1.0)
    assert total.dtype == np.float32 and ours[0].grad.dtype == np.float32
    np.testing.assert_allclose(total.array, expected.numpy(), rtol=1e-6)
    _assert_grads_equal(ours, theirs, rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_single_tensor_and_no_grads():
    a = rg.tensor([3.0, 4.0], dtype=rg.float64, requires_grad=True)
    a.grad = rg.tensor(np.array([3.0, 4.0]))
    assert clip_grad_norm_(a, 1.0).item() == 5.0
    np.testing.assert_allclose(a.grad.array, np.array([3.0, 4.0]) / (5.0 + 1e-6))
    empty = clip_grad_norm_([rg.zeros(2, requires_grad=True)], 1.0)
    assert empty.item() == 0.0 and empty.dtype == torch.tensor(0.0).numpy().dtype
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)


def test_clip_grad_norm_nonfinite():
    ours, theirs = _pair()
    ours[1].grad.array[2] = np.nan
    theirs[1].grad[2] = float("nan")
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ours[0].grad.array, theirs[0].grad.numpy())  # nothing was scaled
    total = clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert np.isnan(total.item()) and np.isnan(expected.item())
    _assert_grads_equal(ours, theirs)  # NaN everywhere, as in PyTorch
    ours, theirs = _pair()
    ours[0].grad.array[0, 0] = np.inf
    theirs[0].grad[0, 0] = float("inf")
    with pytest.raises(RuntimeError, match="order inf"):
        clip_grad_norm_(ours, 1.0, norm_type="inf", error_if_nonfinite=True)
    total = clip_grad_norm_(ours, 1.0, norm_type=np.inf)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=float("inf"))
    assert total.item() == expected.item() == np.inf
    _assert_grads_equal(ours, theirs)


def test_split_api_and_deprecated_alias():
    ours, theirs = _pair(scale=2.0)
    total = get_total_norm([p.grad for p in ours], 2.0)
    expected = torch.nn.utils.get_total_norm([p.grad for p in theirs], 2.0)
    np.testing.assert_allclose(total.array, expected.numpy(), rtol=1e-13)
    clip_grads_with_norm_(ours, 0.1, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.1, expected)
    _assert_grads_equal(ours, theirs)
    with pytest.warns(FutureWarning, match="deprecated"):
        clip_grad_norm(ours, 1.0)


@pytest.mark.parametrize("clip_value", [0.3, 1.0, 10.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _pair(scale=1.5, with_none=True)
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _assert_grads_equal(ours, theirs, rtol=0)
    assert max(np.abs(p.grad.array).max() for p in ours if p.grad is not None) <= clip_value


def test_clipping_is_not_recorded_and_keeps_grad_objects():
    ours, _ = _pair(scale=5.0)
    grads = [p.grad for p in ours]
    clip_grad_norm_(ours, 1.0)
    clip_grad_value_(ours, 0.1)
    assert all(p.grad is g and g.grad_fn is None for p, g in zip(ours, grads))


def test_parameters_to_vector_matches_torch_and_is_differentiable():
    ours, theirs = _pair()
    vec = parameters_to_vector(iter(ours))
    expected = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vec.array, expected.detach().numpy())
    weights = np.arange(vec.shape[0], dtype=np.float64)
    for p in ours:
        p.grad = None
    (vec * rg.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(np.concatenate([p.grad.array.reshape(-1) for p in ours]), weights)


def test_vector_round_trip_and_storage_sharing():
    ours, theirs = _pair()
    vec = parameters_to_vector(ours).detach()
    new = rg.tensor(vec.array * 2 + 1)
    vector_to_parameters(new, ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(vec.array * 2 + 1), theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.array, b.detach().numpy())
    np.testing.assert_array_equal(parameters_to_vector(ours).array, new.array)
    new.array[0] = 42.0  # like PyTorch's `param.data = vec[i:j].view_as(param).data`, storage is shared
    assert ours[0].array[0, 0] == 42.0


def test_vector_to_parameters_errors():
    ours, _ = _pair()
    with pytest.raises(TypeError, match="expected retrograd.Tensor, but got: ndarray"):
        vector_to_parameters(np.zeros(20), ours)
    with pytest.raises(ValueError, match="has 19 elements but the parameters need 23"):
        vector_to_parameters(rg.zeros(19), ours)
    with pytest.raises(ValueError, match="1-D"):
        vector_to_parameters(rg.zeros(23, 1), ours)


def test_clip_in_a_training_step_with_an_optimizer():
    """clip_grad_norm_ between backward and an optimizer step, as the charlm job uses it, vs PyTorch."""
    rng = np.random.default_rng(1)
    w0, x = rng.standard_normal((4, 6)), rng.standard_normal((5, 6)) * 3
    results = []
    for lib, adam, clip in ((rg, optim.Adam, clip_grad_norm_),
                            (torch, torch.optim.Adam, torch.nn.utils.clip_grad_norm_)):
        w = lib.tensor(w0.copy(), requires_grad=True)
        opt = adam([w], lr=0.01)
        norms = []
        for _ in range(5):
            opt.zero_grad()
            (lib.tensor(x) @ w.T).tanh().pow(2).sum().backward()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                norms.append(float(clip([w], 0.5)))
            opt.step()
        results.append((norms, w.detach().numpy().copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-11, atol=1e-14)
