"""Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and LBFGS against PyTorch 2.13 (float64, single-tensor path).

As in test_optim.py, gradients come from a fixed non-linear function of each library's own current
parameters (g = c * p + d + 0.1 p^3), so any deviation in an update would feed back and grow; after
the run the two optimizers' state dicts must hold the same entries with the same values.
"""
import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import optim

SHAPES = [(3, 4), (4,), (2, 3)]
STEPS = 12


def _problem(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    coef = [rng.uniform(0.2, 2.0, s).astype(dtype) for s in SHAPES]
    shift = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    return init, coef, shift


def _grad(p, c, d):
    return c * p + d + 0.1 * p ** 3


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


def _assert_state_dicts_match(ours, theirs, rtol=1e-12):
    ours, theirs = ours.state_dict(), theirs.state_dict()
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in theirs["param_groups"]]
    for g_ours, g_theirs in zip(ours["param_groups"], theirs["param_groups"]):
        assert all(g_theirs[k] == v for k, v in g_ours.items()), (g_ours, g_theirs)
    assert ours["state"].keys() == theirs["state"].keys()
    for index, state in ours["state"].items():
        assert state.keys() == theirs["state"][index].keys()
        for key, value in state.items():
            expected = theirs["state"][index][key]
            if key == "step":  # a number here; PyTorch keeps a 0-d float tensor
                assert isinstance(value, int) and value == expected.item()
            else:
                assert isinstance(value, rg.Tensor) and value.shape == tuple(expected.shape), key
                np.testing.assert_allclose(value.array, expected.numpy(), rtol=rtol, atol=1e-15, err_msg=key)


def _assert_same_run(opt_name, kwargs, groups=None, dtype=np.float64, rtol=1e-12, atol=1e-14, skip=None):
    ours, our_opt = _run("rg", opt_name, kwargs, groups, dtype=dtype, skip=skip)
    theirs, their_opt = _run("torch", opt_name, kwargs, groups, dtype=dtype, skip=skip)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"{opt_name}{kwargs}: step {t + 1}, "
                                                                            f"param {i}")
    _assert_state_dicts_match(our_opt, their_opt, rtol=max(rtol, 1e-12))


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
