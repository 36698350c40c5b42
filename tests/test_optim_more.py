"""Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and LBFGS against PyTorch 2.13 (float64, single-tensor path).

As in test_optim.py, gradients come from a fixed non-linear function of each library's own current
parameters (g = c * p + d + 0.1 p^3), so any deviation in an update would feed back and grow; after
the run the two optimizers' state dicts must hold the same entries with the same values.
"""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_optimizer_states_match, optimizer_problem as _problem, optimizer_gradient as _grad
from retrograd import optim

STEPS = 12


def _run(lib, opt_name, kwargs, groups=None, steps=STEPS, dtype=np.float64, skip=None):
    """(parameter values after each step, the optimizer); `skip[i]`: leading steps where param i has no grad."""
    init, coef, shift = _problem(0, dtype)
    if lib == "rg":
        params = [rg.tensor(a.copy(), requires_grad=True) for a in init]
        make_opt, read, make = getattr(optim, opt_name), (lambda p: p.array.copy()), rg.tensor
    else:
        params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
        make_opt, read, make = getattr(torch.optim, opt_name), (lambda p: p.detach().numpy().copy()), torch.from_numpy
    spec = params if groups is None else [dict(params=[params[i] for i in idx], **o) for idx, o in groups]
    opt = make_opt(spec, foreach=False, **kwargs)
    history = []
    for t in range(steps):
        for i, (p, c, d) in enumerate(zip(params, coef, shift)):
            p.grad = None if skip is not None and t < skip[i] else make(_grad(read(p), c, d))
        opt.step()
        history.append([read(p) for p in params])
    return history, opt


def _assert_same_run(opt_name, kwargs, groups=None, dtype=np.float64, rtol=1e-12, atol=1e-14, skip=None):
    ours, our_opt = _run("rg", opt_name, kwargs, groups, dtype=dtype, skip=skip)
    theirs, their_opt = _run("torch", opt_name, kwargs, groups, dtype=dtype, skip=skip)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"{opt_name}{kwargs}: step {t + 1}, "
                                                                            f"param {i}")
    assert_optimizer_states_match(our_opt, their_opt, rtol=max(rtol, 1e-12))


CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.9), weight_decay=0.1)),  # beta1 < 0.5: lerp's other branch
    ("Adamax", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.05, momentum_decay=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("NAdam", dict(lr=0.05, betas=(0.4, 0.8))),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.6))),  # rho_t > 5 from step 2 on: the rectified branch
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.7), weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05, betas=(0.3, 0.7), weight_decay=0.1, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=4)),  # averaging starts at step 5
    ("ASGD", dict(lr=0.05, lambd=0.01, t0=2, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.3, etas=(0.3, 1.5), step_sizes=(0.01, 0.5))),  # signs flip, both bounds reached
    ("Rprop", dict(lr=0.1, maximize=True)),
]


@pytest.mark.parametrize("opt_name,kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
def test_trajectory_and_state_dict_match_torch(opt_name, kwargs):
    _assert_same_run(opt_name, kwargs)


NAMES = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
GROUP_CASES = [
    ("Adadelta", dict(lr=0.5), [([0], dict(rho=0.5)), ([1, 2], dict(lr=0.2, weight_decay=0.1))]),
    ("Adamax", dict(lr=0.05), [([2, 0], dict(betas=(0.5, 0.9))), ([1], dict(lr=0.01))]),
    ("NAdam", dict(lr=0.05), [([0], dict(momentum_decay=0.1)), ([1, 2], dict(decoupled_weight_decay=True,
                                                                             weight_decay=0.2))]),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.6)), [([0, 1], dict(lr=0.01)), ([2], dict(betas=(0.9, 0.999)))]),
    ("ASGD", dict(lr=0.05, t0=3), [([0], dict(lambd=0.1)), ([1, 2], dict(alpha=0.5, t0=6))]),
    ("Rprop", dict(lr=0.2), [([0], dict(etas=(0.4, 1.1))), ([1, 2], dict(step_sizes=(0.05, 0.3)))]),
]


@pytest.mark.parametrize("opt_name,kwargs,groups", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_own_options(opt_name, kwargs, groups):
    _assert_same_run(opt_name, kwargs, groups)


@pytest.mark.parametrize("opt_name", NAMES)
def test_parameters_without_grad_are_skipped(opt_name):
    """No gradient, no update and no state: each parameter's step count starts with its first gradient."""
    kwargs = dict(lr=0.05, t0=3) if opt_name == "ASGD" else {}
    _assert_same_run(opt_name, kwargs, skip=[0, 3, 7])


@pytest.mark.parametrize("opt_name", NAMES)
def test_float32_matches_torch_and_stays_float32(opt_name):
    kwargs = dict(lr=0.05, t0=3) if opt_name == "ASGD" else {}
    ours, _ = _run("rg", opt_name, kwargs, dtype=np.float32)
    theirs, _ = _run("torch", opt_name, kwargs, dtype=np.float32)
    for a, b in zip(ours[-1], theirs[-1]):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


RESUME_CASES = [
    ("Adadelta", dict(lr=0.5, weight_decay=0.01)),
    ("Adamax", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.05)),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.6))),
    ("ASGD", dict(lr=0.05, lambd=0.05, t0=3)),
    ("Rprop", dict(lr=0.2)),
]


def _steps(opt, params, coef, shift, steps, make=rg.tensor, read=lambda p: p.array):
    for _ in range(steps):
        for p, c, d in zip(params, coef, shift):
            p.grad = make(_grad(read(p), c, d))
        opt.step()


@pytest.mark.parametrize("opt_name,kwargs", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_state_dict_resume_is_bit_identical(opt_name, kwargs):
    init, coef, shift = _problem()
    straight = [rg.tensor(a.copy(), requires_grad=True) for a in init]
    _steps(getattr(optim, opt_name)(straight, **kwargs), straight, coef, shift, 10)
    first = [rg.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(optim, opt_name)(first, **kwargs)
    _steps(opt, first, coef, shift, 5)
    resumed = [rg.tensor(p.array.copy(), requires_grad=True) for p in first]
    opt2 = getattr(optim, opt_name)(resumed, lr=123.0)  # the options come from the state dict
    opt2.load_state_dict(opt.state_dict())
    _steps(opt2, resumed, coef, shift, 5)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.array, b.array)


@pytest.mark.parametrize("opt_name,kwargs", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_torch_state_dict_loads_and_continues_like_torch(opt_name, kwargs):
    """A PyTorch optimizer's state dict, tensors turned into retrograd tensors, resumes PyTorch's run."""
    init, coef, shift = _problem()
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    torch_opt = getattr(torch.optim, opt_name)(theirs, foreach=False, **kwargs)
    to_torch, from_torch = torch.from_numpy, (lambda p: p.detach().numpy())
    _steps(torch_opt, theirs, coef, shift, 5, make=to_torch, read=from_torch)
    saved = torch_opt.state_dict()
    saved = {"state": {i: {k: rg.tensor(v.numpy().copy()) if torch.is_tensor(v) else v for k, v in s.items()}
                       for i, s in saved["state"].items()}, "param_groups": saved["param_groups"]}
    ours = [rg.tensor(from_torch(p).copy(), requires_grad=True) for p in theirs]
    opt = getattr(optim, opt_name)(ours)
    opt.load_state_dict(saved)
    _steps(torch_opt, theirs, coef, shift, 5, make=to_torch, read=from_torch)
    _steps(opt, ours, coef, shift, 5)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.array, from_torch(b), rtol=1e-12, atol=1e-14)


def test_defaults_match_torch():
    p = torch.zeros(1, requires_grad=True)
    q = rg.zeros(1, requires_grad=True)
    for name in NAMES:
        ours = getattr(optim, name)([q]).param_groups[0]
        theirs = getattr(torch.optim, name)([p]).param_groups[0]
        for key, value in ours.items():
            if key != "params":
                assert theirs[key] == value, f"{name}.{key}: {value} vs torch {theirs[key]}"


@pytest.mark.parametrize("opt_name", NAMES)
def test_step_bumps_the_version_and_leaves_grad_and_tape_alone(opt_name):
    """An optimizer step is an in-place change: a graph that saved the weight must refuse to backward."""
    w = rg.tensor(np.linspace(-1, 1, 4), requires_grad=True)
    loss = (w * w).sum()  # saves w for its backward
    loss.backward(retain_graph=True)
    grad = w.grad.array.copy()
    version = w._version
    getattr(optim, opt_name)([w]).step()
    assert w._version == version + 1
    np.testing.assert_array_equal(w.grad.array, grad)
    assert w.grad_fn is None and w.is_leaf
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("opt_name,kwargs,message", [
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adamax", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    ("RAdam", dict(eps=-1), "Invalid epsilon value: -1"),
    ("ASGD", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Rprop", dict(etas=(1.5, 1.2)), "Invalid eta values: 1.5, 1.2"),
    ("NAdam", dict(differentiable=True), "NAdam: differentiable=True is not supported"),
    ("Rprop", dict(capturable=True), "Rprop: capturable=True is not supported"),
])
def test_invalid_arguments_raise_torchs_errors(opt_name, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        getattr(optim, opt_name)([rg.zeros(1, requires_grad=True)], **kwargs)
    if "supported" not in message:  # the same wording as PyTorch
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            getattr(torch.optim, opt_name)([torch.zeros(1, requires_grad=True)], **kwargs)


def test_load_state_dict_refuses_another_optimizers_state():
    a = rg.zeros(2, requires_grad=True)
    a.grad = rg.ones(2)
    adam = optim.Adamax([a])
    adam.step()
    with pytest.raises(ValueError, match=r"state\[0\] holds \['exp_avg', 'exp_inf', 'step'\], but NAdam"):
        optim.NAdam([a]).load_state_dict({"state": adam.state_dict()["state"],
                                          "param_groups": optim.NAdam([a]).state_dict()["param_groups"]})


# ----- LBFGS ----------------------------------------------------------------------------
def _rosenbrock_problem(lib):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2), as two parameters."""
    params = [lib.tensor([-1.5], dtype=lib.float64, requires_grad=True),
              lib.tensor([2.0], dtype=lib.float64, requires_grad=True)]

    def loss_fn():
        x, y = params
        return ((1 - x) ** 2 + 100 * (y - x * x) ** 2).sum()
    return params, loss_fn


def _least_squares_problem(lib):
    """Mean squared error of a linear model Y ~ X W^T + b, 20 samples, 5 inputs, 3 outputs."""
    rng = np.random.default_rng(7)
    x, w_true = rng.standard_normal((20, 5)), rng.standard_normal((3, 5))
    y = x @ w_true.T + 0.1 * rng.standard_normal((20, 3))
    params = [lib.tensor(rng.standard_normal((3, 5)) * 0.1, requires_grad=True),
              lib.tensor(np.zeros(3), requires_grad=True)]
    xs, ys = lib.tensor(x), lib.tensor(y)

    def loss_fn():
        w, b = params
        return ((xs @ w.T + b - ys) ** 2).mean()
    return params, loss_fn


def _lbfgs_run(lib, problem, kwargs, steps):
    """Per step: (loss returned, parameters after, closure calls so far); and the optimizer."""
    params, loss_fn = problem(lib)
    opt = (optim if lib is rg else torch.optim).LBFGS(params, **kwargs)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    history = []
    for _ in range(steps):
        loss = opt.step(closure)
        history.append((loss.item(), [np.array(p.detach().numpy()).copy() for p in params], calls[0]))
    return history, opt


def _plain(value):
    """A PyTorch state entry as numbers and arrays (0-d tensors as floats, lists element-wise)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, rg.Tensor):
        value = value.array
    if torch.is_tensor(value):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return float(value)
    return value


def _assert_close_state(ours, theirs, rtol, atol):
    assert type(ours) is type(theirs) or isinstance(ours, float) and isinstance(theirs, (int, float)), (ours, theirs)
    if isinstance(ours, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_close_state(a, b, rtol, atol)
    elif ours is not None:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# Rosenbrock's valley turns a last-bit difference into a visible one within a few steps (~1e3 per
# step), so these runs check that every rounding is PyTorch's: they agree to the bit on this machine
# (PyTorch's add_(alpha=) is a fused multiply-add, its float / 0-d tensor is float * (1 / tensor)).
LBFGS_CASES = [
    (_rosenbrock_problem, dict(line_search_fn="strong_wolfe"), 4),
    (_rosenbrock_problem, dict(line_search_fn="strong_wolfe", max_iter=100, max_eval=200), 2),
    (_rosenbrock_problem, dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7), 6),
    (_rosenbrock_problem, dict(line_search_fn="strong_wolfe", history_size=2, max_iter=10), 5),
    (_rosenbrock_problem, dict(lr=0.01, history_size=5, max_iter=40), 3),
    (_rosenbrock_problem, dict(lr=0.002, max_iter=30), 3),
    (_least_squares_problem, dict(line_search_fn="strong_wolfe", history_size=4), 3),
    (_least_squares_problem, dict(line_search_fn="strong_wolfe", history_size=2, max_iter=6), 4),
    (_least_squares_problem, dict(lr=0.5, history_size=5, max_iter=15), 3),
    (_least_squares_problem, dict(lr=0.5, tolerance_change=1e-4, tolerance_grad=1e-3), 3),
]


@pytest.mark.parametrize("problem,kwargs,steps", LBFGS_CASES,
                         ids=[f"{p.__name__[1:-8]}-{k}" for p, k, _ in LBFGS_CASES])
def test_lbfgs_iterates_evaluations_and_state_match_torch(problem, kwargs, steps):
    ours, our_opt = _lbfgs_run(rg, problem, kwargs, steps)
    theirs, their_opt = _lbfgs_run(torch, problem, kwargs, steps)
    for step, ((loss, params, calls), (t_loss, t_params, t_calls)) in enumerate(zip(ours, theirs)):
        assert calls == t_calls, f"step {step + 1}: {calls} closure calls, torch {t_calls}"
        assert loss == pytest.approx(t_loss, rel=1e-10, abs=1e-14)
        for p, q in zip(params, t_params):
            np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-13, err_msg=f"step {step + 1}")
    ours, theirs = our_opt.state_dict(), their_opt.state_dict()
    assert ours["param_groups"][0].items() <= theirs["param_groups"][0].items()
    assert ours["state"].keys() == theirs["state"].keys() == {0}
    assert ours["state"][0].keys() == theirs["state"][0].keys()
    for key, value in ours["state"][0].items():
        # atol: y = g_new - g_old near the minimum keeps only the gradients' absolute precision
        _assert_close_state(_plain(value), _plain(theirs["state"][0][key]), rtol=1e-9, atol=1e-9)


def _lbfgs_closure(opt, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_dict_resume_is_bit_identical(line_search_fn):
    kwargs = dict(line_search_fn=line_search_fn, history_size=3, max_iter=4, lr=0.5)
    params, loss_fn = _least_squares_problem(rg)
    opt = optim.LBFGS(params, **kwargs)
    for _ in range(4):
        opt.step(_lbfgs_closure(opt, loss_fn))
    straight, straight_state = [p.array.copy() for p in params], opt.state[params[0]]

    params, loss_fn = _least_squares_problem(rg)
    opt = optim.LBFGS(params, **kwargs)
    for _ in range(2):
        opt.step(_lbfgs_closure(opt, loss_fn))
    saved = opt.state_dict()
    history = [t.array.copy() for t in saved["state"][0]["old_dirs"]]
    opt2 = optim.LBFGS(params, lr=123.0)
    opt2.load_state_dict(saved)
    for _ in range(2):
        opt2.step(_lbfgs_closure(opt2, loss_fn))
    for a, b in zip(straight, params):
        np.testing.assert_array_equal(a, b.array)
    ours = opt2.state[params[0]]
    assert (ours["func_evals"], ours["n_iter"]) == (straight_state["func_evals"], straight_state["n_iter"])
    # the loaded history is a copy: training on did not change the saved lists
    assert [t.array.tolist() for t in saved["state"][0]["old_dirs"]] == [h.tolist() for h in history]


def test_lbfgs_torch_state_dict_loads_and_continues_like_torch():
    kwargs = dict(line_search_fn="strong_wolfe", history_size=3, max_iter=3)
    theirs, torch_loss = _least_squares_problem(torch)
    torch_opt = torch.optim.LBFGS(theirs, **kwargs)
    for _ in range(2):
        torch_opt.step(_lbfgs_closure(torch_opt, torch_loss))

    def convert(value):
        if isinstance(value, list):
            return [convert(v) for v in value]
        return rg.tensor(value.numpy().copy()) if torch.is_tensor(value) else value

    saved = torch_opt.state_dict()
    saved = {"state": {0: {k: convert(v) for k, v in saved["state"][0].items()}},
             "param_groups": saved["param_groups"]}
    ours, our_loss = _least_squares_problem(rg)
    for p, q in zip(ours, theirs):
        p.array[...] = q.detach().numpy()
    opt = optim.LBFGS(ours)
    opt.load_state_dict(saved)
    for _ in range(2):
        torch_opt.step(_lbfgs_closure(torch_opt, torch_loss))
        opt.step(_lbfgs_closure(opt, our_loss))
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-10, atol=1e-13)
    assert opt.state[ours[0]]["func_evals"] == torch_opt.state[theirs[0]]["func_evals"]


def test_lbfgs_at_an_optimum_evaluates_once_and_stops():
    w = rg.tensor(np.zeros(3), requires_grad=True)
    opt = optim.LBFGS([w])
    loss = opt.step(_lbfgs_closure(opt, lambda: (w * w).sum()))
    assert loss.item() == 0.0 and opt.state[w] == {"func_evals": 1, "n_iter": 0}
    np.testing.assert_array_equal(w.array, 0.0)


def test_lbfgs_step_bumps_versions_and_refuses_bad_setups():
    params, loss_fn = _least_squares_problem(rg)
    versions = [p._version for p in params]
    opt = optim.LBFGS(params, max_iter=2)
    opt.step(_lbfgs_closure(opt, loss_fn))
    assert all(p._version > v for p, v in zip(params, versions))
    with pytest.raises(TypeError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": params[:1]}, {"params": params[1:]}])
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        opt.add_param_group({"params": [rg.zeros(1, requires_grad=True)]})
    with pytest.raises(ValueError, match="only 'strong_wolfe' is supported as line_search_fn .* got 'armijo'"):
        optim.LBFGS(params, line_search_fn="armijo")
    with pytest.raises(ValueError, match=r"state\[0\]\[d\] should be a flat vector of the 18 parameter elements"):
        saved = opt.state_dict()
        saved["state"][0]["d"] = rg.zeros(5)
        optim.LBFGS(params).load_state_dict(saved)


def test_lbfgs_defaults_match_torch():
    ours = optim.LBFGS([rg.zeros(1, requires_grad=True)]).param_groups[0]
    theirs = torch.optim.LBFGS([torch.zeros(1, requires_grad=True)]).param_groups[0]
    assert {k: v for k, v in ours.items() if k != "params"} == {k: v for k, v in theirs.items() if k != "params"}


def _wiggly(x):
    """A non-convex test function (value, gradient) with many local minima along any line."""
    return float(np.sum(np.sin(3 * x) + 0.1 * x ** 2 + 0.5 * np.cos(7 * x))), \
        3 * np.cos(3 * x) + 0.2 * x - 3.5 * np.sin(7 * x)


def _sloped_sine(a, b, w):
    """f(x) = sum(-a x + b sin(w x) + 0.01 x^2): a descent with bumps, where the line search's rarer
    branches happen (found by searching this family for runs each branch changes)."""
    def value_and_grad(x):
        return float(np.sum(-a * x + b * np.sin(w * x) + 0.01 * x ** 2)), -a + b * w * np.cos(w * x) + 0.02 * x
    return value_and_grad


def _line_search_case(fn, x, t0):
    return fn, x, -fn(x)[1], t0


LINE_SEARCH_CASES = [_line_search_case(_wiggly, np.random.default_rng(seed).standard_normal(4), t0)
                     for seed in (0, 1, 2) for t0 in (1e-3, 0.3, 1.0, 4.0, 40.0)]
LINE_SEARCH_CASES += [  # along d = 1 from 0
    (_sloped_sine(1.952532810335995, 0.11096747596288248, 15.3170119592726), np.zeros(1), np.ones(1),
     0.04852678017076431),  # zoom: insufficient progress twice in a row
    (_sloped_sine(0.517387415500079, 0.1390584397143139, 3.4149585710064088), np.zeros(1), np.ones(1),
     8.839059209686937),  # bracket phase: f rose after two extrapolations
    (_sloped_sine(1.786106414881354, 0.08190629654019113, 14.72828120538391), np.zeros(1), np.ones(1),
     0.033648589334198016),  # zoom: the old high end becomes the new low
    (_sloped_sine(1.5442316755113392, 0.3615831752763724, 3.920490124709081), np.zeros(1), np.ones(1),
     1.0577814579055564),  # zoom: a trial near an end moved 10% of the bracket inward
]


@pytest.mark.parametrize("fn,x,d,t0", LINE_SEARCH_CASES, ids=[str(i) for i in range(len(LINE_SEARCH_CASES))])
def test_strong_wolfe_line_search_matches_torch(fn, x, d, t0):
    """The line search alone, from small and huge first steps, on functions that reach every branch."""
    from torch.optim.lbfgs import _strong_wolfe
    from retrograd.optim.line_search import strong_wolfe

    f, g = fn(x)

    def ours(x0, t, direction):
        return fn(x0 + t * direction)

    def theirs(x0, t, direction):
        value, grad = fn(x0 + float(t) * direction.numpy())
        return value, torch.from_numpy(grad)

    f_new, g_new, t, evals = strong_wolfe(ours, x, t0, d, f, g, g @ d)  # g @ d: np.float64, as torch's 0-d
    t_f, t_g, t_t, t_evals = _strong_wolfe(theirs, x, t0, torch.from_numpy(d), f, torch.from_numpy(g),
                                           torch.tensor(g @ d))
    assert evals == t_evals
    assert float(t) == pytest.approx(float(t_t), rel=1e-12)
    assert f_new == pytest.approx(float(t_f), rel=1e-12)
    np.testing.assert_allclose(g_new, t_g.numpy(), rtol=1e-10, atol=1e-8)  # g ~ 0 at a minimum


def test_lbfgs_float32_matches_torch_and_stays_float32():
    results = []
    for lib in (rg, torch):
        params, loss_fn = _least_squares_problem(lib)
        params = [lib.tensor(np.array(p.detach().numpy(), np.float32), requires_grad=True) for p in params]
        opt = (optim if lib is rg else torch.optim).LBFGS(params, line_search_fn="strong_wolfe")
        rng = np.random.default_rng(7)
        x, y = rng.standard_normal((20, 5)).astype(np.float32), rng.standard_normal((20, 3)).astype(np.float32)
        xs, ys = lib.tensor(x), lib.tensor(y)

        def closure():
            opt.zero_grad()
            loss = ((xs @ params[0].T + params[1] - ys) ** 2).mean()
            loss.backward()
            return loss
        for _ in range(2):
            opt.step(closure)
        results.append([np.array(p.detach().numpy()) for p in params])
    for a, b in zip(*results):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
