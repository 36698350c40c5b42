"""Losses: PyTorch parity (forward, input and target gradients) and central differences in float64 for
every loss x reduction x option; kinks; stability; float32; errors; the fused cross_entropy against its
slow twin built from primitive ops; the loss modules' state_dict and repr against PyTorch's."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from helpers import assert_parity, numerical_check

import retrograd as rg
from retrograd.ops import elementwise as E
from retrograd.ops import loss as L
from retrograd.ops import reduce as R
from retrograd.nn import loss as NL

REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(1234)


def normal(*shape):
    return rng.standard_normal(shape)


def uniform(low, high, *shape):
    return rng.uniform(low, high, shape)


def check(rg_fn, torch_fn, *arrays, numeric=True):
    """Parity with PyTorch (all float arrays differentiable) and central differences."""
    assert_parity(rg_fn, torch_fn, *arrays)
    if numeric:
        numerical_check(rg_fn, *arrays)


def T(array):
    return None if array is None else torch.from_numpy(array)


# ----- regression losses ---------------------------------------------------------------------------------
# (name, extra kwargs, input shape, target shape); weights are constants passed by closure
REGRESSION = [
    ("mse_loss", {}, (4, 5), (4, 5)),
    ("mse_loss", {}, (3, 4), (4,)),               # target broadcast along the batch (PyTorch warns)
    ("l1_loss", {}, (4, 5), (4, 5)),
    ("smooth_l1_loss", {"beta": 1.0}, (4, 5), (4, 5)),
    ("smooth_l1_loss", {"beta": 0.3}, (2, 3, 4), (2, 3, 4)),
    ("smooth_l1_loss", {"beta": 0.0}, (4, 5), (4, 5)),
    ("huber_loss", {"delta": 1.0}, (4, 5), (4, 5)),
    ("huber_loss", {"delta": 0.4}, (6,), (6,)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kwargs, x_shape, y_shape", REGRESSION)
def test_regression_parity_and_gradcheck(name, kwargs, x_shape, y_shape, reduction):
    x, y = normal(*x_shape), normal(*y_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda a, b: getattr(L, name)(a, b, reduction=reduction, **kwargs),
              lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kwargs), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_weight(name, reduction):
    # mse/l1 'mean' divide by sum(weight); huber's by the element count (PyTorch's rules)
    x, y, w = normal(3, 4), normal(3, 4), uniform(0.1, 2, 3, 4)
    check(lambda a, b: getattr(L, name)(a, b, reduction=reduction, weight=w),
          lambda a, b: getattr(TF, name)(a, b, reduction=reduction, weight=T(w)), x, y)


def test_size_mismatch_warns_like_torch():
    with pytest.warns(UserWarning, match="target size"):
        L.mse_loss(rg.randn(3, 4), rg.randn(4))


@pytest.mark.parametrize("name, kwargs, diffs", [
    ("l1_loss", {}, [0.0, 1.0, -1.0]),                               # 0 at x = y
    ("smooth_l1_loss", {"beta": 0.5}, [0.0, 0.5, -0.5, 0.2]),        # the quadratic/linear joints
    ("smooth_l1_loss", {"beta": 0.0}, [0.0, 0.5, -0.5]),
    ("huber_loss", {"delta": 0.5}, [0.0, 0.5, -0.5, 2.0]),
    ("mse_loss", {}, [0.0, 1.0]),
])
def test_regression_kinks_match_torch(name, kwargs, diffs):
    y = np.linspace(-1, 1, len(diffs))
    x = y + np.array(diffs)
    assert_parity(lambda a, b: getattr(L, name)(a, b, reduction="sum", **kwargs),
                  lambda a, b: getattr(TF, name)(a, b, reduction="sum", **kwargs), x, y)
    xt = rg.tensor(x, requires_grad=True)
    getattr(L, name)(xt, rg.tensor(y), reduction="sum", **kwargs).backward()
    assert xt.grad.array[0] == 0.0                                   # the documented subgradient at d = 0


# ----- binary cross-entropy --------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
def test_bce_parity_and_gradcheck(reduction, with_weight):
    x, y = uniform(0.05, 0.95, 3, 4), uniform(0, 1, 3, 4)
    w = uniform(0.5, 2, 4) if with_weight else None                  # broadcasts over the batch
    check(lambda a, b: L.binary_cross_entropy(a, b, w, reduction=reduction),
          lambda a, b: TF.binary_cross_entropy(a, b, T(w), reduction=reduction), x, y)


def test_bce_clamps_log_at_minus_100_like_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.5])
    out = assert_parity(lambda a, b: L.binary_cross_entropy(a, b, reduction="none"),
                        lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), x, y)[0]
    np.testing.assert_array_equal(out.array[:4], [0, 0, 100, 100])
    xt = rg.tensor(x, requires_grad=True)
    L.binary_cross_entropy(xt, rg.tensor(y)).backward()
    assert np.all(np.isfinite(xt.grad.array))                        # (x - y) / max(x (1 - x), 1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape, pos_shape", [(None, None), ((4,), None), (None, (4,)), ((3, 4), (4,)),
                                                     (None, (3, 1))])
def test_bce_with_logits_parity_and_gradcheck(reduction, weight_shape, pos_shape):
    z, y = normal(3, 4) * 3, uniform(0, 1, 3, 4)
    w = None if weight_shape is None else uniform(0.5, 2, *weight_shape)
    p = None if pos_shape is None else uniform(0.2, 3, *pos_shape)
    check(lambda a, b: L.binary_cross_entropy_with_logits(a, b, w, reduction=reduction, pos_weight=p),
          lambda a, b: TF.binary_cross_entropy_with_logits(a, b, T(w), reduction=reduction, pos_weight=T(p)), z, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pos_weight", [None, np.array([2.5])])
def test_bce_with_logits_is_stable_at_huge_logits(dtype, pos_weight):
    z = np.array([-1000, -100, -30, 0, 30, 100, 1000], dtype=dtype)
    y = np.array([1, 0, 1, 0.5, 0, 1, 0], dtype=dtype)
    p = None if pos_weight is None else pos_weight.astype(dtype)
    zt = rg.tensor(z, requires_grad=True)
    out = L.binary_cross_entropy_with_logits(zt, rg.tensor(y), reduction="none", pos_weight=p)
    out.sum().backward()
    ref_z = torch.tensor(z, requires_grad=True)
    ref = TF.binary_cross_entropy_with_logits(ref_z, torch.tensor(y), reduction="none", pos_weight=T(p))
    ref.sum().backward()
    assert np.all(np.isfinite(out.array)) and np.all(np.isfinite(zt.grad.array))
    assert out.dtype == dtype and zt.grad.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out.array, ref.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(zt.grad.array, ref_z.grad.numpy(), rtol=tol, atol=tol)


def test_bce_with_logits_matches_composite_twin():
    """Slow twin: max(z, 0) - z y + log1p(exp(-|z|)) from primitive ops; gradient sigmoid(z) - y."""
    z, y = normal(5, 3) * 4, uniform(0, 1, 5, 3)
    zf, zc = rg.tensor(z, requires_grad=True), rg.tensor(z, requires_grad=True)
    fused = L.binary_cross_entropy_with_logits(zf, rg.tensor(y))
    twin = R.mean(E.maximum(zc, 0.0) - zc * rg.tensor(y) + E.log1p(E.exp(-E.abs(zc))))
    fused.backward()
    twin.backward()
    np.testing.assert_allclose(fused.array, twin.array, rtol=1e-12)
    np.testing.assert_allclose(zf.grad.array, zc.grad.array, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(zf.grad.array, (1 / (1 + np.exp(-z)) - y) / z.size, rtol=1e-10)


# ----- cross_entropy and nll_loss --------------------------------------------------------------------------
# (input shape, index-target shape): batched, unbatched, K-dimensional
CLASS_SHAPES = [((4, 5), (4,)), ((5,), ()), ((2, 4, 3, 2), (2, 3, 2))]


def index_target(x_shape, y_shape, ignore=None):
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    y = rng.integers(0, n_classes, y_shape)
    if ignore is not None:
        y = np.where(y == ignore, (ignore + 1) % n_classes, y)   # rows 1, 2, 4, .. count; 0, 3, .. are
        if y.ndim:                                               # ignored (ignore may be a real class)
            y.reshape(-1)[::3] = ignore
    return y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("x_shape, y_shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_index_targets(x_shape, y_shape, reduction, weighted, ignore_index, label_smoothing):
    z = normal(*x_shape) * 2
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    y = index_target(x_shape, y_shape, ignore=ignore_index)
    w = uniform(0.3, 2, n_classes) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    check(lambda a: L.cross_entropy(a, y, w, **kwargs), lambda a: TF.cross_entropy(a, T(y), T(w), **kwargs), z)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("x_shape", [(4, 5), (5,), (2, 4, 3)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(x_shape, reduction, weighted, label_smoothing):
    """Parity includes the target's gradient -(1 - eps) w log_softmax(z) * g~, which PyTorch also gives."""
    z = normal(*x_shape) * 2
    class_axis = 0 if len(x_shape) == 1 else 1
    y = uniform(0, 1, *x_shape)
    y /= y.sum(axis=class_axis, keepdims=True)
    w = uniform(0.3, 2, x_shape[class_axis]) if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    check(lambda a, b: L.cross_entropy(a, b, w, **kwargs), lambda a, b: TF.cross_entropy(a, b, T(w), **kwargs), z, y)


def test_cross_entropy_probability_target_gradient_and_detach():
    z, y = normal(3, 4), uniform(0, 1, 3, 4)
    zt, yt = rg.tensor(z, requires_grad=True), rg.tensor(y, requires_grad=True)
    L.cross_entropy(zt, yt, reduction="sum").backward()
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(yt.grad.array, -log_p, rtol=1e-12)
    zt2, yt2 = rg.tensor(z, requires_grad=True), rg.tensor(y, requires_grad=True)
    out = L.cross_entropy(zt2, yt2.detach())
    out.backward()
    assert yt2.grad is None and zt2.grad is not None


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    """The docstring's claim, computed independently: dL/dz = (softmax(z) - onehot(y)) / N."""
    z, y = normal(6, 4), np.array([0, 3, 1, 1, 2, 0])
    zt = rg.tensor(z, requires_grad=True)
    L.cross_entropy(zt, rg.tensor(y)).backward()
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(zt.grad.array, (softmax - np.eye(4)[y]) / 6, rtol=1e-12, atol=1e-15)


def test_cross_entropy_extreme_logits_are_finite():
    z = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 3.0]])
    assert_parity(lambda a: L.cross_entropy(a, np.array([1, 1]), reduction="none"),
                  lambda a: TF.cross_entropy(a, torch.tensor([1, 1]), reduction="none"), z)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_both_shift_paths_match_torch(dtype):
    """Rows whose target logit is far below the row max take the row-max shift; the others the target's."""
    z = np.array([[120.0, 0.0, -3.0], [2.0, 1.0, 0.5], [-5.0, 900.0, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    for y in (np.array([1, 0, 0, 2]), np.array([0, 0, 1, 2])):
        assert_parity(lambda a: L.cross_entropy(a, y, reduction="none", label_smoothing=0.1),
                      lambda a: TF.cross_entropy(a, T(y), reduction="none", label_smoothing=0.1), z,
                      rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6 if dtype == np.float32 else 1e-12)


def test_cross_entropy_all_ignored_and_empty_give_nan_like_torch():
    z = normal(2, 3)
    y = np.array([-100, -100])
    assert np.isnan(L.cross_entropy(rg.tensor(z), rg.tensor(y)).item())
    assert np.isnan(TF.cross_entropy(T(z), T(y)).item())
    assert L.cross_entropy(rg.tensor(z), rg.tensor(y), reduction="sum").item() == 0.0
    empty = L.cross_entropy(rg.tensor(np.zeros((0, 3))), rg.tensor(np.zeros(0, np.int64)))
    assert np.isnan(empty.item())


def test_cross_entropy_mean_over_no_rows_warns_nothing_forward_or_backward():
    """The mean's 0/0 is silenced only when the divisor is 0 (np.errstate is skipped otherwise, for speed):
    no RuntimeWarning either way, and PyTorch's zero gradient for a batch whose rows are all ignored."""
    z = normal(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in (np.array([-100, -100]), np.array([0, 2])):
            rg_z, torch_z = rg.tensor(z, requires_grad=True), T(z).requires_grad_(True)
            rg_loss, torch_loss = L.cross_entropy(rg_z, rg.tensor(y)), TF.cross_entropy(torch_z, T(y))
            rg_loss.backward()
            torch_loss.backward()
            np.testing.assert_allclose(rg_loss.item(), torch_loss.item(), rtol=1e-12)
            np.testing.assert_allclose(rg_z.grad.array, torch_z.grad.numpy(), rtol=1e-12, atol=1e-15)


def composite_cross_entropy(z, y, n_classes, weight=None, ignore_index=-100):
    """The slow twin: log_softmax and NLL from primitive ops (sub, logsumexp, mul, sum, div), one-hot and all."""
    log_p = E.sub(z, R.logsumexp(z, dim=1, keepdim=True))
    kept = y != ignore_index
    onehot = np.eye(n_classes)[np.where(kept, y, 0)] * kept[:, None]
    per_class = np.ones(n_classes) if weight is None else weight
    picked = E.mul(log_p, rg.tensor(onehot * per_class))
    return E.div(R.sum(picked), rg.tensor(-(onehot * per_class).sum()))


@given(n=st.integers(1, 7), n_classes=st.integers(1, 6), weighted=st.booleans(), seed=st.integers(0, 2**16))
def test_fused_cross_entropy_matches_composite_twin(n, n_classes, weighted, seed):
    r = np.random.default_rng(seed)
    z = r.standard_normal((n, n_classes)) * 3
    y = r.integers(0, n_classes, n)
    if n > 1:
        y[0] = -100
    w = r.uniform(0.2, 2, n_classes) if weighted else None
    zf, zc = rg.tensor(z, requires_grad=True), rg.tensor(z, requires_grad=True)
    fused = L.cross_entropy(zf, rg.tensor(y), None if w is None else rg.tensor(w))
    twin = composite_cross_entropy(zc, y, n_classes, w)
    dout = r.standard_normal()
    (fused * dout).backward()
    (twin * dout).backward()
    assert fused.dtype == twin.dtype == np.float64
    np.testing.assert_allclose(fused.array, twin.array, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(zf.grad.array, zc.grad.array, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("x_shape, y_shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_nll_loss(x_shape, y_shape, reduction, weighted, ignore_index):
    x = normal(*x_shape)
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    y = index_target(x_shape, y_shape, ignore=ignore_index)
    w = uniform(0.3, 2, n_classes) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction)
    check(lambda a: L.nll_loss(a, y, w, **kwargs), lambda a: TF.nll_loss(a, T(y), T(w), **kwargs), x)


# ----- kl_div ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(uniform(0.05, 1, 3, 4))
    y = uniform(0.05, 1, 3, 4)
    if log_target:
        y = np.log(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda a, b: L.kl_div(a, b, reduction=reduction, log_target=log_target),
              lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), x, y)


def test_kl_div_zero_target_like_torch():
    """0 log 0 = 0 in the loss; dL/dy is nan there, as in PyTorch."""
    x, y = np.log(uniform(0.1, 1, 2, 3)), np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.8]])
    out = assert_parity(lambda a, b: L.kl_div(a, b, reduction="batchmean"),
                        lambda a, b: TF.kl_div(a, b, reduction="batchmean"), x, y)[0]
    assert np.isfinite(out.item())


def test_kl_div_mean_warns_like_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        L.kl_div(rg.randn(2, 3), rg.rand(2, 3))


# ----- float32, legacy flags, errors ---------------------------------------------------------------------
FLOAT32_CASES = [
    ("mse_loss", lambda: (normal(3, 4), normal(3, 4)), {}),
    ("l1_loss", lambda: (normal(3, 4), normal(3, 4)), {}),
    ("smooth_l1_loss", lambda: (normal(3, 4), normal(3, 4)), {}),
    ("huber_loss", lambda: (normal(3, 4), normal(3, 4)), {}),
    ("binary_cross_entropy", lambda: (uniform(0.1, 0.9, 3, 4), uniform(0, 1, 3, 4)), {}),
    ("binary_cross_entropy_with_logits", lambda: (normal(3, 4), uniform(0, 1, 3, 4)), {}),
    ("cross_entropy", lambda: (normal(3, 4), rng.integers(0, 4, 3)), {"label_smoothing": 0.1}),
    ("cross_entropy", lambda: (normal(3, 4), uniform(0, 1, 3, 4)), {}),
    ("nll_loss", lambda: (normal(3, 4), rng.integers(0, 4, 3)), {}),
    ("kl_div", lambda: (normal(3, 4), uniform(0.1, 1, 3, 4)), {"reduction": "batchmean"}),
]


@pytest.mark.parametrize("name, make, kwargs", FLOAT32_CASES)
def test_float32_dtype_preserved(name, make, kwargs):
    arrays = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in make()]
    out = assert_parity(lambda *a: getattr(L, name)(*a, **kwargs), lambda *a: getattr(TF, name)(*a, **kwargs),
                        *arrays, rtol=2e-5, atol=1e-6)[0]
    assert out.dtype == np.float32


def test_legacy_size_average_and_reduce():
    x, y = rg.randn(3, 4), rg.randn(3, 4)
    with pytest.warns(UserWarning, match="deprecated"):
        none = L.mse_loss(x, y, reduce=False)
    with pytest.warns(UserWarning):
        total = L.mse_loss(x, y, size_average=False)
    assert none.shape == (3, 4)
    np.testing.assert_allclose(total.item(), none.array.sum(), rtol=1e-6)


def test_cross_entropy_ignored_rows_and_the_range_check_together():
    """The range check reads the targets' min and max and searches for ignored rows only when ignore_index lies
    between them: an ignore_index beyond the classes is skipped as in PyTorch, a bad index beside it still raises."""
    z = normal(3, 4)
    for y, ignore_index in (([0, 5, 3], 5), ([5, 5, 5], 5), ([0, 2, 3], 1), ([0, -100, 3], -100)):
        rg_z, torch_z = rg.tensor(z, requires_grad=True), T(z).requires_grad_(True)
        rg_loss = L.cross_entropy(rg_z, rg.tensor(y), ignore_index=ignore_index, reduction="sum")
        torch_loss = TF.cross_entropy(torch_z, T(np.array(y)), ignore_index=ignore_index, reduction="sum")
        rg_loss.backward()
        torch_loss.backward()
        np.testing.assert_allclose(rg_loss.item(), torch_loss.item(), rtol=1e-12)
        np.testing.assert_allclose(rg_z.grad.array, torch_z.grad.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(IndexError, match="target class index 7 is out of range"):
        L.cross_entropy(rg.tensor(z), rg.tensor([7, -1, 1]), ignore_index=-1)


@pytest.mark.parametrize("call, error, match", [
    (lambda: L.cross_entropy(rg.randn(3, 4), rg.tensor([0, 4, 1])), IndexError,
     r"cross_entropy: target class index 4 is out of range for 4 classes"),
    (lambda: L.cross_entropy(rg.randn(3, 4), rg.tensor([0, -1, 1])), IndexError,
     r"cross_entropy: .*index -1 .*4 classes"),
    (lambda: L.nll_loss(rg.randn(3, 4), rg.tensor([0, 9, 1])), IndexError, r"nll_loss: .*index 9 .*4 classes"),
    (lambda: L.cross_entropy(rg.randn(3, 4), rg.tensor([0.0, 1.0, 1.0])), ValueError, r"cross_entropy: .*float target"),
    (lambda: L.cross_entropy(rg.randn(3, 4), rg.tensor([0, 1])), ValueError, r"cross_entropy: .*batch_size \(3\)"),
    (lambda: L.cross_entropy(rg.randn(3, 4, 2), rg.tensor([[0, 1, 1]] * 3)), ValueError, r"cross_entropy: .*shape"),
    (lambda: L.nll_loss(rg.randn(3, 4), rg.tensor(np.ones((3,), bool))), TypeError, r"nll_loss: .*integers"),
    (lambda: L.cross_entropy(rg.randn(3, 4), rg.tensor([0, 1, 1]), weight=rg.ones(3)), ValueError,
     r"cross_entropy: weight .*\(4\)"),
    (lambda: L.cross_entropy(rg.randn(3, 4), rg.tensor([0, 1, 1]), reduction="avg"), ValueError, "avg"),
    (lambda: L.cross_entropy(rg.randn(3, 4), rg.tensor([0, 1, 1]), label_smoothing=1.5), ValueError,
     "label_smoothing"),
    (lambda: L.binary_cross_entropy(rg.tensor([1.5, 0.5]), rg.tensor([1.0, 0.0])), ValueError,
     "binary_cross_entropy: .*between 0 and 1"),
    (lambda: L.binary_cross_entropy(rg.rand(3), rg.rand(3, 1)), ValueError, r"binary_cross_entropy: target size"),
    (lambda: L.binary_cross_entropy_with_logits(rg.randn(3), rg.rand(4)), ValueError,
     "binary_cross_entropy_with_logits: target size"),
    (lambda: L.smooth_l1_loss(rg.randn(3), rg.randn(3), beta=-1.0), ValueError, "smooth_l1_loss .*beta"),
    (lambda: L.huber_loss(rg.randn(3), rg.randn(3), delta=0.0), ValueError, "huber_loss .*delta"),
    (lambda: L.mse_loss(rg.randn(3), rg.randn(3), weight=rg.ones(2)), ValueError, "mse_loss: Weights"),
    (lambda: L.kl_div(rg.randn(3), rg.rand(3), reduction="batch"), ValueError, "batch"),
])
def test_errors_name_the_op(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----- modules ---------------------------------------------------------------------------------------------------
def module_pairs():
    w4, pw4 = uniform(0.5, 2, 4), uniform(0.5, 2, 4)
    return [
        (NL.MSELoss(), torch.nn.MSELoss(), "regression"),
        (NL.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), "regression"),
        (NL.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), "regression"),
        (NL.HuberLoss(delta=0.7), torch.nn.HuberLoss(delta=0.7), "regression"),
        (NL.BCELoss(weight=rg.tensor(w4)), torch.nn.BCELoss(weight=T(w4)), "probability"),
        (NL.BCEWithLogitsLoss(weight=rg.tensor(w4), pos_weight=rg.tensor(pw4)),
         torch.nn.BCEWithLogitsLoss(weight=T(w4), pos_weight=T(pw4)), "logits"),
        (NL.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), "logits"),
        (NL.CrossEntropyLoss(weight=rg.tensor(w4), label_smoothing=0.1, ignore_index=2),
         torch.nn.CrossEntropyLoss(weight=T(w4), label_smoothing=0.1, ignore_index=2), "index"),
        (NL.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), "index"),
        (NL.NLLLoss(weight=rg.tensor(w4)), torch.nn.NLLLoss(weight=T(w4)), "index"),
        (NL.KLDivLoss(reduction="batchmean", log_target=True),
         torch.nn.KLDivLoss(reduction="batchmean", log_target=True), "regression"),
    ]


@pytest.mark.parametrize("index", range(11))
def test_modules_match_torch(index):
    rg_loss, torch_loss, kind = module_pairs()[index]
    x = normal(5, 4)
    if kind == "probability":
        x = uniform(0.05, 0.95, 5, 4)
    y = {"regression": normal(5, 4), "probability": uniform(0, 1, 5, 4), "logits": uniform(0, 1, 5, 4),
         "index": rng.integers(0, 4, 5)}[kind]
    assert list(rg_loss.state_dict()) == list(torch_loss.state_dict())
    assert [name for name, _ in rg_loss.named_buffers()] == [name for name, _ in torch_loss.named_buffers()]
    assert type(rg_loss).__name__ == type(torch_loss).__name__
    for key, value in torch_loss.state_dict().items():
        np.testing.assert_array_equal(rg_loss.state_dict()[key].array, value.numpy())
    assert_parity(rg_loss, torch_loss, x, y)


def test_module_buffers_and_repr():
    m = NL.BCEWithLogitsLoss(pos_weight=rg.tensor([1.0, 2.0]))
    assert list(m.state_dict()) == list(torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)).state_dict())
    assert list(m.parameters()) == []
    m.double()
    assert m.pos_weight.dtype == np.float64
    m.load_state_dict({"pos_weight": np.array([3.0, 4.0])})
    np.testing.assert_array_equal(m.pos_weight.array, [3.0, 4.0])
    assert repr(NL.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(NL.MSELoss()) == "MSELoss()"
    assert repr(NL.CrossEntropyLoss(label_smoothing=0.1, reduction="sum")) == \
        "CrossEntropyLoss(reduction='sum', label_smoothing=0.1)"
    assert repr(NL.HuberLoss(delta=2.0)) == "HuberLoss(delta=2.0)"
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert NL.NLLLoss(size_average=False).reduction == "sum"
