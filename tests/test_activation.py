"""Activation ops: gradcheck in float64, PyTorch parity (float64 and float32), kinks, stability, dtypes, errors.

One table drives the gradient and parity tests: each row names the op (with its hyper-parameters),
the kink points random samples must stay away from (central differences are meaningless there) and
the scale of the random inputs. The kinks themselves are tested exactly, against PyTorch's choice,
in `test_kinks_match_pytorch`.
"""
import math
import warnings
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_parity, numerical_check
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import retrograd as rg
from retrograd.ops import activation as A
from retrograd.nn import functional as F_rg


def case(op, kinks=(), scale=2, **kwargs):
    """A table row: the op (PyTorch's name) with its hyper-parameters, on retrograd and on PyTorch."""
    torch_op = getattr(torch, op) if op in ("sigmoid", "tanh", "clamp") else getattr(F, op)
    label = op + (f"({', '.join(f'{k}={v}' for k, v in kwargs.items())})" if kwargs else "")
    return pytest.param(partial(getattr(A, op), **kwargs), partial(torch_op, **kwargs), kinks, scale, id=label)


CASES = [
    #    op            kinks             scale  hyper-parameters
    case("sigmoid",    (),               4),
    case("tanh",       (),               2),
    case("relu",       (0.0,),           2),
    case("leaky_relu", (0.0,),           2),
    case("leaky_relu", (0.0,),           2,     negative_slope=0.2),
    case("leaky_relu", (0.0,),           2,     negative_slope=-0.5),
    case("elu",        (0.0,),           2),
    case("elu",        (0.0,),           2,     alpha=0.5),
    case("elu",        (0.0,),           2,     alpha=-0.5),
    case("gelu",       (),               3),
    case("gelu",       (),               3,     approximate="tanh"),
    case("softplus",   (20.0,),          3),
    case("softplus",   (0.5,),           2,     beta=2, threshold=1),
    case("silu",       (),               3),
    case("relu6",      (0.0, 6.0),       4),
    case("hardtanh",   (-1.0, 1.0),      2),
    case("hardtanh",   (-0.5, 2.0),      2,     min_val=-0.5, max_val=2.0),
    case("logsigmoid", (),               4),
    case("clamp",      (-0.5, 0.7),      1,     min=-0.5, max=0.7),
    case("clamp",      (0.2,),           1,     min=0.2),
    case("clamp",      (-0.3,),          1,     max=-0.3),
    case("softmax",    (),               3,     dim=-1),
    case("softmax",    (),               3,     dim=0),
    case("log_softmax", (),              3,     dim=-1),
    case("log_softmax", (),              3,     dim=0),
    case("softmin",    (),               3,     dim=-1),
    case("threshold",  (0.5,),           2,     threshold=0.5, value=-1.0),
    case("threshold",  (0.0,),           2,     threshold=0.0, value=0.0),
]
SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
SEEDS = st.integers(0, 2**32 - 1)


def sample(shape, seed, scale, kinks, dtype=np.float64, gap=0.05):
    """Random inputs, pushed at least `gap` away from every kink (central differences need a smooth neighbourhood)."""
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, k + np.where(x >= k, gap, -gap), x)
    return np.asarray(x, dtype=dtype)  # 0-dim stays an array, not a NumPy scalar


@pytest.mark.parametrize("rg_fn, torch_fn, kinks, scale", CASES)
@given(shape=SHAPES, seed=SEEDS)
def test_gradient_matches_central_differences(rg_fn, torch_fn, kinks, scale, shape, seed):
    numerical_check(rg_fn, sample(shape, seed, scale, kinks))


@pytest.mark.parametrize("rg_fn, torch_fn, kinks, scale", CASES)
@given(shape=SHAPES, seed=SEEDS)
def test_parity_float64(rg_fn, torch_fn, kinks, scale, shape, seed):
    assert_parity(rg_fn, torch_fn, sample(shape, seed, scale, kinks), rtol=1e-10, atol=1e-12, seed=seed)


@pytest.mark.parametrize("rg_fn, torch_fn, kinks, scale", CASES)
def test_parity_float32_keeps_dtype(rg_fn, torch_fn, kinks, scale):
    x = sample((5, 7), 7, scale, kinks, dtype=np.float32)
    assert_parity(rg_fn, torch_fn, x, rtol=1e-5, atol=1e-6)  # also asserts the output is float32
    leaf = rg.tensor(x, requires_grad=True)
    (rg_fn(leaf) * rg.tensor(np.ones_like(x))).sum().backward()
    assert leaf.grad.dtype == np.float32


@pytest.mark.parametrize("rg_fn, torch_fn, kinks, scale", CASES)
def test_kinks_match_pytorch(rg_fn, torch_fn, kinks, scale):
    """Exactly at each kink and one ulp either side, forward and gradient equal PyTorch's."""
    points = [0.0, -0.0, 1.0]
    for k in kinks:
        points += [k, np.nextafter(k, -np.inf), np.nextafter(k, np.inf)]
    x = np.array(points)
    assert_parity(rg_fn, torch_fn, x, rtol=1e-10, atol=1e-12)
    assert_parity(rg_fn, torch_fn, x.astype(np.float32), rtol=1e-5, atol=1e-6)


# NaN and +-inf extend the kink table of every row: there the conventions (which side of a test NaN falls
# on) decide the gradient, and PyTorch's answer is matched bit for bit, NaN for NaN
SPECIAL_POINTS = np.array([math.nan, math.inf, -math.inf, 0.0, 1.0])
SPECIAL_ROWS = np.array([[math.nan, 1.0, 2.0], [math.inf, 1.0, 2.0], [-math.inf, 1.0, 2.0], [math.inf, math.inf, 1.0],
                         [-math.inf, -math.inf, -math.inf], [math.inf, -math.inf, 0.0], [0.5, 1.0, 2.0]])


def value_and_grad(fn, x, dout):
    """fn(x) and d(sum(fn(x) * dout))/dx as arrays, for a retrograd or a PyTorch fn."""
    if fn.func.__module__.startswith("retrograd"):
        leaf = rg.tensor(x, requires_grad=True)
        out = fn(leaf)
        (out * rg.tensor(dout)).sum().backward()
        return out.array, leaf.grad.array
    leaf = torch.tensor(x, requires_grad=True)
    out = fn(leaf)
    (out * torch.tensor(dout)).sum().backward()
    return out.detach().numpy(), leaf.grad.numpy()


def assert_same_special_values(ours, theirs, rtol, what=""):
    """NaN where PyTorch has NaN, and the same infinities and zeros exactly; finite values within rtol."""
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{what}: NaN positions differ")
    exact = ~np.isfinite(theirs) | (theirs == 0)
    np.testing.assert_array_equal(ours[exact], theirs[exact], err_msg=f"{what}: special values differ")
    np.testing.assert_allclose(ours[~exact], theirs[~exact], rtol=rtol, atol=0, err_msg=what)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 'invalid value' on inf - inf, as intended
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rg_fn, torch_fn, kinks, scale", CASES)
def test_nan_and_inf_match_pytorch(rg_fn, torch_fn, kinks, scale, dtype):
    """Forward and gradient at NaN and +-inf equal PyTorch's exactly, NaN positions included.

    Elementwise ops: each point goes to PyTorch on its own, through its scalar kernel. PyTorch's vectorised
    CPU kernels disagree with its scalar ones (and with themselves, depending on where in the tensor a value
    sits): hardtanh and relu6 give 0 at NaN instead of g, elu gives NaN instead of g, gelu(inf) in float32
    gives NaN instead of inf. retrograd follows the scalar definition, which matches PyTorch on every
    tensor shorter than one vector and everywhere for relu, clamp and the smooth activations.
    Softmax family: rows holding NaN and infinities, as whole tensors."""
    if "dim" in rg_fn.keywords:
        x = SPECIAL_ROWS.astype(dtype)
        dout = np.linspace(0.5, 1.5, x.size).reshape(x.shape).astype(dtype)
        expected = value_and_grad(torch_fn, x, dout)
    else:
        x = SPECIAL_POINTS.astype(dtype)
        dout = np.linspace(0.5, 1.5, x.size).astype(dtype)
        per_point = [value_and_grad(torch_fn, x[i:i + 1], dout[i:i + 1]) for i in range(x.size)]
        expected = [np.concatenate(parts) for parts in zip(*per_point)]
    ours = value_and_grad(rg_fn, x, dout)
    rtol = 1e-12 if dtype == np.float64 else 1e-5  # float32 softmax gradients cancel: a few ulp apart
    for what, mine, theirs in zip(("forward", "gradient"), ours, expected):
        assert mine.dtype == dtype
        assert_same_special_values(mine, theirs, rtol, what)


@pytest.mark.parametrize("fn, torch_fn, expected", [
    (A.relu, F.relu, 0.5), (A.relu6, F.relu6, 0.5), (A.hardtanh, F.hardtanh, 0.5), (A.elu, F.elu, 0.5),
    (partial(A.leaky_relu, negative_slope=0.25), partial(F.leaky_relu, negative_slope=0.25), 0.125),
    (partial(A.clamp, min=-1.0, max=1.0), partial(torch.clamp, min=-1.0, max=1.0), 0.0),
], ids=["relu", "relu6", "hardtanh", "elu", "leaky_relu", "clamp"])
def test_gradient_at_nan_is_pytorchs_choice(fn, torch_fn, expected):
    """The reported cases: relu, hardtanh, relu6, elu and leaky_relu pass g at NaN ('x <= 0' and its kin
    are false there); clamp blocks it ('min <= x <= max' is false)."""
    x = rg.tensor([math.nan], requires_grad=True)
    fn(x).backward(rg.tensor([0.5]))
    torch_x = torch.tensor([math.nan], requires_grad=True)
    torch_fn(torch_x).backward(torch.tensor([0.5]))
    assert x.grad.item() == torch_x.grad.item() == expected


def grad_at(fn, value):
    x = rg.tensor(np.array([value]), requires_grad=True)
    fn(x).sum().backward()
    return x.grad.item()


@pytest.mark.parametrize("fn, value, expected", [
    (A.relu, 0.0, 0.0),                                       # relu'(0) = 0
    (lambda x: A.leaky_relu(x, 0.2), 0.0, 0.2),               # x > 0 test: 0 takes the negative slope
    (lambda x: A.elu(x, alpha=2.0), 0.0, 2.0),                # 0 is on the exponential side: alpha * e^0
    (A.relu6, 0.0, 0.0), (A.relu6, 6.0, 0.0),                 # hardtanh: 0 at both bounds
    (A.hardtanh, -1.0, 0.0), (A.hardtanh, 1.0, 0.0),
    (lambda x: A.clamp(x, -1.0, 1.0), -1.0, 1.0),             # clamp: 1 at both bounds
    (lambda x: A.clamp(x, -1.0, 1.0), 1.0, 1.0),
    (lambda x: A.clamp(x, min=0.0), 0.0, 1.0),                # ... so clamp(min=0) and relu differ at 0
    (lambda x: A.clamp(x, 3.0, 1.0), 2.0, 0.0),               # min > max: y = max, no gradient to x
    (A.softplus, 20.0, 1 / (1 + math.exp(-20.0))),            # at the threshold: still the log form
    (A.softplus, np.nextafter(20.0, np.inf), 1.0),            # above it: the identity
])
def test_documented_subgradients(fn, value, expected):
    assert grad_at(fn, value) == pytest.approx(expected, rel=1e-12, abs=0)


# ----- softmax family ---------------------------------------------------------------
@pytest.mark.parametrize("rg_fn, torch_fn", [(A.softmax, F.softmax), (A.log_softmax, F.log_softmax),
                                             (A.softmin, F.softmin)], ids=["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_large_inputs_stay_finite(rg_fn, torch_fn, dtype):
    x = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1000.0]], dtype=dtype)
    out = assert_parity(lambda t: rg_fn(t, dim=1), lambda t: torch_fn(t, dim=1), x, rtol=1e-5, atol=1e-6)[0]
    assert np.all(np.isfinite(out.array))
    leaf = rg.tensor(x, requires_grad=True)
    (rg_fn(leaf, dim=1) * rg.tensor(np.arange(9.0, dtype=dtype).reshape(3, 3))).sum().backward()
    assert np.all(np.isfinite(leaf.grad.array))


@pytest.mark.parametrize("rg_fn, torch_fn", [(A.softmax, F.softmax), (A.log_softmax, F.log_softmax)],
                         ids=["softmax", "log_softmax"])
def test_softmax_equal_values_and_minus_inf(rg_fn, torch_fn):
    equal = np.full((2, 4), 1.5)
    out = assert_parity(lambda t: rg_fn(t, -1), lambda t: torch_fn(t, -1), equal, rtol=1e-12, atol=1e-14)[0]
    expected = 0.25 if rg_fn is A.softmax else math.log(0.25)
    np.testing.assert_allclose(out.array, expected, rtol=1e-15)
    masked = np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, -np.inf]])
    assert_parity(lambda t: rg_fn(t, -1), lambda t: torch_fn(t, -1), masked, grad=False)


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("rg_fn, torch_fn", [(A.softmax, F.softmax), (A.log_softmax, F.log_softmax),
                                             (A.softmin, F.softmin)], ids=["softmax", "log_softmax", "softmin"])
def test_implicit_dim_follows_pytorch_without_warning(rg_fn, torch_fn, ndim):
    """dim=None: PyTorch's legacy rule (0 for 0-, 1-, 3-d input, else 1), but no deprecation warning."""
    x = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim])

    def torch_implicit(t):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch_fn(t, dim=None)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_parity(lambda t: rg_fn(t), torch_implicit, x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rg_fn, torch_fn", [(A.softmax, F.softmax), (A.log_softmax, F.log_softmax)],
                         ids=["softmax", "log_softmax"])
def test_softmax_dtype_argument(rg_fn, torch_fn):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    out = assert_parity(lambda t: rg_fn(t, 1, dtype=rg.float64), lambda t: torch_fn(t, 1, dtype=torch.float64),
                        x, rtol=1e-6, atol=1e-7)[0]
    assert out.dtype == np.float64
    assert incoming_grad_dtype(lambda h: rg_fn(h, 1, dtype=rg.float64), x) == np.float32


def incoming_grad_dtype(fn, x):
    """The dtype of the gradient an op sends to a non-leaf input (leaves would cast it silently)."""
    seen = []
    hidden = rg.tensor(x, requires_grad=True) * 1
    hidden.register_hook(lambda grad: seen.append(grad.dtype))
    fn(hidden).sum().backward()
    return seen[0]


def test_softmax_method_and_rows_sum_to_one():
    x = rg.tensor(np.random.default_rng(1).standard_normal((4, 6)))
    np.testing.assert_allclose(x.softmax(-1).array.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax(-1).array, np.log(x.softmax(-1).array), rtol=1e-12)


def _softmax_written_out(x, g, dim):
    """softmax's and log_softmax's equations as written, one NumPy expression each: ((y, dL/dx), (y, dL/dx))."""
    shifted = x - np.max(x, axis=dim, keepdims=True)
    y = np.exp(shifted) / np.sum(np.exp(shifted), axis=dim, keepdims=True)
    log_y = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
    return ((y, g * y - y * np.sum(g * y, axis=dim, keepdims=True)),
            (log_y, g - np.exp(log_y) * np.sum(g, axis=dim, keepdims=True)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,dim", [((5, 7), -1), ((5, 7), 0), ((2, 3, 300), -1), ((1, 1), -1), ((), 0)])
def test_softmax_numpy_code_gives_the_written_out_equations_bits(shape, dim, dtype):
    """softmax and log_softmax evaluate their equations with fewer arrays (exp in place, the gradient in one
    array): the same operations in the same order, so the same bits as the expressions written out."""
    local = np.random.default_rng(sum(shape) + dim)
    x, g = (3 * local.standard_normal((2,) + shape)).astype(dtype)
    for op, (y_expected, dx_expected) in zip((A.softmax, A.log_softmax), _softmax_written_out(x, g, dim)):
        leaf = rg.from_numpy(x.copy()).requires_grad_(True)
        y = op(leaf, dim)
        y.backward(rg.from_numpy(g))
        bits = f"u{np.dtype(dtype).itemsize}"
        np.testing.assert_array_equal(y.detach().numpy().view(bits), np.asarray(y_expected).view(bits))
        np.testing.assert_array_equal(leaf.grad.numpy().view(bits), np.asarray(dx_expected).view(bits))


# ----- clamp with tensor bounds -----------------------------------------------------------
def test_clamp_tensor_bounds_broadcast_match_pytorch():
    rng = np.random.default_rng(3)
    x, lo, hi = rng.standard_normal((3, 4)), rng.standard_normal(4) - 0.5, rng.standard_normal((3, 1)) + 0.5
    out = assert_parity(lambda a, b, c: A.clamp(a, b, c), lambda a, b, c: torch.clamp(a, b, c), x, lo, hi)
    assert out[0].shape == (3, 4)
    assert_parity(lambda a, b: A.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b), x, lo)
    assert_parity(lambda a, c: A.clamp(a, max=c), lambda a, c: torch.clamp(a, max=c), x, hi)
    # the output broadcasts to the bounds' shape too, as in PyTorch
    assert_parity(lambda a, b: A.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b), x[0], lo.reshape(1, 4) + hi)


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), seed=SEEDS)
def test_clamp_tensor_bounds_gradcheck(shape, seed):
    rng = np.random.default_rng(seed)
    lo_shape = tuple(n if keep else 1 for n, keep in zip(shape, rng.integers(0, 2, len(shape))))[1:]
    hi_shape = tuple(n if keep else 1 for n, keep in zip(shape, rng.integers(0, 2, len(shape))))
    x = rng.standard_normal(shape)
    lo = np.asarray(rng.standard_normal(lo_shape) - 0.3)  # 0-dim when lo_shape is ()
    hi = rng.standard_normal(hi_shape) + 0.3
    numerical_check(lambda a, b, c: A.clamp(a, b, c), x, lo, hi)
    assert_parity(lambda a, b, c: A.clamp(a, b, c), lambda a, b, c: torch.clamp(a, b, c), x, lo, hi,
                  rtol=1e-12, atol=1e-14)


def test_clamp_tensor_bounds_ties_and_crossed_bounds_match_pytorch():
    """x on a bound, min == max, and min > max: who gets the gradient is PyTorch's choice exactly."""
    x = np.array([-1.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.5])
    lo = np.array([-1.0, 0.5, 1.0, 3.0, 1.0, 1.0, 1.0, 0.5])
    hi = np.array([0.0, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0, 0.5])
    assert_parity(lambda a, b, c: A.clamp(a, b, c), lambda a, b, c: torch.clamp(a, b, c), x, lo, hi)
    assert_parity(lambda a, b: A.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b), x, lo)
    assert_parity(lambda a, c: A.clamp(a, max=c), lambda a, c: torch.clamp(a, max=c), x, hi)


def test_clamp_dtypes_follow_pytorch():
    ints = np.array([1, 5, -3])
    assert A.clamp(rg.tensor(ints), min=2.5).dtype == np.float32
    assert A.clamp(rg.tensor(ints), min=2, max=4).dtype == np.int64
    assert A.clamp(rg.tensor(ints), max=np.int64(2)).dtype == np.int64
    floats = rg.tensor([0.5, 3.0], dtype=rg.float32)
    assert A.clamp(floats, min=np.float64(1.0)).dtype == np.float32       # a NumPy scalar acts as a number
    assert A.clamp(floats, min=rg.tensor(1.0, dtype=rg.float64)).dtype == np.float32  # 0-dim: like a number
    leaf = rg.tensor([0.5, 3.0], dtype=rg.float32, requires_grad=True)
    bound = rg.tensor([1.0, 1.0], dtype=rg.float64, requires_grad=True)
    out = A.clamp(leaf, min=bound)
    assert out.dtype == np.float64
    out.sum().backward()
    assert leaf.grad.dtype == np.float32 and bound.grad.dtype == np.float64
    np.testing.assert_array_equal(leaf.grad.array, [0, 1])
    np.testing.assert_array_equal(bound.grad.array, [1, 0])
    assert incoming_grad_dtype(lambda h: A.clamp(h, min=bound), np.array([0.5, 3.0], np.float32)) == np.float32


def test_clamp_method_and_inplace():
    x = rg.tensor([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(x.clamp(min=-1, max=1).array, [-1, 0.5, 1])
    x.clamp_(max=0.0)
    np.testing.assert_array_equal(x.array, [-2, 0, 0])


# ----- dtypes, inplace, errors ---------------------------------------------------------------
def test_integer_inputs_follow_pytorch():
    ints = np.array([1, -2, 7])
    for rg_fn, torch_fn in [(A.sigmoid, torch.sigmoid), (A.tanh, torch.tanh)]:
        out = rg_fn(rg.tensor(ints))
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.array, torch_fn(torch.from_numpy(ints)).numpy(), rtol=1e-6)
    for rg_fn, torch_fn in [(A.relu, F.relu), (A.relu6, F.relu6), (lambda t: A.hardtanh(t, -1.0, 3.0),
                                                                    lambda t: F.hardtanh(t, -1.0, 3.0))]:
        out = rg_fn(rg.tensor(ints))
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.array, torch_fn(torch.from_numpy(ints)).numpy())


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "gelu", "softplus", "silu", "logsigmoid", "softmax",
                                  "log_softmax", "softmin"])
def test_integer_input_rejected_like_pytorch(name):
    with pytest.raises(TypeError, match=f"^{name}: expected a floating-point tensor, got int64"):
        getattr(A, name)(rg.tensor([1, 2]))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: A.clamp(x), ValueError, "clamp: at least one of 'min' or 'max'"),
    (lambda x: A.clamp(x, rg.tensor([0.0, 1.0, 2.0]), rg.tensor([1.0, 2.0])), ValueError,
     r"clamp: shapes cannot be broadcast together: input \(2,\), min \(3,\), max \(2,\)"),
    (lambda x: A.hardtanh(x, 2.0, 1.0), ValueError, "hardtanh: max_val"),
    (lambda x: A.gelu(x, approximate="erf"), ValueError, "gelu: approximate must be 'none' or 'tanh'"),
    (lambda x: A.softmax(x, dim=2), IndexError, "softmax: dimension out of range"),
    (lambda x: A.log_softmax(x, dim=(0, 1)), TypeError, "log_softmax: dim must be an int"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call(rg.tensor([0.5, -0.5]))


@pytest.mark.parametrize("rg_fn, torch_fn", [
    (lambda x: A.relu(x, inplace=True), lambda x: F.relu(x, inplace=True)),
    (lambda x: A.leaky_relu(x, 0.1, inplace=True), lambda x: F.leaky_relu(x, 0.1, inplace=True)),
    (lambda x: A.elu(x, inplace=True), lambda x: F.elu(x, inplace=True)),
    (lambda x: A.relu6(x, inplace=True), lambda x: F.relu6(x, inplace=True)),
    (lambda x: A.hardtanh(x, inplace=True), lambda x: F.hardtanh(x, inplace=True)),
    (lambda x: A.silu(x, inplace=True), lambda x: F.silu(x, inplace=True)),
], ids=["relu", "leaky_relu", "elu", "relu6", "hardtanh", "silu"])
def test_inplace_writes_into_the_input(rg_fn, torch_fn):
    x = sample((2, 5), 4, 3, (0.0, -1.0, 1.0, 6.0))
    assert_parity(lambda t: rg_fn(t * 2), lambda t: torch_fn(t * 2), x)  # in place on a non-leaf, like PyTorch
    hidden = rg.tensor(x) * 2
    assert rg_fn(hidden) is hidden
    with pytest.raises(RuntimeError, match="leaf Variable"):
        rg_fn(rg.tensor(x, requires_grad=True))


# ----- erf (gelu's exact form) -------------------------------------------------------------------
def test_erf_numpy_fallback_matches_math_erf():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 5e-324, 1e-300, 1e-8, 2.0, np.nextafter(2.0, 0), 30.0]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(A._erf_numpy(x), expected, rtol=1e-15, atol=0)
    assert np.signbit(A._erf_numpy(np.array([-0.0]))[0])
    np.testing.assert_array_equal(A._erf_numpy(np.array([np.inf, -np.inf])), [1.0, -1.0])
    assert np.isnan(A._erf_numpy(np.array([np.nan]))[0])
    single = A._erf_numpy(x.astype(np.float32))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=2e-6, atol=1e-7)
    assert A._erf_numpy(np.float64(0.5)) == pytest.approx(math.erf(0.5), rel=1e-15)


def test_gelu_with_the_numpy_erf_matches_pytorch(monkeypatch):
    monkeypatch.setattr(A, "_erf_impl", A._erf_numpy)
    x = sample((4, 6), 5, 4, ())
    assert_parity(A.gelu, F.gelu, x, rtol=1e-10, atol=1e-12)
    assert_parity(A.gelu, F.gelu, x.astype(np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ours,theirs", [
    (rg.relu, torch.relu),
    (lambda x: rg.nn.functional.hardtanh(x), lambda x: torch.nn.functional.hardtanh(x)),
    (lambda x: rg.clamp(x, min=0.0), lambda x: torch.clamp(x, min=0.0)),
    (lambda x: rg.clamp(x, max=0.0), lambda x: torch.clamp(x, max=0.0)),
    (lambda x: rg.clamp(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5)),
])
def test_blocked_entries_stay_zero_under_non_finite_upstream_gradients(ours, theirs):
    """An inf or NaN arriving at an entry the op blocks gives 0 there, not inf * 0 = NaN (PyTorch's result);
    at an entry the op passes, it passes."""
    x = np.array([-2.0, -0.25, 0.25, 2.0, -3.0, 3.0])
    grad = np.array([np.inf, -np.inf, np.nan, np.inf, np.nan, 1.0])
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(xr).backward(rg.tensor(grad))
    theirs(xt).backward(torch.tensor(grad))
    np.testing.assert_array_equal(xr.grad.array, xt.grad.numpy())


SIGNED_ZERO_CASES = {  # each keeps x where x equals its bound (-0.0 == 0), as PyTorch's clamp_min/clamp_max do
    "relu": (lambda x: rg.relu(x), torch.relu),
    "relu_ on a non-leaf": (lambda x: rg.relu(x * 1.0, inplace=True), lambda x: torch.relu_(x * 1.0)),
    "nn.ReLU": (lambda x: rg.nn.ReLU()(x), lambda x: torch.nn.ReLU()(x)),
    "clamp(min=0)": (lambda x: rg.clamp(x, min=0.0), lambda x: torch.clamp(x, min=0.0)),
    "clamp(min=-0.0)": (lambda x: rg.clamp(x, min=-0.0), lambda x: torch.clamp(x, min=-0.0)),
    "clamp(max=0)": (lambda x: rg.clamp(x, max=0.0), lambda x: torch.clamp(x, max=0.0)),
    "clamp(max=-0.0)": (lambda x: rg.clamp(x, max=-0.0), lambda x: torch.clamp(x, max=-0.0)),
    "clamp(0, 1)": (lambda x: rg.clamp(x, 0.0, 1.0), lambda x: torch.clamp(x, 0.0, 1.0)),
    "clamp(min=tensor 0)": (lambda x: rg.clamp(x, min=rg.zeros(5, dtype=x.dtype)),
                            lambda x: torch.clamp(x, min=torch.zeros(5, dtype=x.dtype))),
    "clamp(max=tensor -0.0)": (lambda x: rg.clamp(x, max=rg.full((5,), -0.0, dtype=x.dtype)),
                               lambda x: torch.clamp(x, max=torch.full((5,), -0.0, dtype=x.dtype))),
    "relu6": (lambda x: rg.nn.functional.relu6(x), F.relu6),
    "hardtanh(0, 1)": (lambda x: rg.nn.functional.hardtanh(x, 0.0, 1.0), lambda x: F.hardtanh(x, 0.0, 1.0)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(SIGNED_ZERO_CASES))
def test_signed_zeros_match_pytorch_bit_for_bit(name, dtype):
    """The outputs' bits, -0.0 included (-0.0 == 0 hides a sign that 1/y or copysign later reveals: relu(-0.0) is
    -0.0 in PyTorch and was +0.0 here), and the gradients' bits: a blocked negative g gives +0.0, as PyTorch's
    select writes it (it was -0.0 here while pass_where multiplied by the mask)."""
    rg_fn, torch_fn = SIGNED_ZERO_CASES[name]
    x = np.array([-0.0, 0.0, -1.0, 2.0, np.nan], dtype)
    grad = np.array([-3.0, 3.0, -2.0, 4.0, 5.0], dtype)
    leaf, torch_leaf = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, torch_y = rg_fn(leaf), torch_fn(torch_leaf)
    (y * rg.tensor(grad)).sum().backward()
    (torch_y * torch.tensor(grad)).sum().backward()
    bits = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(y.array.view(bits), torch_y.detach().numpy().view(bits))
    np.testing.assert_array_equal(leaf.grad.array.view(bits), torch_leaf.grad.numpy().view(bits))


def test_threshold_layer_and_in_place_match_pytorch():
    x = np.array([[1.0, -1.0, 0.1], [np.nan, 0.5, -0.0]])
    layer, torch_layer = rg.nn.Threshold(0.1, 20.0), torch.nn.Threshold(0.1, 20.0)
    assert repr(layer) == repr(torch_layer) == "Threshold(threshold=0.1, value=20.0)"
    assert_parity(layer, torch_layer, x, rtol=0, atol=0)
    leaf, torch_leaf = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = F_rg.threshold(leaf * 2.0, 0.1, 20.0, inplace=True)  # in place on a non-leaf, as torch's threshold_
    torch_y = torch.nn.Threshold(0.1, 20.0, inplace=True)(torch_leaf * 2.0)
    (y * y).sum().backward()
    (torch_y * torch_y).sum().backward()
    np.testing.assert_array_equal(y.array, torch_y.detach().numpy())
    np.testing.assert_array_equal(leaf.grad.array, torch_leaf.grad.numpy())
    with pytest.raises(NotImplementedError, match="threshold: not implemented for .Bool."):
        F_rg.threshold(rg.tensor([True]), 0.5, 1.0)
