"""retrograd.distributions against torch.distributions: values and gradients in float64, gradcheck, batch
shapes, sample statistics, and the draws themselves after the same seed."""
import math

import numpy as np
import pytest
import torch
import torch.distributions as TD
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
import retrograd.distributions as D
from helpers import assert_outputs_and_gradients_match


def as_rg(array, grad=True):
    return rg.tensor(array.copy(), requires_grad=grad)


def as_torch(array, grad=True):
    return torch.tensor(array.copy(), requires_grad=grad)


def weights(rng, shape):
    """Probabilities away from 0 (their unnormalised weights in [0.1, 1.1))."""
    return rng.random(shape) + 0.1


# one row per parametrisation: (name, parameter arrays from an rng and a batch shape, constructor in each library,
# a value array to score from an rng and a batch shape)
def _categorical_value(rng, shape, k=4):
    return rng.integers(0, k, size=shape)


CASES = {
    "categorical-probs": (lambda rng, b: [weights(rng, b + (4,))], lambda lib, p: lib.Categorical(probs=p),
                          _categorical_value),
    "categorical-logits": (lambda rng, b: [rng.normal(size=b + (4,)) * 2], lambda lib, z: lib.Categorical(logits=z),
                           _categorical_value),
    "bernoulli-probs": (lambda rng, b: [rng.uniform(0.05, 0.95, b)], lambda lib, p: lib.Bernoulli(probs=p),
                        lambda rng, b: rng.integers(0, 2, b).astype(np.float64)),
    "bernoulli-logits": (lambda rng, b: [rng.normal(size=b) * 3], lambda lib, z: lib.Bernoulli(logits=z),
                         lambda rng, b: rng.integers(0, 2, b).astype(np.float64)),
    "normal": (lambda rng, b: [rng.normal(size=b), rng.uniform(0.3, 2.0, b)], lambda lib, m, s: lib.Normal(m, s),
               lambda rng, b: rng.normal(size=b) * 2),
}


def _value_tensor(lib, value):
    if value.dtype.kind == "i":
        return rg.tensor(value) if lib is D else torch.tensor(value)
    return as_rg(value, False) if lib is D else as_torch(value, False)


def _scalar_outputs(dist, value_tensor):
    """The differentiable quantities each distribution gives, in a fixed order."""
    return [dist.log_prob(value_tensor), dist.entropy(), dist.probs if hasattr(dist, "probs") else dist.mean,
            getattr(dist, "logits", dist.stddev)]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_values_and_gradients_match_pytorch_in_float64(case, batch):
    make_params, make, make_value = CASES[case]
    rng = np.random.default_rng(len(batch) * 10 + sorted(CASES).index(case))
    params = make_params(rng, batch)
    value = make_value(rng, batch)
    ours_params, theirs_params = [as_rg(p) for p in params], [as_torch(p) for p in params]
    ours, theirs = make(D, *ours_params), make(TD, *theirs_params)
    assert ours.batch_shape == tuple(theirs.batch_shape) and ours.event_shape == tuple(theirs.event_shape)
    ours_out = _scalar_outputs(ours, _value_tensor(D, value))
    theirs_out = _scalar_outputs(theirs, _value_tensor(TD, value))
    assert_outputs_and_gradients_match(ours_out, theirs_out, ours_params, theirs_params, rng, case, 1e-12, 1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_mean_variance_stddev_match_pytorch(case):
    make_params, make, _ = CASES[case]
    params = make_params(np.random.default_rng(5), (2, 3))
    ours, theirs = make(D, *[as_rg(p, False) for p in params]), make(TD, *[as_torch(p, False) for p in params])
    for name in ("mean", "variance", "stddev", "mode"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-12,
                                   err_msg=f"{case}.{name}")


KL_PAIRS = {
    "categorical": (lambda rng: [weights(rng, (3, 5)), rng.normal(size=(5,))],
                    lambda lib, p, z: (lib.Categorical(probs=p), lib.Categorical(logits=z))),
    "bernoulli": (lambda rng: [rng.uniform(0.05, 0.95, (4,)), rng.normal(size=(4,))],
                  lambda lib, p, z: (lib.Bernoulli(probs=p), lib.Bernoulli(logits=z))),
    "normal": (lambda rng: [rng.normal(size=(4,)), rng.uniform(0.3, 2, (4,)), rng.normal(size=(4,)),
                            rng.uniform(0.3, 2, (4,))],
               lambda lib, m1, s1, m2, s2: (lib.Normal(m1, s1), lib.Normal(m2, s2))),
}


@pytest.mark.parametrize("pair", sorted(KL_PAIRS))
def test_kl_divergence_and_its_gradients_match_pytorch(pair):
    make_params, make = KL_PAIRS[pair]
    rng = np.random.default_rng(7)
    params = make_params(rng)
    ours_params, theirs_params = [as_rg(p) for p in params], [as_torch(p) for p in params]
    ours = D.kl_divergence(*make(D, *ours_params))
    theirs = TD.kl_divergence(*make(TD, *theirs_params))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert np.all(ours.detach().numpy() >= 0)
    cotangent = rng.normal(size=theirs.shape)
    (ours * rg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_kl_is_infinite_where_q_has_no_mass_and_zero_log_zero_is_zero():
    p = [[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]]
    q = [[0.25, 0.25, 0.5], [0.5, 0.5, 0.0]]
    ours = D.kl_divergence(D.Categorical(rg.tensor(p, dtype=rg.float64)), D.Categorical(rg.tensor(q, dtype=rg.float64)))
    theirs = TD.kl_divergence(TD.Categorical(torch.tensor(p, dtype=torch.float64)),
                              TD.Categorical(torch.tensor(q, dtype=torch.float64)))
    assert np.isfinite(ours.numpy()[0]) and ours.numpy()[1] == math.inf
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    ours_b = D.kl_divergence(D.Bernoulli(rg.tensor([0.0, 1.0, 0.3], dtype=rg.float64)),
                             D.Bernoulli(rg.tensor([0.5, 0.0, 1.0], dtype=rg.float64)))
    theirs_b = TD.kl_divergence(TD.Bernoulli(torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64)),
                                TD.Bernoulli(torch.tensor([0.5, 0.0, 1.0], dtype=torch.float64)))
    np.testing.assert_array_equal(ours_b.numpy(), theirs_b.numpy())
    assert ours_b.numpy()[0] == pytest.approx(math.log(2), rel=1e-15) and np.isinf(ours_b.numpy()[1:]).all()


def test_entropy_of_a_categorical_with_zero_probabilities_is_finite_as_in_pytorch():
    probs = [[0.0, 0.25, 0.75], [1.0, 0.0, 0.0]]
    ours = D.Categorical(rg.tensor(probs, dtype=rg.float64)).entropy()
    theirs = TD.Categorical(torch.tensor(probs, dtype=torch.float64)).entropy()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-300)
    assert 0 <= ours.numpy()[1] < 1e-15  # a certain outcome: (1 - eps) * -log(1 - eps), as PyTorch


@pytest.mark.parametrize("name", ["categorical-logits", "categorical-probs", "bernoulli-logits", "bernoulli-probs",
                                  "normal"])
def test_gradcheck_of_log_prob_entropy_and_kl(name):
    make_params, make, make_value = CASES[name]
    rng = np.random.default_rng(11)
    params = [as_rg(p) for p in make_params(rng, (3,))]
    value = _value_tensor(D, make_value(rng, (3,)))

    def quantities(*tensors):
        dist = make(D, *tensors)
        return dist.log_prob(value), dist.entropy(), D.kl_divergence(dist, dist.__class__(**_reference(name)))

    assert rg.autograd.gradcheck(quantities, tuple(params))


def _reference(name):
    """A fixed second distribution of the same kind, for KL(p || reference)."""
    if name.startswith("categorical"):
        return {"logits": rg.tensor([0.3, -0.2, 0.1, 0.5], dtype=rg.float64)}
    if name.startswith("bernoulli"):
        return {"probs": rg.tensor([0.3, 0.6, 0.5], dtype=rg.float64)}
    return {"loc": rg.tensor([0.1, -0.3, 0.2], dtype=rg.float64), "scale": rg.tensor([1.0, 0.5, 2.0],
                                                                                       dtype=rg.float64)}


def test_normal_rsample_is_reparameterised_and_sample_is_not():
    loc = rg.tensor([0.5, -1.0], dtype=rg.float64, requires_grad=True)
    scale = rg.tensor([2.0, 0.5], dtype=rg.float64, requires_grad=True)
    rg.manual_seed(3)
    draws = D.Normal(loc, scale).rsample((5,))
    rg.manual_seed(3)
    eps = rg.randn(5, 2, dtype=rg.float64)
    np.testing.assert_allclose(draws.detach().numpy(), (loc.detach() + eps * scale.detach()).numpy(), rtol=1e-15)
    draws.sum().backward()
    np.testing.assert_array_equal(loc.grad.numpy(), [5.0, 5.0])                     # dx/dmu = 1
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-15)   # dx/dsigma = eps
    assert not D.Normal(loc, scale).sample((3,)).requires_grad
    with pytest.raises(NotImplementedError, match="Categorical has no rsample"):
        D.Categorical(logits=rg.zeros(3)).rsample()


# ----- batch shapes ---------------------------------------------------------------------------------------
batch_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@settings(max_examples=25, deadline=None)
@given(batch=batch_shapes, classes=st.integers(1, 5), sample_shape=st.lists(st.integers(1, 3), max_size=2).map(tuple),
       seed=st.integers(0, 2**16))
def test_categorical_shapes_and_log_prob_over_any_batch(batch, classes, sample_shape, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=batch + (classes,))
    ours, theirs = D.Categorical(logits=rg.tensor(logits)), TD.Categorical(logits=torch.tensor(logits))
    assert ours.batch_shape == tuple(theirs.batch_shape)
    rg.manual_seed(seed)
    torch.manual_seed(seed)
    ours_draws, theirs_draws = ours.sample(sample_shape), theirs.sample(sample_shape)
    assert ours_draws.shape == tuple(theirs_draws.shape) == sample_shape + batch
    np.testing.assert_array_equal(ours_draws.numpy(), theirs_draws.numpy())
    np.testing.assert_allclose(ours.log_prob(ours_draws).numpy(), theirs.log_prob(theirs_draws).numpy(), rtol=1e-12)
    support = ours.enumerate_support()
    assert support.shape == tuple(theirs.enumerate_support().shape) == (classes,) + batch
    assert ours.enumerate_support(expand=False).shape == tuple(theirs.enumerate_support(expand=False).shape)


@settings(max_examples=25, deadline=None)
@given(batch=batch_shapes, leading=st.lists(st.integers(1, 3), max_size=2).map(tuple),
       ones=st.lists(st.booleans(), min_size=3, max_size=3), seed=st.integers(0, 2**16))
def test_normal_and_bernoulli_broadcast_values_like_pytorch(batch, leading, ones, seed):
    """Values with extra leading axes, and size-1 axes where the batch has more, score against every
    distribution of the batch."""
    rng = np.random.default_rng(seed)
    value_shape = leading + tuple(1 if one else size for one, size in zip(ones, batch))
    loc, scale, value = rng.normal(size=batch), rng.uniform(0.5, 2, batch), rng.normal(size=value_shape)
    ours = D.Normal(rg.tensor(loc), rg.tensor(scale)).log_prob(rg.tensor(value))
    theirs = TD.Normal(torch.tensor(loc), torch.tensor(scale)).log_prob(torch.tensor(value))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    bits = (value > 0).astype(np.float64)
    ours = D.Bernoulli(logits=rg.tensor(loc)).log_prob(rg.tensor(bits))
    theirs = TD.Bernoulli(logits=torch.tensor(loc)).log_prob(torch.tensor(bits))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


# ----- draws: PyTorch's after the same seed; frequencies as stated ------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", [0, 42])
def test_categorical_and_bernoulli_draws_equal_pytorchs_after_the_same_seed(dtype, seed):
    """PyTorch's Categorical.sample is multinomial(probs_2d, n, replacement=True).T, and its Bernoulli.sample is
    bernoulli(probs.expand(shape)): retrograd makes the same calls, whose draws are bit-identical."""
    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]], dtype=dtype)
    rg.manual_seed(seed)
    torch.manual_seed(seed)
    ours = [D.Categorical(rg.tensor(probs)).sample(), D.Categorical(logits=rg.tensor(probs).log()).sample((6, 2)),
            D.Bernoulli(rg.tensor(probs)).sample((5,)), D.Bernoulli(0.3).sample((4,)), D.Bernoulli(0.3).sample()]
    theirs = [TD.Categorical(torch.tensor(probs)).sample(), TD.Categorical(logits=torch.tensor(probs).log()).sample((6, 2)),
              TD.Bernoulli(torch.tensor(probs)).sample((5,)), TD.Bernoulli(0.3).sample((4,)), TD.Bernoulli(0.3).sample()]
    for o, t in zip(ours, theirs):
        assert o.dtype == t.numpy().dtype
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_normal_draws_follow_pytorchs_stream():
    """sample calls normal(loc, scale) and rsample normal_() as PyTorch does: values to a few ulp (PyTorch's
    vectorised log/sin/cos), and the stream in step, so the next uniform draw is bit-identical."""
    loc, scale = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 3.0])
    for method, shape in [("sample", (7,)), ("rsample", (7,)), ("sample", ()), ("rsample", (2,))]:
        rg.manual_seed(9)
        torch.manual_seed(9)
        ours = getattr(D.Normal(rg.tensor(loc), rg.tensor(scale)), method)(shape)
        theirs = getattr(TD.Normal(torch.tensor(loc), torch.tensor(scale)), method)(shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-14, atol=1e-15)
        np.testing.assert_array_equal(rg.rand(3).numpy(), torch.rand(3).numpy())


def test_categorical_frequencies_match_the_probabilities():
    """200,000 draws per row: each class frequency lies within 4.5 standard errors sqrt(p(1-p)/n) of p (a false
    alarm has probability under 1e-4 per class); a category of probability 0 is never drawn."""
    probs = np.array([[0.05, 0.15, 0.3, 0.5, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2]])
    rg.manual_seed(2024)
    n = 200_000
    draws = D.Categorical(rg.tensor(probs)).sample((n,)).numpy()      # (n, 2)
    for row in range(2):
        frequencies = np.bincount(draws[:, row], minlength=5) / n
        tolerance = 4.5 * np.sqrt(probs[row] * (1 - probs[row]) / n)
        assert np.all(np.abs(frequencies - probs[row]) <= tolerance), (frequencies, probs[row])
    assert not np.any(draws[:, 0] == 4)


def test_bernoulli_and_normal_sample_statistics():
    rg.manual_seed(7)
    n = 100_000
    ones = D.Bernoulli(rg.tensor([0.1, 0.5, 0.9])).sample((n,)).numpy().mean(0)
    np.testing.assert_allclose(ones, [0.1, 0.5, 0.9], atol=4.5 * np.sqrt(0.25 / n))
    draws = D.Normal(rg.tensor([1.0, -3.0]), rg.tensor([0.5, 2.0])).sample((n,)).numpy()
    np.testing.assert_allclose(draws.mean(0), [1.0, -3.0], atol=4.5 * 2.0 / np.sqrt(n))
    np.testing.assert_allclose(draws.std(0), [0.5, 2.0], rtol=0.02)


# ----- PyTorch's API around the numbers ----------------------------------------------------------------------
def test_categorical_normalises_probs_and_logits_as_pytorch_does():
    weights_ = rg.tensor([1.0, 3.0, 4.0], dtype=rg.float64)
    dist = D.Categorical(weights_)
    np.testing.assert_allclose(dist.probs.numpy(), [0.125, 0.375, 0.5])
    np.testing.assert_allclose(dist.logits.numpy(), np.log([0.125, 0.375, 0.5]), rtol=1e-15)
    shifted = D.Categorical(logits=rg.tensor([1.0, 2.0, 3.0], dtype=rg.float64))
    theirs = TD.Categorical(logits=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    np.testing.assert_allclose(shifted.logits.numpy(), theirs.logits.numpy(), rtol=1e-15)
    np.testing.assert_allclose(shifted.probs.numpy(), theirs.probs.numpy(), rtol=1e-15)
    assert D.Bernoulli(0.25).probs.dtype == rg.float32 and D.Bernoulli(0.25).batch_shape == ()
    assert D.Normal(rg.zeros(2, 1), 1.0).batch_shape == (2, 1)
    assert D.Categorical(logits=rg.zeros(3)).perplexity().item() == pytest.approx(3.0)


def _torch_error(function):
    with pytest.raises(Exception) as caught:
        function()
    return type(caught.value), str(caught.value).replace("torch.Size", "retrograd.Size")


@pytest.mark.parametrize("build", [
    lambda lib, T: lib.Categorical(T([0.5, -0.1, 0.6])),
    lambda lib, T: lib.Categorical(logits=T([0.5, float("nan")])),
    lambda lib, T: lib.Normal(0.0, -1.0),
    lambda lib, T: lib.Normal(T([0.0, 1.0]), T([1.0, 0.0])),
    lambda lib, T: lib.Bernoulli(T([0.2, 1.5])),
    lambda lib, T: lib.Bernoulli(logits=T([0.2, float("nan")])),
    lambda lib, T: lib.Categorical(T([0.5, 0.5])).log_prob(T([2]).long()),
    lambda lib, T: lib.Categorical(T([0.5, 0.5])).log_prob(T([0.5])),
    lambda lib, T: lib.Bernoulli(0.3).log_prob(T(0.5)),
    lambda lib, T: lib.Normal(T([0.0, 0.0, 0.0]), 1.0).log_prob(T([0.0, 0.0])),
    lambda lib, T: lib.Categorical(T(0.5)),
    lambda lib, T: lib.Categorical(),
    lambda lib, T: lib.Bernoulli(probs=T([0.5]), logits=T([0.0])),
    lambda lib, T: lib.kl_divergence(lib.Normal(0.0, 1.0), lib.Categorical(T([0.5, 0.5]))),
], ids=["negative-probs", "nan-logits", "negative-scale", "zero-scale", "probs-above-1", "nan-bernoulli-logits",
        "class-out-of-range", "fractional-class", "non-boolean", "unbroadcastable", "0-d-probs", "no-parameter",
        "both-parameters", "kl-not-registered"])
def test_bad_arguments_raise_pytorchs_errors(build):
    """The same exception and words; the invalid values printed after them are retrograd's own tensor."""
    expected_type, expected_message = _torch_error(lambda: build(TD, torch.tensor))
    with pytest.raises(expected_type) as caught:
        build(D, rg.tensor)
    words, _, values = str(caught.value).partition(":\n")
    expected_words, _, expected_values = expected_message.partition(":\n")
    assert words == expected_words
    assert bool(values) == bool(expected_values)


def test_errors_that_pytorch_words_poorly_name_the_argument():
    with pytest.raises(TypeError, match="Categorical: `probs` must be a Tensor, got list"):
        D.Categorical([0.5, 0.5])
    with pytest.raises(ValueError, match="Normal: input arguments must .* got str for loc"):
        D.Normal("0", 1.0)
    with pytest.raises(ValueError, match="must be a Tensor, got list"):
        D.Normal(0.0, 1.0).log_prob([0.5])
    with pytest.raises(TypeError, match="register_kl: expected type_q to be a Distribution subclass"):
        D.register_kl(D.Normal, int)


def test_validate_args_false_skips_the_checks_and_the_default_can_be_switched():
    with np.errstate(invalid="ignore"):  # log of the negative scale
        assert math.isnan(D.Normal(0.0, -1.0, validate_args=False).log_prob(rg.tensor(0.0)).item())
    D.Distribution.set_default_validate_args(False)
    try:
        D.Bernoulli(rg.tensor([1.5]))  # no error
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Interval"):
        D.Bernoulli(rg.tensor([1.5]))


def test_register_kl_dispatches_to_the_most_specific_pair():
    class Wide(D.Normal):
        pass

    wide, normal = Wide(0.0, 2.0), D.Normal(0.0, 1.0)
    assert D.kl_divergence(wide, normal).item() == pytest.approx(0.5 * (4 - 1 - math.log(4)))  # Normal's formula

    @D.register_kl(Wide, D.Normal)
    def _constant(p, q):
        return rg.tensor(-1.0)

    try:
        assert D.kl_divergence(wide, normal).item() == -1.0
        assert D.kl_divergence(normal, wide).item() == pytest.approx(0.5 * (0.25 - 1 - math.log(0.25)))
    finally:
        del D.kl._KL_REGISTRY[Wide, D.Normal]


def test_log_prob_trains_logits_towards_the_rewarded_action():
    """The policy-gradient identity: d log p_a / d z = onehot(a) - softmax(z)."""
    logits = rg.tensor([0.2, -0.5, 1.0], dtype=rg.float64, requires_grad=True)
    D.Categorical(logits=logits).log_prob(rg.tensor(1)).backward()
    probs = np.exp([0.2, -0.5, 1.0]) / np.exp([0.2, -0.5, 1.0]).sum()
    np.testing.assert_allclose(logits.grad.numpy(), np.eye(3)[1] - probs, rtol=1e-14)


def test_a_subclass_without_constraints_warns_as_in_pytorch_and_still_works():
    class Coin(D.Distribution):
        def __init__(self, p):
            self.p = p
            super().__init__()

        def log_prob(self, value):
            self._validate_sample(value)
            return value * self.p.log() + (1 - value) * (1 - self.p).log()

    with pytest.warns(UserWarning, match="does not define `arg_constraints`"):
        coin = Coin(rg.tensor(0.25))
    with pytest.warns(UserWarning, match="does not define `support`"):
        assert coin.log_prob(rg.tensor(1.0)).item() == pytest.approx(math.log(0.25))
