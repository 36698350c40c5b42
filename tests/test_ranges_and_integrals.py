"""logspace, vander (ops/ranges.py) and the trapezoid rule (ops/integrate.py) against PyTorch: values, dtypes,
shapes, gradients with random cotangents, float64 central differences, and errors."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, numerical_check

DTYPES = [(rg.float32, torch.float32), (rg.float64, torch.float64), (rg.int64, torch.int64)]


@pytest.mark.parametrize("args,kwargs", [((0, 2, 5), {}), ((0, 2, 5), {"base": 2}), ((-1, 1, 3), {}),
                                         ((1.5, -2.25, 11), {"base": 1.5}), ((0, 1, 1), {}), ((3.7, 1, 1), {}),
                                         ((0, 1, 0), {}), ((-3.5, 4.25, 40), {"base": 0.7})])
@pytest.mark.parametrize("dtypes", DTYPES, ids=["float32", "float64", "int64"])
def test_logspace_matches_torch(args, kwargs, dtypes):
    ours, theirs = rg.logspace(*args, dtype=dtypes[0], **kwargs), torch.logspace(*args, dtype=dtypes[1], **kwargs)
    assert ours.dtype == dtypes[0] and ours.shape == tuple(theirs.shape)
    if dtypes[0] == rg.int64:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    else:  # PyTorch's pow is not NumPy's: an ulp in float64, a few in float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=4 * np.finfo(ours.numpy().dtype).eps)
    np.testing.assert_array_equal(ours.numpy()[[0, -1]] if args[2] > 1 else ours.numpy(),
                                  theirs.numpy()[[0, -1]] if args[2] > 1 else theirs.numpy())  # exact ends


def test_logspace_defaults_and_errors():
    assert rg.logspace(0, 1, 3).dtype == rg.float32 and rg.logspace(0, 1, 3, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        rg.logspace(0, 1, -1)


@pytest.mark.parametrize("values,kwargs", [([1.5, -2.0, 0.5], {}), ([1.5, -2.0, 0.0, 3.0], {"N": 5}),
                                           ([0.5, 2.0], {"N": 3, "increasing": True}), ([2.0], {"N": 1}),
                                           ([1.0, 2.0], {"N": 0})])
def test_vander_matches_torch_and_central_differences(values, kwargs):
    """Values against PyTorch; gradients by central differences only: PyTorch 2.13's own vander backward fails
    (its in-place cumprod trips the version check)."""
    x = np.array(values)
    assert_parity(lambda t: rg.vander(t, **kwargs), lambda t: torch.vander(t, **kwargs), x, grad=False)
    if kwargs.get("N", len(values)) > 1:
        numerical_check(lambda t: rg.vander(t, **kwargs), x)
    for ints in ([1, 2, 3], [True, False]):
        ours, theirs = rg.vander(rg.tensor(ints), **kwargs), torch.vander(torch.tensor(ints), **kwargs)
        assert ours.dtype == rg.int64 and ours.tolist() == theirs.tolist()


def test_vander_errors_match_torch():
    for call, message in [(lambda m: m.vander(m.ones(2, 2)), "x must be a one-dimensional tensor."),
                          (lambda m: m.vander(m.ones(2), N=-1), "N must be non-negative.")]:
        with pytest.raises(RuntimeError, match=message):
            call(torch)
        with pytest.raises(RuntimeError, match=message):
            call(rg)


def _y(*shape):
    return np.random.default_rng(len(shape)).normal(size=shape)


@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("case", ["default", "dx", "x_1d", "x_same_shape", "x_fewer_dims", "dim0"])
def test_trapezoid_rules_match_torch_and_central_differences(name, case):
    rg_fn, torch_fn = getattr(rg, name), getattr(torch, name)
    y = _y(3, 4)
    if case == "default":
        assert_parity(rg_fn, torch_fn, y)
    elif case == "dx":
        assert_parity(lambda t: rg_fn(t, dx=0.5), lambda t: torch_fn(t, dx=0.5), y)
    elif case == "dim0":
        assert_parity(lambda t: rg_fn(t, dx=2.0, dim=0), lambda t: torch_fn(t, dx=2.0, dim=0), y)
    else:
        x = {"x_1d": np.sort(_y(4)), "x_same_shape": np.sort(_y(3, 4), 1), "x_fewer_dims": np.sort(_y(1, 4), 1)}[case]
        assert_parity(rg_fn, torch_fn, y, x)
        numerical_check(rg_fn, y, x)


def test_trapezoid_on_integer_and_empty_samples_matches_torch():
    for name in ["trapezoid", "cumulative_trapezoid"]:
        ours, theirs = getattr(rg, name)(rg.tensor([1, 2, 4])), getattr(torch, name)(torch.tensor([1, 2, 4]))
        assert ours.dtype == rg.float32 and np.allclose(ours.numpy(), theirs.numpy())
    ours, theirs = rg.trapezoid(rg.zeros(2, 0)), torch.trapezoid(torch.zeros(2, 0))
    assert ours.shape == tuple(theirs.shape) == (2,) and not ours.numpy().any()
    with pytest.raises(RuntimeError, match="There must be one `x` value for each sample point"):
        rg.trapezoid(rg.ones(2, 3), rg.ones(2))
    with pytest.raises(RuntimeError, match="bool is not supported"):
        rg.trapezoid(rg.tensor([True, False]))
