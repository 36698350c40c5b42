"""Where an op blocks its gradient, PyTorch writes +0.0, whatever the upstream g is: its relu, hardtanh, threshold
and clamp backward passes select, where(mask, g, 0), and its max-pool backward adds each window's g into zeros
(so a chosen -0.0 lands as +0.0, and an entry chosen by several windows sums their g in row-major window order).
A product g * mask would give -0.0 for a blocked negative g and NaN for a blocked inf. These tests compare the
gradients' bits with PyTorch's, float32 and float64, with the compiled kernels on and off, for upstream gradients
holding negative values, -0.0, +-inf and NaN at blocked and passed entries alike.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
from helpers import bits
import retrograd.nn.functional as F
from retrograd.ops.base import pass_where

DTYPES = [np.float32, np.float64]
SPECIAL_GRADS = [-2.5, -0.0, 0.0, np.inf, -np.inf, np.nan, 3.0]
FINITE_GRADS = [-2.5, -0.0, 0.0, -1e-30, 3.0]  # all finite: a product by the mask would be tried first
GRAD_SETS = {"finite": FINITE_GRADS, "non-finite": SPECIAL_GRADS}
# inputs on both sides of, and exactly at, every bound below (relu's 0, relu6's 6, hardtanh's -1 and 1, ...)
INPUTS = [-7.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 6.0, 8.0, np.nan]


def _every_input_with_every_grad(dtype, grads=SPECIAL_GRADS):
    """x and g with each input value met by each of `grads` (so each lands on blocked and passed entries)."""
    x = np.repeat(np.array(INPUTS, dtype), len(grads))
    g = np.tile(np.array(grads, dtype), len(INPUTS))
    return x, g


def _input_grads(fn, arrays, grad, framework):
    """fn(*leaves).backward(grad) in retrograd or PyTorch: the leaves' gradients as arrays."""
    if framework == "torch":
        leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
        fn(*leaves).backward(torch.tensor(grad))
        return [leaf.grad.numpy() for leaf in leaves]
    leaves = [rg.tensor(a, requires_grad=True) for a in arrays]
    fn(*leaves).backward(rg.tensor(grad))
    return [leaf.grad.numpy() for leaf in leaves]


def _assert_same_gradient_bits(rg_fn, torch_fn, arrays, grad):
    ours, theirs = _input_grads(rg_fn, arrays, grad, "rg"), _input_grads(torch_fn, arrays, grad, "torch")
    for name, mine, reference in zip("xyz", ours, theirs):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_array_equal(bits(mine), bits(reference), err_msg=f"gradient of input {name}")


ELEMENTWISE_CASES = {  # name: (retrograd, PyTorch), one input
    "relu": (rg.relu, torch.relu),
    "relu_ on a non-leaf": (lambda x: rg.relu(x * 1.0, inplace=True), lambda x: torch.relu_(x * 1.0)),
    "nn.ReLU": (rg.nn.ReLU(), torch.nn.ReLU()),
    "relu6": (F.relu6, TF.relu6),
    "hardtanh": (F.hardtanh, TF.hardtanh),
    "hardtanh(0.5, 6)": (lambda x: F.hardtanh(x, 0.5, 6.0), lambda x: TF.hardtanh(x, 0.5, 6.0)),
    "threshold(0.5, 9)": (lambda x: F.threshold(x, 0.5, 9.0), lambda x: TF.threshold(x, 0.5, 9.0)),
    "clamp(-1, 6)": (lambda x: rg.clamp(x, -1.0, 6.0), lambda x: torch.clamp(x, -1.0, 6.0)),
    "clamp(min=0)": (lambda x: rg.clamp(x, min=0.0), lambda x: torch.clamp(x, min=0.0)),
    "clamp(max=0.5)": (lambda x: rg.clamp(x, max=0.5), lambda x: torch.clamp(x, max=0.5)),
    "clamp(min=-0.0), as torch's clamp_min": (lambda x: x.clamp(min=-0.0), lambda x: x.clamp_min(-0.0)),
    "clamp(max=1), as torch's clamp_max": (lambda x: x.clamp(max=1.0), lambda x: x.clamp_max(1.0)),
    "max()": (lambda x: x.max(), lambda x: x.max()),
    "min()": (lambda x: x.min(), lambda x: x.min()),
}


@pytest.mark.parametrize("grads", sorted(GRAD_SETS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE_CASES))
def test_blocked_entries_get_plus_zero_as_in_pytorch(mode, name, dtype, grads):
    rg_fn, torch_fn = ELEMENTWISE_CASES[name]
    x, g = _every_input_with_every_grad(dtype, GRAD_SETS[grads])
    if name.startswith(("hardtanh", "relu6")):
        # PyTorch's own hardtanh backward is inconsistent at x = NaN: its vectorised loop blocks g, its scalar tail
        # (the last few entries) passes it; retrograd always passes it (the docstring's rule). NaN stays out here.
        x = np.where(np.isnan(x), 0.25, x).astype(dtype)
    if name in ("max()", "min()"):  # a full reduction: one g, tried at each special value, over tied entries
        x = np.where(np.isnan(x), 8.0, x).astype(dtype)  # no NaN, so that 8 (max) and -7 (min) tie ten times
        for value in GRAD_SETS[grads]:
            _assert_same_gradient_bits(rg_fn, torch_fn, [x], np.array(value, dtype))
        return
    _assert_same_gradient_bits(rg_fn, torch_fn, [x], g)


@pytest.mark.parametrize("grads", sorted(GRAD_SETS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", ["min", "max", "both", "both, broadcast"])
def test_clamp_with_tensor_bounds_blocks_with_plus_zero_for_every_input(bounds, dtype, grads):
    """The input's and the bounds' gradients: each is g where its side wins, else +0.0 (PyTorch's selects)."""
    x, g = _every_input_with_every_grad(dtype, GRAD_SETS[grads])
    rng = np.random.default_rng(3)
    lo = rng.choice(np.array([-1.0, -0.0, 0.5, 6.0], dtype), x.shape)
    hi = rng.choice(np.array([-0.5, 0.0, 1.0, 8.0], dtype), x.shape)
    if bounds == "min":
        _assert_same_gradient_bits(lambda x, lo: rg.clamp(x, min=lo), lambda x, lo: torch.clamp(x, min=lo), [x, lo], g)
    elif bounds == "max":
        _assert_same_gradient_bits(lambda x, hi: rg.clamp(x, max=hi), lambda x, hi: torch.clamp(x, max=hi), [x, hi], g)
    elif bounds == "both":
        _assert_same_gradient_bits(rg.clamp, torch.clamp, [x, lo, hi], g)
    else:  # x (2, 70), the bounds (70,): their gradients sum the two rows, +0.0 + +0.0 where both block
        x2, g2 = np.stack([x, x[::-1]]), np.stack([g, np.roll(g, 3)])
        _assert_same_gradient_bits(rg.clamp, torch.clamp, [x2, lo, hi], g2)


def test_the_reductions_that_multiply_by_their_mask_match_pytorch_too(mode):
    """amax/amin scale g by the mask in PyTorch too (a blocked negative g is -0.0 there, a blocked inf NaN);
    max/min along a dim put g into zeros (+0.0 elsewhere, a chosen -0.0 kept). Each matches, bit for bit."""
    x = np.array([[1.0, 3.0, 3.0], [0.0, -1.0, 0.0]])
    for value in SPECIAL_GRADS:
        for rg_fn, torch_fn in [(lambda x: x.amax(), lambda x: x.amax()),
                                (lambda x: x.amin(1), lambda x: x.amin(1)),
                                (lambda x: x.max(1)[0], lambda x: x.max(1)[0]),
                                (lambda x: x.min(0)[0], lambda x: x.min(0)[0])]:
            shape = torch_fn(torch.tensor(x)).shape
            _assert_same_gradient_bits(rg_fn, torch_fn, [x], np.full(shape, value))


POOL_CASES = [  # (input shape, max_pool2d arguments): tiling (assigned) and overlapping (added) windows
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 2, 7, 7), dict(kernel_size=3, stride=1, padding=1)),
    ((1, 3, 9, 11), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((2, 2, 9, 8), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1))),
    ((1, 2, 12, 13), dict(kernel_size=(5, 7), stride=2)),  # 35 offsets: more than a float32 has bits
]


def _pool_input_and_grad(shape, out_shape, dtype, seed, grads=SPECIAL_GRADS):
    """x with ties (small integers) and a NaN; g of magnitudes 1e-8 .. 1e8 (so that an entry's sum of several g
    depends on the order it is added in) with each of `grads`, at chosen and unchosen windows alike."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(dtype)
    x.flat[5] = np.nan
    g = (rng.standard_normal(out_shape) * 10.0 ** rng.integers(-8, 9, out_shape)).astype(dtype)
    count = min(g.size, 3 * len(grads))
    g.flat[rng.choice(g.size, count, replace=False)] = np.resize(grads, count)
    return x, g


@pytest.mark.parametrize("grads", sorted(GRAD_SETS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kwargs", POOL_CASES)
def test_max_pool_gradient_bits_match_pytorch(mode, shape, kwargs, dtype, grads):
    """Unchosen entries +0.0, a chosen -0.0 +0.0, an entry several windows chose their sum, added in PyTorch's
    order (its row-major window order): the same bits, 2-D and 1-D, compiled kernels or not."""
    out_shape = TF.max_pool2d(torch.zeros(shape), **kwargs).shape
    x, g = _pool_input_and_grad(shape, out_shape, dtype, seed=sum(shape), grads=GRAD_SETS[grads])
    _assert_same_gradient_bits(lambda x: F.max_pool2d(x, **kwargs), lambda x: TF.max_pool2d(x, **kwargs), [x], g)
    kernel, stride = kwargs["kernel_size"], kwargs.get("stride")
    one_d = dict(kernel_size=kernel if isinstance(kernel, int) else kernel[1],
                 stride=stride if stride is None or isinstance(stride, int) else stride[1])
    x1 = np.ascontiguousarray(x[:, :, 0])  # (N, C, W), with its ties and, for the first case, its NaN
    g1 = _pool_input_and_grad(shape, TF.max_pool1d(torch.tensor(x1), **one_d).shape, dtype, 1, GRAD_SETS[grads])[1]
    _assert_same_gradient_bits(lambda x: F.max_pool1d(x, **one_d), lambda x: TF.max_pool1d(x, **one_d), [x1], g1)


def test_an_entry_chosen_by_three_windows_sums_their_gradients_in_pytorchs_order(mode):
    """x = [1, 3, 2, 5, 0, 0] in windows of 3 at stride 1: entry 3 is chosen by three windows, whose g are
    1e8, -1e8 and 1 in window order. In float32, (1e8 - 1e8) + 1 = 1 (PyTorch), but (1 - 1e8) + 1e8 = 0."""
    x = np.array([[[1.0, 3.0, 2.0, 5.0, 0.0, 0.0]]], np.float32)
    g = np.array([[[-0.0, 1e8, -1e8, 1.0]]], np.float32)
    (grad,) = _input_grads(lambda x: F.max_pool1d(x, 3, 1), [x], g, "rg")
    np.testing.assert_array_equal(grad.ravel(), [0, 0, 0, 1, 0, 0])
    assert not np.signbit(grad).any()  # entry 1, chosen once with g = -0.0: 0 + -0.0 = +0.0
    _assert_same_gradient_bits(lambda x: F.max_pool1d(x, 3, 1), lambda x: TF.max_pool1d(x, 3, 1), [x], g)


@pytest.mark.parametrize("grads", sorted(GRAD_SETS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(4, 3), (3, 5)])  # tiling windows (max_pool2d's path), then general ones
def test_adaptive_max_pool_gradient_bits_match_pytorch(mode, size, dtype, grads):
    shape = (2, 3, 8, 9)
    x, g = _pool_input_and_grad(shape, (2, 3, *size), dtype, seed=7, grads=GRAD_SETS[grads])
    _assert_same_gradient_bits(lambda x: F.adaptive_max_pool2d(x, size), lambda x: TF.adaptive_max_pool2d(x, size),
                               [x], g)


@pytest.mark.parametrize("ties", ["split", "random"])
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1)])
def test_other_tie_policies_also_leave_plus_zero_where_no_window_sends_gradient(mode, ties, kwargs):
    """retrograd's own tie policies follow the same rule: all g are -0.0 or negative but one window's, +inf; every
    entry is +0.0 or negative, and only entries of that window are non-finite."""
    x = np.zeros((1, 1, 6, 6))  # every window a full tie: split shares g among all its entries
    y = F.max_pool2d(rg.tensor(x), **kwargs, ties=ties)
    g = -np.abs(np.random.default_rng(0).standard_normal(y.shape)) * (np.arange(y.numel()) % 2).reshape(y.shape)
    g[0, 0, 0, 0] = np.inf
    (grad,) = _input_grads(lambda x: F.max_pool2d(x, **kwargs, ties=ties), [x], g, "rg")
    zeros = grad == 0
    assert zeros.any() and not np.signbit(grad[zeros]).any()  # every zero is +0.0
    assert (grad[~zeros & np.isfinite(grad)] < 0).all()
    window = kwargs["kernel_size"]
    assert np.isfinite(grad[:, :, window:, :]).all() and np.isfinite(grad[:, :, :, window:]).all()
    assert np.isinf(grad).any() and not np.isnan(grad).any()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble, np.complex128])
def test_pass_where_is_a_select_for_every_layout(dtype):
    """pass_where(g, mask) has the bits of np.where(mask, g, 0): contiguous or not, with a mask that broadcasts,
    into `out`; float16/32/64 by an AND of bits, the dtypes with no integer of their width by a masked copy."""
    rng = np.random.default_rng(0)
    g = np.array(rng.choice(SPECIAL_GRADS, (6, 8)), dtype)
    bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}.get(np.dtype(dtype).itemsize)
    as_bits = (lambda a: a.view(bits)) if bits else (lambda a: np.stack([np.signbit(a.real), a.real], -1))
    cases = [(g, rng.random((6, 8)) > 0.5), (g.T, rng.random((8, 6)) > 0.5), (g[:, ::3], rng.random((1, 3)) > 0.5)]
    for grad, mask in cases:  # contiguous; transposed; strided with a mask that broadcasts
        expected = np.where(mask, grad, np.zeros((), dtype))
        np.testing.assert_array_equal(as_bits(pass_where(grad, mask)), as_bits(expected))
        out = np.full(grad.shape, 7, dtype)
        assert pass_where(grad, mask, out=out) is out
        np.testing.assert_array_equal(as_bits(out), as_bits(expected))
