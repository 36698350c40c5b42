"""The optimizers' compiled update kernels (the fast extra, Numba) against their NumPy reference.

SGD's momentum update (optim/sgd_kernels.py) and Adam's and AdamW's update (optim/adam_kernels.py; amsgrad keeps
the NumPy code) do the float operations of the NumPy code in the same order, so two optimizers started alike, one
with the kernels on and one with them off, hold the same bits after several steps: parameters and every state
buffer, float32 and float64, for every option the optimizer has. Bits are compared as unsigned integers, so -0.0
against 0.0 would fail.
Where a kernel cannot take the arrays or the hyper-parameters, the NumPy code runs instead (and is checked to).
"""
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import bits
from retrograd.bench import harness, workloads
from retrograd.ops import kernels
from retrograd.optim import _update

SHAPES = [(7, 5), (33,), (), (1,), (3, 4, 5), (0,)]  # a 0-d and an empty parameter, odd sizes, more than one SIMD width
DTYPES = [np.float32, np.float64]
STEPS = 4


@pytest.fixture
def compiled_calls(monkeypatch):
    """Counts, per kernel name, the calls of compiled kernels (one per parameter update that ran compiled)."""
    calls = {}
    real = kernels.compiled

    def counting(python_kernel, dtype):
        kernel = real(python_kernel, dtype)
        if kernel is None:
            return None

        def counted(*args):
            calls[python_kernel.__name__] = calls.get(python_kernel.__name__, 0) + 1
            return kernel(*args)

        return counted

    monkeypatch.setattr(kernels, "compiled", counting)
    return calls


def _parameters(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rg.nn.Parameter(rg.from_numpy(rng.standard_normal(shape).astype(dtype))) for shape in SHAPES]


def _train(make_optimizer, dtype, use_kernels, steps=STEPS, grad_scale=1.0):
    """`steps` steps of the optimizer on fresh parameters with the same gradients each run; (params, optimizer)."""
    previous = kernels.set_enabled(use_kernels)
    try:
        params = _parameters(dtype)
        optimizer = make_optimizer(params)
        rng = np.random.default_rng(1)
        for step in range(steps):
            for p in params:  # the gradients shrink and grow, so that amsgrad's max keeps and replaces entries
                scale = grad_scale * (0.1 if step % 2 else 3.0)
                p.grad = rg.from_numpy((scale * rng.standard_normal(p.shape)).astype(dtype))
            optimizer.step()
    finally:
        kernels.set_enabled(previous)
    return params, optimizer


def _assert_same_bits(with_kernels, numpy_only):
    (params_k, opt_k), (params_n, opt_n) = with_kernels, numpy_only
    for p_k, p_n in zip(params_k, params_n):
        assert p_k.dtype == p_n.dtype
        np.testing.assert_array_equal(bits(p_k.array), bits(p_n.array))
        state_k, state_n = opt_k.state[p_k], opt_n.state[p_n]
        assert state_k.keys() == state_n.keys()
        for name, value in state_n.items():
            if name == "step":
                assert state_k[name] == value
            else:
                assert state_k[name].dtype == value.dtype, name
                np.testing.assert_array_equal(bits(state_k[name].array), bits(value.array), err_msg=name)


SGD_OPTIONS = [dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                    maximize=maximize)
               for momentum, dampening, weight_decay, nesterov, maximize in itertools.product(
                   [0.9], [0.0, 0.25], [0.0, 1e-2], [False, True], [False, True])
               if not (nesterov and dampening)]  # (PyTorch's rule: Nesterov needs zero dampening)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_sgd_momentum_kernel_gives_the_numpy_bits(compiled_calls, dtype, options):
    def make(params):
        return rg.optim.SGD(params, lr=0.1, **options)

    with_kernels = _train(make, dtype, True)
    assert compiled_calls == {"sgd_momentum_update": len(SHAPES) * STEPS}  # every parameter, every step
    _assert_same_bits(with_kernels, _train(make, dtype, False))
    assert compiled_calls == {"sgd_momentum_update": len(SHAPES) * STEPS}  # kernels off: NumPy only


ADAM_OPTIONS = [dict(betas=betas, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
                for betas, weight_decay, amsgrad, maximize in itertools.product(
                    [(0.9, 0.999), (0.3, 0.5)], [0.0, 0.1], [False, True], [False, True])]
# betas (0.3, 0.5): 1 - beta1 >= 0.5 takes lerp's other branch, m <- g - (g - m) * beta1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", [rg.optim.Adam, rg.optim.AdamW])
@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_adam_kernel_gives_the_numpy_bits(compiled_calls, dtype, optimizer, options):
    def make(params):
        return optimizer(params, lr=1e-2, eps=1e-6, **options)

    with_kernels = _train(make, dtype, True)
    # amsgrad keeps the NumPy code (its fifth array); every other option runs the kernel for every parameter
    assert compiled_calls == ({} if options["amsgrad"] else {"adam_update": len(SHAPES) * STEPS})
    _assert_same_bits(with_kernels, _train(make, dtype, False))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the NumPy run's 0 / 0
def test_adam_kernel_propagates_nan_and_inf_as_numpy_does(kernels_state):
    """A NaN and an inf gradient entry, and a zero second moment with eps=0 (0 / 0 in the denominator's
    quotient): the kernel, compiled with NumPy's error model, gives NumPy's NaNs instead of raising."""
    results = []
    for use_kernels in (True, False):
        previous = kernels.set_enabled(use_kernels)
        try:
            params = _parameters(np.float32)[:1]
            optimizer = rg.optim.Adam(params, lr=1e-2, eps=0.0)
            for step in range(3):
                grad = np.full(params[0].shape, 0.5 if step else 2.0, np.float32)
                grad[1, 2] = np.nan if step == 1 else grad[1, 2]
                grad[0, 1] = np.inf if step == 2 else grad[0, 1]
                grad[2, 0] = 0.0
                params[0].grad = rg.from_numpy(grad)
                optimizer.step()
        finally:
            kernels.set_enabled(previous)
        results.append((params[0].array.copy(), optimizer.state[params[0]]["exp_avg_sq"].array.copy()))
    (param_k, v_k), (param_n, v_n) = results
    assert np.isnan(param_n[1, 2]) and np.isnan(param_n[0, 1]) and np.isnan(param_n[2, 0])
    assert np.isfinite(param_n).sum() == param_n.size - 3
    np.testing.assert_array_equal(param_k.view(np.uint32), param_n.view(np.uint32))
    np.testing.assert_array_equal(v_k.view(np.uint32), v_n.view(np.uint32))


@pytest.fixture
def kernels_state():
    """Restores the process's kernel choice after a test that switches it."""
    previous = kernels.set_enabled(None)
    kernels.set_enabled(previous)
    yield
    kernels.set_enabled(previous)


@pytest.mark.parametrize("case", ["float16", "numpy float64 lr", "kernels off", "no momentum"])
def test_numpy_runs_where_a_kernel_cannot(compiled_calls, kernels_state, case):
    """float16 (Numba has no float16 arithmetic), a NumPy float64 hyper-parameter (NumPy would compute in float64),
    kernels switched off, and SGD without momentum (one NumPy operation: nothing to fuse) all run the NumPy code."""
    dtype = np.float16 if case == "float16" else np.float32
    lr = np.float64(0.1) if case == "numpy float64 lr" else 0.1
    momentum = 0.0 if case == "no momentum" else 0.9

    def make(params):
        return rg.optim.SGD(params, lr=lr, momentum=momentum)

    first = _train(make, dtype, case != "kernels off")
    assert compiled_calls == {}
    _assert_same_bits(first, _train(make, dtype, False))


def test_flat_kernel_operands_takes_only_contiguous_writeable_arrays_of_one_dtype_and_shape():
    param = np.zeros((4, 6), np.float32)
    flat = _update.flat_kernel_operands(param, np.ones((4, 6), np.float32))
    assert [a.shape for a in flat] == [(24,), (24,)] and np.shares_memory(flat[0], param)  # views, updated in place
    read_only = np.ones((4, 6), np.float32)
    read_only.flags.writeable = False
    for other in (np.ones((6, 4), np.float32).T, np.ones((4, 6), np.float64), np.ones((24,), np.float32), read_only):
        assert _update.flat_kernel_operands(param, other) is None
    assert _update.python_numbers(0.1, 0, 1e-8) and not _update.python_numbers(0.1, np.float64(0.9))


def test_a_non_contiguous_parameter_takes_the_numpy_path(compiled_calls, kernels_state):
    kernels.set_enabled(True)
    weight = rg.nn.Parameter(rg.from_numpy(np.ones((3, 4), np.float32)))
    weight.array = np.asfortranarray(weight.array)  # the kernel walks C order only
    weight.grad = rg.from_numpy(np.full((3, 4), 0.5, np.float32))
    optimizer = rg.optim.SGD([weight], lr=0.1, momentum=0.9)
    optimizer.step()
    optimizer.step()
    assert compiled_calls == {}
    # b_1 = g = 0.5, b_2 = 0.9 * 0.5 + 0.5 = 0.95: theta = 1 - 0.1 * 0.5 - 0.1 * 0.95 (in float32)
    expected = np.float32(1) - np.float32(0.1) * np.float32(0.5)
    expected = expected - np.float32(0.1) * (np.float32(0.9) * np.float32(0.5) + np.float32(0.5))
    np.testing.assert_array_equal(weight.array, np.full((3, 4), expected, np.float32))


def test_the_bench_says_the_mlp_step_ran_its_kernels():
    """`retrograd bench` reports which kernels a workload ran: with kernels on, mlp's ReLUs and SGD momentum update."""
    env = dict(harness._environment(1), RETROGRAD_KERNELS="numba")
    done = subprocess.run([sys.executable, workloads.__file__, "--workload", "mlp", "--steps", "2", "--warmup", "0",
                           "--threads", "1", "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kernels"] == "relu_backward, relu_forward, sgd_momentum_update (Numba)"
    env["RETROGRAD_KERNELS"] = "numpy"
    done = subprocess.run([sys.executable, workloads.__file__, "--workload", "mlp", "--steps", "2", "--warmup", "0",
                           "--threads", "1", "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and json.loads(done.stdout)["kernels"].startswith("none (NumPy only")


ZERO_D_CASES = [  # (optimizer, options, relative tolerance: 0 = the same float32 as PyTorch)
    ("SGD", dict(momentum=0.9, maximize=True), 0), ("SGD", dict(momentum=0.9, weight_decay=0.1), 0),
    ("SGD", dict(momentum=0.9, nesterov=True), 0), ("Adam", dict(maximize=True, amsgrad=True), 0),
    ("Adam", dict(weight_decay=0.1), 0), ("AdamW", dict(maximize=True), 0),
    ("Adagrad", dict(maximize=True, weight_decay=0.1), 0), ("Adamax", dict(weight_decay=0.1), 0),
    ("NAdam", dict(maximize=True), 0), ("RAdam", dict(weight_decay=0.1), 0), ("Rprop", {}, 0),
    ("Adadelta", dict(weight_decay=0.1), 0), ("ASGD", dict(maximize=True), 0), ("RMSprop", dict(momentum=0.9), 0),
    ("RMSprop", dict(momentum=0.9, centered=True), 1e-7),  # 1 ulp: PyTorch's lerp_ is a fused multiply-add on
    # AVX2 and AVX-512 CPUs (grad_avg's last bit); under its portable kernels every row is exact (test_optim_bit_parity)
]


@pytest.mark.parametrize("use_kernels", [True, False])
@pytest.mark.parametrize("name, options, rel", ZERO_D_CASES)
def test_a_0d_parameter_moves_as_in_pytorch(kernels_state, use_kernels, name, options, rel):
    """A learnable scalar (a 0-d parameter): NumPy's ufuncs return a scalar, not an array, for 0-d operands, which
    left SGD's momentum buffer a copy never updated (with maximize or weight_decay) and made every other
    optimizer but Rprop and ASGD raise ('return arrays must be of ArrayType') where it wrote into its scratch."""
    kernels.set_enabled(use_kernels)
    ours = rg.nn.Parameter(rg.from_numpy(np.array(1.0, np.float32)))
    theirs = torch.nn.Parameter(torch.tensor(1.0))
    optimizer, reference = getattr(rg.optim, name)([ours], lr=0.1, **options), getattr(torch.optim, name)(
        [theirs], lr=0.1, **options)
    for grad in (0.5, 2.0, -1.0):
        ours.grad, theirs.grad = rg.from_numpy(np.array(grad, np.float32)), torch.tensor(grad)
        optimizer.step()
        reference.step()
    assert ours.item() == pytest.approx(theirs.item(), rel=rel, abs=0)
    for value in optimizer.state[ours].values():  # the buffers stay arrays, updated in place
        assert not isinstance(value, rg.Tensor) or isinstance(value.array, np.ndarray)


@pytest.mark.parametrize("name, options, kernel", [("SGD", dict(momentum=0.9), "sgd_momentum_update"),
                                                   ("Adam", {}, "adam_update"), ("AdamW", {}, "adam_update")])
def test_a_compiled_update_bumps_the_version_like_the_numpy_one(compiled_calls, kernels_state, name, options, kernel):
    """The kernels write the parameter in place, so a graph that saved it can no longer run its backward."""
    kernels.set_enabled(True)
    weight = rg.nn.Parameter(rg.randn(3, 3))
    x = rg.randn(2, 3, requires_grad=True)
    y = (x @ weight).tanh().sum()  # matmul saves the weight for x's gradient
    weight.grad = rg.ones(3, 3)
    getattr(rg.optim, name)([weight], lr=0.1, **options).step()
    assert compiled_calls == {kernel: 1}
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
