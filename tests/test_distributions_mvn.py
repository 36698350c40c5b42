"""MultivariateNormal against torch.distributions.MultivariateNormal: the three parametrisations, broadcast
batches, values and gradients in float64, gradcheck, rsample after the same seed, expand, KL, and the errors
of validate_args."""
import math

import numpy as np
import pytest
import torch
import torch.distributions as TD

import retrograd as rg
import retrograd.distributions as D
from helpers import assert_outputs_and_gradients_match


def _spd(rng, shape):
    a = rng.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1])


def _matrix(rng, kind, shape):
    covariance = _spd(rng, shape)
    if kind == "scale_tril":
        return np.linalg.cholesky(covariance)
    return covariance


@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
@pytest.mark.parametrize("loc_shape,matrix_shape", [((3,), (3, 3)), ((2, 3), (3, 3)), ((3,), (2, 3, 3))])
def test_values_and_gradients_match_pytorch_in_float64(kind, loc_shape, matrix_shape):
    rng = np.random.default_rng(len(loc_shape) + 3 * len(matrix_shape))
    loc, matrix = rng.normal(size=loc_shape), _matrix(rng, kind, matrix_shape)
    value = rng.normal(size=(4, 2, 3))
    ours_params = [rg.tensor(loc, requires_grad=True), rg.tensor(matrix, requires_grad=True)]
    theirs_params = [torch.tensor(loc, requires_grad=True), torch.tensor(matrix, requires_grad=True)]
    ours = D.MultivariateNormal(ours_params[0], **{kind: ours_params[1]})
    theirs = TD.MultivariateNormal(theirs_params[0], **{kind: theirs_params[1]})
    assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    outputs = lambda dist, T: [dist.log_prob(T(value)), dist.entropy(), dist.mean, dist.variance, dist.stddev,
                               dist.scale_tril, dist.covariance_matrix, dist.precision_matrix]
    assert_outputs_and_gradients_match(outputs(ours, rg.tensor), outputs(theirs, torch.tensor), ours_params,
                                       theirs_params, rng, kind, 1e-12, 1e-13)


def test_gradcheck_of_log_prob_entropy_and_rsample_through_the_covariance():
    rng = np.random.default_rng(2)
    loc, root = rg.tensor(rng.normal(size=3), requires_grad=True), rg.tensor(rng.normal(size=(3, 3)),
                                                                             requires_grad=True)
    value = rg.tensor(rng.normal(size=(2, 3)))

    def quantities(mean, m):
        dist = D.MultivariateNormal(mean, covariance_matrix=m @ m.transpose(-2, -1) + rg.eye(3, dtype=rg.float64))
        rg.manual_seed(0)
        return dist.log_prob(value), dist.entropy(), dist.rsample((2,))

    assert rg.autograd.gradcheck(quantities, (loc, root))


@pytest.mark.parametrize("shape", [(), (4,), (20,)])
def test_rsample_follows_pytorchs_stream_and_carries_the_gradient(shape):
    """eps from randn as PyTorch draws it (to a few ulp, the stream in step), then mu + L eps."""
    rng = np.random.default_rng(0)
    loc, tril = rng.normal(size=(2, 3)), np.linalg.cholesky(_spd(rng, (3, 3)))
    ours_params = [rg.tensor(loc, requires_grad=True), rg.tensor(tril, requires_grad=True)]
    theirs_params = [torch.tensor(loc, requires_grad=True), torch.tensor(tril, requires_grad=True)]
    rg.manual_seed(5)
    torch.manual_seed(5)
    ours = D.MultivariateNormal(ours_params[0], scale_tril=ours_params[1]).rsample(shape)
    theirs = TD.MultivariateNormal(theirs_params[0], scale_tril=theirs_params[1]).rsample(shape)
    assert ours.shape == tuple(theirs.shape) == shape + (2, 3)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(rg.rand(2).numpy(), torch.rand(2).numpy())
    cotangent = rng.normal(size=ours.shape)
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-13)
    assert not D.MultivariateNormal(ours_params[0], scale_tril=ours_params[1]).sample((2,)).requires_grad


def test_sample_covariance_is_the_given_one():
    covariance = np.array([[2.0, 0.6], [0.6, 0.5]])
    rg.manual_seed(3)
    draws = D.MultivariateNormal(rg.tensor([1.0, -1.0], dtype=rg.float64),
                                 rg.tensor(covariance)).sample((50_000,)).numpy()
    np.testing.assert_allclose(draws.mean(0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(np.cov(draws.T), covariance, atol=0.05)


def test_expand_and_kl_divergence_match_pytorch():
    rng = np.random.default_rng(9)
    loc_p, loc_q = rng.normal(size=(2, 3)), rng.normal(size=3)
    cov_p, tril_q = _spd(rng, (2, 3, 3)), np.linalg.cholesky(_spd(rng, (3, 3)))
    ours_params = [rg.tensor(a, requires_grad=True) for a in (loc_p, cov_p, loc_q, tril_q)]
    theirs_params = [torch.tensor(a, requires_grad=True) for a in (loc_p, cov_p, loc_q, tril_q)]

    def pair(lib, lp, cp, lq, tq):
        return lib.MultivariateNormal(lp, covariance_matrix=cp), lib.MultivariateNormal(lq, scale_tril=tq)

    ours, theirs = D.kl_divergence(*pair(D, *ours_params)), TD.kl_divergence(*pair(TD, *theirs_params))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    cotangent = rng.normal(size=2)
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    wide, wide_theirs = pair(D, *ours_params)[1].expand((4, 2)), pair(TD, *theirs_params)[1].expand((4, 2))
    assert (wide.batch_shape, wide.event_shape) == (tuple(wide_theirs.batch_shape), tuple(wide_theirs.event_shape))
    assert wide.scale_tril.shape == (4, 2, 3, 3) and wide._validate_args
    value = rng.normal(size=(4, 2, 3))
    np.testing.assert_allclose(wide.log_prob(rg.tensor(value)).detach().numpy(),
                               wide_theirs.log_prob(torch.tensor(value)).detach().numpy(), rtol=1e-13)
    same = D.MultivariateNormal(rg.zeros(3, dtype=rg.float64), rg.eye(3, dtype=rg.float64))
    assert D.kl_divergence(same, same).item() == 0.0
    assert D.kl_divergence(D.Independent(D.Normal(rg.zeros(3), 1.0), 1),
                           D.Independent(D.Normal(rg.ones(3), 1.0), 1)).item() == pytest.approx(1.5)


def _torch_error(function):
    with pytest.raises(Exception) as caught:
        function()
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("build", [
    lambda lib, T: lib.MultivariateNormal(T(0.0), T(np.eye(1))),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0])),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), T(np.eye(2)), scale_tril=T(np.eye(2))),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([1.0, 1.0])),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), precision_matrix=T([1.0, 1.0])),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 0.5], [0.4, 1.0]])),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 2.0], [2.0, 1.0]])),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 0.5], [0.0, 1.0]])),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 0.0], [0.3, -1.0]])),
    lambda lib, T: lib.MultivariateNormal(T([0.0, 0.0]), T(np.eye(2))).log_prob(T([0.0, 0.0, 0.0])),
    lambda lib, T: lib.kl_divergence(lib.MultivariateNormal(T([0.0, 0.0]), T(np.eye(2))),
                                     lib.MultivariateNormal(T([0.0]), T(np.eye(1)))),
], ids=["0-d-loc", "no-matrix", "two-matrices", "1-d-scale_tril", "1-d-precision", "asymmetric",
        "not-positive-definite", "upper-scale_tril", "negative-diagonal", "wrong-event-size", "kl-event-shapes"])
def test_bad_arguments_raise_pytorchs_errors(build):
    expected_type, expected_message = _torch_error(lambda: build(TD, torch.tensor))
    with pytest.raises(expected_type) as caught:
        build(D, rg.tensor)
    words, _, values = str(caught.value).partition(":\n")
    expected_words, _, expected_values = expected_message.partition(":\n")
    # whitespace collapsed: PyTorch's KL message carries the indentation of a backslash-continued string
    assert words == " ".join(expected_words.replace("torch.Size", "retrograd.Size").split())
    assert bool(values) == bool(expected_values)


def test_the_api_around_the_numbers():
    dist = D.MultivariateNormal(rg.zeros(2), rg.eye(2))
    theirs = TD.MultivariateNormal(torch.zeros(2), torch.eye(2))
    assert repr(dist) == repr(theirs).replace("torch.Size", "retrograd.Size")
    assert {k: repr(v) for k, v in dist.arg_constraints.items()} == {k: repr(v) for k, v in
                                                                     theirs.arg_constraints.items()}
    assert repr(dist.support) == repr(theirs.support) and dist.has_rsample
    assert dist.entropy().item() == pytest.approx(1 + math.log(2 * math.pi), rel=1e-6)
    np.testing.assert_array_equal(dist.mode.numpy(), [0.0, 0.0])
