"""Scans (ops/scan.py), order statistics (ops/order_stats.py) and the composed reductions (ops/reduce_composed.py)
against PyTorch: values, dtypes, shapes (0-d and empty included), gradients with random cotangents, float64
central differences, PyTorch's conventions (cumprod at zeros, cummax/cummin and median ties, NaNs, quantile's
interpolation modes and its gradient in q), errors, and what the primitive VJPs keep."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, assert_refused_as_torch_refuses, closure_arrays, numerical_check, saves_names
from retrograd.ops import order_stats, reduce_composed, scan


def _rng(seed=0):
    return np.random.default_rng(seed)


# ----- cumprod ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1), ((), 0), ((0, 3), 1)])
def test_cumprod_matches_torch_and_central_differences(shape, dim):
    x = np.asarray(_rng().uniform(0.5, 1.5, shape) * _rng(1).choice([-1.0, 1.0], shape))
    assert_parity(lambda t: rg.cumprod(t, dim), lambda t: torch.cumprod(t, dim), x, rtol=1e-13, atol=1e-15)
    numerical_check(lambda t: rg.cumprod(t, dim), x)


@pytest.mark.parametrize("row", [[0.0, 2.0, 3.0], [2.0, 0.0, 3.0, 0.5], [2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 0.0, 1.5],
                                 [1.5, 2.0, 0.0]])
def test_cumprod_gradient_is_exact_with_zeros_in_the_input(row):
    """Division by x fails at a zero: the first zero gets the product of the others, later entries 0."""
    x = np.array([row, row[::-1]])
    assert_parity(lambda t: rg.cumprod(t, 1), lambda t: torch.cumprod(t, 1), x, rtol=1e-13, atol=1e-15)
    numerical_check(lambda t: t.cumprod(1), x)


def test_cumprod_dtypes_follow_torch():
    for values, dtype in [([1, 2, 3], None), ([True, True, False], None), ([1, 2], rg.float32)]:
        ours = rg.cumprod(rg.tensor(values), 0, dtype=dtype)
        theirs = torch.cumprod(torch.tensor(values), 0, dtype=None if dtype is None else torch.float32)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") and ours.tolist() == theirs.tolist()


# ----- logcumsumexp ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((), 0), ((2, 0), 1)])
def test_logcumsumexp_matches_torch_and_central_differences(shape, dim):
    x = np.asarray(_rng(2).normal(size=shape) * 3)
    assert_parity(lambda t: rg.logcumsumexp(t, dim), lambda t: torch.logcumsumexp(t, dim), x, rtol=1e-13,
                  atol=1e-14)
    numerical_check(lambda t: t.logcumsumexp(dim), x)


def test_logcumsumexp_neither_overflows_nor_underflows_over_a_wide_range():
    x = np.array([[1.0, -300.0, 2.0, 800.0, 3.0, -np.inf], [-1000.0, -1001.0, -999.0, -np.inf, 0.0, 700.0]])
    assert_parity(lambda t: rg.logcumsumexp(t, 1), lambda t: torch.logcumsumexp(t, 1), x, rtol=1e-13, atol=1e-300)


# ----- cummax / cummin -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("x", [[3.0, 1.0, 3.0, 0.5, 4.0, 4.0], [2.0, 1.0, 1.0, 2.0], [1.0, np.nan, 3.0, np.nan, 0.0],
                               [[1.0, 1.0], [1.0, 0.0], [2.0, 2.0]]], ids=["mixed", "ties", "nan", "2d"])
def test_cummax_cummin_values_indices_and_gradient_to_the_picked_positions(name, x):
    """Ties move the index to the latest position, and a NaN is the running value from where it appears."""
    x = np.array(x)
    ours, theirs = getattr(rg, name)(rg.tensor(x), 0), getattr(torch, name)(torch.tensor(x), 0)
    assert type(ours).__name__ == name and ours._fields == ("values", "indices")
    assert ours.indices.tolist() == theirs.indices.tolist() and ours.indices.dtype == rg.int64
    assert_parity(lambda t: getattr(rg, name)(t, 0).values, lambda t: getattr(torch, name)(t, 0).values, x)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_on_integers_0d_and_empty_match_torch(name):
    for x, dim in [(np.array([[3, 1, 4], [1, 5, 9]]), 1), (np.array(2.5), 0), (np.zeros((0, 2)), 1),
                   (np.array([True, False, True]), 0)]:
        ours, theirs = getattr(rg, name)(rg.tensor(x), dim), getattr(torch, name)(torch.tensor(x), dim)
        for o, t in zip(ours, theirs):
            assert o.shape == tuple(t.shape) and str(o.dtype) == str(t.dtype).removeprefix("torch.")
            assert o.tolist() == t.tolist()
    numerical_check(lambda t: getattr(t, name)(1).values, _rng(3).normal(size=(3, 5)))


# ----- median, nanmedian, mode ----------------------------------------------------------------------------
def test_median_with_dim_breaks_ties_by_position_as_torch_does():
    rng = _rng(4)
    for n in [1, 2, 5, 12, 33]:
        x = rng.integers(0, 4, (3, n)).astype(float)
        x[0, ::3] = np.nan
        for name in ["median", "nanmedian"]:
            ours, theirs = getattr(rg, name)(rg.tensor(x), 1), getattr(torch, name)(torch.tensor(x), 1)
            assert type(ours).__name__ == name
            np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
            assert ours.indices.tolist() == theirs.indices.tolist(), (name, x.tolist())


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_gradients_match_torch(name):
    x = _rng(5).normal(size=(3, 6))
    for keepdim in (False, True):
        assert_parity(lambda t: getattr(rg, name)(t, 1, keepdim), lambda t: getattr(torch, name)(t, 1, keepdim), x)
    numerical_check(lambda t: getattr(t, name)(0).values, x)
    # over all entries the gradient is spread evenly over the ties (and over the NaNs when the median is NaN)
    for tied in ([2.0, 1.0, 1.0, 2.0, 5.0], [1.0, np.nan, 3.0, np.nan], [4.0], [7.0, np.nan, np.nan]):
        assert_parity(getattr(rg, name), getattr(torch, name), np.array(tied))


def test_median_of_empty_0d_and_integer_tensors_match_torch():
    for name in ["median", "nanmedian"]:
        for x in (np.zeros(0), np.array(3.5), np.array([[4, 1, 3], [2, 2, 9]])):
            np.testing.assert_array_equal(getattr(rg, name)(rg.tensor(x)).numpy(),
                                          getattr(torch, name)(torch.tensor(x)).numpy())
        ours, theirs = getattr(rg, name)(rg.tensor(3.5), 0), getattr(torch, name)(torch.tensor(3.5), 0)
        assert ours.values.item() == theirs.values.item() and ours.indices.item() == theirs.indices.item() == 0
        assert getattr(rg, name)(rg.zeros(0, 3), 1).values.shape == (0,)


def test_mode_matches_torch_for_slices_up_to_16_entries():
    rng = _rng(6)
    for n in [1, 3, 8, 16]:
        x = rng.integers(0, 4, (5, n)).astype(float)
        ours, theirs = rg.mode(rg.tensor(x), 1), torch.mode(torch.tensor(x), 1)
        assert ours.values.tolist() == theirs.values.tolist() and ours.indices.tolist() == theirs.indices.tolist()
    x = np.array([[3.0, 1.0, 2.0, 1.0, 3.0, 2.0], [0.5, 0.5, 0.25, 0.5, 0.25, 0.25]])
    assert_parity(lambda t: rg.mode(t, 1, True), lambda t: torch.mode(t, 1, True), x)
    assert_parity(lambda t: rg.mode(t, 0), lambda t: torch.mode(t, 0), x)
    assert rg.mode(rg.tensor(3.0)).indices.item() == 0 and rg.mode(rg.tensor([2, 2, 1])).values.item() == 2


# ----- quantile, nanquantile ------------------------------------------------------------------------------
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_matches_torch_for_every_interpolation(name, interpolation):
    x = _rng(7).normal(size=(3, 5))
    x_nan = x.copy()
    x_nan[0, 1] = x_nan[2, :] = np.nan
    q = np.array([0.0, 0.2, 0.5, 0.75, 1.0])
    for args in [(0.3,), (0.3, 1), (0.5, 0, True), (q,), (q, 1, True), (q, -1)]:
        def ours(t, args=args):
            return getattr(rg, name)(t, *[to_rg(a) for a in args], interpolation=interpolation)

        def theirs(t, args=args):
            return getattr(torch, name)(t, *[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                                        interpolation=interpolation)
        assert_parity(ours, theirs, x, rtol=1e-14, atol=1e-15)
        assert_parity(ours, theirs, x_nan, grad=False, rtol=1e-14, atol=1e-15)


def to_rg(value):
    return rg.tensor(value) if isinstance(value, np.ndarray) else value


def test_quantile_is_differentiable_in_q_in_linear_mode_as_in_torch():
    x = np.array([[1.0, 5.0, 2.0, 8.0], [3.0, np.nan, 1.0, 2.0]])
    for name in ["quantile", "nanquantile"]:
        assert_parity(lambda t, q: getattr(rg, name)(t, q, 1), lambda t, q: getattr(torch, name)(t, q, 1),
                      x, np.array([0.3, 0.9]), rtol=1e-14)
    numerical_check(lambda t, q: rg.quantile(t, q, 1), _rng(8).normal(size=(2, 5)), np.array([0.33, 0.61]))


def test_quantile_shapes_for_0d_inputs_and_keepdim_match_torch():
    for x, kwargs in [(np.array(2.0), {"dim": 0, "keepdim": True}), (np.array(2.0), {"keepdim": True}),
                      (np.ones((2, 3)), {"keepdim": True}), (np.ones((2, 3)), {"dim": 0, "keepdim": True})]:
        for q in (0.5, np.array([0.5, 0.1])):
            ours = rg.quantile(rg.tensor(x), to_rg(q), **kwargs)
            theirs = torch.quantile(torch.tensor(x), torch.tensor(q) if isinstance(q, np.ndarray) else q, **kwargs)
            assert ours.shape == tuple(theirs.shape)


# ----- composed reductions --------------------------------------------------------------------------------
def test_nansum_and_nanmean_skip_nans_and_give_them_no_gradient():
    x = _rng(9).normal(size=(3, 4))
    x[0, 1] = x[2, 3] = np.nan
    x_all_nan = np.full((2, 2), np.nan)
    for name in ["nansum", "nanmean"]:
        for kwargs in [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": (0, 1)}]:
            assert_parity(lambda t: getattr(rg, name)(t, **kwargs), lambda t: getattr(torch, name)(t, **kwargs), x)
        assert_parity(getattr(rg, name), getattr(torch, name), x_all_nan)
        assert_parity(lambda t: getattr(t, name)(1), lambda t: getattr(t, name)(1), np.zeros((2, 0)))
    assert rg.nansum(rg.tensor([1, 2])).dtype == rg.int64
    assert rg.nansum(rg.tensor([1.0, np.nan], dtype=rg.float32), dtype=rg.float64).dtype == rg.float64


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_var_mean_and_std_mean_accept_torchs_overloads(name):
    x = _rng(10).normal(size=(3, 4))
    for args, kwargs in [((), {}), ((True,), {}), ((False,), {}), ((1,), {}), ((1, False), {}),
                         ((), {"dim": 0, "correction": 0, "keepdim": True}), (((0, 1),), {"correction": 2})]:
        assert_parity(lambda t: getattr(rg, name)(t, *args, **kwargs),
                      lambda t: getattr(torch, name)(t, *args, **kwargs), x, rtol=1e-13, atol=1e-15)


def test_aminmax_splits_tie_gradients_as_torch_does():
    x = np.array([[2.0, 1.0, 1.0], [2.0, 0.5, 2.0]])
    for kwargs in [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"keepdim": True}]:
        assert_parity(lambda t: rg.aminmax(t, **kwargs), lambda t: torch.aminmax(t, **kwargs), x)
    result = rg.aminmax(rg.tensor(x))
    assert type(result).__name__ == "aminmax" and result._fields == ("min", "max")


def test_diff_with_order_dim_prepend_and_append_matches_torch():
    x = _rng(11).normal(size=(3, 4))
    for kwargs in [{}, {"n": 2}, {"dim": 0}, {"n": 0}, {"n": 7},
                   {"prepend": np.ones((3, 1)), "append": np.zeros((3, 2))},
                   {"dim": 0, "n": 2, "prepend": np.ones((2, 4))}]:
        extra = {k: rg.tensor(v, requires_grad=True) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        theirs_extra = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        assert_parity(lambda t: rg.diff(t, **extra), lambda t: torch.diff(t, **theirs_extra), x)
    numerical_check(lambda t: t.diff(n=2, dim=1), x)
    for values in ([True, False, False, True], [3, 1, 4, 1, 5]):
        ours, theirs = rg.diff(rg.tensor(values)), torch.diff(torch.tensor(values))
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_numel_counts_entries():
    assert rg.numel(rg.zeros(2, 3, 4)) == 24 and rg.numel(rg.tensor(1.0)) == 1 and rg.numel(rg.zeros(0, 5)) == 0


# ----- errors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m, t: m.median(t([[1.0, 2.0]]).reshape(2, 1)[:0], 0), lambda m, t: m.mode(t([]), 0),
    lambda m, t: m.quantile(t([1, 2]), 0.5), lambda m, t: m.quantile(t([1.0, 2.0]), 1.5),
    lambda m, t: m.nanquantile(t([1.0, 2.0]), 2.0), lambda m, t: m.quantile(t([1.0, 2.0]), t([[0.5]])),
    lambda m, t: m.quantile(t([1.0, 2.0]), t([0.5, 2.0])),
    lambda m, t: m.quantile(t([1.0, 2.0]), 0.5, interpolation="cubic"), lambda m, t: m.quantile(t([]), 0.5),
    lambda m, t: m.quantile(t([1.0, 2.0]), t([0.5], dtype=m.float64)),
    lambda m, t: m.nanmean(t([1, 2])), lambda m, t: m.diff(t(1.0)), lambda m, t: m.diff(t([1.0, 2.0]), n=-1),
    lambda m, t: m.diff(t([[1.0, 2.0]]), prepend=t([1.0])), lambda m, t: m.logcumsumexp(t([1, 2]), 0),
    lambda m, t: m.aminmax(t([])),
], ids=["median-empty-dim", "mode-empty", "quantile-int", "quantile-q", "nanquantile-q", "quantile-q-2d",
        "quantile-q-values", "quantile-interpolation", "quantile-empty", "quantile-q-dtype", "nanmean-int",
        "diff-0d", "diff-order", "diff-prepend-dims", "logcumsumexp-int", "aminmax-empty"])
def test_bad_inputs_raise_torchs_error(call):
    assert_refused_as_torch_refuses(call)


# ----- what the primitive VJPs keep ---------------------------------------------------------------------------
@pytest.mark.parametrize("op,build", [
    (scan.cumprod, lambda x: scan.cumprod(x, 1)), (scan.logcumsumexp, lambda x: scan.logcumsumexp(x, 1)),
    (order_stats.median_all, lambda x: order_stats.median(x)), (reduce_composed.nansum, reduce_composed.nansum),
], ids=["cumprod", "logcumsumexp", "median_all", "nansum"])
def test_each_vjp_keeps_exactly_what_its_docstring_saves(op, build):
    node = build(rg.tensor(_rng().normal(size=(2, 3)), requires_grad=True)).grad_fn
    assert node.op is op
    assert set(closure_arrays(node.backward_fn)) == saves_names(op)[0]
