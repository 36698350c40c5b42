"""Optimizers and schedulers against PyTorch: same parameters, same gradients, same trajectory.

Gradients come from a fixed non-linear function of each library's own current parameters
(g = c * p + d + 0.1 p^3), so any deviation in an update would feed back and grow.
"""
import math
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_optimizer_states_match, optimizer_problem as _problem, optimizer_gradient as _grad
from retrograd import optim
from retrograd.optim import lr_scheduler
from retrograd.serialization import load as rg_load, save as rg_save

STEPS = 10


def _group_spec(params, groups):
    """groups: None (a flat list) or a list of (indices, options) pairs."""
    if groups is None:
        return params
    return [dict(params=[params[i] for i in idx], **opts) for idx, opts in groups]


def _trajectory(lib, opt_name, kwargs, groups=None, steps=STEPS, dtype=np.float64, skip=None, seed=0):
    """Parameter values after each step; `skip[i]` = number of leading steps where param i has no grad."""
    init, coef, shift = _problem(seed, dtype)
    if lib == "rg":
        params = [rg.tensor(a.copy(), requires_grad=True) for a in init]
        opt = getattr(optim, opt_name)(_group_spec(params, groups), **kwargs)
        read, make = (lambda p: p.array.copy()), rg.tensor
    else:
        params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
        opt = getattr(torch.optim, opt_name)(_group_spec(params, groups), foreach=False, **kwargs)
        read, make = (lambda p: p.detach().numpy().copy()), torch.from_numpy
    history = []
    for t in range(steps):
        for i, (p, c, d) in enumerate(zip(params, coef, shift)):
            if skip is not None and t < skip[i]:
                p.grad = None
            else:
                p.grad = make(_grad(read(p), c, d))
        opt.step()
        history.append([read(p) for p in params])
    return history, opt


def _assert_same_trajectory(opt_name, kwargs, groups=None, dtype=np.float64, rtol=1e-12, atol=1e-14, skip=None):
    ours, _ = _trajectory("rg", opt_name, kwargs, groups, dtype=dtype, skip=skip)
    theirs, _ = _trajectory("torch", opt_name, kwargs, groups, dtype=dtype, skip=skip)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol,
                                       err_msg=f"{opt_name}{kwargs}: step {t + 1}, param {i}")


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    ("SGD", dict(lr=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.05, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("opt_name,kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
def test_trajectory_matches_torch(opt_name, kwargs):
    _assert_same_trajectory(opt_name, kwargs)


GROUP_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9), [([0], dict(lr=0.01)), ([1, 2], dict(nesterov=True))]),
    ("Adam", dict(lr=0.05), [([0, 2], dict(lr=0.01, amsgrad=True)), ([1], dict(betas=(0.5, 0.6)))]),
    ("AdamW", dict(lr=0.05), [([1], dict(weight_decay=0.5)), ([0, 2], dict())]),
    ("RMSprop", dict(lr=0.01), [([0], dict(centered=True)), ([1, 2], dict(lr=0.02, momentum=0.5))]),
    ("Adagrad", dict(lr=0.1), [([2, 0], dict(lr_decay=0.2)), ([1], dict(lr=0.3))]),
]


@pytest.mark.parametrize("opt_name,kwargs,groups", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_own_options(opt_name, kwargs, groups):
    _assert_same_trajectory(opt_name, kwargs, groups)


@pytest.mark.parametrize("opt_name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05)),
                                             ("RMSprop", dict(centered=True, momentum=0.5)),
                                             ("Adagrad", dict(lr_decay=0.1))])
def test_parameters_without_grad_are_skipped(opt_name, kwargs):
    """No gradient, no update and no state (Adam's step count starts when the first grad arrives)."""
    _assert_same_trajectory(opt_name, kwargs, skip=[0, 3, 7])


@pytest.mark.parametrize("opt_name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                             ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
                                             ("RMSprop", dict(centered=True, momentum=0.9)), ("Adagrad", dict())])
def test_float32_matches_torch_and_stays_float32(opt_name, kwargs):
    _assert_same_trajectory(opt_name, kwargs, dtype=np.float32, rtol=2e-6, atol=1e-6)


def test_training_through_autograd_matches_torch():
    """A tanh layer trained with loss.backward() in both libraries (Adam, then SGD on the same params)."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    w0, b0 = rng.standard_normal((3, 5)) * 0.5, rng.standard_normal(3) * 0.1
    results = []
    for lib in (rg, torch):
        w = lib.tensor(w0.copy(), requires_grad=True)
        b = lib.tensor(b0.copy(), requires_grad=True)
        xs, ys = lib.tensor(x), lib.tensor(y)
        adam = (torch.optim if lib is torch else optim).Adam([w, b], lr=0.05, weight_decay=0.01)
        for _ in range(STEPS):
            adam.zero_grad()
            loss = ((lib.tanh(xs @ w.T + b) - ys) ** 2).mean()
            loss.backward()
            adam.step()
        results.append([np.array(w.detach().numpy()), np.array(b.detach().numpy()), loss.item()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_step_with_closure_returns_loss_and_enables_grad():
    w = rg.tensor([1.0, -2.0], dtype=rg.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with rg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_array_equal(w.array, [0.8, -1.6])
    assert opt.step() is None


def test_step_does_not_touch_the_tape_or_the_grad():
    w = rg.tensor(np.ones(3), requires_grad=True)
    g = np.array([1.0, 2.0, 3.0])
    w.grad = rg.tensor(g.copy())
    for opt in (optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True),
                optim.Adam([w], weight_decay=0.1, maximize=True), optim.RMSprop([w], centered=True),
                optim.Adagrad([w], weight_decay=0.1)):
        opt.step()
        np.testing.assert_array_equal(w.grad.array, g)  # the update never writes into .grad
        assert w.grad_fn is None and w.is_leaf


def test_zero_grad():
    a = rg.tensor(np.ones(2), requires_grad=True)
    b = rg.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    a.grad, b.grad = rg.tensor(np.ones(2)), rg.tensor(np.ones(2))
    grad_b = b.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and b.grad is grad_b and np.all(b.grad.array == 0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_defaults_match_torch():
    p = torch.zeros(1, requires_grad=True)
    q = rg.zeros(1, requires_grad=True)
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        ours = getattr(optim, name)([q]).param_groups[0]
        theirs = getattr(torch.optim, name)([p]).param_groups[0]
        for key, value in ours.items():
            if key != "params":
                assert theirs[key] == value, f"{name}.{key}: {value} vs torch {theirs[key]}"


def test_invalid_arguments():
    p = [rg.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable"):
        optim.Adam(p[0])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p[0] * 2], lr=0.1)


def test_add_param_group_and_repr():
    a, b = rg.zeros(2, requires_grad=True), rg.zeros(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 1" in text and "    lr: 0.01" in text


def test_named_parameters_are_accepted():
    a = rg.zeros(2, requires_grad=True)
    opt = optim.Adam([("layer.weight", a)])
    assert opt.param_groups[0]["params"] == [a]
    assert opt.param_groups[0]["param_names"] == ["layer.weight"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["layer.weight"]


# ----- state dicts ------------------------------------------------------------------------
RESUME_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
]


def _run(opt, params, coef, shift, steps):
    for _ in range(steps):
        for p, c, d in zip(params, coef, shift):
            p.grad = rg.tensor(_grad(p.array, c, d))
        opt.step()


@pytest.mark.parametrize("opt_name,kwargs", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
@pytest.mark.parametrize("via_file", [False, True], ids=["in-memory", "retrograd.save"])
def test_state_dict_resume_is_bit_identical(opt_name, kwargs, via_file, tmp_path):
    init, coef, shift = _problem()
    groups = [([0], dict(lr=kwargs["lr"] / 2)), ([1, 2], dict())]
    straight = [rg.tensor(a.copy(), requires_grad=True) for a in init]
    _run(getattr(optim, opt_name)(_group_spec(straight, groups), **kwargs), straight, coef, shift, 10)

    first = [rg.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(optim, opt_name)(_group_spec(first, groups), **kwargs)
    _run(opt, first, coef, shift, 5)
    saved = opt.state_dict()
    if via_file:
        rg_save({"optimizer": saved}, tmp_path / "ckpt")
        saved = rg_load(tmp_path / "ckpt")["optimizer"]
    resumed = [rg.tensor(p.array.copy(), requires_grad=True) for p in first]
    opt2 = getattr(optim, opt_name)(_group_spec(resumed, groups), lr=123.0)  # options come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"] / 2
    _run(opt2, resumed, coef, shift, 5)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.array, b.array)


@pytest.mark.parametrize("opt_name,kwargs", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_state_dict_layout_matches_torch(opt_name, kwargs):
    groups = [([0], dict(lr=0.01)), ([1, 2], dict())]
    _, ours = _trajectory("rg", opt_name, kwargs, groups, steps=3)
    _, theirs = _trajectory("torch", opt_name, kwargs, groups, steps=3)
    assert_optimizer_states_match(ours, theirs)


def test_load_state_dict_copies_and_casts():
    a = rg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    saved = {"state": {0: {"momentum_buffer": rg.tensor(np.arange(3.0))}},
             "param_groups": [{"lr": 0.5, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": False,
                               "maximize": False, "params": [0]}]}
    opt.load_state_dict(saved)
    buf = opt.state[a]["momentum_buffer"]
    assert buf.dtype == np.float32 and buf.array is not saved["state"][0]["momentum_buffer"].array
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["params"] == [a]


def test_load_state_dict_rejects_mismatched_groups():
    a, b = rg.zeros(2, requires_grad=True), rg.zeros(2, requires_grad=True)
    saved = optim.Adam([a, b]).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group: group 0 has 2"):
        optim.Adam([a]).load_state_dict(saved)


# ----- learning-rate schedulers ---------------------------------------------------------
EPOCHS = 30
SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1, gamma=0.9)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 20], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=30, eta_min=1e-4)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e)),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1 / (1 + e), lambda e: 0.5 * (e % 4)])),
]


def _lr_sequence(lib, name, kwargs, epochs=EPOCHS, resume_at=None):
    opt_mod = optim if lib == "rg" else torch.optim
    sched_mod = lr_scheduler if lib == "rg" else torch.optim.lr_scheduler
    zeros = rg.zeros if lib == "rg" else torch.zeros

    def build():
        opt = opt_mod.SGD([{"params": [zeros(2, requires_grad=True)]},
                           {"params": [zeros(2, requires_grad=True)], "lr": 0.05}], lr=0.1)
        return opt, getattr(sched_mod, name)(opt, **kwargs)

    opt, sched = build()
    lrs = [sched.get_last_lr()]
    for epoch in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
        if resume_at == epoch:
            opt_state, sched_state = opt.state_dict(), sched.state_dict()
            opt, sched = build()
            opt.load_state_dict(opt_state)
            sched.load_state_dict(sched_state)
    return lrs


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_lr_sequence_equals_torch(name, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _lr_sequence("torch", name, kwargs)
    assert _lr_sequence("rg", name, kwargs) == expected  # exact: same float operations in the same order


@pytest.mark.parametrize("name,kwargs", SCHEDULERS[:7], ids=[n for n, _ in SCHEDULERS[:7]])
def test_scheduler_resumes_from_state_dict(name, kwargs):
    assert _lr_sequence("rg", name, kwargs, resume_at=12) == _lr_sequence("rg", name, kwargs)


@pytest.mark.parametrize("name,kwargs", [("StepLR", dict(step_size=4, gamma=0.5)),
                                         ("MultiStepLR", dict(milestones=[3, 9], gamma=0.1)),
                                         ("ExponentialLR", dict(gamma=0.9)),
                                         ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01))])
def test_scheduler_step_with_epoch_uses_closed_form(name, kwargs):
    results = []
    for opt_mod, sched_mod, make in ((optim, lr_scheduler, rg.zeros), (torch.optim, torch.optim.lr_scheduler,
                                                                        torch.zeros)):
        opt = opt_mod.SGD([make(1, requires_grad=True)], lr=0.1)
        sched = getattr(sched_mod, name)(opt, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (5, 2, 13):
                sched.step(epoch)
                results.append(sched.get_last_lr())
    half = len(results) // 2
    assert results[:half] == results[half:]


def test_scheduler_resume_needs_initial_lr():
    opt = optim.SGD([rg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, 3, last_epoch=4)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR("sgd", 3)


METRICS = [1.0, 0.9, 0.9, 0.9, 0.9, 0.85, 0.86, 0.86, 0.86, 0.86, 0.5, 0.5, 0.49999, 0.5, 0.5, 0.5, 0.6, 0.7,
           0.7, 0.7, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.29, 0.3, 0.3, 0.3]
PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5, cooldown=1, min_lr=0.01),
    dict(patience=1, factor=0.5, threshold=0.05, threshold_mode="abs", min_lr=[0.02, 0.001]),
    dict(mode="max", patience=2, factor=0.3, threshold=0.1),
    dict(mode="max", patience=0, factor=0.7, threshold=0.01, threshold_mode="abs", cooldown=2),
    dict(patience=0, factor=0.9, min_lr=0.0999, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_lr_on_plateau_equals_torch(kwargs):
    sequences = []
    for opt_mod, sched_mod, make in ((optim, lr_scheduler, rg.zeros), (torch.optim, torch.optim.lr_scheduler,
                                                                        torch.zeros)):
        opt = opt_mod.SGD([{"params": [make(1, requires_grad=True)]},
                           {"params": [make(1, requires_grad=True)], "lr": 0.05}], lr=0.1)
        sched = sched_mod.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for metric in METRICS:
            sched.step(metric)
            lrs.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter, sched.best))
        sequences.append(lrs)
    assert sequences[0] == sequences[1]


def test_reduce_lr_on_plateau_state_dict_and_errors():
    def run(resume):
        opt = optim.SGD([rg.zeros(1, requires_grad=True)], lr=0.1)
        sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1)
        out = []
        for i, metric in enumerate(METRICS):
            sched.step(metric)
            out.append(opt.param_groups[0]["lr"])
            if resume and i == 14:
                state = sched.state_dict()
                sched = lr_scheduler.ReduceLROnPlateau(opt)
                sched.load_state_dict(state)
        return out

    assert run(True) == run(False)
    opt = optim.SGD([rg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode 'mid' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="mid")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])


def test_cosine_matches_closed_form_within_one_cycle():
    opt = optim.SGD([rg.zeros(1, requires_grad=True)], lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for t in range(1, 11):
        opt.step()
        sched.step()
        expected = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / 10)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self):
            self.warmup = 3

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.warmup)

    opt = optim.SGD([rg.zeros(1, requires_grad=True)], lr=0.1)
    fn = Warmup()
    sched = lr_scheduler.LambdaLR(opt, [fn])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"warmup": 3}]
    fn.warmup = 10
    sched.load_state_dict(state)
    assert fn.warmup == 3
    assert lr_scheduler.LambdaLR(opt, lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_foreach_and_fused_are_accepted_as_in_pytorch_and_change_nothing(name):
    """Scripts pass foreach=False or fused=None (PyTorch's kernel choices); the update is the same math."""
    results = []
    for options in ({}, {"foreach": False, "fused": None}):
        w = rg.tensor([1.0, -2.0, 3.0], dtype=rg.float64, requires_grad=True)
        optimizer = getattr(rg.optim, name)([w], lr=0.1, **options)
        for _ in range(3):
            optimizer.zero_grad()
            (w * w).sum().backward()
            optimizer.step()
        results.append(w.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])
    with pytest.raises(ValueError, match="capturable=True is not supported"):
        getattr(rg.optim, name)([w], lr=0.1, capturable=True)
