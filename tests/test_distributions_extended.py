"""Uniform, Laplace, Exponential, OneHotCategorical and Independent, and what every distribution gained with
them (expand, cdf/icdf, sample_n), against torch.distributions: values and gradients in float64, gradcheck,
draws after the same seed, shapes, the errors of validate_args and the KL pairs."""
import math

import numpy as np
import pytest
import torch
import torch.distributions as TD

import retrograd as rg
import retrograd.distributions as D
from helpers import assert_outputs_and_gradients_match


def as_rg(array, grad=True):
    return rg.tensor(np.array(array, dtype=np.float64), requires_grad=grad)


def as_torch(array, grad=True):
    return torch.tensor(np.array(array, dtype=np.float64), requires_grad=grad)


def _library(lib):
    return (D, as_rg) if lib == "rg" else (TD, as_torch)


def weights(rng, shape):
    return rng.random(shape) + 0.1


def _one_hot_values(rng, shape, k=4):
    return np.eye(k)[rng.integers(0, k, size=shape)]


# (parameters from an rng and a batch shape, constructor in either library, values to score in the support)
CASES = {
    "uniform": (lambda rng, b: [rng.normal(size=b), rng.uniform(0.5, 2, b)],
                lambda lib, low, width: lib.Uniform(low, low + width),
                None),
    "laplace": (lambda rng, b: [rng.normal(size=b), rng.uniform(0.3, 2, b)], lambda lib, m, s: lib.Laplace(m, s),
                lambda rng, b: rng.normal(size=b) * 2),
    "exponential": (lambda rng, b: [rng.uniform(0.3, 3, b)], lambda lib, r: lib.Exponential(r),
                    lambda rng, b: rng.exponential(size=b)),
    "onehot-probs": (lambda rng, b: [weights(rng, b + (4,))], lambda lib, p: lib.OneHotCategorical(probs=p),
                     _one_hot_values),
    "onehot-logits": (lambda rng, b: [rng.normal(size=b + (4,))], lambda lib, z: lib.OneHotCategorical(logits=z),
                      _one_hot_values),
    "independent-normal": (lambda rng, b: [rng.normal(size=b + (3,)), rng.uniform(0.3, 2, b + (3,))],
                           lambda lib, m, s: lib.Independent(lib.Normal(m, s), 1),
                           lambda rng, b: rng.normal(size=b + (3,))),
    "independent-laplace-2": (lambda rng, b: [rng.normal(size=b + (2, 3)), rng.uniform(0.3, 2, b + (2, 3))],
                              lambda lib, m, s: lib.Independent(lib.Laplace(m, s), 2),
                              lambda rng, b: rng.normal(size=b + (2, 3))),
}


def _values(case, rng, batch, params):
    if case == "uniform":  # inside [low, high)
        return params[0] + rng.uniform(0, 1, batch) * params[1] * 0.999
    return CASES[case][2](rng, batch)


def _build(case, lib, params, grad=True):
    library, convert = _library(lib)
    tensors = [convert(p, grad) for p in params]
    return CASES[case][1](library, *tensors), tensors


def _outputs(dist, value):
    outputs = [dist.log_prob(value), dist.entropy(), dist.mean, dist.variance, dist.stddev]
    return outputs + [dist.probs, dist.logits] if hasattr(dist, "probs") else outputs


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_values_and_gradients_match_pytorch_in_float64(case, batch):
    rng = np.random.default_rng(len(batch) * 10 + sorted(CASES).index(case))
    params = CASES[case][0](rng, batch)
    value = _values(case, rng, batch, params)
    (ours, ours_params), (theirs, theirs_params) = _build(case, "rg", params), _build(case, "torch", params)
    assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert ours.has_rsample == theirs.has_rsample and ours.has_enumerate_support == theirs.has_enumerate_support
    assert_outputs_and_gradients_match(_outputs(ours, as_rg(value, False)), _outputs(theirs, as_torch(value, False)),
                                       ours_params, theirs_params, rng, case, 1e-13, 1e-14)
    np.testing.assert_array_equal(np.asarray(ours.mode.detach().numpy()), theirs.mode.detach().numpy())


# ----- cdf and icdf ------------------------------------------------------------------------------------------
CDF_CASES = {
    "normal": (lambda rng: [rng.normal(size=(2, 3)), rng.uniform(0.3, 2, (2, 3))], lambda lib, m, s: lib.Normal(m, s),
               lambda rng: rng.normal(size=(2, 3)) * 2),
    "uniform": (lambda rng: [rng.normal(size=(2, 3)), rng.uniform(0.5, 2, (2, 3))],
                lambda lib, low, width: lib.Uniform(low, low + width), lambda rng: rng.normal(size=(2, 3))),
    "laplace": (lambda rng: [rng.normal(size=(2, 3)), rng.uniform(0.3, 2, (2, 3))],
                lambda lib, m, s: lib.Laplace(m, s), lambda rng: rng.normal(size=(2, 3)) * 2),
    "exponential": (lambda rng: [rng.uniform(0.3, 3, (2, 3))], lambda lib, r: lib.Exponential(r),
                    lambda rng: rng.exponential(size=(2, 3))),
}


@pytest.mark.parametrize("case", sorted(CDF_CASES))
def test_cdf_and_icdf_match_pytorch_with_their_gradients_and_invert_each_other(case):
    make_params, make, make_value = CDF_CASES[case]
    rng = np.random.default_rng(3)
    params, value, unit = make_params(rng), make_value(rng), rng.uniform(0.01, 0.99, (2, 3))
    if case == "uniform":
        value = params[0] + rng.uniform(0, 1, (2, 3)) * params[1]  # inside the support (validate_args checks it)
    ours_params, theirs_params = [as_rg(p) for p in params], [as_torch(p) for p in params]
    ours, theirs = make(D, *ours_params), make(TD, *theirs_params)
    ours_out = [ours.cdf(as_rg(value)), ours.icdf(as_rg(unit))]
    theirs_out = [theirs.cdf(as_torch(value)), theirs.icdf(as_torch(unit))]
    loss_ours, loss_theirs = 0, 0
    for o, t in zip(ours_out, theirs_out):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-14, atol=1e-15, err_msg=case)
        cotangent = rng.normal(size=(2, 3))
        loss_ours = loss_ours + (o * rg.tensor(cotangent)).sum()
        loss_theirs = loss_theirs + (t * torch.tensor(cotangent)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=case)
    np.testing.assert_allclose(ours.cdf(ours.icdf(as_rg(unit, False))).detach().numpy(), unit, rtol=1e-13)


def test_normal_cdf_in_the_tails_and_icdf_at_the_ends():
    ours, theirs = D.Normal(0.0, 1.0), TD.Normal(0.0, 1.0)
    x = [-40.0, -8.0, 0.0, 8.0, 40.0]
    np.testing.assert_allclose(ours.cdf(rg.tensor(x)).numpy(), theirs.cdf(torch.tensor(x)).numpy(), atol=1e-16)
    np.testing.assert_array_equal(ours.icdf(rg.tensor([0.0, 0.5, 1.0])).numpy(), [-math.inf, 0.0, math.inf])


def test_discrete_distributions_have_no_cdf_as_in_pytorch():
    for dist in (D.Bernoulli(0.3), D.Categorical(rg.tensor([0.5, 0.5]))):
        with pytest.raises(NotImplementedError):
            dist.cdf(rg.tensor(0.0))
        with pytest.raises(NotImplementedError):
            dist.icdf(rg.tensor(0.5))


@pytest.mark.parametrize("case", sorted(CDF_CASES))
def test_gradcheck_of_log_prob_entropy_cdf_icdf_and_rsample(case):
    make_params, make, make_value = CDF_CASES[case]
    rng = np.random.default_rng(8)
    params = [as_rg(p[0]) for p in make_params(rng)]  # batch (3,)
    value = as_rg(make_value(rng)[0], False)
    if case == "uniform":
        value = params[0].detach() + as_rg([0.3, 0.6, 0.9], False) * params[1].detach()
    unit = as_rg([0.2, 0.5, 0.8], False)

    def quantities(*tensors):
        dist = make(D, *tensors)
        rg.manual_seed(0)  # the same noise on every call: rsample is then a function of the parameters
        return dist.log_prob(value), dist.entropy(), dist.cdf(value), dist.icdf(unit), dist.rsample((2,))

    assert rg.autograd.gradcheck(quantities, tuple(params))


# ----- draws after the same seed -----------------------------------------------------------------------------
SAMPLED = {
    "uniform": lambda lib, T: lib.Uniform(T([0.0, -1.0, 2.0]), T([1.0, 3.0, 2.5])),
    "laplace": lambda lib, T: lib.Laplace(T([0.0, -1.0, 2.0]), T([1.0, 3.0, 0.5])),
    "exponential": lambda lib, T: lib.Exponential(T([1.0, 3.0, 0.5])),
    "onehot": lambda lib, T: lib.OneHotCategorical(T([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]])),
    "independent": lambda lib, T: lib.Independent(lib.Uniform(T([0.0, -1.0, 2.0]), T([1.0, 3.0, 2.5])), 1),
    "expanded-normal": lambda lib, T: lib.Normal(T([0.0, 1.0, -2.0]), T([1.0, 0.5, 3.0])).expand((4, 3)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(SAMPLED))
def test_draws_equal_pytorchs_after_the_same_seed(case, dtype):
    """Uniform is low + rand * (high - low), Laplace its formula on uniform_(eps - 1, 1), Exponential
    exponential_() / rate, as PyTorch computes them: the same bits (the normal stream: a few ulp; Laplace's
    log1p: NumPy's and PyTorch's vectorised kernels may round an ulp apart). The stream stays in step:
    the next rand() is the same."""
    def ours_tensor(values):
        return rg.tensor(np.array(values, dtype=dtype))

    def theirs_tensor(values):
        return torch.tensor(np.array(values, dtype=dtype))

    ours, theirs = SAMPLED[case](D, ours_tensor), SAMPLED[case](TD, theirs_tensor)
    for method in ("sample", "rsample") if theirs.has_rsample else ("sample",):
        for shape in [(), (5,), (2, 4)]:
            rg.manual_seed(11)
            torch.manual_seed(11)
            drawn, expected = getattr(ours, method)(shape), getattr(theirs, method)(shape)
            assert drawn.shape == tuple(expected.shape) and drawn.dtype == expected.numpy().dtype
            if case in ("expanded-normal", "laplace"):
                ulp = np.finfo(dtype).eps
                np.testing.assert_allclose(drawn.detach().numpy(), expected.detach().numpy(), rtol=4 * ulp, atol=ulp)
            else:
                np.testing.assert_array_equal(drawn.detach().numpy(), expected.detach().numpy())
            np.testing.assert_array_equal(rg.rand(2).numpy(), torch.rand(2).numpy())


@pytest.mark.parametrize("case", ["uniform", "laplace", "exponential"])
def test_rsample_gradients_match_pytorchs_after_the_same_seed(case):
    make_params, make, _ = CDF_CASES[case]
    rng = np.random.default_rng(5)
    params = make_params(rng)
    ours_params, theirs_params = [as_rg(p) for p in params], [as_torch(p) for p in params]
    rg.manual_seed(2)
    torch.manual_seed(2)
    ours, theirs = make(D, *ours_params).rsample((4,)), make(TD, *theirs_params).rsample((4,))
    cotangent = rng.normal(size=(4, 2, 3))
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-13, atol=1e-14)
    assert not make(D, *ours_params).sample((2,)).requires_grad


def test_sample_statistics_of_the_new_distributions():
    rg.manual_seed(1)
    n = 100_000
    uniform = D.Uniform(rg.tensor([-1.0]), rg.tensor([3.0])).sample((n,)).numpy()
    assert uniform.min() >= -1 and uniform.max() < 3
    np.testing.assert_allclose(uniform.mean(), 1.0, atol=4.5 * (4 / 12 ** 0.5) / n ** 0.5)
    laplace = D.Laplace(rg.tensor([2.0]), rg.tensor([0.5])).sample((n,)).numpy()
    np.testing.assert_allclose(laplace.mean(), 2.0, atol=4.5 * (2 ** 0.5 * 0.5) / n ** 0.5)
    np.testing.assert_allclose(laplace.std(), 2 ** 0.5 * 0.5, rtol=0.02)
    exponential = D.Exponential(rg.tensor([4.0])).sample((n,)).numpy()
    np.testing.assert_allclose(exponential.mean(), 0.25, atol=4.5 * 0.25 / n ** 0.5)
    assert exponential.min() >= 0


# ----- expand --------------------------------------------------------------------------------------------------
EXPANDED = {
    "normal": (lambda lib, T: lib.Normal(T([0.5, -1.0]), T([1.0, 2.0])), (3, 2), lambda rng: rng.normal(size=(3, 2))),
    "bernoulli-probs": (lambda lib, T: lib.Bernoulli(T([0.3])), (2, 4), lambda rng: rng.integers(0, 2, (2, 4)) * 1.0),
    "bernoulli-logits": (lambda lib, T: lib.Bernoulli(logits=T(0.3)), (3,), lambda rng: rng.integers(0, 2, 3) * 1.0),
    "categorical": (lambda lib, T: lib.Categorical(T([[0.2, 0.3, 0.5]])), (4, 2), lambda rng: rng.integers(0, 3, (4, 2))),
    "uniform": (lambda lib, T: lib.Uniform(T([0.0]), T([2.0])), (2, 3), lambda rng: rng.uniform(0, 2, (2, 3))),
    "laplace": (lambda lib, T: lib.Laplace(0.0, T([1.5])), (3,), lambda rng: rng.normal(size=3)),
    "exponential": (lambda lib, T: lib.Exponential(T([2.0, 0.5])), (2, 2), lambda rng: rng.exponential(size=(2, 2))),
    "onehot": (lambda lib, T: lib.OneHotCategorical(logits=T([0.1, 0.5, -0.3])), (2,),
               lambda rng: np.eye(3)[rng.integers(0, 3, 2)]),
    "independent": (lambda lib, T: lib.Independent(lib.Normal(T([0.0, 1.0]), T([1.0, 0.5])), 1), (3,),
                    lambda rng: rng.normal(size=(3, 2))),
}


@pytest.mark.parametrize("case", sorted(EXPANDED))
def test_expand_gives_pytorchs_shapes_and_values_and_keeps_the_gradient(case):
    build, batch_shape, make_value = EXPANDED[case]
    value = make_value(np.random.default_rng(0))
    ours_params, theirs_params = [], []

    def ours_tensor(values):
        ours_params.append(as_rg(values))
        return ours_params[-1]

    def theirs_tensor(values):
        theirs_params.append(as_torch(values))
        return theirs_params[-1]

    ours, theirs = build(D, ours_tensor).expand(batch_shape), build(TD, theirs_tensor).expand(batch_shape)
    assert type(ours) is getattr(D, type(theirs).__name__)
    assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert ours.batch_shape == batch_shape and ours._validate_args
    value_ours = rg.tensor(value) if value.dtype.kind == "i" else as_rg(value, False)
    value_theirs = torch.tensor(value) if value.dtype.kind == "i" else as_torch(value, False)
    log_prob_ours, log_prob_theirs = ours.log_prob(value_ours), theirs.log_prob(value_theirs)
    np.testing.assert_allclose(log_prob_ours.detach().numpy(), log_prob_theirs.detach().numpy(), rtol=1e-14)
    (log_prob_ours.sum() + ours.entropy().sum()).backward()
    (log_prob_theirs.sum() + theirs.entropy().sum()).backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-13)
    assert ours.sample((2,)).shape == (2,) + tuple(theirs.batch_shape) + tuple(theirs.event_shape)


def test_expand_shares_the_parameters_memory_refuses_bad_shapes_and_carries_validate_args():
    loc = rg.zeros(2)
    wide = D.Normal(loc, 1.0).expand((3, 2))
    assert np.shares_memory(wide.loc.array, loc.array)
    assert not D.Normal(loc, 1.0, validate_args=False).expand((3, 2))._validate_args
    with pytest.raises(RuntimeError, match="expanded size of the tensor \\(3\\) must match the existing size \\(2\\)"):
        D.Normal(loc, 1.0).expand((3, 3))
    bernoulli = D.Bernoulli(rg.tensor([0.2, 0.6]))
    bernoulli.logits  # computed on first use: expand carries both, as PyTorch does
    assert set(vars(bernoulli.expand((4, 2)))) >= {"probs", "logits"}


def test_expand_of_a_subclass_with_its_own_init_asks_for_its_own_expand():
    class StandardNormal(D.Normal):
        def __init__(self):
            super().__init__(0.0, 1.0)

    class Shifted(D.Normal):
        pass

    with pytest.raises(NotImplementedError, match="Subclass StandardNormal of Normal that defines a custom __init__ "
                                                  "method must also define a custom .expand\\(\\) method."):
        StandardNormal().expand((2,))
    assert type(Shifted(0.0, 1.0).expand((2,))) is Shifted


def test_sample_n_is_sample_with_a_future_warning():
    rg.manual_seed(4)
    expected = D.Uniform(0.0, 1.0).sample((3,)).numpy()
    rg.manual_seed(4)
    with pytest.warns(FutureWarning, match="`sample_n\\(n\\)` will be deprecated. Use `sample\\(\\(n,\\)\\)` instead."):
        np.testing.assert_array_equal(D.Uniform(0.0, 1.0).sample_n(3).numpy(), expected)


# ----- the API around the numbers -------------------------------------------------------------------------------
def test_the_new_names_are_pytorchs_with_the_same_constraints():
    assert set(D.__all__) - {"constraints"} <= set(TD.__all__)
    built = [(D.Uniform(rg.zeros(2), 1.0), TD.Uniform(torch.zeros(2), 1.0)),
             (D.Laplace(0.0, 1.0), TD.Laplace(0.0, 1.0)), (D.Exponential(2.0), TD.Exponential(2.0)),
             (D.OneHotCategorical(rg.ones(3)), TD.OneHotCategorical(torch.ones(3))),
             (D.Independent(D.Normal(rg.zeros(2, 3), 1.0), 2), TD.Independent(TD.Normal(torch.zeros(2, 3), 1.0), 2))]
    for ours, theirs in built:
        assert repr(ours.support) == repr(theirs.support)
        assert {k: repr(v) for k, v in ours.arg_constraints.items()} == \
            {k: repr(v) for k, v in theirs.arg_constraints.items()}
        assert repr(ours) == repr(theirs).replace("torch.Size", "retrograd.Size")
    support = D.OneHotCategorical(rg.ones(3)).enumerate_support()
    np.testing.assert_array_equal(support.numpy(), TD.OneHotCategorical(torch.ones(3)).enumerate_support().numpy())
    assert D.OneHotCategorical(rg.ones(2, 3)).enumerate_support(expand=False).shape == (3, 1, 3)


def _torch_error(function):
    with pytest.raises(Exception) as caught:
        function()
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("build", [
    lambda lib, T: lib.Uniform(1.0, 0.0),
    lambda lib, T: lib.Uniform(T([0.0, 1.0]), T([1.0, 1.0])),
    lambda lib, T: lib.Uniform(T([0.0]), T([1.0])).log_prob(T([1.5])),
    lambda lib, T: lib.Uniform(T([0.0]), T([1.0])).cdf(T([-0.5])),
    lambda lib, T: lib.Laplace(0.0, -1.0),
    lambda lib, T: lib.Laplace(T([0.0, float("nan")]), 1.0),
    lambda lib, T: lib.Exponential(T([1.0, 0.0])),
    lambda lib, T: lib.Exponential(2.0).log_prob(T([-1.0])),
    lambda lib, T: lib.Normal(T([0.0, 0.0, 0.0]), 1.0).cdf(T([0.0, 0.0])),
    lambda lib, T: lib.OneHotCategorical(T([0.5, -0.1, 0.6])),
    lambda lib, T: lib.OneHotCategorical(T([0.5, 0.5])).log_prob(T([1.0, 1.0])),
    lambda lib, T: lib.OneHotCategorical(T([0.5, 0.5])).log_prob(T([1.0, 0.0, 0.0])),
    lambda lib, T: lib.Independent(lib.Normal(T([0.0]), 1.0), 2),
    lambda lib, T: lib.Independent(lib.Normal(T([0.0, 1.0]), 1.0), 1).enumerate_support(),
    lambda lib, T: lib.Independent(lib.Exponential(T([1.0, 2.0])), 1).log_prob(T([1.0, -1.0])),
], ids=["uniform-reversed", "uniform-empty-interval", "uniform-outside", "uniform-cdf-outside", "laplace-scale",
        "laplace-nan-loc", "exponential-zero-rate", "exponential-negative-value", "normal-cdf-unbroadcastable",
        "onehot-negative-probs", "onehot-two-ones", "onehot-wrong-length", "independent-too-many-axes",
        "independent-enumerate", "independent-outside-support"])
def test_bad_arguments_raise_pytorchs_errors(build):
    """The same exception and words; the invalid values printed after them are retrograd's own tensor."""
    expected_type, expected_message = _torch_error(lambda: build(TD, torch.tensor))
    with pytest.raises(expected_type) as caught:
        build(D, rg.tensor)
    words, _, values = str(caught.value).partition(":\n")
    expected_words, _, expected_values = expected_message.partition(":\n")
    assert words == expected_words.replace("torch.Size", "retrograd.Size")
    assert bool(values) == bool(expected_values)


def test_errors_pytorch_words_poorly_name_the_argument():
    with pytest.raises(ValueError, match="Uniform: input arguments must .* got list for high"):
        D.Uniform(0.0, [1.0])
    with pytest.raises(TypeError, match="Independent: expected base_distribution to be a Distribution, got Tensor"):
        D.Independent(rg.zeros(2), 1)
    with pytest.raises(NotImplementedError, match="different reinterpreted_batch_ndims \\(1 vs 2\\)"):
        base = D.Normal(rg.zeros(2, 2), 1.0)
        D.kl_divergence(D.Independent(base, 1), D.Independent(base, 2))


# ----- KL ---------------------------------------------------------------------------------------------------------
KL_PAIRS = {
    "uniform": (lambda rng: [rng.uniform(0, 0.5, 4), rng.uniform(0.5, 1, 4), rng.uniform(-1, 0, 4),
                             rng.uniform(1, 2, 4)],
                lambda lib, a, b, c, d: (lib.Uniform(a, b), lib.Uniform(c, d))),
    "laplace": (lambda rng: [rng.normal(size=4), rng.uniform(0.3, 2, 4), rng.normal(size=4), rng.uniform(0.3, 2, 4)],
                lambda lib, m1, s1, m2, s2: (lib.Laplace(m1, s1), lib.Laplace(m2, s2))),
    "exponential": (lambda rng: [rng.uniform(0.3, 3, 4), rng.uniform(0.3, 3, 4)],
                    lambda lib, r1, r2: (lib.Exponential(r1), lib.Exponential(r2))),
    "independent": (lambda rng: [rng.normal(size=(2, 3)), rng.uniform(0.3, 2, (2, 3)), rng.normal(size=(2, 3))],
                    lambda lib, m1, s1, m2: (lib.Independent(lib.Normal(m1, s1), 1),
                                             lib.Independent(lib.Normal(m2, 1.0), 1))),
    "onehot": (lambda rng: [weights(rng, (3, 4)), rng.normal(size=(4,))],
               lambda lib, p, z: (lib.OneHotCategorical(probs=p), lib.OneHotCategorical(logits=z))),
}


@pytest.mark.parametrize("pair", sorted(KL_PAIRS))
def test_kl_divergence_and_its_gradients_match_pytorch(pair):
    make_params, make = KL_PAIRS[pair]
    rng = np.random.default_rng(7)
    params = make_params(rng)
    ours_params, theirs_params = [as_rg(p) for p in params], [as_torch(p) for p in params]
    ours, theirs = D.kl_divergence(*make(D, *ours_params)), TD.kl_divergence(*make(TD, *theirs_params))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-13, atol=1e-14)
    assert np.all(ours.detach().numpy() >= 0)
    cotangent = rng.normal(size=theirs.shape)
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-11, atol=1e-13)
    assert rg.autograd.gradcheck(lambda *tensors: D.kl_divergence(*make(D, *tensors)),
                                 tuple(as_rg(p) for p in params))


def test_uniform_kl_is_infinite_where_p_leaves_q_with_a_zero_gradient_there():
    low_p, high_p = as_rg([0.0, 0.0, -2.0]), as_rg([1.0, 3.0, 1.0])
    ours = D.kl_divergence(D.Uniform(low_p, high_p), D.Uniform(as_rg([-1.0, 0.0, -1.0]), as_rg([2.0, 2.0, 2.0])))
    theirs = TD.kl_divergence(TD.Uniform(as_torch([0.0, 0.0, -2.0]), as_torch([1.0, 3.0, 1.0])),
                              TD.Uniform(as_torch([-1.0, 0.0, -1.0]), as_torch([2.0, 2.0, 2.0])))
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    assert ours.detach().numpy()[0] == pytest.approx(math.log(3)) and np.isinf(ours.detach().numpy()[1:]).all()
    ours.sum().backward()
    np.testing.assert_allclose(high_p.grad.numpy(), [-1.0, 0.0, 0.0])
