"""Reductions: PyTorch parity (forward + backward) and central-difference checks from one spec table,
plus the ties, zeros and kinks where the conventions matter, dtypes and error messages."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import retrograd as rg
from helpers import assert_parity, numerical_check
from retrograd.ops import reduce as R

INF = math.inf


def _all_dims(lib, dim, ndim):
    """torch's amax/logsumexp have no dim=None: spell 'all dims' as a tuple (dim 0 for a 0-d input)."""
    if lib is torch and dim is None:
        return tuple(range(ndim)) if ndim else 0
    return dim


def _mod(lib):
    return R if lib is rg else torch


# name -> (fn(lib, x, dim, keepdim), which dims it takes: "any" = int/tuple/None, "int" = int or None)
OPS = {
    "sum": (lambda m, x, d, k: _mod(m).sum(x, dim=d, keepdim=k), "any"),
    "mean": (lambda m, x, d, k: _mod(m).mean(x, dim=d, keepdim=k), "any"),
    "var": (lambda m, x, d, k: _mod(m).var(x, dim=d, keepdim=k), "any"),
    "std": (lambda m, x, d, k: _mod(m).std(x, dim=d, keepdim=k), "any"),
    "var_c0": (lambda m, x, d, k: _mod(m).var(x, dim=d, keepdim=k, correction=0), "any"),
    "std_unbiased_false": (lambda m, x, d, k: _mod(m).std(x, d, False, k), "any"),
    "amax": (lambda m, x, d, k: _mod(m).amax(x, dim=_all_dims(m, d, x.ndim), keepdim=k), "any"),
    "amin": (lambda m, x, d, k: _mod(m).amin(x, dim=_all_dims(m, d, x.ndim), keepdim=k), "any"),
    "logsumexp": (lambda m, x, d, k: _mod(m).logsumexp(x, _all_dims(m, d, x.ndim), keepdim=k), "any"),
    "norm2": (lambda m, x, d, k: _mod(m).norm(x, p=2, dim=d, keepdim=k), "any"),
    "norm_fro": (lambda m, x, d, k: _mod(m).norm(x, dim=d, keepdim=k), "any"),
    "norm1": (lambda m, x, d, k: _mod(m).norm(x, p=1, dim=d, keepdim=k), "any"),
    "norm_inf": (lambda m, x, d, k: _mod(m).norm(x, p=INF, dim=d, keepdim=k), "any"),
    "norm_neg_inf": (lambda m, x, d, k: _mod(m).norm(x, p=-INF, dim=d, keepdim=k), "any"),
    "norm3": (lambda m, x, d, k: _mod(m).norm(x, p=3, dim=d, keepdim=k), "any"),
    "norm1.5": (lambda m, x, d, k: _mod(m).norm(x, p=1.5, dim=d, keepdim=k), "any"),
    "norm0.5": (lambda m, x, d, k: _mod(m).norm(x, p=0.5, dim=d, keepdim=k), "any"),
    "prod": (lambda m, x, d, k: _mod(m).prod(x) if d is None else _mod(m).prod(x, d, keepdim=k), "int"),
    "max": (lambda m, x, d, k: _mod(m).max(x) if d is None else _mod(m).max(x, d, keepdim=k), "int"),
    "min": (lambda m, x, d, k: _mod(m).min(x) if d is None else _mod(m).min(x, dim=d, keepdim=k), "int"),
    "cumsum": (lambda m, x, d, k: _mod(m).cumsum(x, -1 if d is None else d), "int"),
}
NO_GRAD_OPS = {
    "argmax": lambda m, x, d, k: _mod(m).argmax(x, dim=d, keepdim=k),
    "argmin": lambda m, x, d, k: _mod(m).argmin(x, dim=d, keepdim=k),
}

# (shape, dim, keepdim): 0-d, 1-d, negative dims, tuples (unordered), dim=None, dim=() (= all dims)
CASES = [
    ((), None, False), ((), 0, False), ((), -1, True),
    ((5,), None, False), ((5,), 0, True), ((5,), -1, False),
    ((3, 4), None, True), ((3, 4), 1, False), ((3, 4), -2, True), ((3, 4), (0, 1), False), ((3, 4), (), False),
    ((2, 3, 4), 1, False), ((2, 3, 4), (0, 2), True), ((2, 3, 4), (-1, 0), False), ((2, 3, 4), -3, True),
]


def _supported(kind, dim):
    return kind == "any" or dim is None or isinstance(dim, int)


def _reduced_count(shape, dim):
    if dim is None or dim == () or not shape:
        return math.prod(shape)
    dims = (dim,) if isinstance(dim, int) else dim
    return math.prod(shape[d] for d in dims)


# torch 2.13 differs from itself at dim=(): var/std's forward reduces all dims but their backward
# reduces none (n = 1), and logsumexp refuses it. There retrograd is checked numerically only.
TORCH_DIM_EMPTY_BUGS = {"var", "std", "var_c0", "std_unbiased_false", "logsumexp"}


def _table():
    for name, (_, kind) in OPS.items():
        for shape, dim, keepdim in CASES:
            if not _supported(kind, dim):
                continue
            if name in ("var", "std") and _reduced_count(shape, dim) < 2:
                continue  # n - 1 = 0 degrees of freedom: NaN, tested on its own below
            if name == "norm_fro" and isinstance(dim, tuple) and len(dim) > 2:
                continue  # torch: 'fro' takes at most 2 dims
            yield pytest.param(name, shape, dim, keepdim, id=f"{name}-{shape}-{dim}-{keepdim}")


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(rng.standard_normal(shape) + 0.1)  # no ties, no zeros: smooth everywhere


@pytest.mark.parametrize("name,shape,dim,keepdim", list(_table()))
def test_parity_and_numerical(name, shape, dim, keepdim):
    fn, _ = OPS[name]
    x = _data(shape)
    if not (dim == () and name in TORCH_DIM_EMPTY_BUGS):
        assert_parity(lambda t: fn(rg, t, dim, keepdim), lambda t: fn(torch, t, dim, keepdim), x)
    numerical_check(lambda t: fn(rg, t, dim, keepdim), x)


@pytest.mark.parametrize("name", NO_GRAD_OPS)
@pytest.mark.parametrize("shape,dim,keepdim", [c for c in CASES if _supported("int", c[1])])
def test_arg_parity(name, shape, dim, keepdim):
    fn = NO_GRAD_OPS[name]
    x = _data(shape)
    assert_parity(lambda t: fn(rg, t, dim, keepdim), lambda t: fn(torch, t, dim, keepdim), x, grad=False)


@st.composite
def shape_and_dim(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    ndim = len(shape)
    choices = [None]
    if ndim:
        choices += list(range(-ndim, ndim))
        subsets = draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=ndim))
        choices.append(tuple(d - ndim if draw(st.booleans()) else d for d in sorted(subsets)))
    else:
        choices += [0, -1]
    return shape, draw(st.sampled_from(choices)), draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean", "var_c0", "amax", "logsumexp", "norm2", "norm3", "prod", "max"])
@given(case=shape_and_dim(), seed=st.integers(0, 2**16))
def test_hypothesis_shapes(name, case, seed):
    shape, dim, keepdim = case
    fn, kind = OPS[name]
    if not _supported(kind, dim):
        dim = dim[0]
    x = _data(shape, seed)
    assert_parity(lambda t: fn(rg, t, dim, keepdim), lambda t: fn(torch, t, dim, keepdim), x)
    numerical_check(lambda t: fn(rg, t, dim, keepdim), x)


# ----- ties: PyTorch's choices --------------------------------------------------------
TIES = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 0.0, 2.0], [-1.0, -1.0, -1.0, -1.0]])


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_full_reduction_ties_split_evenly(op):
    out = assert_parity(lambda t: getattr(t, op)(), lambda t: getattr(t, op)(), TIES.copy())
    x = rg.tensor(TIES, requires_grad=True)
    getattr(x, op)().backward()
    winners = TIES == (TIES.max() if op in ("max", "amax") else TIES.min())
    np.testing.assert_allclose(x.grad.numpy(), winners / winners.sum())
    assert out[0].shape == ()


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_ties_go_to_torchs_index(op, dim, keepdim):
    rg_out = assert_parity(lambda t: getattr(t, op)(dim, keepdim), lambda t: getattr(t, op)(dim, keepdim),
                           TIES.copy())
    expected = getattr(torch.from_numpy(TIES), op)(dim).indices.numpy()
    pick = np.argmax if op == "max" else np.argmin
    np.testing.assert_array_equal(expected, pick(TIES, axis=dim))  # the first occurrence
    x = rg.tensor(TIES, requires_grad=True)
    getattr(x, op)(dim).values.sum().backward()
    assert x.grad.numpy().sum(axis=dim).tolist() == [1.0] * TIES.shape[1 - dim % 2]  # one winner per slice
    assert rg_out[1].dtype == np.int64


@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("dim", [0, 1, (0, 1), -1])
def test_amax_amin_ties_split_per_slice(op, dim):
    assert_parity(lambda t: getattr(t, op)(dim), lambda t: getattr(t, op)(dim), TIES.copy())


@pytest.mark.parametrize("p", [INF, -INF])
def test_inf_norm_ties_split_with_sign(p):
    x = np.array([[1.0, -3.0, 3.0], [0.5, 0.5, -0.5]])
    assert_parity(lambda t: t.norm(p=p, dim=1), lambda t: t.norm(p=p, dim=1), x)
    assert_parity(lambda t: t.norm(p=p), lambda t: t.norm(p=p), x)


def test_arg_ties_first_occurrence():
    x = np.array([5.0, 1.0, 5.0, 1.0, 5.0])
    assert_parity(lambda t: (t.argmax(), t.argmin()), lambda t: (t.argmax(), t.argmin()), x, grad=False)
    assert rg.argmax(rg.tensor(x)).item() == 0 and rg.argmin(rg.tensor(x)).item() == 1


def test_nan_propagates_like_torch():
    x = np.array([[np.nan, 1.0, 2.0], [1.0, 1.0, 0.0]])
    assert_parity(lambda t: t.max(), lambda t: t.max(), x, rtol=0, atol=0)
    assert_parity(lambda t: t.max(1), lambda t: t.max(1), x, rtol=0, atol=0)
    assert_parity(lambda t: t.amax(1), lambda t: t.amax(1), x, rtol=0, atol=0)  # NaN slice: NaN gradient
    assert_parity(lambda t: t.argmin(1), lambda t: t.argmin(1), x, grad=False)


# NaN and +-inf in the reductions' table: slices holding NaN, one or two infinities of either sign, zeros
SPECIAL = np.array([[np.nan, 1.0, 2.0, 0.5], [INF, 1.0, -2.0, 0.5], [-INF, 1.0, 2.0, 0.5], [INF, -INF, 1.0, 0.5],
                    [0.0, 0.0, 0.0, 0.0], [INF, INF, 0.0, 1.0], [np.nan, INF, 0.0, 1.0], [1.0, 2.0, -3.0, 0.5]])


def _value_and_grad(lib, fn, x, dim):
    """fn's output and the gradient of sum(output * dout) for a fixed dout, as arrays."""
    leaf = (rg.tensor if lib is rg else torch.tensor)(x.copy(), requires_grad=True)
    out = fn(lib, leaf, dim, False)
    out = out[0] if isinstance(out, tuple) else out
    dout = np.linspace(0.5, 1.5, math.prod(out.shape)).reshape(tuple(out.shape)).astype(x.dtype)
    (out * (rg.tensor if lib is rg else torch.tensor)(dout)).sum().backward()
    grad = leaf.grad.array if lib is rg else leaf.grad.numpy()
    return np.asarray(out.array if lib is rg else out.detach().numpy()), grad


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 'invalid value' on inf - inf, as intended
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("name", OPS)
def test_nan_and_inf_match_pytorch(name, dim, dtype):
    """Forward and gradient with NaN and infinities in the input equal PyTorch's: NaN exactly where PyTorch
    has NaN, infinities and zeros exactly, other values to rounding."""
    fn, _ = OPS[name]
    x = SPECIAL.astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for what, ours, theirs in zip(("forward", "gradient"), _value_and_grad(rg, fn, x, dim),
                                  _value_and_grad(torch, fn, x, dim)):
        assert ours.dtype == dtype and ours.shape == theirs.shape, what
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{what}: NaN positions differ")
        exact = ~np.isfinite(theirs) | (theirs == 0)
        np.testing.assert_array_equal(ours[exact], theirs[exact], err_msg=f"{what}: special values differ")
        np.testing.assert_allclose(ours[~exact], theirs[~exact], rtol=rtol, atol=0, err_msg=what)


@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("name", NO_GRAD_OPS)
def test_arg_nan_and_inf_match_pytorch(name, dim):
    fn = NO_GRAD_OPS[name]
    np.testing.assert_array_equal(fn(rg, rg.tensor(SPECIAL), dim, False).array,
                                  fn(torch, torch.tensor(SPECIAL), dim, False).numpy())


@pytest.mark.parametrize("p", [1, INF, -INF])
def test_norm_gradient_at_nan_is_zero_like_pytorch(p):
    """sign(NaN) = 0 in PyTorch, so the 1- and inf-norms send a NaN entry 0, not NaN."""
    x = rg.tensor([np.nan, 2.0, -3.0], requires_grad=True)
    R.norm(x, p=p).backward()
    assert x.grad.array[0] == 0.0


def test_prod_of_all_with_two_zeros_has_zero_gradient_beside_nan():
    """PyTorch's prod over all dims returns exactly 0 everywhere when two entries are 0, even next to NaN or inf."""
    x = rg.tensor([0.0, np.nan, 0.0, np.inf], requires_grad=True)
    R.prod(x).backward()
    np.testing.assert_array_equal(x.grad.array, [0.0, 0.0, 0.0, 0.0])


def test_max_min_return_type():
    x = rg.tensor(TIES)
    result = x.max(dim=1)
    values, indices = result
    assert result.values is values and result.indices is indices and result[0] is values
    assert indices.numpy().tolist() == [1, 0, 0] and indices.dtype == np.int64
    np.testing.assert_array_equal(values.numpy(), [3.0, 2.0, -1.0])
    assert rg.min(x, 0, keepdim=True).values.shape == (1, 4)


def test_max_min_with_tensor_is_elementwise():
    a, b = np.array([1.0, 5.0, 2.0]), np.array([3.0, 2.0, 2.0])
    assert_parity(lambda s, t: rg.max(s, t), lambda s, t: torch.max(s, t), a, b)
    assert_parity(lambda s, t: rg.min(s, t), lambda s, t: torch.min(s, t), a, b)


# ----- prod with zeros ---------------------------------------------------------------------
PROD_ZEROS = [
    np.array([0.0, 2.0, 4.0, 3.0]),                    # one zero: it gets the product of the rest
    np.array([0.0, 2.0, 0.0, 3.0]),                    # two zeros: all 0
    np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [1.0, 2.0, -1.0]]),  # per-slice: 1, 2 and 0 zeros
]


@pytest.mark.parametrize("x", PROD_ZEROS, ids=["one-zero", "two-zeros", "matrix"])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_prod_with_zeros(x, dim):
    fn = (lambda t: t.prod()) if dim is None else (lambda t: t.prod(dim))
    out = assert_parity(fn, fn, x)
    numerical_check(fn, x)
    assert np.all(np.isfinite(out[0].detach().numpy()))


def test_prod_one_zero_exact():
    x = rg.tensor([0.0, 2.0, 4.0, 3.0], requires_grad=True)
    x.prod().backward()
    assert x.grad.numpy().tolist() == [24.0, 0.0, 0.0, 0.0]


def test_prod_takes_one_int_dim():
    with pytest.raises(TypeError, match="prod"):
        rg.prod(rg.ones(2, 3), dim=(0, 1))


# ----- kinks and special values -----------------------------------------------------------
@pytest.mark.parametrize("p", [2, "fro", 1, INF, 3, 1.5, 0.5, 0])
def test_norm_of_zeros_has_zero_gradient(p):
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.0]])
    assert_parity(lambda t: t.norm(p=p, dim=1), lambda t: t.norm(p=p, dim=1), x)
    z = rg.zeros(3, dtype=rg.float64, requires_grad=True)
    z.norm(p=p).backward()
    assert z.grad.numpy().tolist() == [0.0, 0.0, 0.0]


def test_std_of_constant_slice_has_zero_gradient():
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    assert_parity(lambda t: t.std(dim=1), lambda t: t.std(dim=1), x)


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1e4, -999.0]])
    out = assert_parity(lambda t: t.logsumexp(1), lambda t: t.logsumexp(1), x)
    assert np.all(np.isfinite(out[0].detach().numpy()))
    inf_cases = np.array([[-INF, -INF], [INF, 1.0]])
    assert_parity(lambda t: t.logsumexp(1), lambda t: t.logsumexp(1), inf_cases)  # -inf; inf (NaN grads as torch)


def test_var_correction_spellings():
    x = np.random.default_rng(1).standard_normal((3, 5))
    for rg_fn, torch_fn in [
        (lambda t: t.var(unbiased=False), lambda t: t.var(unbiased=False)),
        (lambda t: t.var(1, True, True), lambda t: t.var(1, True, True)),
        (lambda t: t.std(False), lambda t: t.std(False)),
        (lambda t: t.var(dim=0, correction=2), lambda t: t.var(dim=0, correction=2)),
        (lambda t: rg.std(t, dim=(0, 1), correction=0), lambda t: torch.std(t, dim=(0, 1), correction=0)),
    ]:
        assert_parity(rg_fn, torch_fn, x)
    with pytest.raises(RuntimeError, match="var"):
        rg.var(rg.tensor(x), unbiased=True, correction=1)


def test_var_without_degrees_of_freedom_warns_and_matches_torch():
    x = np.array([[0.0, 0.0], [1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_parity(lambda t: t.var(1, correction=2), lambda t: t.var(1, correction=2), x)
    with pytest.warns(RuntimeWarning, match="var"):
        rg.var(rg.tensor([1.0]))


@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_cumsum_backward_is_reversed_cumsum(dim):
    x = _data((3, 4))
    assert_parity(lambda t: R.cumsum(t, dim), lambda t: t.cumsum(dim), x)
    numerical_check(lambda t: R.cumsum(t, dim), x)
    x_rg = rg.tensor(np.ones(4), requires_grad=True)
    R.cumsum(x_rg, 0).backward(rg.tensor([1.0, 2.0, 3.0, 4.0]))
    assert x_rg.grad.numpy().tolist() == [10.0, 9.0, 7.0, 4.0]


# ----- dtypes ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dim", [None, 1])
def test_float32_preserved(name, dim):
    fn, _ = OPS[name]
    x32 = _data((3, 4)).astype(np.float32)
    out = assert_parity(lambda t: fn(rg, t, dim, False), lambda t: fn(torch, t, dim, False), x32,
                        rtol=1e-5, atol=1e-5)
    assert out[0].dtype == np.float32
    x = rg.tensor(x32, requires_grad=True)
    result = fn(rg, x, dim, False)
    result = result[0] if isinstance(result, tuple) else result
    (vjp_grad,) = result.grad_fn.backward_fn(np.ones(result.shape, np.float32))  # the VJP itself, before
    assert vjp_grad.dtype == np.float32 and vjp_grad.shape == (3, 4)             # the leaf casts anything


@pytest.mark.parametrize("op", [R.sum, R.mean, R.prod, R.cumsum, R.norm])
def test_dtype_argument_keeps_vjp_in_input_dtype(op):
    x = rg.tensor(np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    y = op(x, dim=1, dtype=rg.float64)
    assert y.dtype == np.float64
    (vjp_grad,) = y.grad_fn.backward_fn(np.ones(y.shape))
    assert vjp_grad.dtype == np.float32 and vjp_grad.shape == (2, 3)
    assert_parity(lambda t: op(t, dim=1, dtype=rg.float64),
                  lambda t: getattr(torch, op.__name__)(t, dim=1, dtype=torch.float64), x.detach().numpy(), rtol=1e-6)


def test_sum_mean_dtype_argument_keeps_gradient_dtype():
    x = rg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    y = rg.sum(x, dim=1, dtype=rg.float64)
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    x.grad = None
    rg.mean(x, dtype=rg.float64).backward()
    assert x.grad.dtype == np.float32 and np.allclose(x.grad.numpy(), 1 / 6)


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.uint8, np.int64])
def test_integer_sums_give_int64(dtype):
    x = np.array([[1, 0, 1], [1, 1, 0]], dtype=dtype)
    for rg_fn, torch_fn in [
        (lambda t: t.sum(), lambda t: t.sum()),
        (lambda t: t.sum(1, keepdim=True), lambda t: t.sum(1, keepdim=True)),
        (lambda t: t.prod(0), lambda t: t.prod(0)),
        (lambda t: R.cumsum(t, 1), lambda t: t.cumsum(1)),
        (lambda t: R.count_nonzero(t, dim=0), lambda t: torch.count_nonzero(t, dim=0)),
        (lambda t: R.all(t, dim=1), lambda t: torch.all(t, dim=1)),
        (lambda t: R.any(t), lambda t: torch.any(t)),
        (lambda t: t.amax(1), lambda t: t.amax(1)),
        (lambda t: t.max(0), lambda t: t.max(0)),
    ]:
        assert_parity(rg_fn, torch_fn, x, grad=False)
    if dtype is not np.bool_:  # torch's argmax refuses bool
        assert_parity(lambda t: t.argmax(1), lambda t: t.argmax(1), x, grad=False)


def test_integer_mean_var_norm_are_errors_like_torch():
    x = rg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="mean"):
        x.mean()
    with pytest.raises(RuntimeError, match="mean"):
        rg.mean(x, dim=0)
    assert rg.mean(x, dtype=rg.float64).item() == 2.0
    with pytest.raises(RuntimeError, match="var"):
        x.var()
    with pytest.raises(RuntimeError, match="norm"):
        x.norm()
    assert_parity(lambda t: t.logsumexp(0), lambda t: t.logsumexp(0), np.array([1, 2]), grad=False)


@pytest.mark.parametrize("dim", [None, (), 0, (0, 1)])
def test_count_all_any(dim):
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    assert_parity(lambda t: R.count_nonzero(t, dim=dim),
                  lambda t: torch.count_nonzero(t) if dim is None else torch.count_nonzero(t, dim=dim),
                  x, grad=False)
    for op in ("all", "any"):
        assert_parity(lambda t: getattr(R, op)(t) if dim is None else getattr(R, op)(t, dim=dim),
                      lambda t: getattr(torch, op)(t) if dim is None else getattr(torch, op)(t, dim=dim),
                      x, grad=False)


# ----- errors name the op ---------------------------------------------------------------
ERROR_CALLS = {
    "sum": lambda x: R.sum(x, 2), "mean": lambda x: R.mean(x, (0, -3)), "prod": lambda x: R.prod(x, 5),
    "var": lambda x: R.var(x, 2), "std": lambda x: R.std(x, -3), "max": lambda x: R.max(x, 2),
    "min": lambda x: R.min(x, -3), "amax": lambda x: R.amax(x, 2), "amin": lambda x: R.amin(x, (1, 2)),
    "logsumexp": lambda x: R.logsumexp(x, 4), "norm": lambda x: R.norm(x, dim=4),
    "argmax": lambda x: R.argmax(x, 2), "argmin": lambda x: R.argmin(x, -3), "cumsum": lambda x: R.cumsum(x, 2),
    "count_nonzero": lambda x: R.count_nonzero(x, 2), "all": lambda x: R.all(x, 2), "any": lambda x: R.any(x, 3),
}


@pytest.mark.parametrize("op", ERROR_CALLS)
def test_out_of_range_dim_names_the_op(op):
    x = rg.ones(2, 3)
    with pytest.raises(IndexError, match=rf"^{op}: dimension out of range .*\[-2, 1\]"):
        ERROR_CALLS[op](x)


def test_other_errors_name_the_op():
    x = rg.ones(2, 3)
    with pytest.raises(RuntimeError, match="sum: dim 1 appears multiple times"):
        R.sum(x, (1, -1))
    with pytest.raises(RuntimeError, match=r"^max\(\): Expected reduction dim"):
        rg.zeros(0, 3).max()
    with pytest.raises(IndexError, match=r"^max\(\): Expected reduction dim 0 to have non-zero size"):
        rg.zeros(0, 3).max(0)
    with pytest.raises(IndexError, match=r"^amax\(\)"):
        rg.zeros(0, 3).amax(0)
    with pytest.raises(IndexError, match=r"^argmax\(\)"):
        rg.zeros(0, 3).argmax()
    with pytest.raises(TypeError, match="max: dim must be an int"):
        R.max(x, (0, 1))
    with pytest.raises(ValueError, match="norm"):
        R.norm(x, p="bogus")  # "nuc" is supported now (tests/test_opinfo_fixes.py)
    assert rg.zeros(0, 3).max(1).values.shape == (0,)


def test_full_reduction_with_empty_dims_matches_torch():
    x = _data((2, 3))
    for op in ("sum", "mean", "amax", "amin", "var", "std", "norm"):
        grad = op not in TORCH_DIM_EMPTY_BUGS  # torch's var/std backward disagree with their forward here
        assert_parity(lambda t: getattr(R, op)(t, dim=()), lambda t: getattr(torch, op)(t, dim=()), x, grad=grad)
        numerical_check(lambda t: getattr(R, op)(t, dim=()), x)
    assert R.all(rg.tensor(x), dim=()).shape == (2, 3)  # all/any with dim=() reduce nothing, as in torch


def test_sum_backward_gradient_is_cheap_view():
    """The VJP broadcasts g without copying; the engine copies when it accumulates."""
    x = rg.tensor(np.ones((100, 100)), requires_grad=True)
    y = x.sum(1)
    grads = y.grad_fn.backward_fn(np.ones(100))
    assert grads[0].shape == (100, 100) and grads[0].base is not None and grads[0].strides[1] == 0
    (y * 2).sum().backward()
    assert x.grad.numpy().flags.writeable and np.all(x.grad.numpy() == 2)
