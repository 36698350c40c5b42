"""retrograd.autograd.gradcheck and gradcheck_model: they pass correct gradients and explain wrong ones."""
import re
import time

import numpy as np
import pytest

import retrograd as rg
import retrograd.nn  # (modules for gradcheck_model)
from retrograd.autograd import Function, GradcheckError, gradcheck, gradcheck_model
from retrograd.ops.base import record

rng = np.random.default_rng(0)


def leaf(*shape, dtype=rg.float64, low=None):
    values = rng.standard_normal(shape) if low is None else rng.uniform(low, low + 1.5, shape)
    return rg.tensor(values, dtype=dtype, requires_grad=True)


# ----- Functions with known mistakes --------------------------------------------------
class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return 2 * grad_output * x


class SquareMissingFactor(Square):
    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output * x  # forgot the 2


class SquareNonlinearBackward(Square):
    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return 2 * grad_output ** 2 * x  # right on every unit cotangent (1**2 == 1), wrong otherwise


class SquareNoisyBackward(Square):
    noise = np.random.default_rng(5)

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        jitter = rg.tensor(SquareNoisyBackward.noise.standard_normal(x.shape) * 1e-9)
        return 2 * grad_output * x + jitter


def transpose_grad_op(x):
    """y = 3 x, with a VJP that transposes its gradient (wrong shape)."""
    return record(transpose_grad_op, 3 * x.array, (x,), lambda grad_out: (3 * grad_out.T,))


def float32_grad_op(x):
    """y = 3 x, with a VJP that returns float32 for a float64 input (wrong dtype)."""
    return record(float32_grad_op, 3 * x.array, (x,), lambda grad_out: ((3 * grad_out).astype(np.float32),))


# ----- gradcheck ----------------------------------------------------------------------
@pytest.mark.parametrize("fn, shapes", [
    (lambda a, b: rg.tanh(a @ b), [(3, 4), (4, 2)]),
    (lambda a, b: a * b + a.exp(), [(2, 3), (3,)]),
    (lambda a: (a * a).sum(), [(2, 2)]),
    (lambda a, b: rg.maximum(a, b) / (1 + b * b), [(4,), (4,)]),
    (Square.apply, [(2, 3)]),
])
def test_gradcheck_passes_correct_ops(fn, shapes):
    assert gradcheck(fn, tuple(leaf(*s) for s in shapes)) is True


def test_gradcheck_accepts_a_single_tensor_a_list_and_non_tensor_arguments():
    x = leaf(3)
    assert gradcheck(rg.exp, x)
    assert gradcheck(lambda a, b: a * b, [x, leaf(3)])
    assert gradcheck(lambda a, k, power: a * k + a ** power, (x, 2.5, 3))


def test_gradcheck_checks_every_output_of_a_tuple():
    x = leaf(2, 2)
    assert gradcheck(lambda a: (a.exp(), a.sin() * 3), (x,))
    with pytest.raises(GradcheckError, match="output 1 with respect to input 0"):
        gradcheck(lambda a: (a.exp(), SquareMissingFactor.apply(a)), (x,))


def test_gradcheck_failure_says_which_output_input_and_entries():
    x, y = leaf(2, 3), leaf(2, 3)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a + SquareMissingFactor.apply(b), (x, y))
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "Jacobian mismatch for output 0 with respect to input 1" in message
    assert "6 of 36 entries" in message
    # the worst entry: index, numerical 2x, analytical x
    flat = int(np.argmax(np.abs(y.array)))
    i, j = np.unravel_index(flat, y.shape)
    value = y.array[i, j]
    worst_line = next(line for line in message.splitlines() if "output[" in line)
    assert f"output[{i}, {j}] / input[{i}, {j}]" in worst_line
    numerical, analytical = (float(re.search(rf"{word} (\S+),", worst_line).group(1))
                             for word in ("numerical", "analytical"))
    assert numerical == pytest.approx(2 * value, rel=1e-6) and analytical == pytest.approx(value, rel=1e-6)
    # both Jacobians are printed when small (36 entries)
    assert "numerical Jacobian" in message and "analytical Jacobian" in message
    # input 0 (the correct path) is not blamed
    assert "input 0" not in message.split("\n")[0]


def test_gradcheck_omits_large_jacobians():
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareMissingFactor.apply, (leaf(7),))  # 49 entries
    assert "numerical Jacobian" not in str(info.value)
    assert "7 of 49 entries" in str(info.value)


def test_gradcheck_raise_exception_false_returns_false():
    assert gradcheck(SquareMissingFactor.apply, (leaf(3),), raise_exception=False) is False
    assert gradcheck(SquareNonlinearBackward.apply, (leaf(3),), raise_exception=False) is False
    assert gradcheck(Square.apply, (leaf(3),), raise_exception=False) is True


def test_gradcheck_detects_a_backward_that_is_not_linear_in_grad_output():
    x = leaf(2, 3)
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareNonlinearBackward.apply, (x,))
    message = str(info.value)
    assert "not linear in the incoming gradient" in message
    assert "VJP(2v) vs 2 VJP(v)" in message
    assert "input 0" in message


def test_gradcheck_detects_a_wrong_gradient_shape_and_names_the_op():
    with pytest.raises(GradcheckError, match=r"TransposeGradOpBackward returned a gradient of shape \(3, 2\) "
                                             r"for input 0 of shape \(2, 3\)"):
        gradcheck(transpose_grad_op, (leaf(2, 3),))


def test_gradcheck_detects_a_wrong_gradient_dtype_and_names_the_op():
    with pytest.raises(GradcheckError, match="Float32GradOpBackward returned a gradient of dtype float32 for input 0 "
                                             "of dtype float64"):
        gradcheck(float32_grad_op, (leaf(2, 3),))


def test_gradcheck_nondet_tol():
    x = leaf(3)
    with pytest.raises(GradcheckError, match="not reentrant"):
        gradcheck(SquareNoisyBackward.apply, (x,))
    assert gradcheck(SquareNoisyBackward.apply, (x,), nondet_tol=1e-6)


def test_gradcheck_output_that_does_not_require_grad_must_not_depend_on_the_input():
    x = leaf(3)
    assert gradcheck(lambda a: (a * 2, rg.zeros(3, dtype=rg.float64)), (x,))
    with pytest.raises(GradcheckError, match="output 1 .*does not require grad.* input 0 is not zero"):
        gradcheck(lambda a: (a * 2, (a * 3).detach()), (x,))


def test_gradcheck_restores_inputs_exactly():
    x = leaf(3, 4)
    before = x.array.copy()
    storage = x.array
    gradcheck(lambda a: a.exp().sum(), (x,))
    gradcheck(SquareMissingFactor.apply, (x,), raise_exception=False)
    assert x.array is storage
    np.testing.assert_array_equal(x.array, before)
    assert x.grad is None  # nothing accumulates into .grad


def test_gradcheck_input_errors_and_warnings():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(rg.exp, (rg.tensor([1.0, 2.0], dtype=rg.float64),))
    x32 = rg.tensor([0.5, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double precision"):
        gradcheck(lambda a: a * 2, (x32,), eps=1e-2, atol=1e-2, rtol=1e-2)
    with pytest.raises(TypeError, match="output 0 is float"):
        gradcheck(lambda a: 1.0, (leaf(2),))


def test_gradcheck_tolerances_are_used():
    class SlightlyOff(Square):
        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return 2 * grad_output * x * (1 + 1e-4)

    x = leaf(4, low=0.5)
    assert gradcheck(SlightlyOff.apply, (x,))  # within rtol=1e-3
    assert not gradcheck(SlightlyOff.apply, (x,), rtol=1e-6, atol=1e-9, raise_exception=False)


# ----- gradcheck_model ----------------------------------------------------------------
def two_layer_net(activation_fn=rg.tanh, dtype=rg.float32):
    r = np.random.default_rng(1)
    params = {
        "W1": rg.tensor(r.standard_normal((4, 3)) * 0.5, dtype=dtype, requires_grad=True),
        "b1": rg.tensor(r.standard_normal(4) * 0.1, dtype=dtype, requires_grad=True),
        "W2": rg.tensor(r.standard_normal((2, 4)) * 0.5, dtype=dtype, requires_grad=True),
        "b2": rg.tensor(r.standard_normal(2) * 0.1, dtype=dtype, requires_grad=True),
    }
    x = rg.tensor(r.standard_normal((5, 3)), dtype=dtype)
    y = rg.tensor(r.standard_normal((5, 2)), dtype=dtype)

    def forward(batch):
        inputs, targets = batch
        hidden = activation_fn(inputs @ params["W1"].T + params["b1"])
        out = hidden @ params["W2"].T + params["b2"]
        return ((out - targets) ** 2).mean()

    return forward, params, (x, y)


def test_gradcheck_model_passes_a_correct_net():
    forward, params, batch = two_layer_net()
    report = gradcheck_model(forward, batch=batch, params=params)
    assert report.passed and bool(report)
    assert [row.name for row in report] == ["W1", "b1", "W2", "b2"]
    assert [row.checked for row in report] == [12, 4, 8, 2]  # all entries: each is at most 20
    assert all(row.max_abs_err < 1e-7 for row in report)
    text = str(report)
    assert "passed" in text and "W1" in text and "(4, 3)" in text and "12/12" in text and "FAIL" not in text


def test_gradcheck_model_with_loss_fn_and_a_batch_pair():
    forward, params, (x, y) = two_layer_net()

    def model(inputs):
        return rg.tanh(inputs @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]

    report = gradcheck_model(model, lambda out, target: ((out - target) ** 2).sum(), (x, y), params=params)
    assert report.passed, str(report)


def test_gradcheck_model_reports_the_failing_parameter():
    forward, params, batch = two_layer_net(activation_fn=lambda h: SquareMissingFactor.apply(rg.tanh(h)))
    report = gradcheck_model(forward, batch=batch, params=params)
    assert not report.passed and not bool(report)
    failed = {row.name for row in report if not row.passed}
    assert failed == {"W1", "b1"}  # the broken op sits between layer 1 and layer 2
    assert report.worst.name in failed
    text = str(report)
    assert "FAILED (2 of 4 parameters)" in text
    w1_line = next(line for line in text.splitlines() if line.startswith("W1"))
    assert "FAIL" in w1_line and "worst at [" in w1_line and "numerical" in w1_line
    w2_line = next(line for line in text.splitlines() if line.startswith("W2"))
    assert w2_line.rstrip().endswith("ok")
    with pytest.raises(GradcheckError, match="W1"):
        gradcheck_model(forward, batch=batch, params=params, raise_exception=True)


def test_gradcheck_model_samples_big_parameters():
    r = np.random.default_rng(2)
    w = rg.tensor(r.standard_normal((200, 300)) * 0.05, requires_grad=True)
    x = rg.tensor(r.standard_normal((8, 300)))
    start = time.perf_counter()
    report = gradcheck_model(lambda: rg.tanh(x @ w.T).pow(2).sum(), params=[w], max_entries_per_param=15)
    elapsed = time.perf_counter() - start
    assert report.passed, str(report)
    row, = report
    assert row.name == "params[0]" and row.shape == (200, 300)
    assert row.checked == 15 and row.total == 60000
    assert elapsed < 5
    same_seed = gradcheck_model(lambda: rg.tanh(x @ w.T).pow(2).sum(), params=[w], max_entries_per_param=15)
    assert same_seed[0].worst_index == row.worst_index  # the sample is seeded


def test_gradcheck_model_restores_float32_parameters_even_on_error():
    forward, params, batch = two_layer_net()
    arrays = {name: p.array for name, p in params.items()}
    copies = {name: p.array.copy() for name, p in params.items()}
    gradcheck_model(forward, batch=batch, params=params)
    calls = []

    def failing(batch):
        calls.append(params["W1"].dtype)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        gradcheck_model(failing, batch=batch, params=params)
    assert calls == [rg.float64]  # the check itself ran in float64
    for name, p in params.items():
        assert p.array is arrays[name] and p.dtype == rg.float32
        np.testing.assert_array_equal(p.array, copies[name])
        assert p.grad is None


def test_gradcheck_model_on_a_module_with_named_parameters():
    rg.manual_seed(0)
    model = rg.nn.Sequential(rg.nn.Linear(3, 4), rg.nn.Tanh(), rg.nn.Dropout(0.5), rg.nn.Linear(4, 2))
    model.eval()  # dropout must be off for central differences to make sense
    x, y = rg.randn(6, 3), rg.randn(6, 2)
    report = gradcheck_model(model, lambda out, target: ((out - target) ** 2).mean(), (x, y))
    assert report.passed, str(report)
    assert [row.name for row in report] == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert all(p.dtype == rg.float32 for p in model.parameters())


def test_gradcheck_model_needs_params_for_a_function_and_a_scalar_loss():
    with pytest.raises(ValueError, match="params="):
        gradcheck_model(lambda: rg.zeros(()))
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="scalar"):
        gradcheck_model(lambda: w * 2, params=[w])


def test_gradcheck_model_leaves_buffers_untouched():
    """Batch norm in training mode updates its running statistics on every forward pass; the check's many
    passes must leave no trace."""
    rg.manual_seed(0)
    model = rg.nn.Sequential(rg.nn.Linear(3, 4), rg.nn.BatchNorm1d(4), rg.nn.Tanh(), rg.nn.Linear(4, 1))
    buffers = {name: (b.array, b.array.copy()) for name, b in model.named_buffers()}
    report = gradcheck_model(model, lambda out, target: ((out - target) ** 2).mean(), (rg.randn(8, 3), rg.randn(8, 1)))
    assert report.passed, str(report)
    for name, b in model.named_buffers():
        storage, values = buffers[name]
        assert b.array is storage
        np.testing.assert_array_equal(b.array, values)
