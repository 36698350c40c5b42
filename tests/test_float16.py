"""float16: reductions, the softmax family, losses and gradient clipping accumulate in float32 and return
float16, as PyTorch does on the CPU; binary ops with Python numbers stay float16.

Before, each of these summed in float16 (a running sum of 0.1s stalls, a sum of squares overflows at
65,504) or divided by a count rounded to float16 (70,000 is inf there), so a mean over 70,000 entries was
0, norm([300, 400]) was inf and clip_grad_norm_ zeroed every gradient. Values are compared with torch
2.13.0 in units in the last place (ulp) of float16.
"""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import retrograd as rg
import retrograd.nn.functional as RF
from retrograd import nn

N = 70_000  # more entries than float16 can count (its largest finite value is 65,504)

# the scalar sum(output * dout) that drives backward may overflow float16; only its gradients are compared
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")


def ulps(ours, theirs):
    """The largest distance between two float16 arrays in float16 steps (NaN must match NaN)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype == np.float16, f"dtypes {ours.dtype} and {theirs.dtype}"
    assert ours.shape == theirs.shape, f"shapes {ours.shape} and {theirs.shape}"
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg="NaN positions differ")

    def ordered(a):  # float16 bit patterns as integers in the order of the values they encode
        bits = a.view(np.int16).astype(np.int64)
        return np.where(bits < 0, -32768 - bits, bits)

    numbers = ~np.isnan(theirs)
    return int(np.abs(ordered(ours) - ordered(theirs))[numbers].max(initial=0))


def scaled_ulps(ours, theirs):
    """The largest difference in float16 steps at the array's largest magnitude: for gradients, whose
    small entries come from cancellation (x - mean, g - softmax * sum g) and carry the absolute error
    of the large ones."""
    assert ours.dtype == theirs.dtype == np.float16 and ours.shape == theirs.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg="NaN positions differ")
    infinite = np.isinf(theirs)
    np.testing.assert_array_equal(ours[infinite], theirs[infinite], err_msg="infinities differ")
    numbers = np.isfinite(theirs)
    step = np.spacing(np.abs(theirs[numbers]).max(initial=0).astype(np.float16)).astype(np.float64)
    difference = np.abs(ours[numbers].astype(np.float64) - theirs[numbers].astype(np.float64)).max(initial=0)
    return difference / step


def value_and_grads(lib, fn, arrays, dout_seed=1):
    """fn's output and the gradients of sum(output * dout) for the float inputs, as NumPy arrays."""
    make = rg.tensor if lib is rg else torch.tensor
    inputs = [make(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*inputs)
    out = out[0] if isinstance(out, tuple) else out
    dout = np.random.default_rng(dout_seed).uniform(0.25, 0.75, tuple(out.shape)).astype(np.float16)
    (out * make(dout)).sum().backward()
    to_numpy = (lambda t: t.array) if lib is rg else (lambda t: t.detach().numpy())
    return to_numpy(out), [to_numpy(t.grad) for t in inputs if t.requires_grad]


def assert_close_to_torch(rg_fn, torch_fn, arrays, forward_ulps=1, grad_ulps=1):
    ours, our_grads = value_and_grads(rg, rg_fn, arrays)
    theirs, their_grads = value_and_grads(torch, torch_fn, arrays)
    assert ulps(ours, theirs) <= forward_ulps, f"forward: {ours} vs torch {theirs}"
    for i, (mine, expected) in enumerate(zip(our_grads, their_grads)):
        assert scaled_ulps(mine, expected) <= grad_ulps, f"gradient {i}: {scaled_ulps(mine, expected)} ulps"


# ----- the reported cases -------------------------------------------------------------------------
def test_mean_of_70000_entries():
    x = rg.full((N,), 0.1, dtype=rg.float16, requires_grad=True)
    y = x.mean()
    expected = torch.full((N,), 0.1, dtype=torch.float16).mean()
    assert y.dtype == rg.float16 and y.item() == expected.item() != 0
    y.backward()
    assert x.grad.dtype == rg.float16 and x.grad.array[0] == np.float16(1 / N) != 0  # 1/70000, not 1/inf


def test_norm_beyond_float16_squares():
    x = rg.tensor([300.0, 400.0], dtype=rg.float16, requires_grad=True)
    y = x.norm()
    assert y.dtype == rg.float16 and y.item() == 500.0
    y.backward()
    np.testing.assert_array_equal(x.grad.array, np.array([0.6, 0.8], np.float16))


def test_clip_grad_norm_of_float16_gradients_matches_torch():
    rng = np.random.default_rng(0)
    grads = [(rng.standard_normal(shape) * 50).astype(np.float16) for shape in [(300, 200), (200,), (10, 300)]]
    ours = [nn.Parameter(rg.tensor(g)) for g in grads]
    theirs = [torch.nn.Parameter(torch.tensor(g)) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = rg.tensor(g.copy()), torch.tensor(g.copy())
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.dtype == rg.float16 and total.item() == expected.item()  # about 12,600: squares sum past 65,504
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.array, t.grad.numpy())
        assert np.abs(p.grad.array).max() > 0


def test_mse_loss_mean_of_70000_entries():
    x = np.full(N, 0.1, np.float16)
    assert_close_to_torch(RF.mse_loss, F.mse_loss, [x, np.zeros(N, np.float16)], forward_ulps=0, grad_ulps=1)
    assert RF.mse_loss(rg.tensor(x), rg.zeros(N, dtype=rg.float16)).item() != 0


# ----- every reduction, the softmax family and every loss ---------------------------------------------
def _positive(shape, seed=0):
    """Positive float16 data: sums without cancellation, so float16 rounding is the only difference."""
    return np.random.default_rng(seed).uniform(0.1, 0.9, shape).astype(np.float16)  # sums of 70,000 stay finite


def _normal(shape, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float16)


REDUCTIONS = {
    "sum": lambda m, t, d: m.sum(t, dim=d) if d is not None else m.sum(t),
    "mean": lambda m, t, d: m.mean(t, dim=d) if d is not None else m.mean(t),
    "var": lambda m, t, d: m.var(t, dim=d) if d is not None else m.var(t),
    "std": lambda m, t, d: m.std(t, dim=d) if d is not None else m.std(t),
    "norm": lambda m, t, d: m.norm(t, dim=d),
    "norm1": lambda m, t, d: m.norm(t, p=1, dim=d),
    "norm3": lambda m, t, d: m.norm(t, p=3, dim=d),
    "norm_inf": lambda m, t, d: m.norm(t, p=math.inf, dim=d),
    "cumsum": lambda m, t, d: m.cumsum(t, 0 if d is None else d),
    "softmax": lambda m, t, d: m.softmax(t, -1 if d is None else d),
    "softmin": lambda m, t, d: (RF if m is rg else F).softmin(t, -1 if d is None else d),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("shape, dim", [((N,), None), ((N // 100, 100), 1), ((100, N // 100), 0)],
                         ids=["all", "rows", "columns"])
def test_reductions_accumulate_in_float32(name, shape, dim):
    """Forward within 1 ulp of torch's float16 result; gradient within 2 ulps of its largest entry (3 for std
    and the 3-norm), as torch's float16 backward formulas round x - mean, the output and each factor."""
    fn = REDUCTIONS[name]
    grad_ulps = 3 if name in ("std", "norm3") else 2
    assert_close_to_torch(lambda t: fn(rg, t, dim), lambda t: fn(torch, t, dim), [_positive(shape)],
                          forward_ulps=1, grad_ulps=grad_ulps)


@pytest.mark.parametrize("shape, dim", [((N,), 0), ((N // 100, 100), 1), ((100, N // 100), 0)],
                         ids=["all", "rows", "columns"])
def test_log_softmax_accumulates_in_float32(shape, dim):
    """Forward within 1 ulp of torch. The backward, g - e^y * sum(g), uses the float16 output y as PyTorch's
    does, so a 1-ulp difference in y is multiplied by sum(g); it is checked against that formula evaluated
    exactly on retrograd's own output: within 1 ulp of its largest entry."""
    x = _positive(shape)
    ours, (our_grad,) = value_and_grads(rg, lambda t: t.log_softmax(dim), [x])
    theirs, _ = value_and_grads(torch, lambda t: t.log_softmax(dim), [x])
    assert ulps(ours, theirs) <= 1
    dout = np.random.default_rng(1).uniform(0.25, 0.75, shape).astype(np.float16).astype(np.float64)
    exact = dout - np.exp(ours.astype(np.float64)) * dout.sum(axis=dim, keepdims=True)
    assert scaled_ulps(our_grad, exact.astype(np.float16)) <= 1


@pytest.mark.parametrize("shape, dim", [((N,), 0), ((N // 100, 100), 1)], ids=["all", "rows"])
def test_logsumexp_accumulates_in_float32(shape, dim):
    """torch's float16 logsumexp subtracts, exponentiates and takes the log in float16 (only its sum is
    float32), and so does its backward, g * exp(x - y); retrograd rounds once. So both directions are
    compared with the exact values: within 1 ulp (the forward also within 2 of torch's)."""
    x = _normal(shape)
    ours, (our_grad,) = value_and_grads(rg, lambda t: t.logsumexp(dim), [x])
    theirs, _ = value_and_grads(torch, lambda t: t.logsumexp(dim), [x])
    x64 = x.astype(np.float64)
    exact = np.log(np.exp(x64).sum(axis=dim, keepdims=True))
    assert ulps(ours, exact.squeeze(dim).astype(np.float16)) <= 1 and ulps(ours, theirs) <= 2
    dout = np.random.default_rng(1).uniform(0.25, 0.75, ours.shape).astype(np.float16).astype(np.float64)
    exact_grad = np.expand_dims(dout, dim) * np.exp(x64 - exact)
    assert scaled_ulps(our_grad, exact_grad.astype(np.float16)) <= 1


def _losses():
    x, y = _normal(N), _normal(N, seed=1, scale=1.0)
    probabilities, labels = _positive(N) / 2.5, np.random.default_rng(2).integers(0, 2, N).astype(np.float16)
    logits, classes = _normal((N // 10, 10)), np.random.default_rng(3).integers(0, 10, N // 10)
    return {
        "mse_loss": (RF.mse_loss, F.mse_loss, [x, y]),
        "l1_loss": (RF.l1_loss, F.l1_loss, [x, y]),
        "smooth_l1_loss": (RF.smooth_l1_loss, F.smooth_l1_loss, [x, y]),
        "huber_loss": (RF.huber_loss, F.huber_loss, [x, y]),
        "binary_cross_entropy": (RF.binary_cross_entropy, F.binary_cross_entropy, [probabilities, labels]),
        "binary_cross_entropy_with_logits": (RF.binary_cross_entropy_with_logits,
                                             F.binary_cross_entropy_with_logits, [x, labels]),
        "cross_entropy": (RF.cross_entropy, F.cross_entropy, [logits, classes]),
        "cross_entropy_ignore_index": (lambda a, b: RF.cross_entropy(a, b, ignore_index=0),
                                       lambda a, b: F.cross_entropy(a, b, ignore_index=0), [logits, classes]),
        "nll_loss": (lambda a, b: RF.nll_loss(RF.log_softmax(a, 1), b),
                     lambda a, b: F.nll_loss(F.log_softmax(a, 1), b), [logits, classes]),
        "kl_div": (lambda a, b: RF.kl_div(a, b, reduction="batchmean"),  # batch of 700: torch's g / N stays normal
                   lambda a, b: F.kl_div(a, b, reduction="batchmean"),
                   [-np.abs(x).reshape(700, -1), probabilities.reshape(700, -1)]),
    }


@pytest.mark.parametrize("name", list(_losses()))
def test_losses_reduce_in_float32(name):
    """Mean over 70,000 entries (or rows): the loss within 1 ulp of torch's, the gradients within 2 (torch's
    float16 backward kernels round each factor: 2 / N, x - y, ... ; retrograd rounds the product once)."""
    rg_fn, torch_fn, arrays = _losses()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert_close_to_torch(rg_fn, torch_fn, arrays, forward_ulps=1, grad_ulps=2)


# ----- binary ops with Python numbers --------------------------------------------------------------
NUMBER_CASES = [(op, number) for op in ["+", "-", "*", "/", "**"] for number in [2.0, 2, True, 70000, 1e-8, 0.1]
                if not (op == "-" and number is True)  # torch refuses to subtract a bool
                and not (op == "**" and number in (70000, 1e-8))]  # overflow and underflow, nothing to compare


@pytest.mark.parametrize("op, number", NUMBER_CASES)
def test_binary_ops_with_python_numbers_stay_float16_like_torch(op, number):
    """float16 op number is float16, computed in float32 and rounded once (torch's 'opmath'): dividing by
    70,000 is not dividing by inf, and multiplying by 1e-8 is not multiplying by 0. Equal to torch's
    exactly; number / t and number ** t within 1 ulp (torch computes those as number * (1 / t) and
    exp-log steps, rounding twice)."""
    values = np.array([1.0, 3.0, -2.5, 1000.0, 0.0], np.float16)
    for form in (f"t {op} number", f"number {op} t"):
        if op in ("/", "**") and form.startswith("number") and number in (70000, 1e-8):
            continue  # 1e-8 ** t and friends: nothing new
        with np.errstate(all="ignore"):
            ours = eval(form, {"t": rg.tensor(values, requires_grad=True), "number": number})
        theirs = eval(form, {"t": torch.tensor(values, requires_grad=True), "number": number})
        assert ours.dtype == rg.float16, form
        assert ulps(ours.array, theirs.detach().numpy()) <= (0 if form.startswith("t") else 1), form


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # t * 70000 overflows to inf in the forward, as in torch
@pytest.mark.parametrize("op", ["*", "/"])
def test_gradient_through_a_large_or_small_number_stays_float16_exact(op):
    values = np.array([1.0, 3.0, -2.5], np.float16)
    for number in (70000, 1e-5):
        ours, theirs = rg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        eval(f"t {op} number", {"t": ours, "number": number}).sum().backward()
        eval(f"t {op} number", {"t": theirs, "number": number}).sum().backward()
        assert ours.grad.dtype == rg.float16
        assert ulps(ours.grad.array, theirs.grad.numpy()) == 0
