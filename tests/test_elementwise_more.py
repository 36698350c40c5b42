"""The elementwise functions of ops/unary_math.py, ops/binary_math.py and ops/logical.py against PyTorch: one
spec table drives forward + gradient parity and float64 central differences over broadcasting shapes; then
the kinks PyTorch has a convention for (fmod/remainder signs, atan2 and hypot at 0, xlogy at 0, copysign at
0), result dtypes, the Tensor methods and in-place forms, errors, and what each VJP keeps."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, closure_arrays, numerical_check, saves_names
from retrograd.ops import binary_math, unary_math


def values(shape, domain, rng):
    """Float64 values in an op's domain, off its kinks and poles."""
    if domain == "nonzero":
        return np.asarray(rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape))
    low, high = {"real": (-2.0, 2.0), "positive": (0.3, 2.0), "unit": (-0.9, 0.9), "above1": (1.2, 3.0)}[domain]
    return np.asarray(rng.uniform(low, high, shape))


# name: (retrograd fn, torch fn, domain)
UNARY = {
    "tan": (rg.tan, torch.tan, "unit"), "asin": (rg.asin, torch.asin, "unit"), "acos": (rg.acos, torch.acos, "unit"),
    "atan": (rg.atan, torch.atan, "real"), "sinh": (rg.sinh, torch.sinh, "real"),
    "cosh": (rg.cosh, torch.cosh, "real"), "asinh": (rg.asinh, torch.asinh, "real"),
    "acosh": (rg.acosh, torch.acosh, "above1"), "atanh": (rg.atanh, torch.atanh, "unit"),
    "log10": (rg.log10, torch.log10, "positive"), "exp2": (rg.exp2, torch.exp2, "real"),
    "deg2rad": (rg.deg2rad, torch.deg2rad, "real"), "rad2deg": (rg.rad2deg, torch.rad2deg, "real"),
    "ceil": (rg.ceil, torch.ceil, "real"), "trunc": (rg.trunc, torch.trunc, "real"),
    "fix": (rg.fix, torch.fix, "real"), "frac": (rg.frac, torch.frac, "real"),
    "sgn": (rg.sgn, lambda x: torch.sgn(x) + x * 0, "real"),  # + x * 0: torch's gradient of sgn is a ZeroTensor
    "nan_to_num": (rg.nan_to_num, torch.nan_to_num, "real"),
    "arcsin_method": (lambda x: x.arcsin(), lambda x: x.arcsin(), "unit"),
    "arctanh_method": (lambda x: x.arctanh(), lambda x: x.arctanh(), "unit"),
}

# name: (retrograd fn, torch fn, domain of a, domain of b)
BINARY = {
    "fmod": (rg.fmod, torch.fmod, "real", "nonzero"),
    "remainder": (rg.remainder, torch.remainder, "real", "nonzero"),
    "atan2": (rg.atan2, torch.atan2, "real", "real"), "arctan2": (rg.arctan2, torch.arctan2, "real", "real"),
    "hypot": (rg.hypot, torch.hypot, "nonzero", "nonzero"),
    "logaddexp": (rg.logaddexp, torch.logaddexp, "real", "real"),
    "logaddexp2": (rg.logaddexp2, torch.logaddexp2, "real", "real"),
    "xlogy": (rg.xlogy, torch.xlogy, "real", "positive"),
    "float_power": (rg.float_power, torch.float_power, "positive", "real"),
    "copysign": (rg.copysign, torch.copysign, "nonzero", "nonzero"),
    "lerp_scalar": (lambda a, b: rg.lerp(a, b, 0.3), lambda a, b: torch.lerp(a, b, 0.3), "real", "real"),
    "lerp_scalar_large": (lambda a, b: rg.lerp(a, b, 0.8), lambda a, b: torch.lerp(a, b, 0.8), "real", "real"),
    "lerp_weight_tensor": (lambda a, w: rg.lerp(a, a * 2 + 1, w), lambda a, w: torch.lerp(a, a * 2 + 1, w),
                           "real", "real"),
    "fmod_method_number": (lambda a, b: a.fmod(-1.5) * b, lambda a, b: a.fmod(-1.5) * b, "real", "real"),
    "remainder_number": (lambda a, b: rg.remainder(a, 1.5) + b, lambda a, b: torch.remainder(a, 1.5) + b,
                         "real", "real"),
}

SHAPE_PAIRS = [((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1, 3), (4, 1)), ((0, 3), (3,))]


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (0, 2)])
@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_torch_and_central_differences(name, shape):
    rg_fn, torch_fn, domain = UNARY[name]
    x = values(shape, domain, np.random.default_rng(len(shape)))
    assert_parity(rg_fn, torch_fn, x, rtol=1e-13, atol=1e-15)
    assert_parity(rg_fn, torch_fn, x.astype(np.float32), rtol=1e-6, atol=1e-6)
    numerical_check(rg_fn, x)


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_matches_torch_and_central_differences_with_broadcasting(name, shapes):
    rg_fn, torch_fn, domain_a, domain_b = BINARY[name]
    rng = np.random.default_rng(7)
    a, b = values(shapes[0], domain_a, rng), values(shapes[1], domain_b, rng)
    assert_parity(rg_fn, torch_fn, a, b, rtol=1e-13, atol=1e-15)
    assert_parity(rg_fn, torch_fn, a.astype(np.float32), b.astype(np.float32), rtol=1e-6, atol=1e-6)
    numerical_check(rg_fn, a, b)


def test_lerp_broadcasts_all_three_and_every_input_gets_its_gradient():
    rng = np.random.default_rng(2)
    start, end, weight = rng.normal(size=(2, 1)), rng.normal(size=(3,)), rng.uniform(-1, 2, (4, 1, 1))
    assert_parity(rg.lerp, torch.lerp, start, end, weight, rtol=1e-13, atol=1e-15)
    numerical_check(rg.lerp, start, end, weight)


# ----- PyTorch's conventions at the kinks ---------------------------------------------------------------
def _both(rg_fn, torch_fn, *arrays):
    """Forward values and input gradients (cotangent of ones) of both libraries, as NumPy arrays."""
    ours = [rg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    rg_out, torch_out = rg_fn(*ours), torch_fn(*theirs)
    rg_out.sum().backward()
    torch_out.sum().backward()
    return ([rg_out.detach().numpy()] + [t.grad.numpy() for t in ours],
            [torch_out.detach().numpy()] + [t.grad.numpy(force=True) for t in theirs])  # force: a ZeroTensor


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name,a,b", [
    ("fmod", [-3.0, 3.0, -3.0, 3.0, -4.0, 4.0, 5.0, 1.0], [2.0, 2.0, -2.0, -2.0, 2.0, -2.0, np.inf, 0.0]),
    ("remainder", [-3.0, 3.0, -3.0, 3.0, -4.0, 4.0, -5.0, 1.0], [2.0, 2.0, -2.0, -2.0, 2.0, -2.0, np.inf, 0.0]),
    ("atan2", [0.0, -0.0, 0.0, 1e-200, 1.0, -1.0], [0.0, 0.0, -0.0, 1e-200, 0.0, 0.0]),
    ("hypot", [0.0, 0.0, 3.0, -3.0], [0.0, -0.0, 4.0, 0.0]),
    ("xlogy", [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, -1.0], [0.0, np.nan, 3.0, -1.0, 1e-300, 0.0, 0.0]),
    ("copysign", [0.0, 0.0, -0.0, 2.0, -2.0, 1.0], [-1.0, 1.0, 1.0, -0.0, 0.0, np.nan]),
    ("logaddexp", [np.inf, -np.inf, np.inf, 800.0], [np.inf, -np.inf, 1.0, 0.0]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_values_and_gradients_at_the_kinks_are_torchs_bit_for_bit(name, a, b):
    """Signs of zero included: fmod keeps a's sign, remainder b's; atan2's gradient is 0 where a^2 + b^2 is 0
    (also by underflow); hypot's is NaN at the origin; xlogy(0, y) = 0 unless y is NaN, and its dL/da is log y but
    0 where a = 0 and y <= 0; copysign's is 0 at a = 0."""
    ours, theirs = _both(getattr(rg, name), getattr(torch, name), np.array(a), np.array(b))
    for what, o, t in zip(["value", "grad a", "grad b"], ours, theirs):
        np.testing.assert_array_equal(o, t, err_msg=f"{name} {what}")
        np.testing.assert_array_equal(np.signbit(o[o == 0]), np.signbit(t[t == 0]), err_msg=f"{name} {what}: -0.0")


def test_nan_to_num_defaults_and_keywords_follow_the_dtype_and_block_the_gradient():
    special = [np.nan, np.inf, -np.inf, 1.5]
    for dtype in (np.float16, np.float32, np.float64):
        x = np.array(special, dtype)
        assert_parity(rg.nan_to_num, torch.nan_to_num, x, grad=False, rtol=0, atol=0)
        assert_parity(lambda t: rg.nan_to_num(t, nan=2.0, posinf=1.0, neginf=-3.0),
                      lambda t: torch.nan_to_num(t, nan=2.0, posinf=1.0, neginf=-3.0), x, grad=False)
    ours, theirs = _both(rg.nan_to_num, torch.nan_to_num, np.array(special))
    assert ours[1].tolist() == theirs[1].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert rg.nan_to_num(rg.tensor([1, 2])).dtype == rg.int64


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_unary_functions_at_the_edges_of_their_domains_match_torch():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 1e-300])
    for name in ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log10", "exp2",
                 "ceil", "trunc", "frac", "sgn", "deg2rad", "rad2deg"]:
        ours, theirs = _both(getattr(rg, name), getattr(torch, name), x)
        for what, o, t in zip(["value", "gradient"], ours, theirs):
            np.testing.assert_array_equal(np.isnan(o), np.isnan(t), err_msg=f"{name} {what}: NaN positions")
            np.testing.assert_allclose(o, t, rtol=1e-15, atol=0, err_msg=f"{name} {what}")


def test_the_float_tests_and_signbit_match_torch():
    x = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0])
    for name in ["isinf", "isposinf", "isneginf", "isreal", "signbit"]:
        for array in (x, x.astype(np.float32), np.array([1, -2, 0]), np.zeros((2, 0))):
            ours, theirs = getattr(rg, name)(rg.tensor(array)), getattr(torch, name)(torch.tensor(array))
            assert ours.dtype == rg.bool and ours.tolist() == theirs.tolist(), name
    assert not rg.isinf(rg.tensor([1.0], requires_grad=True)).requires_grad


# ----- dtypes --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args", [
    ("tan", ([1, 2],)), ("exp2", ([True, False],)), ("deg2rad", ([90],)), ("ceil", ([1, -2],)), ("trunc", ([3],)),
    ("sgn", ([-3, 0, 2],)), ("sgn", ([True, False],)), ("fmod", ([7, -7], [3, 3])), ("remainder", ([7, -7], [3, 3])),
    ("atan2", ([1, 2], [3, 4])), ("xlogy", ([1, 2], [3, 4])), ("float_power", ([2, 3], [2, 2])),
    ("copysign", ([2, 3], [-1, 1])), ("heaviside", ([-1, 0, 2], [5, 5, 5])), ("logical_and", ([1, 0], [2.0, 3.0])),
    ("logical_xor", ([True, False], [1, 1])), ("bitwise_and", ([12, 10], [10, 6])), ("bitwise_or", ([True], [False])),
    ("bitwise_xor", ([12, -3], [10, 6])), ("bitwise_not", ([5, -1],)), ("bitwise_not", ([True, False],)),
    ("bitwise_left_shift", ([1, -3, 1], [3, 2, 64])), ("bitwise_right_shift", ([-8, 8, -8], [1, 2, 70])),
    ("fmod", ([5.5, -5.5], [2, 2])), ("remainder", ([1, -2], [2.5, 2.5])),
], ids=lambda v: v if isinstance(v, str) else "")
def test_integer_and_bool_inputs_give_torchs_values_and_dtypes(name, args):
    ours = getattr(rg, name)(*[rg.tensor(a) for a in args])
    theirs = getattr(torch, name)(*[torch.tensor(a) for a in args])
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), name
    np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float), rtol=1e-6)


def test_number_operands_promote_as_in_torch():
    f32, ints = np.array([1.5, -2.5], np.float32), np.array([3, -4])
    for rg_fn, torch_fn in [(lambda t: rg.fmod(t, 2), lambda t: torch.fmod(t, 2)),
                            (lambda t: rg.remainder(t, -1.5), lambda t: torch.remainder(t, -1.5)),
                            (lambda t: rg.xlogy(2, t), lambda t: torch.xlogy(2, t)),
                            (lambda t: rg.copysign(t, -1), lambda t: torch.copysign(t, -1)),
                            (lambda t: rg.float_power(t, 0.5), lambda t: torch.float_power(t, 0.5)),
                            (lambda t: rg.bitwise_and(t, 6), lambda t: torch.bitwise_and(t, 6))]:
        for array in (f32, ints):
            try:
                theirs = torch_fn(torch.tensor(array))
            except (NotImplementedError, RuntimeError):
                continue
            ours = rg_fn(rg.tensor(array))
            assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_float_power_computes_in_double_and_casts_the_gradient_back():
    x = rg.tensor([1.5, 2.0], dtype=rg.float32, requires_grad=True)
    y = rg.float_power(x, 3)
    y.sum().backward()
    assert y.dtype == rg.float64 and x.grad.dtype == rg.float32
    np.testing.assert_allclose(x.grad.numpy(), [6.75, 12.0])


# ----- methods and in-place forms -----------------------------------------------------------------------
def test_methods_and_in_place_forms_agree_with_torch():
    x = np.array([0.3, -1.7, 2.2])
    for name in ["tan", "sinh", "atan", "ceil", "trunc", "frac", "exp2", "deg2rad", "sgn", "nan_to_num"]:
        ours, theirs = rg.tensor(x), torch.tensor(x)
        assert getattr(ours, name + "_")() is ours
        getattr(theirs, name + "_")()
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, err_msg=name)
    for name, other in [("fmod", 0.7), ("remainder", -0.7), ("lerp", None), ("copysign", -1.0), ("xlogy", 2.0)]:
        ours, theirs = rg.tensor(x), torch.tensor(x)
        args = (rg.tensor(x[::-1].copy()), 0.25) if name == "lerp" else (other,)
        targs = (torch.tensor(x[::-1].copy()), 0.25) if name == "lerp" else (other,)
        getattr(ours, name + "_")(*args)
        getattr(theirs, name + "_")(*targs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, err_msg=name)
        np.testing.assert_allclose(getattr(rg.tensor(x), name)(*args).numpy(), theirs.numpy(), rtol=1e-15)


def test_in_place_form_records_the_gradient_of_the_op():
    x = rg.tensor([0.3, -1.2], requires_grad=True)
    y = x * 1
    y.sinh_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cosh([0.3, -1.2]), rtol=1e-6)


# ----- errors --------------------------------------------------------------------------------------------
def _torch_error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001  (any of PyTorch's error types: compared below)
        return type(error), str(error)
    raise AssertionError("PyTorch accepted it")


@pytest.mark.parametrize("call", [
    lambda m, t: m.ceil(t([True])), lambda m, t: m.trunc(t([False])), lambda m, t: m.frac(t([1, 2])),
    lambda m, t: m.hypot(t([1, 2]), t([1, 2])), lambda m, t: m.logaddexp(t([1, 2]), t([1, 2])),
    lambda m, t: m.logaddexp2(t([True]), t([True])), lambda m, t: m.fmod(t([True]), t([True])),
    lambda m, t: m.bitwise_and(t([1.0]), t([1])), lambda m, t: m.bitwise_or(t([1]), 2.0),
    lambda m, t: m.bitwise_not(t([1.0])), lambda m, t: m.bitwise_left_shift(t([True]), t([True])),
    lambda m, t: m.lerp(t([1, 2]), t([1, 2]), 0.5), lambda m, t: m.lerp(t([1.0]), t([1.0], dtype=m.float64), 0.5),
    lambda m, t: m.lerp(t([1.0]), t([1.0]), t([0.5], dtype=m.float64)),
    lambda m, t: m.heaviside(t([1.0]), t([1])), lambda m, t: m.atan2(t([1.0]), 2.0),
    lambda m, t: m.hypot(1.0, t([1.0])), lambda m, t: m.logical_or(t([1.0]), 1),
    lambda m, t: m.heaviside(t([1.0]), 0.5),
], ids=["ceil-bool", "trunc-bool", "frac-int", "hypot-int", "logaddexp-int", "logaddexp2-bool", "fmod-bool",
        "bitwise-float", "bitwise-float-number", "bitwise_not-float", "shift-bool", "lerp-int", "lerp-end-dtype",
        "lerp-weight-dtype", "heaviside-dtypes", "atan2-number", "hypot-number", "logical-number",
        "heaviside-number"])
def test_bad_inputs_raise_torchs_error(call):
    error_type, message = _torch_error(lambda: call(torch, torch.tensor))
    with pytest.raises(error_type) as raised:
        call(rg, rg.tensor)
    assert str(raised.value) == message


def test_integer_division_by_zero_is_refused_as_in_torch():
    for name in ("fmod", "remainder"):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            getattr(torch, name)(torch.tensor([1, 2]), 0)
        with pytest.raises(RuntimeError, match=f"{name}: ZeroDivisionError"):
            getattr(rg, name)(rg.tensor([1, 2]), rg.tensor([1, 0]))


def test_heaviside_refuses_backward_as_torch_does():
    x = rg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = rg.heaviside(x, rg.tensor([0.5]))
    assert y.tolist() == [0.0, 0.5, 1.0] and y.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        y.sum().backward()


# ----- what the VJPs keep ------------------------------------------------------------------------------------
def _t(*values, grad=True):
    return rg.tensor(np.array(values), requires_grad=grad)


SAVED = [
    (unary_math.tan, lambda: unary_math.tan(_t(0.3))), (unary_math.asin, lambda: unary_math.asin(_t(0.3))),
    (unary_math.acos, lambda: unary_math.acos(_t(0.3))), (unary_math.atan, lambda: unary_math.atan(_t(0.3))),
    (unary_math.sinh, lambda: unary_math.sinh(_t(0.3))), (unary_math.cosh, lambda: unary_math.cosh(_t(0.3))),
    (unary_math.asinh, lambda: unary_math.asinh(_t(0.3))), (unary_math.acosh, lambda: unary_math.acosh(_t(1.3))),
    (unary_math.atanh, lambda: unary_math.atanh(_t(0.3))), (unary_math.log10, lambda: unary_math.log10(_t(0.3))),
    (unary_math.exp2, lambda: unary_math.exp2(_t(0.3))), (unary_math.deg2rad, lambda: unary_math.deg2rad(_t(0.3))),
    (unary_math.rad2deg, lambda: unary_math.rad2deg(_t(0.3))), (unary_math.ceil, lambda: unary_math.ceil(_t(0.3))),
    (unary_math.trunc, lambda: unary_math.trunc(_t(0.3))), (unary_math.frac, lambda: unary_math.frac(_t(0.3))),
    (unary_math.sgn, lambda: unary_math.sgn(_t(0.3))),
    (unary_math.nan_to_num, lambda: unary_math.nan_to_num(_t(0.3, np.inf))),
    (binary_math.fmod, lambda: binary_math.fmod(_t(0.3), _t(0.2))),
    (binary_math.remainder, lambda: binary_math.remainder(_t(0.3), _t(0.2))),
    (binary_math.atan2, lambda: binary_math.atan2(_t(0.3), _t(0.2))),
    (binary_math.hypot, lambda: binary_math.hypot(_t(0.3), _t(0.2))),
    (binary_math.logaddexp, lambda: binary_math.logaddexp(_t(0.3), _t(0.2))),
    (binary_math.logaddexp2, lambda: binary_math.logaddexp2(_t(0.3), _t(0.2))),
    (binary_math.xlogy, lambda: binary_math.xlogy(_t(0.3), _t(0.2))),
    (binary_math.lerp, lambda: binary_math.lerp(_t(0.3), _t(0.2), _t(0.7))),
    (binary_math.copysign, lambda: binary_math.copysign(_t(0.3), _t(-0.2))),
    (binary_math.heaviside, lambda: binary_math.heaviside(_t(0.3), _t(0.2))),
]


@pytest.mark.parametrize("op,build", SAVED, ids=[op.__name__ for op, _ in SAVED])
def test_each_vjp_keeps_exactly_what_its_docstring_saves(op, build):
    node = build().grad_fn
    assert node.op is op
    assert set(closure_arrays(node.backward_fn)) == saves_names(op)[0]


def test_fmod_keeps_nothing_when_only_the_dividend_needs_a_gradient():
    node = binary_math.fmod(_t(0.3, 1.7), _t(0.2, 0.5, grad=False)).grad_fn
    assert closure_arrays(node.backward_fn) == {}
    node = binary_math.lerp(_t(0.3), _t(0.2), _t(0.7, grad=False)).grad_fn
    assert set(closure_arrays(node.backward_fn)) == {"weight_val"}


# ----- operators -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", [
    lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b, lambda a, b: a & True, lambda a, b: 3 | b,
    lambda a, b: False ^ a, lambda a, b: a % b, lambda a, b: a % 3, lambda a, b: 7 % b, lambda a, b: a << 2,
    lambda a, b: b >> 1,
], ids=["and", "or", "xor", "and-bool", "ror", "rxor", "mod", "mod-number", "rmod", "lshift", "rshift"])
def test_bitwise_and_remainder_operators_match_torch(op):
    for a, b in [([True, False, True], [True, True, False]), ([12, -7, 5], [10, 3, -2])]:
        try:
            theirs = op(torch.tensor(a), torch.tensor(b))
        except (RuntimeError, NotImplementedError) as error:  # % of bools, shifts of bools: refused alike
            with pytest.raises(type(error)):
                op(rg.tensor(a), rg.tensor(b))
            continue
        ours = op(rg.tensor(a), rg.tensor(b))
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_in_place_operators_and_float_modulo_gradient():
    mask = rg.tensor([True, False, True])
    mask &= rg.tensor([True, True, False])
    mask |= rg.tensor([False, True, False])
    mask ^= rg.tensor([True, False, False])
    assert mask.tolist() == [False, True, False]
    counts = rg.tensor([5, -5])
    counts %= 3
    assert counts.tolist() == [2, 1]
    assert_parity(lambda a, b: a % b, lambda a, b: a % b, np.array([5.5, -5.5, 2.0]), np.array([3.0, 3.0, -1.5]))
    with pytest.raises(NotImplementedError, match="\"bitwise_and_cpu\" not implemented for 'Float'"):
        rg.tensor([1.0]) & rg.tensor([1.0])
