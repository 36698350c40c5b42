"""F.normalize, F.cosine_similarity, F.pairwise_distance and their modules, against torch 2.13."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, assert_parity, closure_arrays, numerical_check, saves_names
from retrograd import nn
from retrograd.nn import functional as F
from retrograd.ops.distance import eps_floor

rng = np.random.default_rng(0)
TF = torch.nn.functional


@pytest.mark.parametrize("shape, kwargs", [
    ((3, 4), {}), ((2, 3, 4), {"dim": -1}), ((2, 3, 4), {"p": 1, "dim": 0}), ((5,), {"dim": 0, "p": 3.0}),
    ((3, 4), {"p": float("inf")}), ((2, 0), {}), ((), {"dim": 0}),
])
def test_normalize_matches_torch(shape, kwargs):
    assert_parity(lambda x: F.normalize(x, **kwargs), lambda x: TF.normalize(x, **kwargs), rng.standard_normal(shape))


def test_normalize_floors_the_norm_at_eps_and_passes_the_gradient_there_as_torch():
    x = np.array([[3e-13, -4e-13], [0.0, 0.0], [1.0, 2.0]])  # a norm under eps, a zero norm, a plain one
    assert_parity(lambda x: F.normalize(x, eps=1e-12), lambda x: TF.normalize(x, eps=1e-12), x)
    numerical_check(lambda x: F.normalize(x, dim=0), rng.standard_normal((3, 2)))


def test_normalize_writes_into_out_and_names_a_bad_dim():
    out = rg.zeros(2, 2)
    assert F.normalize(rg.tensor([[3.0, 4.0], [0.0, 2.0]]), out=out) is out
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.0, 1.0]])
    with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\], but got 1"):
        F.normalize(rg.ones(3), dim=1)


@pytest.mark.parametrize("shape1, shape2, dim", [((3, 4), (3, 4), 1), ((3, 4), (4,), -1), ((2, 1, 5), (3, 5), 0),
                                                 ((2, 3, 4), (2, 3, 4), 1), ((2, 0), (2, 0), 1)])
def test_cosine_similarity_matches_torch(shape1, shape2, dim):
    assert_parity(lambda a, b: F.cosine_similarity(a, b, dim), lambda a, b: TF.cosine_similarity(a, b, dim),
                  rng.standard_normal(shape1), rng.standard_normal(shape2))


def test_cosine_similarity_floors_each_norm_without_stopping_its_gradient_as_torch():
    # torch 2.13 divides each input by max(||x||, eps), the floor applied under no_grad: below eps the
    # gradient still flows through the norm (a plain clamp would stop it)
    small = np.array([[1e-10, 2e-10, -1e-10], [0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    other = rng.standard_normal((3, 3))
    assert_parity(lambda a, b: F.cosine_similarity(a, b, eps=1e-8), lambda a, b: TF.cosine_similarity(a, b, eps=1e-8),
                  small, other)
    numerical_check(lambda a, b: F.cosine_similarity(a, b, 1), rng.standard_normal((2, 4)), rng.standard_normal((2, 4)))


def test_cosine_similarity_promotes_and_refuses_as_torch():
    ours = F.cosine_similarity(rg.ones(3, dtype=rg.float32), rg.ones(3, dtype=rg.float64), dim=0)
    assert ours.dtype == rg.float64 and ours.item() == pytest.approx(1.0)
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point, yet common dtype is int64"):
        F.cosine_similarity(rg.ones(3, dtype=rg.int64), rg.ones(3, dtype=rg.int64), dim=0)
    with pytest.raises(ValueError, match=r"cosine_similarity: shapes \(3, 4\) and \(2, 4\) cannot be broadcast"):
        F.cosine_similarity(rg.ones(3, 4), rg.ones(2, 4))


@pytest.mark.parametrize("shape1, shape2, kwargs", [
    ((3, 4), (3, 4), {}), ((3, 4), (4,), {"p": 1.0}), ((2, 3, 4), (3, 4), {"keepdim": True}),
    ((3, 4), (3, 4), {"p": float("inf"), "eps": 0.0}), ((5,), (5,), {"p": 3.0}), ((), (), {}), ((2, 0), (2, 0), {}),
])
def test_pairwise_distance_matches_torch(shape1, shape2, kwargs):
    assert_parity(lambda a, b: F.pairwise_distance(a, b, **kwargs), lambda a, b: TF.pairwise_distance(a, b, **kwargs),
                  rng.standard_normal(shape1), rng.standard_normal(shape2))


def test_pairwise_distance_gradient_is_numerically_right_and_zero_at_equal_inputs():
    numerical_check(lambda a, b: F.pairwise_distance(a, b), rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))
    same = rng.standard_normal((2, 3))
    assert_parity(lambda a, b: F.pairwise_distance(a, b, eps=0.0), lambda a, b: TF.pairwise_distance(a, b, eps=0.0),
                  same, same.copy())


def test_distance_modules_match_torch_with_their_options_and_repr():
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    assert_module_parity(nn.CosineSimilarity(dim=0, eps=1e-6), torch.nn.CosineSimilarity(dim=0, eps=1e-6), a, b)
    assert_module_parity(nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True),
                         a, b)
    assert repr(nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance()) == "PairwiseDistance()"
    assert nn.PairwiseDistance(3.0).norm == torch.nn.PairwiseDistance(3.0).norm == 3.0
    assert repr(nn.CosineSimilarity()) == repr(torch.nn.CosineSimilarity())


def test_eps_floor_passes_the_gradient_below_eps_and_saves_nothing():
    x = rg.tensor([1e-10, 0.5], requires_grad=True)
    y = eps_floor(x, 1e-8)
    np.testing.assert_array_equal(y.detach().numpy(), np.array([1e-8, 0.5], np.float32))
    (y * rg.tensor([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0])
    assert closure_arrays(y.grad_fn.backward_fn) == {} and saves_names(eps_floor)[0] == set()


@pytest.mark.parametrize("layer", [lambda lib: lib.nn.PairwiseDistance(p=1.0, eps=0.0, keepdim=True),
                                   lambda lib: lib.nn.CosineSimilarity(dim=0, eps=1e-3)])
def test_distance_layers_convert_to_and_from_torch_with_their_options(layer):
    # PyTorch keeps PairwiseDistance's p as `norm`: a twin rebuilt from the attribute `p` would silently be p = 2
    from_torch, to_torch = rg.from_torch(layer(torch)), rg.to_torch(layer(rg))
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for ours, theirs in ((from_torch, layer(torch)), (layer(rg), to_torch)):
        np.testing.assert_allclose(ours(rg.tensor(a), rg.tensor(b)).numpy(),
                                   theirs(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)
