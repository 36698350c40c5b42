"""retrograd.cdist (retrograd/ops/cdist.py), pdist (also nn.functional.pdist) and dist (also Tensor.dist) against
PyTorch: values, shapes and gradients for every kind of p, broadcast batches and the GEMM path for p = 2, a float64
numerical check, the conventions at ties and zero distances, PyTorch's errors, and what cdist's VJP keeps."""
import math

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, numerical_check, saves_names
from retrograd.bench.graph_memory import captured
from retrograd.ops import cdist as cdist_module

P_VALUES = [2.0, 1.0, 0.0, 3.0, 0.5, math.inf]


@pytest.mark.parametrize("p", P_VALUES)
@pytest.mark.parametrize("shapes", [((4, 3), (5, 3)), ((2, 1, 4, 3), (3, 2, 3)), ((30, 2), (4, 2)), ((0, 3), (2, 3))],
                         ids=["matrices", "broadcast-batches", "gemm-path", "empty"])
def test_cdist_values_and_gradients_match_pytorch(p, shapes):
    rng = np.random.default_rng(P_VALUES.index(p))
    a, b = (rng.standard_normal(s) for s in shapes)
    assert_parity(lambda x, y: rg.cdist(x, y, p), lambda x, y: torch.cdist(x, y, p), a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_compute_modes_match_pytorch(mode):
    a, b = np.random.default_rng(1).standard_normal((2, 3, 4)), np.random.default_rng(2).standard_normal((2, 40, 4))
    assert_parity(lambda x, y: rg.cdist(x, y, compute_mode=mode), lambda x, y: torch.cdist(x, y, compute_mode=mode),
                  a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("p", P_VALUES)
def test_pdist_and_dist_match_pytorch(p):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))
    # PyTorch's pdist backward fails for p = 0 ("Expected a proper Tensor but got None"): values only there;
    # retrograd's gradient there is 0 (a count), checked with cdist's
    assert_parity(lambda t: rg.pdist(t, p), lambda t: torch.pdist(t, p), x, rtol=1e-9, atol=1e-10, grad=p != 0)
    assert_parity(lambda t: rg.nn.functional.pdist(t, p), lambda t: torch.nn.functional.pdist(t, p), x, rtol=1e-9,
                  grad=p != 0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    assert_parity(lambda s, t: rg.dist(s, t, p), lambda s, t: torch.dist(s, t, p), a, b, rtol=1e-9, atol=1e-10,
                  grad=p != 0)  # so does torch.dist's
    assert_parity(lambda s, t: s.dist(t, p), lambda s, t: s.dist(t, p), a, b, rtol=1e-9, atol=1e-10, grad=p != 0)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf])
def test_gradients_match_central_differences(p):
    rng = np.random.default_rng(4)
    numerical_check(lambda x, y: rg.cdist(x, y, p), rng.standard_normal((2, 3, 2)), rng.standard_normal((4, 2)))
    numerical_check(lambda x: rg.pdist(x, p), rng.standard_normal((4, 3)))
    numerical_check(lambda x, y: rg.dist(x, y, p), rng.standard_normal((2, 3)), rng.standard_normal(3))


@pytest.mark.parametrize("fn", [
    lambda L, x, y: L.cdist(x, y, p=math.inf),   # each tied coordinate gets the whole gradient
    lambda L, x, y: L.pdist(L.cat([x, y]), p=math.inf),
    lambda L, x, y: L.dist(x, y, p=math.inf),    # torch.dist splits it, as a norm does
    lambda L, x, y: L.cdist(x, y),               # zero distance: gradient 0
    lambda L, x, y: L.cdist(x, y, p=0.5),
])
def test_ties_and_zero_distances_follow_pytorch(fn):
    x, y = np.array([[1.0, -1.0], [0.0, 0.0]]), np.array([[0.0, 0.0]])
    grads = []
    for L in (rg, torch):
        a = L.tensor(x, requires_grad=True)
        fn(L, a, L.tensor(y)).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the type and message are what the test compares
        return type(error).__name__, str(error)
    raise AssertionError("no error raised")


@pytest.mark.parametrize("build", [
    lambda L: L.cdist(L.ones(3), L.ones(3)),
    lambda L: L.cdist(L.ones(2, 3), L.ones(2, 4)),
    lambda L: L.cdist(L.ones(2, 3), L.ones(2, 3), p=-1),
    lambda L: L.cdist(L.ones(2, 3), L.ones(2, 3, dtype=L.float64)),
    lambda L: L.cdist(L.arange(4).reshape(2, 2), L.arange(4).reshape(2, 2)),
    lambda L: L.pdist(L.ones(3)),
    lambda L: L.pdist(L.ones(3, 2), p=-1),
    lambda L: L.pdist(L.arange(4).reshape(2, 2)),
    lambda L: L.dist(L.ones(3), L.ones(2)),
    lambda L: L.dist(L.arange(3), L.arange(3)),
])
def test_bad_input_raises_pytorchs_errors(build):
    assert _error(lambda: build(rg)) == _error(lambda: build(torch))


def test_the_vjp_keeps_the_inputs_and_distances_only():
    for p in (2.0, 1.0):
        node = rg.cdist(rg.randn(30, 3, requires_grad=True), rg.randn(4, 3), p).grad_fn
        arrays, tensors = captured(node.backward_fn)
        assert not tensors and set(arrays) == saves_names(cdist_module.cdist)[0] == {"x1_val", "x2_val", "d"}
