"""Sorting ops: sort, argsort, msort, topk, kthvalue against PyTorch (values, indices, gradients), with
ties, NaN and 0-d inputs, and central differences in float64."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
from helpers import assert_parity, numerical_check
from retrograd.ops import sort as S


def _ties(shape, seed=0):
    """float64 entries drawn from a few values, so that every row has ties."""
    return np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)


@st.composite
def _shape_and_dim(draw):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@settings(max_examples=25, deadline=None)
@given(_shape_and_dim(), st.booleans(), st.integers(0, 10_000))
def test_stable_sort_matches_pytorch_with_ties(shape_dim, descending, seed):
    shape, dim = shape_dim
    x = _ties(shape, seed)
    out = assert_parity(lambda t: S.sort(t, dim, descending, stable=True),
                        lambda t: torch.sort(t, dim=dim, descending=descending, stable=True), x)
    assert out[1].dtype == np.int64


@settings(max_examples=25, deadline=None)
@given(_shape_and_dim(), st.booleans(), st.integers(0, 10_000))
def test_default_sort_matches_pytorch_on_dims_up_to_16(shape_dim, descending, seed):
    """stable=False: PyTorch's CPU sort keeps ties in order for dims of at most 16 entries, as retrograd
    always does (beyond that PyTorch's order of ties is unspecified)."""
    shape, dim = shape_dim
    assert_parity(lambda t: S.sort(t, dim, descending), lambda t: torch.sort(t, dim, descending), _ties(shape, seed))


def test_sort_puts_nan_above_inf_and_handles_ints_bools_and_0d():
    x = np.array([3.0, np.nan, -np.inf, np.inf, 3.0, 1.0])
    for descending in (False, True):
        ours = S.sort(rg.tensor(x), descending=descending)
        theirs = torch.sort(torch.tensor(x), descending=descending, stable=True)
        np.testing.assert_array_equal(ours.values.array, theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.array, theirs.indices.numpy())
    ints = np.array([[5, 0, 5, np.iinfo(np.int64).min], [1, 1, 0, 2]])
    for v in (ints, ints.astype(np.uint8), ints > 0):
        ours, theirs = S.sort(rg.tensor(v), 1, True), torch.sort(torch.tensor(v), dim=1, descending=True, stable=True)
        np.testing.assert_array_equal(ours.indices.array, theirs.indices.numpy())
        assert ours.values.dtype == v.dtype
    assert_parity(lambda t: S.sort(t), lambda t: torch.sort(t), np.array(2.5))


def test_sort_result_is_a_named_tuple_and_a_method():
    x = rg.tensor([2.0, 1.0, 3.0], requires_grad=True)
    values, indices = x.sort(descending=True)
    result = rg.sort(x)
    assert result.values is result[0] and result.indices is result[1] and type(result).__name__ == "sort"
    assert values.tolist() == [3.0, 2.0, 1.0] and indices.tolist() == [2, 0, 1]
    assert rg.argsort(x).tolist() == [1, 0, 2] == x.argsort().tolist()
    assert x.topk(2).indices.tolist() == [2, 0] and x.kthvalue(2).values.item() == 2.0


@pytest.mark.parametrize("descending", [False, True])
def test_argsort_and_msort_match_pytorch(descending):
    x = _ties((6, 4), 3)
    np.testing.assert_array_equal(rg.argsort(rg.tensor(x), 0, descending, stable=True).array,
                                  torch.argsort(torch.tensor(x), dim=0, descending=descending, stable=True).numpy())
    assert_parity(S.msort, torch.msort, x)


@settings(max_examples=25, deadline=None)
@given(_shape_and_dim(), st.booleans(), st.integers(0, 10_000), st.data())
def test_topk_matches_pytorch_without_ties(shape_dim, largest, seed, data):
    shape, dim = shape_dim
    k = data.draw(st.integers(0, shape[dim]))
    x = np.random.default_rng(seed).standard_normal(shape)  # distinct entries: PyTorch's choice is unique
    assert_parity(lambda t: S.topk(t, k, dim, largest), lambda t: torch.topk(t, k, dim, largest), x)


def test_topk_among_ties_picks_valid_entries_and_routes_their_gradients():
    x = rg.tensor([1.0, 3.0, 3.0, 2.0, 3.0], requires_grad=True)
    values, indices = rg.topk(x, 2)
    assert values.tolist() == [3.0, 3.0] and indices.tolist() == [1, 2]
    (values * rg.tensor([10.0, 20.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 10.0, 20.0, 0.0, 0.0]
    assert rg.topk(rg.tensor([1.0, np.nan, 5.0]), 1).indices.tolist() == [1]  # NaN is the largest


@settings(max_examples=25, deadline=None)
@given(_shape_and_dim(), st.booleans(), st.integers(0, 10_000), st.data())
def test_kthvalue_matches_pytorch(shape_dim, keepdim, seed, data):
    shape, dim = shape_dim
    k = data.draw(st.integers(1, shape[dim]))
    x = np.random.default_rng(seed).standard_normal(shape)
    assert_parity(lambda t: S.kthvalue(t, k, dim, keepdim), lambda t: torch.kthvalue(t, k, dim, keepdim), x)


def test_kthvalue_with_ties_and_0d_match_pytorch():
    assert_parity(lambda t: S.kthvalue(t, 2, 0, True), lambda t: torch.kthvalue(t, 2, 0, True),
                  np.array([[1.0, 3.0, 1.0], [2.0, 1.0, 0.0]]))
    assert_parity(lambda t: S.kthvalue(t, 1), lambda t: torch.kthvalue(t, 1), np.array(-1.5))
    assert_parity(lambda t: S.topk(t, 1), lambda t: torch.topk(t, 1), np.array(-1.5))


@pytest.mark.parametrize("fn", [lambda t: S.sort(t, 1, True), lambda t: S.topk(t, 2, 0, False),
                                lambda t: S.kthvalue(t, 3, 1), S.msort])
def test_gradients_match_central_differences(fn):
    numerical_check(fn, np.random.default_rng(1).standard_normal((3, 4)))


def test_bad_k_and_dim_name_the_op_like_pytorch():
    x = rg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"^selected index k out of range: topk\(\) got k=4 for a dimension of size 3"):
        rg.topk(x, 4)
    with pytest.raises(RuntimeError, match=r"^selected index k out of range"):
        rg.topk(x, -1)
    with pytest.raises(RuntimeError, match=r"^kthvalue\(\): selected number k out of range for dimension 0"):
        rg.kthvalue(x, 0)
    with pytest.raises(IndexError, match=r"sort: dimension out of range"):
        rg.sort(x, 1)
    with pytest.raises(TypeError, match=r"topk\(\): dim must be an int, got str"):
        rg.topk(x, 1, "0")


def test_grad_fn_names_the_op_and_the_vjp_keeps_only_the_index():
    x = rg.tensor(np.ones((2, 3)), requires_grad=True)
    node = rg.sort(x).values.grad_fn
    assert rg.topk(x, 1).values.grad_fn.op is S.topk and node.op is S.sort
    from helpers import closure_arrays, saves_names
    assert set(closure_arrays(node.backward_fn)) == saves_names(S.sort)[0] == {"index"}
