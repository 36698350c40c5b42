"""Parity tests for the failures PyTorch's OpInfo samples found (tests/test_opinfo.py runs the samples
themselves; these cases stand on their own, so they run without PyTorch's test-only `expecttest` too).
Forward values and gradients against PyTorch, in float64 with random cotangents (helpers.assert_parity)."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
import retrograd.nn.functional as F
from helpers import assert_parity

rng = np.random.default_rng(12)


def randn(*shape):
    return rng.standard_normal(shape)


# ----- unbatched inputs: conv1d on (C, L), conv2d and the 2-D pools on (C, H, W) -------------------------
def test_conv1d_and_conv2d_accept_an_unbatched_input():
    assert_parity(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
                  lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=1), randn(4, 7), randn(3, 4, 3), randn(3))
    assert_parity(lambda x, w: F.conv2d(x, w, padding="same", groups=2),
                  lambda x, w: TF.conv2d(x, w, padding="same", groups=2), randn(4, 5, 6), randn(6, 2, 3, 3))


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"])
def test_pools_accept_an_unbatched_input(pool):
    x = randn(3, 6, 7) if pool.endswith("2d") else randn(3, 7)
    kwargs = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
    assert_parity(lambda t: getattr(F, pool)(t, **kwargs), lambda t: getattr(TF, pool)(t, **kwargs), x)


def test_max_pool2d_unbatched_return_indices_and_adaptive_pools():
    x = randn(2, 6, 6)
    ours = F.max_pool2d(rg.tensor(x), 2, return_indices=True)
    theirs = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    assert_parity(lambda t: F.adaptive_avg_pool2d(t, 3), lambda t: TF.adaptive_avg_pool2d(t, 3), x)
    assert_parity(lambda t: F.adaptive_max_pool2d(t, 2), lambda t: TF.adaptive_max_pool2d(t, 2), x)


def test_max_pool2d_ceil_mode_with_padding_and_default_stride():
    """The OpInfo case `max_pool2d(ceil_mode=True, padding=1, stride=None)` on sizes where the last window
    starts in the padding (reported as a NumPy broadcast error)."""
    for size in (3, 4, 5, 6):
        for kernel in (2, 3):
            kwargs = dict(kernel_size=kernel, padding=1, ceil_mode=True)
            assert_parity(lambda t: F.max_pool2d(t, **kwargs), lambda t: TF.max_pool2d(t, **kwargs),
                          randn(1, 2, size, size + 1))


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"])
def test_an_empty_stride_means_the_kernel_size(pool):
    x = randn(1, 2, 6, 5) if pool.endswith("2d") else randn(1, 2, 5)
    assert_parity(lambda t: getattr(F, pool)(t, 2, stride=()), lambda t: getattr(TF, pool)(t, 2, stride=()), x)


# ----- empty dims and indices ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_over_an_empty_dim(name):
    for shape, dim in (((0, 3), 0), ((0, 3), 1), ((2, 0, 3), 1), ((1, 0), -1)):
        with np.errstate(all="raise"):  # no log(0) or 0/0 warning on the way
            out = assert_parity(lambda t: getattr(F, name)(t, dim), lambda t: getattr(TF, name)(t, dim),
                                randn(*shape))
        assert out[0].shape == shape


def test_gather_with_an_empty_index_and_a_0d_input():
    assert_parity(lambda x: rg.gather(x, 0, rg.zeros(2, 0, dtype=rg.int64)),
                  lambda x: torch.gather(x, 0, torch.zeros(2, 0, dtype=torch.int64)), randn(5))
    assert_parity(lambda x: rg.gather(x, 1, rg.zeros(0, 3, dtype=rg.int64)),
                  lambda x: torch.gather(x, 1, torch.zeros(0, 3, dtype=torch.int64)), randn(4, 5))
    for index in ([0], [0, 0], 0):
        assert_parity(lambda x: rg.gather(x, 0, rg.tensor(index)), lambda x: torch.gather(x, 0, torch.tensor(index)),
                      randn())


def test_batch_norm_on_an_empty_batch():
    for training in (True, False):
        assert_parity(lambda x: F.batch_norm(x, rg.zeros(0, dtype=rg.float64), rg.ones(0, dtype=rg.float64),
                                             training=training),
                      lambda x: TF.batch_norm(x, torch.zeros(0, dtype=torch.float64),
                                              torch.ones(0, dtype=torch.float64), training=training),
                      randn(0))


# ----- norm(p='nuc'), div's rounding modes, circular pad -------------------------------------------------
def test_nuclear_norm():
    for shape, dim, keepdim in (((5, 5), None, False), ((4, 3), None, True), ((3, 5, 4), (1, 2), False),
                                ((3, 4, 5), (0, 2), True), ((2, 3), (-1, -2), False)):
        assert_parity(lambda x: rg.norm(x, p="nuc", dim=dim, keepdim=keepdim),
                      lambda x: torch.norm(x, p="nuc", dim=dim, keepdim=keepdim), randn(*shape))
    with pytest.raises(RuntimeError, match="norm: p='nuc' needs dim to be a 2-tuple"):
        rg.norm(rg.randn(2, 3, 4), p="nuc")


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_with_a_rounding_mode_has_a_zero_gradient_not_none(mode):
    a, b = randn(3, 4) * 5, randn(4)
    assert_parity(lambda x, y: rg.div(x, y, rounding_mode=mode), lambda x, y: torch.div(x, y, rounding_mode=mode),
                  a, b)
    x = rg.tensor(a, requires_grad=True)
    rg.div(x, 2.0, rounding_mode=mode).sum().backward()
    assert x.grad is not None and x.grad.shape == (3, 4) and not x.grad.numpy().any()


FLOAT_QUOTIENTS = [(1.0, 0.1), (-5.0, np.inf), (5.0, -np.inf), (7.0, -2.0), (-7.0, 2.0), (0.3, 0.1), (-0.0, 3.0),
                   (5.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (2.0**60 + 1, 1.0), (np.nan, 1.0), (1e308, 1e-308)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_division_gives_pytorchs_quotients_bit_for_bit(dtype, mode):
    """floor is computed from fmod as PyTorch (and Python's float //) computes it, not as floor(a / b): 1.0 // 0.1
    is 9, -5 // inf is -1; zero divisors give inf or nan; signs of zero as torch's."""
    with np.errstate(over="ignore"):  # 1e308 is inf in float32
        a, b = (np.array(values, dtype) for values in zip(*FLOAT_QUOTIENTS))
    ours = rg.div(rg.tensor(a), rg.tensor(b), rounding_mode=mode).numpy()
    theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode).numpy()
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_integer_division_is_exact_and_refuses_zero_as_pytorch(mode):
    a = np.array([2**60 + 1, -7, 7, -7, 0, -(2**62)], np.int64)
    b = np.array([1, 2, -2, -2, 3, 3], np.int64)
    ours = rg.div(rg.tensor(a), rg.tensor(b), rounding_mode=mode)
    theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    assert ours.dtype == rg.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    small = rg.div(rg.tensor(np.array([7, -7], np.int8)), 2, rounding_mode=mode)
    assert small.dtype == rg.int8 and small.tolist() == torch.div(torch.tensor([7, -7], dtype=torch.int8), 2,
                                                                   rounding_mode=mode).tolist()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.div(torch.tensor([5, 1]), torch.tensor([0, 1]), rounding_mode=mode)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        rg.div(rg.tensor([5, 1]), rg.tensor([0, 1]), rounding_mode=mode)
    with pytest.raises(NotImplementedError, match=f'"div_{mode}_cpu" not implemented for \'Bool\''):
        rg.div(rg.tensor([True]), rg.tensor([True]), rounding_mode=mode)


def test_floor_divide_and_the_floordiv_operators_follow_pytorch():
    a, b = np.array([5.0, -1.0, 1.0, 7.5]), np.array([0.0, 0.0, 0.1, -2.0])
    for ours, theirs in (
        (rg.tensor(a) // rg.tensor(b), torch.tensor(a) // torch.tensor(b)),
        (7 // rg.tensor([2, -2]), 7 // torch.tensor([2, -2])),
        (rg.tensor([7, -7]) // 2, torch.tensor([7, -7]) // 2),
        (rg.floor_divide(rg.tensor(a), 2.0), torch.floor_divide(torch.tensor(a), 2.0)),
        (rg.tensor(a).floor_divide(rg.tensor(b)), torch.tensor(a).floor_divide(torch.tensor(b))),
    ):
        assert ours.dtype == {torch.float64: rg.float64, torch.int64: rg.int64}[theirs.dtype]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="div expected rounding_mode to be one of None, 'trunc', or 'floor'"):
        rg.div(rg.tensor([1.0]), 2.0, rounding_mode="round")
    x = rg.tensor([3.0], requires_grad=True)  # PyTorch defines no derivative for floor_divide (div's is zero)
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        (x // 2).sum().backward()
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        (torch.tensor([3.0], requires_grad=True) // 2).sum().backward()


def test_mm_and_bmm_refuse_what_pytorch_refuses_and_multiply_the_rest():
    cases = [((2, 3, 4), (4, 2), "mm"), ((3,), (3, 2), "mm"), ((2, 3), (3,), "mm"), ((2, 3), (4, 2), "mm"),
             ((2, 3), (3, 2), "bmm"), ((2, 3, 4), (3, 4, 2), "bmm"), ((2, 3, 4), (2, 5, 2), "bmm"),
             ((2, 3, 4), (4, 2), "bmm")]
    for a_shape, b_shape, name in cases:
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch, name)(torch.ones(a_shape), torch.ones(b_shape))
        with pytest.raises(RuntimeError, match=re.escape(str(theirs.value))):
            getattr(rg, name)(rg.ones(a_shape), rg.ones(b_shape))
        with pytest.raises(RuntimeError, match=re.escape(str(theirs.value))):
            getattr(rg.ones(a_shape), name)(rg.ones(b_shape))
    assert_parity(lambda a, b: rg.mm(a, b), lambda a, b: torch.mm(a, b), randn(2, 3), randn(3, 4))
    assert_parity(lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), randn(2, 3, 4), randn(2, 4, 5))


def test_circular_pad_crops_before_it_wraps():
    for pads in ((-1, 1, -2, 1), (1, -1, 0, 0), (2, -1, 1, 1), (-1, -1, 1, 0), (1, 2, 3, 0)):
        assert_parity(lambda x: F.pad(x, pads, mode="circular"), lambda x: TF.pad(x, pads, mode="circular"),
                      randn(1, 3, 4, 4))


# ----- adaptive pools whose windows do not tile the input (PyTorch's overlapping windows) ----------------
@pytest.mark.parametrize("shape,size", [((2, 3, 4, 3), (3, 3)), ((1, 2, 8, 8), (5, 7)), ((1, 1, 7, 9), (3, 4)),
                                        ((2, 2, 4, 3), (5, 5)), ((3, 7, 5), (2, None))])
def test_adaptive_pools_with_windows_that_do_not_tile_the_input(shape, size):
    x = randn(*shape)
    x.flat[3] = x.flat[4]  # a tie inside a window: the first maximum gets the gradient
    assert_parity(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size), x)
    ours = assert_parity(lambda t: F.adaptive_max_pool2d(t, size, return_indices=True),
                         lambda t: TF.adaptive_max_pool2d(t, size, return_indices=True), x)
    np.testing.assert_array_equal(ours[1].numpy(), TF.adaptive_max_pool2d(torch.tensor(x), size, True)[1].numpy())


def test_adaptive_max_pool2d_picks_the_last_nan_of_a_window():
    x = randn(1, 1, 5, 4)
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = np.nan
    assert_parity(lambda t: F.adaptive_max_pool2d(t, 3), lambda t: TF.adaptive_max_pool2d(t, 3), x)


# ----- index_put(accumulate=True), scatter_add on a 0-d input --------------------------------------------
def test_index_put_accumulate_adds_every_repeated_write():
    index = np.array([0, 2, 2, 4])
    for accumulate in (False, True):
        assert_parity(lambda x, v: rg.index_put(x, (rg.tensor(index),), v, accumulate),
                      lambda x, v: torch.index_put(x, (torch.tensor(index),), v, accumulate), randn(5, 3), randn(4, 3))
    assert_parity(lambda x, v: rg.index_put(x, (rg.tensor(index),), v, accumulate=True),
                  lambda x, v: torch.index_put(x, (torch.tensor(index),), v, accumulate=True), randn(5, 3), randn(3))


def test_scatter_add_on_a_0d_input():
    for index, src in ((0, randn()), ([0], randn(1))):
        assert_parity(lambda x, s: rg.scatter_add(x, 0, rg.tensor(index), s),
                      lambda x, s: torch.scatter_add(x, 0, torch.tensor(index), s), randn(), src)


def test_a_rank_neither_batched_nor_unbatched_still_names_both():
    with pytest.raises(ValueError, match=r"max_pool1d: expected a 3-D input \(N, C, L\) or an unbatched 2-D one"):
        F.max_pool1d(rg.randn(4), 2)
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input .* or an unbatched 3-D one \(C, H, W\)"):
        F.conv2d(rg.randn(5, 5), rg.randn(2, 3, 3, 3))
