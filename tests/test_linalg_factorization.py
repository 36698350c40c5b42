"""retrograd.linalg.cholesky and solve_triangular (retrograd/ops/factorization.py) against torch.linalg:
values, gradients with random cotangents over broadcast batches, gradcheck in float64, PyTorch's errors, and
what the VJPs keep."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import saves_names
from retrograd.bench.graph_memory import captured
from retrograd.ops import factorization


def _spd(rng, shape):
    a = rng.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _triangular(rng, shape, upper):
    a = rng.normal(size=shape) + 3 * np.eye(shape[-1])
    return np.triu(a) if upper else np.tril(a)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_cholesky_and_its_gradient_match_pytorch_reading_one_triangle(shape, upper):
    rng = np.random.default_rng(len(shape))
    a = _spd(rng, shape)
    a[..., 0, -1] += 0.5  # asymmetric: only one triangle is read (the lower, or the upper with upper=True)
    cotangent = rng.normal(size=shape)
    ours, theirs = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    factor_ours, factor_theirs = rg.linalg.cholesky(ours, upper=upper), torch.linalg.cholesky(theirs, upper=upper)
    np.testing.assert_allclose(factor_ours.detach().numpy(), factor_theirs.detach().numpy(), rtol=1e-14, atol=1e-15)
    (factor_ours * rg.tensor(cotangent)).sum().backward()
    (factor_theirs * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.grad.numpy(), np.swapaxes(ours.grad.numpy(), -1, -2))  # symmetric


def test_gradcheck_of_cholesky_through_a_symmetric_input():
    rng = np.random.default_rng(1)
    root = rg.tensor(rng.normal(size=(2, 3, 3)), requires_grad=True)
    assert rg.autograd.gradcheck(lambda m: rg.linalg.cholesky(m @ m.transpose(-2, -1) + 3 * rg.eye(3,
                                                                                               dtype=rg.float64)),
                                 (root,))


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_inverse_and_its_gradient_match_pytorch(upper):
    rng = np.random.default_rng(10 + upper)
    factor = _triangular(rng, (2, 3, 3), upper)
    cotangent = rng.normal(size=(2, 3, 3))
    ours, theirs = rg.tensor(factor, requires_grad=True), torch.tensor(factor, requires_grad=True)
    inverse_ours, inverse_theirs = rg.cholesky_inverse(ours, upper=upper), torch.cholesky_inverse(theirs, upper=upper)
    np.testing.assert_allclose(inverse_ours.detach().numpy(), inverse_theirs.detach().numpy(), rtol=1e-12)
    (inverse_ours * rg.tensor(cotangent)).sum().backward()
    (inverse_theirs * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-11, atol=1e-13)
    # PyTorch's formula is the full-matrix one, off the triangle too, where the value reads nothing: a
    # factor that is triangular by construction (tril/triu) is where numerical and analytical agree
    assert rg.autograd.gradcheck(lambda m: rg.cholesky_inverse(m.triu() if upper else m.tril(), upper=upper),
                                 (rg.tensor(factor[0], requires_grad=True),))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
def test_solve_triangular_and_its_gradients_match_pytorch_over_broadcast_batches(upper, left):
    rng = np.random.default_rng(int(upper) * 2 + int(left))
    a = _triangular(rng, (3, 1, 4, 4), upper)
    a += np.swapaxes(np.tril(rng.normal(size=(4, 4)), -1) if upper else np.triu(rng.normal(size=(4, 4)), 1), -1, -2)
    b = rng.normal(size=(2, 4, 5) if left else (2, 5, 4))
    ours = [rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    x_ours = rg.linalg.solve_triangular(*ours, upper=upper, left=left)
    x_theirs = torch.linalg.solve_triangular(*theirs, upper=upper, left=left)
    assert x_ours.shape == tuple(x_theirs.shape) == (3, 2) + ((4, 5) if left else (5, 4))
    np.testing.assert_allclose(x_ours.detach().numpy(), x_theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    cotangent = rng.normal(size=x_ours.shape)
    (x_ours * rg.tensor(cotangent)).sum().backward()
    (x_theirs * torch.tensor(cotangent)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-11, atol=1e-13)
    assert rg.autograd.gradcheck(lambda m, r: rg.linalg.solve_triangular(m, r, upper=upper, left=left),
                                 (rg.tensor(a[0, 0], requires_grad=True), rg.tensor(b[0], requires_grad=True)))


def test_unitriangular_ignores_the_diagonal_as_pytorch_does():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    ours = rg.tensor(a, requires_grad=True)
    theirs = torch.tensor(a, requires_grad=True)
    x_ours = rg.linalg.solve_triangular(ours, rg.tensor(b), upper=False, unitriangular=True)
    x_theirs = torch.linalg.solve_triangular(theirs, torch.tensor(b), upper=False, unitriangular=True)
    np.testing.assert_allclose(x_ours.detach().numpy(), x_theirs.detach().numpy(), rtol=1e-13)
    x_ours.sum().backward()
    x_theirs.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("build", [
    lambda lib, T: lib.linalg.cholesky(T(np.diag([1.0, -1.0, 2.0]))),
    lambda lib, T: lib.linalg.cholesky(T(np.stack([np.eye(2), -np.eye(2)]))),
    lambda lib, T: lib.linalg.cholesky(T(np.ones((2, 3)))),
    lambda lib, T: lib.linalg.solve_triangular(T(np.eye(3)), T(np.ones((2, 2))), upper=False),
], ids=["not-positive-definite", "batch-element", "not-square", "incompatible"])
def test_bad_input_raises_pytorchs_errors(build):
    with pytest.raises(Exception) as expected:
        build(torch, torch.tensor)
    with pytest.raises(RuntimeError) as caught:
        build(rg, rg.tensor)
    assert str(caught.value) == str(expected.value)
    assert isinstance(caught.value, rg.linalg.LinAlgError) == isinstance(expected.value, torch.linalg.LinAlgError)


@pytest.mark.parametrize("op,build,expected", [
    (factorization.cholesky, lambda: factorization.cholesky(rg.tensor(2 * np.eye(3), requires_grad=True)), {"L"}),
    (factorization.cholesky_inverse, lambda: factorization.cholesky_inverse(rg.tensor(2 * np.eye(3),
                                                                                      requires_grad=True)),
     {"factor", "P"}),
    (factorization.solve_triangular, lambda: factorization.solve_triangular(
        rg.tensor(2 * np.eye(3), requires_grad=True), rg.tensor(np.ones((3, 2)), requires_grad=True), upper=True),
     {"triangle", "X"}),
    (factorization.solve_triangular, lambda: factorization.solve_triangular(
        rg.tensor(2 * np.eye(3)), rg.tensor(np.ones((3, 2)), requires_grad=True), upper=True), {"triangle"}),
])
def test_the_vjps_keep_what_the_docstrings_save(op, build, expected):
    arrays, tensors = captured(build().grad_fn.backward_fn)
    assert not tensors
    assert {name for name, values in arrays.items() if any(v is not None for v in values)} == expected
    assert expected <= saves_names(op)[0]
