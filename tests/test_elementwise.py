"""Elementwise ops (retrograd/ops/elementwise.py): one spec table drives central-difference checks in
float64 over broadcasting shapes and forward + backward parity with PyTorch; then the kinks and ties,
reflected operators, float32 behaviour, PyTorch's type promotion and the error messages."""
import operator

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import retrograd as rg
from helpers import assert_parity, numerical_check


def values(shape, domain, rng):
    """Float64 test values (an ndarray, also for shape ()) in an op's domain, kept off kinks and singularities."""
    if domain == "real":
        result = rng.standard_normal(shape)
    elif domain == "positive":
        result = rng.uniform(0.3, 2.0, shape)
    elif domain == "nonzero":  # |x| in [0.3, 2], either sign: off the kink of abs and the pole of 1/x
        result = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    else:
        raise ValueError(domain)
    return np.asarray(result, dtype=np.float64)


# name: (retrograd fn, torch fn, domain)
UNARY = {
    "neg": (rg.neg, torch.neg, "real"),
    "square": (rg.square, torch.square, "real"),
    "abs": (rg.abs, torch.abs, "nonzero"),
    "sign": (rg.sign, torch.sign, "nonzero"),
    "sqrt": (rg.sqrt, torch.sqrt, "positive"),
    "rsqrt": (rg.rsqrt, torch.rsqrt, "positive"),
    "reciprocal": (rg.reciprocal, torch.reciprocal, "nonzero"),
    "exp": (rg.exp, torch.exp, "real"),
    "expm1": (rg.expm1, torch.expm1, "real"),
    "log": (rg.log, torch.log, "positive"),
    "log2": (rg.log2, torch.log2, "positive"),
    "log1p": (rg.log1p, torch.log1p, "positive"),
    "sin": (rg.sin, torch.sin, "real"),
    "cos": (rg.cos, torch.cos, "real"),
    "pow_2": (lambda x: x ** 2, lambda x: x ** 2, "real"),
    "pow_3_int": (lambda x: rg.pow(x, 3), lambda x: torch.pow(x, 3), "real"),
    "pow_0.5": (lambda x: x ** 0.5, lambda x: x ** 0.5, "positive"),
    "pow_-1.5": (lambda x: x ** -1.5, lambda x: x ** -1.5, "positive"),
    "pow_0": (lambda x: x ** 0, lambda x: x ** 0, "real"),
    "scalar_pow_tensor": (lambda x: 2.5 ** x, lambda x: 2.5 ** x, "real"),
    "method_exp": (lambda x: x.exp(), lambda x: x.exp(), "real"),
}

# name: (retrograd fn, torch fn, domain of a, domain of b)
BINARY = {
    "add": (rg.add, torch.add, "real", "real"),
    "add_alpha": (lambda a, b: rg.add(a, b, alpha=2.5), lambda a, b: torch.add(a, b, alpha=2.5), "real", "real"),
    "sub": (rg.sub, torch.sub, "real", "real"),
    "sub_alpha": (lambda a, b: rg.sub(a, b, alpha=-0.5), lambda a, b: torch.sub(a, b, alpha=-0.5), "real", "real"),
    "mul": (rg.mul, torch.mul, "real", "real"),
    "div": (rg.div, torch.div, "real", "nonzero"),
    "pow": (rg.pow, torch.pow, "positive", "real"),
    "maximum": (rg.maximum, torch.maximum, "real", "real"),
    "minimum": (rg.minimum, torch.minimum, "real", "real"),
    "operators": (lambda a, b: (a + b) * a - b / (a * a + 1), lambda a, b: (a + b) * a - b / (a * a + 1),
                  "real", "real"),
}

small_shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
broadcasting_pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)
seeds = st.integers(0, 2 ** 16)


@pytest.mark.parametrize("name", UNARY)
@given(shape=small_shapes, seed=seeds)
def test_unary_gradients_and_torch_parity(name, shape, seed):
    rg_fn, torch_fn, domain = UNARY[name]
    x = values(shape, domain, np.random.default_rng(seed))
    numerical_check(rg_fn, x)
    assert_parity(rg_fn, torch_fn, x)


@pytest.mark.parametrize("name", BINARY)
@given(shapes=broadcasting_pairs, seed=seeds)
def test_binary_gradients_and_torch_parity_with_broadcasting(name, shapes, seed):
    rg_fn, torch_fn, domain_a, domain_b = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = values(shapes.input_shapes[0], domain_a, rng), values(shapes.input_shapes[1], domain_b, rng)
    numerical_check(rg_fn, a, b)
    assert_parity(rg_fn, torch_fn, a, b)


@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where_gradients_and_torch_parity_with_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    condition_shape, a_shape, b_shape = shapes.input_shapes
    condition = np.asarray(rng.random(condition_shape) > 0.5)
    a, b = values(a_shape, "real", rng), values(b_shape, "real", rng)
    numerical_check(lambda x, y: rg.where(rg.tensor(condition), x, y), a, b)
    assert_parity(lambda c, x, y: rg.where(c, x, y), torch.where, condition, a, b)


# ----- reflected operators with Python scalars ------------------------------------------------
@pytest.mark.parametrize("op", [
    lambda x: 2 + x, lambda x: x + 2, lambda x: 2 - x, lambda x: x - 2.5, lambda x: 3 * x, lambda x: x * 0.5,
    lambda x: 2 / x, lambda x: x / 4, lambda x: 2 ** x, lambda x: x ** 2, lambda x: -x, lambda x: abs(x),
    lambda x: 1.5 - x * 2 / 3 + 1,
], ids=["radd", "add", "rsub", "sub", "rmul", "mul", "rtruediv", "truediv", "rpow", "pow", "neg", "abs", "mixed"])
def test_reflected_operators_with_python_scalars(op):
    x = values((2, 3), "nonzero", np.random.default_rng(3))
    assert_parity(op, op, x)
    out = op(rg.tensor(x.astype(np.float32)))
    assert out.dtype == rg.float32


def test_numpy_array_on_the_left_defers_to_the_tensor():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, rg.Tensor) and y.grad_fn is not None


# ----- kinks and ties, against PyTorch's choices ----------------------------------------------
def test_abs_and_sign_at_zero_match_torch():
    x = np.array([0.0, -0.0, -1.5, 2.0])
    assert_parity(rg.abs, torch.abs, x)
    assert_parity(rg.sign, torch.sign, x)
    grad = rg.tensor(x, requires_grad=True)
    rg.abs(grad).sum().backward()
    assert grad.grad.tolist() == [0.0, 0.0, -1.0, 1.0]


SPECIAL_POINTS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, 2.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 'invalid value' / 'divide by zero', as intended
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY)
def test_unary_at_nan_inf_and_zero_match_torch(name, dtype):
    """Forward and gradient at NaN, +-inf and +-0 equal PyTorch's: NaN exactly where PyTorch has NaN (abs'(NaN)
    and sign(NaN) are 0; x ** 0.5 and x ** -0.5 are sqrt's, NaN at -inf), other values to rounding."""
    rg_fn, torch_fn, _ = UNARY[name]
    x = SPECIAL_POINTS.astype(dtype)
    dout = np.linspace(0.5, 1.5, x.size).astype(dtype)
    ours, theirs = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    rg_out, torch_out = rg_fn(ours), torch_fn(theirs)
    (rg_out * rg.tensor(dout)).sum().backward()
    (torch_out * torch.tensor(dout)).sum().backward()
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for what, a, b in [("forward", rg_out.array, torch_out.detach().numpy()), ("gradient", ours.grad.array,
                                                                              theirs.grad.numpy())]:
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{name} {what}: NaN positions differ")
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=f"{name} {what}")


@pytest.mark.parametrize("exponent", [0.5, -0.5, 1.5])
def test_square_root_powers_at_negative_zero_and_minus_inf_match_torch(exponent):
    x = np.array([-0.0, -np.inf, -4.0, 4.0])
    with np.errstate(all="ignore"):
        out = assert_parity(lambda t: t ** exponent, lambda t: t ** exponent, x, rtol=1e-15, atol=0)[0]
    expected = (torch.tensor(x) ** exponent).numpy()
    numbers = ~np.isnan(expected)  # -0 ** 0.5 is -0 and -0 ** -0.5 is -inf, as sqrt gives them
    np.testing.assert_array_equal(np.signbit(out.array[numbers]), np.signbit(expected[numbers]))


@pytest.mark.parametrize("fn_name", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient_like_torch(fn_name):
    rg_fn, torch_fn = getattr(rg, fn_name), getattr(torch, fn_name)
    a = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]])
    b = np.array([[1.0, 0.0, 3.0], [0.0, 4.0, 5.0]])
    assert_parity(rg_fn, torch_fn, a, b)
    assert_parity(rg_fn, torch_fn, a, np.array([3.0]))  # a broadcast operand tied with one entry
    x, y = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
    rg_fn(x, y).sum().backward()
    ties = a == b
    np.testing.assert_array_equal(x.grad.array[ties], 0.5)
    np.testing.assert_array_equal(y.grad.array[ties], 0.5)


@pytest.mark.parametrize("fn_name", ["maximum", "minimum"])
def test_maximum_minimum_with_nan_inputs_and_non_finite_gradients_like_torch(fn_name):
    """PyTorch: the losing input gets exactly 0 even for an inf or NaN gradient, and a NaN input is
    neither a tie nor a loss, so both inputs get the whole gradient there."""
    rg_fn, torch_fn = getattr(rg, fn_name), getattr(torch, fn_name)
    a = np.array([1.0, 2.0, 0.0, np.nan, 3.0, 2.0, np.nan])
    b = np.array([1.0, 0.0, 2.0, 1.0, np.nan, 2.0, np.nan])
    for g in (np.array([np.inf, np.inf, np.nan, 1.0, 1.0, -np.inf, 2.0]), np.ones(7)):
        x, y = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
        rg_fn(x, y).backward(rg.tensor(g))
        xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        torch_fn(xt, yt).backward(torch.tensor(g))
        np.testing.assert_array_equal(x.grad.array, xt.grad.numpy())
        np.testing.assert_array_equal(y.grad.array, yt.grad.numpy())


def test_maximum_with_a_zero_dim_tensor_like_relu():
    assert_parity(lambda x, z: rg.maximum(x, z), torch.maximum, np.array([-1.0, 0.0, 2.0]), np.array(0.0))


def test_where_gradient_goes_only_to_the_chosen_side():
    a, b = np.array([-1.0, 0.0, 2.0]), np.array([5.0, 6.0, 7.0])
    assert_parity(lambda x, y: rg.where(x > 0, x, y), lambda x, y: torch.where(x > 0, x, y), a, b)
    assert_parity(lambda x: rg.where(x > 0, x, 0.0), lambda x: torch.where(x > 0, x, 0.0), a)
    x, y = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
    rg.where(x > 0, x, y).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0] and y.grad.tolist() == [1.0, 1.0, 0.0]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_and_sqrt_at_zero_match_torch():
    base, exponent = np.array([0.0, 0.0, 1.0, 2.0, 0.0]), np.array([0.0, 2.0, 2.0, -1.0, 0.5])
    assert_parity(rg.pow, torch.pow, base, exponent)  # d/dbase 0**0 = 0, d/dexp 0**e = 0 (e >= 0)
    assert_parity(lambda x: x ** 0, lambda x: x ** 0, np.array([0.0, 1.0]))
    assert_parity(lambda x: 0.0 ** x, lambda x: 0.0 ** x, np.array([0.0, 1.0, 2.0]))
    assert_parity(rg.sqrt, torch.sqrt, np.array([0.0, 4.0]))  # inf gradient at 0, as in PyTorch


# ----- float32 --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", UNARY)
def test_unary_float32_stays_float32_like_torch(name):
    rg_fn, torch_fn, domain = UNARY[name]
    x = values((2, 3), domain, np.random.default_rng(4)).astype(np.float32)
    assert_parity(rg_fn, torch_fn, x, rtol=1e-5, atol=1e-6)
    leaf = rg.tensor(x, requires_grad=True)
    rg_fn(leaf).sum().backward()
    assert leaf.grad.dtype == rg.float32


@pytest.mark.parametrize("name", BINARY)
def test_binary_float32_stays_float32_like_torch(name):
    rg_fn, torch_fn, domain_a, domain_b = BINARY[name]
    rng = np.random.default_rng(5)
    a, b = values((2, 3), domain_a, rng).astype(np.float32), values((3,), domain_b, rng).astype(np.float32)
    out = assert_parity(rg_fn, torch_fn, a, b, rtol=1e-5, atol=1e-6)
    assert out[0].dtype == rg.float32


# ----- type promotion ----------------------------------------------------------------------
def operand(spec):
    """(retrograd value, torch value) for a spec: a dtype name with a shape, or a Python number."""
    if isinstance(spec, tuple):
        dtype, shape = spec
        array = np.ones(shape, dtype) * (2 if dtype != "bool" else 1)
        return rg.tensor(array), torch.tensor(array)
    return spec, spec


@pytest.mark.parametrize("a, b, op", [
    (("float32", (3,)), 2.5, operator.mul),  # float tensor op Python float: tensor's dtype
    (("float64", (3,)), 2.5, operator.add),
    (("int64", (3,)), 2.5, operator.mul),  # int tensor op Python float: default float (float32)
    (("int32", (3,)), 2, operator.mul),  # int tensor op Python int: tensor's dtype
    (("int64", (3,)), ("int64", (3,)), operator.truediv),  # true division of ints: float32
    (("int32", (3,)), 2, operator.truediv),
    (("float32", (3,)), ("float64", (3,)), operator.add),  # two dimensioned floats: the wider
    (("float32", (3,)), ("float64", ()), operator.add),  # a 0-d float64 does not widen a float32 tensor
    (("float64", ()), ("float32", (2, 3)), operator.sub),
    (("int64", (3,)), ("float64", ()), operator.add),  # ... but a 0-d float raises an int tensor to its own dtype
    (("int64", (3,)), ("float32", ()), operator.mul),
    (("float32", (3,)), ("int64", ()), operator.add),
    (("bool", (3,)), ("int64", (3,)), operator.add),
    (("bool", (3,)), 2, operator.add),
    (("bool", (3,)), 1.5, operator.mul),
    (("int32", (3,)), ("int64", (3,)), operator.add),
    (("uint8", (3,)), ("int8", (3,)), operator.add),
    (("float16", (3,)), ("float32", (3,)), operator.add),
    (2.0, ("int64", (3,)), operator.pow),
    (("int64", (3,)), 0.5, operator.pow),
    (2, ("float32", (3,)), operator.sub),
    (("float32", (3,)), np.float64(2.0), operator.mul),  # NumPy scalars promote like Python numbers
    (("int64", (3,)), np.float64(2.0), operator.mul),
    (np.float64(2.0), ("float32", (3,)), operator.mul),
])
def test_type_promotion_matches_torch(a, b, op):
    (rg_a, torch_a), (rg_b, torch_b) = operand(a), operand(b)
    ours, theirs = op(rg_a, rg_b), op(torch_a, torch_b)
    assert isinstance(ours, rg.Tensor)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.array.astype(np.float64), theirs.double().numpy(), rtol=1e-3)


@pytest.mark.parametrize("fn_name", ["sqrt", "exp", "log", "sin", "reciprocal", "rsqrt", "abs", "neg", "square",
                                     "sign"])
def test_unary_ops_on_integers_promote_like_torch(fn_name):
    ours, theirs = getattr(rg, fn_name)(rg.tensor([1, 2])), getattr(torch, fn_name)(torch.tensor([1, 2]))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


# ----- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fn_name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "lt"])
def test_non_broadcastable_shapes_name_the_op_and_both_shapes(fn_name):
    with pytest.raises(ValueError, match=rf"^{fn_name}: shapes \(2, 3\) and \(4, 3\) cannot be broadcast"):
        getattr(rg, fn_name)(rg.ones(2, 3), rg.ones(4, 3))


def test_non_broadcastable_operator_and_where_errors():
    with pytest.raises(ValueError, match=r"add: shapes \(2,\) and \(3,\)"):
        rg.ones(2) + rg.ones(3)
    with pytest.raises(ValueError, match=r"where: condition \(2, 3\), input \(2, 3\) and other \(4, 3\)"):
        rg.where(rg.ones(2, 3) > 0, rg.ones(2, 3), rg.ones(4, 3))


@pytest.mark.parametrize("other", ["a", {"x": 1}, None, object()], ids=["str", "dict", "None", "object"])
def test_op_on_a_non_number_raises_type_error(other):
    name = type(other).__name__
    with pytest.raises(TypeError, match=f"expected a Tensor, a number or an array, got {name}"):
        rg.ones(3) + other
    with pytest.raises(TypeError, match=f"got {name}"):
        other * rg.ones(3)
    with pytest.raises(TypeError, match=f"got {name}"):
        rg.maximum(rg.ones(3), other)


def test_integer_to_negative_integer_power_errors():
    with pytest.raises(RuntimeError, match="pow: integers to negative integer powers"):
        rg.tensor([1, 2]) ** -1
