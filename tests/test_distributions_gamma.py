"""Gamma, Chi2, Beta and Dirichlet against torch.distributions: values and parameter gradients in float64,
shapes and broadcasting, expand, validate_args' errors, the KL pairs, and draws (PyTorch's after the same
seed, with the stream left in step; their moments; Gamma's reparameterised gradient)."""
import numpy as np
import pytest
import torch
import torch.distributions as TD

import retrograd as rg
import retrograd.distributions as D
from helpers import assert_outputs_and_gradients_match
from retrograd.distributions import dirichlet_sampling, gamma_sampling


def as_rg(array, grad=True):
    return rg.tensor(np.array(array, dtype=np.float64), requires_grad=grad)


def as_torch(array, grad=True):
    return torch.tensor(np.array(array, dtype=np.float64), requires_grad=grad)


def _simplex(rng, shape):
    weights = rng.uniform(0.05, 1, shape)
    return weights / weights.sum(-1, keepdims=True)


# (parameters from an rng and a batch shape, constructor in either library, values in the support)
CASES = {
    "gamma": (lambda rng, b: [rng.uniform(0.2, 5, b), rng.uniform(0.3, 3, b)], lambda lib, a, r: lib.Gamma(a, r),
              lambda rng, b: rng.gamma(2.0, size=b)),
    "gamma-rate-number": (lambda rng, b: [rng.uniform(0.5, 5, b)], lambda lib, a: lib.Gamma(a, 2.5),
                          lambda rng, b: rng.gamma(2.0, size=b)),
    "chi2": (lambda rng, b: [rng.uniform(0.5, 8, b)], lambda lib, df: lib.Chi2(df),
             lambda rng, b: rng.chisquare(3.0, size=b)),
    "beta": (lambda rng, b: [rng.uniform(0.2, 5, b), rng.uniform(0.2, 5, b)], lambda lib, a, c: lib.Beta(a, c),
             lambda rng, b: rng.uniform(0.01, 0.99, b)),
    "dirichlet": (lambda rng, b: [rng.uniform(0.2, 4, b + (4,))], lambda lib, a: lib.Dirichlet(a),
                  lambda rng, b: _simplex(rng, b + (4,))),
    "dirichlet-below-one": (lambda rng, b: [rng.uniform(0.1, 0.9, b + (3,))], lambda lib, a: lib.Dirichlet(a),
                            lambda rng, b: _simplex(rng, b + (3,))),
}


def _build(case, lib, params):
    library, convert = (D, as_rg) if lib == "rg" else (TD, as_torch)
    tensors = [convert(p) for p in params]
    return CASES[case][1](library, *tensors), tensors


def _outputs(dist, value):
    return [dist.log_prob(value), dist.entropy(), dist.mean, dist.mode, dist.variance, dist.stddev]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_values_and_gradients_match_pytorch_in_float64(case, batch):
    rng = np.random.default_rng(len(batch) * 10 + sorted(CASES).index(case))
    params = CASES[case][0](rng, batch)
    value = CASES[case][2](rng, batch)
    (ours, ours_params), (theirs, theirs_params) = _build(case, "rg", params), _build(case, "torch", params)
    assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert type(ours).__name__ == type(theirs).__name__ and repr(ours) == repr(theirs).replace("torch.", "retrograd.")
    assert_outputs_and_gradients_match(_outputs(ours, as_rg(value, False)), _outputs(theirs, as_torch(value, False)),
                                       ours_params, theirs_params, rng, case, 1e-13, 1e-14)


def test_chi2_is_gamma_of_half_df_and_half():
    df = as_rg([1.0, 3.0, 7.5])
    chi2 = D.Chi2(df)
    np.testing.assert_array_equal(chi2.concentration.detach().numpy(), [0.5, 1.5, 3.75])
    np.testing.assert_array_equal(chi2.rate.numpy(), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(chi2.df.detach().numpy(), df.detach().numpy())
    assert D.Chi2(3.0).batch_shape == () and isinstance(chi2, D.Gamma)


def test_log_prob_at_zero_and_outside_the_support():
    """xlogy: 0 log 0 = 0, so Gamma(1, rate) at 0 is log rate (as PyTorch); alpha > 1 gives -inf there."""
    for alpha, rate in [(1.0, 3.0), (2.0, 3.0), (0.5, 1.0)]:
        ours = D.Gamma(alpha, rate).log_prob(rg.tensor(0.0)).item()
        theirs = TD.Gamma(alpha, rate).log_prob(torch.tensor(0.0)).item()
        assert ours == theirs
    np.testing.assert_allclose(D.Gamma(2.0, 3.0).log_prob(1.0).item(), TD.Gamma(2.0, 3.0).log_prob(1.0).item(),
                               rtol=1e-7)
    with pytest.raises(ValueError, match=r"Expected value argument \(Tensor of shape \(\)\) to be within the support "
                                         r"\(GreaterThanEq\(lower_bound=0.0\)\) of the distribution Gamma\("
                                         r"concentration: 2.0, rate: 3.0\), but found invalid values:"):
        D.Gamma(2.0, 3.0).log_prob(rg.tensor(-1.0))


@pytest.mark.parametrize("make,message", [
    (lambda lib, T: lib.Gamma(T([-1.0, 2.0]), T([1.0, 1.0])),
     r"Expected parameter concentration \(Tensor of shape \(2,\)\) of distribution Gamma\(concentration: "
     r"(torch|retrograd)\.Size\(\[2\]\), rate: (torch|retrograd)\.Size\(\[2\]\)\) to satisfy the constraint "
     r"GreaterThan\(lower_bound=0\.0\), but found invalid values:"),
    (lambda lib, T: lib.Gamma(T([1.0]), T([0.0])), r"Expected parameter rate \(Tensor of shape \(1,\)\)"),
    (lambda lib, T: lib.Beta(-1.0, 1.0),
     r"Expected parameter concentration \(Tensor of shape \(2,\)\) of distribution Dirichlet\(concentration: "
     r"(torch|retrograd)\.Size\(\[2\]\)\) to satisfy the constraint IndependentConstraint\(GreaterThan\("
     r"lower_bound=0\.0\), 1\), but found invalid values:"),
    (lambda lib, T: lib.Dirichlet(T([[1.0, 2.0], [0.5, 0.0]])), r"IndependentConstraint\(GreaterThan"),
    (lambda lib, T: lib.Dirichlet(T(1.0)), r"`concentration` parameter must be at least one-dimensional\."),
    (lambda lib, T: lib.Chi2(T([0.0, 1.0])),
     r"Expected parameter df \(Tensor of shape \(2,\)\) of distribution Chi2\(\) to satisfy the constraint "
     r"GreaterThan\(lower_bound=0\.0\)"),
])
def test_validate_args_errors_read_as_pytorchs(make, message):
    for lib, T in ((D, rg.tensor), (TD, torch.tensor)):
        with pytest.raises(ValueError, match=message):
            make(lib, T)


def test_validate_args_false_accepts_what_it_would_refuse():
    D.Gamma(rg.tensor([-1.0]), rg.tensor([1.0]), validate_args=False)
    D.Chi2(rg.tensor([-1.0]), validate_args=False)


def test_broadcasting_and_expand_give_pytorchs_shapes_and_values():
    alpha, rate = np.array([[0.5], [2.0]]), np.array([1.0, 2.0, 3.0])
    ours, theirs = D.Gamma(as_rg(alpha), as_rg(rate)), TD.Gamma(as_torch(alpha), as_torch(rate))
    assert ours.batch_shape == tuple(theirs.batch_shape) == (2, 3)
    ours_expanded, theirs_expanded = ours.expand((4, 2, 3)), theirs.expand((4, 2, 3))
    value = np.random.default_rng(0).gamma(1.5, size=(4, 2, 3))
    np.testing.assert_allclose(ours_expanded.log_prob(as_rg(value, False)).detach().numpy(),
                               theirs_expanded.log_prob(as_torch(value, False)).detach().numpy(), rtol=1e-14)
    chi2 = D.Chi2(as_rg([1.0, 4.0])).expand((3, 2))
    assert type(chi2) is D.Chi2 and chi2.batch_shape == (3, 2)
    np.testing.assert_array_equal(chi2.df.detach().numpy(), np.broadcast_to([1.0, 4.0], (3, 2)))


def test_beta_and_dirichlet_shapes_expand_and_values_on_the_boundary():
    beta = D.Beta(as_rg([[0.5], [2.0]]), as_rg([1.0, 3.0, 0.7]))
    assert beta.batch_shape == (2, 3) and beta.event_shape == () and beta.concentration1.shape == (2, 3)
    expanded = beta.expand((4, 2, 3))
    assert type(expanded) is D.Beta and expanded.batch_shape == (4, 2, 3)
    theirs = TD.Beta(as_torch([[0.5], [2.0]]), as_torch([1.0, 3.0, 0.7])).expand((4, 2, 3))
    value = np.random.default_rng(1).uniform(0, 1, (4, 2, 3))
    np.testing.assert_allclose(expanded.log_prob(as_rg(value, False)).detach().numpy(),
                               theirs.log_prob(as_torch(value, False)).detach().numpy(), rtol=1e-13)
    dirichlet = D.Dirichlet(as_rg([0.5, 2.0, 3.0])).expand((2,))
    assert dirichlet.batch_shape == (2,) and dirichlet.event_shape == (3,)
    assert D.Beta(2.0, 3.0).batch_shape == () and D.Beta(2.0, 3.0).concentration1.item() == 2.0
    # x = 0 or 1 with a concentration of 1: 0 log 0 = 0, PyTorch's finite value
    for c1, c0, x in [(1.0, 2.0, 0.0), (3.0, 1.0, 1.0), (2.0, 2.0, 0.0)]:
        ours = D.Beta(c1, c0).log_prob(rg.tensor(x)).item()
        assert ours == pytest.approx(TD.Beta(c1, c0).log_prob(torch.tensor(x)).item(), rel=1e-6)
    with pytest.raises(ValueError, match=r"to be within the support \(Simplex\(\)\)"):
        D.Dirichlet(rg.tensor([1.0, 2.0])).log_prob(rg.tensor([0.5, 0.6]))


def test_float32_log_prob_and_entropy_match_pytorch():
    alpha, rate = np.array([0.3, 1.0, 4.5], dtype=np.float32), np.array([2.0, 0.5, 1.0], dtype=np.float32)
    value = np.array([0.1, 2.0, 3.3], dtype=np.float32)
    ours, theirs = D.Gamma(rg.tensor(alpha), rg.tensor(rate)), TD.Gamma(torch.tensor(alpha), torch.tensor(rate))
    for o, t in [(ours.log_prob(rg.tensor(value)), theirs.log_prob(torch.tensor(value))),
                 (ours.entropy(), theirs.entropy())]:
        assert o.dtype == rg.float32
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=2e-6, atol=1e-6)


def test_gamma_cdf_matches_pytorch_with_its_gradients():
    alpha, rate, value = [0.4, 2.0, 6.0], [0.5, 1.5, 3.0], [0.2, 1.0, 2.5]
    ours_rate, theirs_rate = as_rg(rate), as_torch(rate)
    ours_value, theirs_value = as_rg(value), as_torch(value)
    ours = D.Gamma(as_rg(alpha, False), ours_rate).cdf(ours_value)
    theirs = TD.Gamma(as_torch(alpha, False), theirs_rate).cdf(theirs_value)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-14)
    cotangent = np.array([0.3, -1.2, 0.7])
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(ours_rate.grad.numpy(), theirs_rate.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(ours_value.grad.numpy(), theirs_value.grad.numpy(), rtol=1e-13)
    chi2 = D.Chi2(as_rg([3.0], False)).cdf(as_rg([2.0], False)).item()
    assert chi2 == pytest.approx(TD.Chi2(as_torch([3.0], False)).cdf(as_torch([2.0], False)).item(), rel=1e-14)
    with pytest.raises(NotImplementedError, match="igamma: input"):        # no gradient for alpha, as PyTorch
        D.Gamma(as_rg(alpha), 1.0).cdf(as_rg(value, False)).sum().backward()


def test_gradcheck_of_log_prob_and_entropy():
    alpha, rate, value = as_rg([0.4, 2.0, 6.0]), as_rg([0.5, 1.5, 3.0]), as_rg([0.2, 1.0, 2.5], False)

    def quantities(a, r):
        dist = D.Gamma(a, r)
        return dist.log_prob(value), dist.entropy()

    assert rg.autograd.gradcheck(quantities, (alpha, rate))


# ----- draws ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.3, 1.0, 4.0])
def test_gamma_draws_have_the_right_moments(alpha):
    rg.manual_seed(0)
    n, rate = 15_000, 2.0
    draws = D.Gamma(rg.tensor([alpha], dtype=rg.float64), rg.tensor([rate], dtype=rg.float64)).sample((n,))
    values = draws.numpy()
    assert draws.shape == (n, 1) and draws.dtype == rg.float64 and not draws.requires_grad and values.min() > 0
    mean, variance = alpha / rate, alpha / rate ** 2
    np.testing.assert_allclose(values.mean(), mean, atol=4.5 * (variance / n) ** 0.5)
    # the variance of the sample variance is (mu4 - sigma^4) / n, mu4 = 3 alpha (alpha + 2) / rate^4
    mu4 = 3 * alpha * (alpha + 2) / rate ** 4
    np.testing.assert_allclose(values.var(), variance, atol=4.5 * ((mu4 - variance ** 2) / n) ** 0.5)


SAMPLED = {
    "gamma": lambda lib, T: lib.Gamma(T([0.3, 1.0, 4.0, 0.05, 12.0]), T([2.0, 0.5, 1.0, 1.0, 3.0])),
    "chi2": lambda lib, T: lib.Chi2(T([[0.6, 3.0, 9.0]])),
    "beta": lambda lib, T: lib.Beta(T([0.3, 2.0, 7.0]), T([0.5, 5.0, 8.0])),
    "dirichlet": lambda lib, T: lib.Dirichlet(T([[0.2, 1.0, 3.0], [5.0, 0.7, 2.0]])),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(SAMPLED))
def test_draws_equal_pytorchs_after_the_same_seed(case, dtype):
    """PyTorch's sampler step for step (gamma_sampling.py): float32 draws bit for bit, float64 to a few ulp
    (NumPy's log1p/sin/cos against the C library's in the normal draws); the stream stays in step."""
    ours, theirs = SAMPLED[case](D, lambda v: rg.tensor(np.array(v, dtype=dtype))), \
        SAMPLED[case](TD, lambda v: torch.tensor(np.array(v, dtype=dtype)))
    assert ours.has_rsample == theirs.has_rsample
    for method in ("sample", "rsample") if ours.has_rsample else ("sample",):
        for shape in [(), (7,), (40, 3)]:
            rg.manual_seed(13)
            torch.manual_seed(13)
            rg.randn(1)      # a cached normal half waiting in both generators
            torch.randn(1)
            drawn, expected = getattr(ours, method)(shape), getattr(theirs, method)(shape).detach().numpy()
            assert drawn.shape == expected.shape and drawn.dtype == expected.dtype
            if dtype == "float32" and case in ("gamma", "chi2"):
                np.testing.assert_array_equal(drawn.detach().numpy(), expected)
            else:
                np.testing.assert_allclose(drawn.detach().numpy(), expected, rtol=2e-14 if dtype == "float64" else 1e-6)
            np.testing.assert_array_equal(rg.rand(3).numpy(), torch.rand(3).numpy())
            np.testing.assert_allclose(rg.randn(3).numpy(), torch.randn(3).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gamma_rsample_gradients_match_pytorchs(dtype):
    rng = np.random.default_rng(6)
    alpha, rate = rng.uniform(0.05, 15, (2, 40)).astype(dtype), rng.uniform(0.3, 3, 40).astype(dtype)
    ours_alpha, ours_rate = rg.tensor(alpha, requires_grad=True), rg.tensor(rate, requires_grad=True)
    theirs_alpha, theirs_rate = torch.tensor(alpha, requires_grad=True), torch.tensor(rate, requires_grad=True)
    rg.manual_seed(8)
    torch.manual_seed(8)
    ours, theirs = D.Gamma(ours_alpha, ours_rate).rsample((3,)), TD.Gamma(theirs_alpha, theirs_rate).rsample((3,))
    cotangent = rng.normal(size=(3, 2, 40)).astype(dtype)
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    rtol = 1e-13 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(ours_alpha.grad.numpy(), theirs_alpha.grad.numpy(), rtol=rtol)
    np.testing.assert_allclose(ours_rate.grad.numpy(), theirs_rate.grad.numpy(), rtol=rtol)
    assert ours_alpha.grad.dtype == dtype


def test_standard_gamma_grad_matches_pytorchs_in_each_regime():
    """x < 0.8: the series; alpha > 8: Rice's expansion (and its form within 10% of alpha); else the rational fit."""
    rng = np.random.default_rng(2)
    alpha = np.concatenate([rng.uniform(0.01, 3, 300), rng.uniform(8.5, 40, 300), [9.0, 9.0, 20.0, 20.0, 2.0, 0.5]])
    x = np.concatenate([rng.uniform(1e-4, 0.79, 300), alpha[300:600] * rng.uniform(0.5, 1.5, 300),
                        [8.5, 9.5, 12.0, 25.0, 3.0, 1.2]])
    theirs = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(gamma_sampling.standard_gamma_grad(alpha, x), theirs, rtol=5e-14)
    ours32 = gamma_sampling.standard_gamma_grad(alpha.astype(np.float32), x.astype(np.float32)).astype(np.float32)
    theirs32 = torch._standard_gamma_grad(torch.tensor(alpha, dtype=torch.float32),
                                          torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(ours32, theirs32, rtol=2**-23)


def test_draw_shapes_and_dtypes():
    dist = D.Chi2(rg.tensor([[1.0, 3.0]]))
    rg.manual_seed(1)
    draws = dist.sample((5,))
    assert draws.shape == (5, 1, 2) and draws.dtype == rg.float32 and draws.numpy().min() > 0
    assert dist.has_rsample and not draws.requires_grad and dist.rsample().shape == (1, 2)
    tiny = D.Gamma(rg.tensor([1e-3], dtype=rg.float64), 1.0).sample((200,)).numpy()
    assert tiny.min() >= np.finfo(np.float64).tiny   # clamped to the smallest normal number, as PyTorch's


@pytest.mark.parametrize("concentration", [[0.3, 0.3], [2.0, 5.0], [0.5, 1.0, 4.0]])
def test_dirichlet_and_beta_draws_have_the_right_moments(concentration):
    rg.manual_seed(3)
    n, alpha = 8_000, np.array(concentration)
    total = alpha.sum()
    mean, variance = alpha / total, alpha * (total - alpha) / (total ** 2 * (total + 1))
    if len(concentration) == 2:
        draws = D.Beta(alpha[0], alpha[1]).sample((n,))
        assert draws.shape == (n,) and draws.dtype == rg.float32
        assert draws.numpy().min() > 0 and draws.numpy().max() < 1
        values = np.stack([draws.numpy(), 1 - draws.numpy()], -1).astype(np.float64)
    else:
        draws = D.Dirichlet(rg.tensor(alpha)).sample((n,))
        assert draws.shape == (n, 3) and draws.dtype == rg.float64
        values = draws.numpy()
        np.testing.assert_allclose(values.sum(-1), 1.0, rtol=1e-15)
        assert values.min() > 0 and values.max() < 1
    assert np.all(np.abs(values.mean(0) - mean) < 4.5 * (variance / n) ** 0.5), (values.mean(0), mean)
    np.testing.assert_allclose(values.var(0), variance, rtol=0.06)


@pytest.mark.parametrize("case", ["beta", "dirichlet"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_beta_and_dirichlet_rsample_gradients_match_pytorchs(case, dtype):
    rng = np.random.default_rng(7)
    if case == "beta":
        params = [rng.uniform(0.1, 20, (2, 30)).astype(dtype), rng.uniform(0.1, 20, 30).astype(dtype)]
    else:
        params = [rng.uniform(0.1, 20, (3, 20, 4)).astype(dtype)]
    ours_params = [rg.tensor(p, requires_grad=True) for p in params]
    theirs_params = [torch.tensor(p, requires_grad=True) for p in params]
    rg.manual_seed(9)
    torch.manual_seed(9)
    ours = getattr(D, case.capitalize())(*ours_params).rsample((2,))
    theirs = getattr(TD, case.capitalize())(*theirs_params).rsample((2,))
    cotangent = rng.normal(size=tuple(theirs.shape)).astype(dtype)
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    # float64: PyTorch's approximation step for step, up to NumPy's log/pow against the C library's, which the
    # cancellation near a Beta's mean magnifies; float32: PyTorch runs its two series in float32, we in float64
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-4, 1e-5)
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
        assert o.grad.dtype == dtype


def test_dirichlet_grad_matches_pytorchs_in_each_regime():
    """x near 0 and near 1: the series; alpha, beta > 6: Rice's expansion; else the rational correction."""
    rng = np.random.default_rng(0)
    alpha = np.concatenate([rng.uniform(0.05, 5, 600), rng.uniform(6.5, 40, 400)])
    beta = np.concatenate([rng.uniform(0.05, 5, 600), rng.uniform(6.5, 40, 400)])
    x = np.clip(rng.beta(alpha, beta), 1e-12, 1 - 1e-12)
    ours = dirichlet_sampling.dirichlet_grad(x, alpha, alpha + beta)
    theirs = torch._dirichlet_grad(torch.tensor(x), torch.tensor(alpha), torch.tensor(alpha + beta)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-11, atol=1e-14)
    assert np.mean(ours == theirs) > 0.9   # mostly bit for bit


# ----- KL divergences --------------------------------------------------------------------------------------------
def _gamma(lib, T, rng):
    return lib.Gamma(T(rng.uniform(0.3, 4, 3)), T(rng.uniform(0.5, 3, 3)))


def _beta(lib, T, rng):
    return lib.Beta(T(rng.uniform(0.3, 4, 3)), T(rng.uniform(0.3, 4, 3)))


KL_SIDES = {
    "gamma": _gamma,
    "chi2": lambda lib, T, rng: lib.Chi2(T(rng.uniform(0.5, 6, 3))),
    "beta": _beta,
    "dirichlet": lambda lib, T, rng: lib.Dirichlet(T(rng.uniform(0.3, 4, (3, 4)))),
    "exponential": lambda lib, T, rng: lib.Exponential(T(rng.uniform(0.3, 3, 3))),
    "normal": lambda lib, T, rng: lib.Normal(T(rng.normal(size=3)), T(rng.uniform(0.5, 2, 3))),
    "laplace": lambda lib, T, rng: lib.Laplace(T(rng.normal(size=3)), T(rng.uniform(0.5, 2, 3))),
    "uniform-inside": lambda lib, T, rng: lib.Uniform(T([0.1, 0.0, 0.3]), T([0.5, 0.9, 1.0])),
    "uniform-wide": lambda lib, T, rng: lib.Uniform(T([-0.5, 0.0, 0.2]), T([0.5, 1.0, 2.0])),
}
KL_FINITE = [("gamma", "gamma"), ("chi2", "gamma"), ("gamma", "chi2"), ("beta", "beta"), ("dirichlet", "dirichlet"),
             ("beta", "exponential"), ("beta", "gamma"), ("beta", "normal"), ("beta", "uniform-wide"),
             ("exponential", "gamma"), ("gamma", "exponential"), ("gamma", "normal"), ("uniform-inside", "beta"),
             ("uniform-inside", "gamma"), ("uniform-wide", "gamma"), ("uniform-wide", "beta")]
KL_INFINITE = [("exponential", "beta"), ("gamma", "beta"), ("gamma", "uniform-wide"), ("laplace", "beta"),
               ("laplace", "gamma"), ("normal", "beta"), ("normal", "gamma")]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("p_name,q_name", KL_FINITE)
def test_kl_pairs_match_pytorch_with_gradients(p_name, q_name):
    ours_params, theirs_params = [], []

    def ours_tensor(values):
        ours_params.append(as_rg(values))
        return ours_params[-1]

    def theirs_tensor(values):
        theirs_params.append(as_torch(values))
        return theirs_params[-1]

    seeds = (1, 2)
    ours = [KL_SIDES[name](D, ours_tensor, np.random.default_rng(s)) for name, s in zip((p_name, q_name), seeds)]
    theirs = [KL_SIDES[name](TD, theirs_tensor, np.random.default_rng(s)) for name, s in zip((p_name, q_name), seeds)]
    assert_outputs_and_gradients_match([D.kl_divergence(*ours)], [TD.kl_divergence(*theirs)], ours_params,
                                       theirs_params, np.random.default_rng(0), f"{p_name}||{q_name}", 1e-13, 1e-13)


@pytest.mark.parametrize("p_name,q_name", KL_INFINITE)
def test_kl_pairs_with_mass_outside_the_support_are_infinite_as_in_pytorch(p_name, q_name):
    rng = np.random.default_rng(4)
    ours = D.kl_divergence(KL_SIDES[p_name](D, as_rg, rng), KL_SIDES[q_name](D, as_rg, rng))
    rng = np.random.default_rng(4)
    theirs = TD.kl_divergence(KL_SIDES[p_name](TD, as_torch, rng), KL_SIDES[q_name](TD, as_torch, rng))
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    assert np.isinf(ours.detach().numpy()).any()
