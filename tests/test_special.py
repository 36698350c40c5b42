"""erf and erfinv (retrograd/ops/special.py) against PyTorch: values over the whole domain (the tails of
erfinv near +-1 included), gradients, gradcheck in float64, and what their VJPs keep."""
import math

import numpy as np
import pytest
import torch
from scipy.special import erf as scipy_erf

import retrograd as rg
from helpers import saves_names
from retrograd.bench.graph_memory import captured
from retrograd.ops import activation, special


def test_erf_matches_pytorch_over_the_real_line():
    x = np.concatenate([np.linspace(-7, 7, 4001), [0.0, -0.0, 1e-300, np.inf, -np.inf, np.nan]])
    ours, theirs = rg.erf(rg.tensor(x)).numpy(), torch.erf(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=4e-16, atol=0)
    # float32: PyTorch's vectorised float kernel, ours the float64 value rounded: one float32 ulp apart at most
    np.testing.assert_allclose(rg.tensor(x.astype(np.float32)).erf().numpy(),
                               torch.tensor(x.astype(np.float32)).erf().numpy(), rtol=2**-23, atol=0)


def test_erf_is_one_call_of_the_erf_gelu_uses_not_a_loop_over_elements(monkeypatch):
    """erf runs activation._erf's choice (SciPy's ufunc, or the NumPy-only erf) once on the whole array, in
    float64: no per-element Python loop over math.erf."""
    calls = []
    monkeypatch.setattr(activation, "_erf_impl", lambda values: calls.append(values) or scipy_erf(values))
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    y = rg.erf(rg.tensor(x)).numpy()
    assert len(calls) == 1 and calls[0].shape == (3, 4) and calls[0].dtype == np.float64
    np.testing.assert_array_equal(y, scipy_erf(x.astype(np.float64)).astype(np.float32))


def test_erf_without_scipy_keeps_float64_accuracy(monkeypatch):
    """With SciPy missing, erf is activation._erf_numpy: within a few ulp of the C library's erf in float64, the
    same special values, and float32 one ulp from PyTorch at most, as with SciPy."""
    monkeypatch.setattr(activation, "_erf_impl", activation._erf_numpy)
    x = np.concatenate([np.linspace(-7, 7, 4001), [0.0, -0.0, 1e-300, 5e-324, np.inf, -np.inf, np.nan]])
    ours = rg.erf(rg.tensor(x)).numpy()
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(ours, expected, rtol=1e-15, atol=0)
    assert np.signbit(ours[4002])  # erf(-0.0) = -0.0
    np.testing.assert_allclose(rg.tensor(x.astype(np.float32)).erf().numpy(),
                               torch.tensor(x.astype(np.float32)).erf().numpy(), rtol=2**-23, atol=0)


def test_erfinv_matches_pytorch_to_an_ulp_including_the_tails_and_outside_the_domain():
    y = np.concatenate([np.linspace(-1, 1, 20001), [1 - 1e-12, -1 + 1e-15, 1 - 2**-53, 0.7, np.nextafter(0.7, 1),
                                                    -0.0, 1e-300, 5e-324, 1.5, -2.0, np.nan]])
    ours, theirs = rg.erfinv(rg.tensor(y)).numpy(), torch.erfinv(torch.tensor(y)).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(ours[np.isinf(theirs)], theirs[np.isinf(theirs)])   # +-inf at +-1
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=3e-16, atol=0)
    assert np.signbit(ours[-6])                                                       # erfinv(-0) = -0
    np.testing.assert_array_equal(rg.tensor(y.astype(np.float32)).erfinv().numpy(),
                                  torch.tensor(y.astype(np.float32)).erfinv().numpy())


@pytest.mark.parametrize("name,low,high", [("erf", -3.0, 3.0), ("erfinv", -0.99, 0.99)])
def test_gradients_match_pytorch_and_pass_gradcheck(name, low, high):
    rng = np.random.default_rng(4)
    x = rng.uniform(low, high, (3, 4))
    cotangent = rng.normal(size=(3, 4))
    ours = rg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    (getattr(rg, name)(ours) * rg.tensor(cotangent)).sum().backward()
    (getattr(torch, name)(theirs) * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-14)
    assert rg.autograd.gradcheck(getattr(rg, name), (rg.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("op,expected", [(special.erf, {"x_val"}), (special.erfinv, {"y"})])
def test_the_vjp_keeps_what_the_docstring_saves(op, expected):
    out = op(rg.tensor([0.1, -0.5], requires_grad=True))
    arrays, tensors = captured(out.grad_fn.backward_fn)
    assert not tensors and set(arrays) == expected == saves_names(op)[0]


def test_xlogy_matches_pytorch_with_its_zero_convention_and_gradients():
    x = np.array([[0.0, 0.0, 2.0, -1.5, 0.0, 3.0]])
    y = np.array([[0.0, 3.0, 0.5, 2.0, np.nan, np.inf]])
    ours_x, ours_y = rg.tensor(x, requires_grad=True), rg.tensor(y, requires_grad=True)
    theirs_x, theirs_y = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    ours, theirs = rg.xlogy(ours_x, ours_y), torch.xlogy(theirs_x, theirs_y)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())   # 0 log 0 = 0, NaN stays NaN
    cotangent = np.random.default_rng(0).normal(size=x.shape)
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_array_equal(ours_x.grad.numpy(), theirs_x.grad.numpy())
    np.testing.assert_array_equal(ours_y.grad.numpy(), theirs_y.grad.numpy())
    # broadcasting, a Python number on either side, dtypes, the method
    column = rg.tensor(np.array([[0.5], [2.0]]), requires_grad=True)
    assert rg.autograd.gradcheck(rg.xlogy, (column, rg.tensor(np.array([1.5, 0.25, 4.0]), requires_grad=True)))
    assert rg.xlogy(2, rg.tensor([3.0])).dtype == rg.float32 and rg.tensor([3.0]).xlogy(2.0).dtype == rg.float32
    np.testing.assert_allclose(rg.tensor([3.0]).xlogy(2.0).numpy(), torch.tensor([3.0]).xlogy(2.0).numpy())
    out = special.xlogy(rg.tensor([0.5], requires_grad=True), rg.tensor([2.0], requires_grad=True))
    arrays, tensors = captured(out.grad_fn.backward_fn)
    assert special.xlogy is rg.xlogy  # one op, binary_math.py's
    assert not tensors and {"a_val", "b_val"} <= set(arrays) and saves_names(special.xlogy)[0] == {"a_val", "b_val"}
