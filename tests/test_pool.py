"""Pooling: parity with PyTorch (including ties under the default policy), the split and random
tie policies, average/adaptive pooling, unpooling, layers and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
from helpers import assert_module_parity, assert_parity, numerical_check
from retrograd.ops import pool

rng = np.random.default_rng(0)

MAX_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)},
    {"kernel_size": 3, "stride": 1},  # overlapping windows accumulate
]


@pytest.mark.parametrize("kwargs", MAX_CASES)
def test_max_pool2d_matches_torch(kwargs):
    x = rng.standard_normal((2, 3, 9, 8))
    assert_parity(lambda x: pool.max_pool2d(x, **kwargs), lambda x: TF.max_pool2d(x, **kwargs), x)
    assert_parity(lambda x: pool.max_pool2d(x, return_indices=True, **kwargs)[1],
                  lambda x: TF.max_pool2d(x, return_indices=True, **kwargs)[1], x, grad=False)


@pytest.mark.parametrize("kwargs", [case for case in MAX_CASES if "dilation" not in case])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch_and_gradcheck(kwargs, count_include_pad):
    x = rng.standard_normal((2, 3, 9, 8))
    assert_parity(lambda x: pool.avg_pool2d(x, count_include_pad=count_include_pad, **kwargs),
                  lambda x: TF.avg_pool2d(x, count_include_pad=count_include_pad, **kwargs), x)
    numerical_check(lambda x: pool.avg_pool2d(x, count_include_pad=count_include_pad, **kwargs), x[:1, :1])


def test_avg_pool2d_divisor_override():
    x = rng.standard_normal((1, 2, 6, 6))
    assert_parity(lambda x: pool.avg_pool2d(x, 3, divisor_override=2), lambda x: TF.avg_pool2d(x, 3,
                                                                                               divisor_override=2), x)


def test_max_pool2d_gradcheck_without_ties():
    x = rng.permutation(2 * 3 * 7 * 7).reshape(2, 3, 7, 7) / 10.0  # distinct values: no ties
    numerical_check(lambda x: pool.max_pool2d(x, 3, 2, 1), x)


def _tied_input():
    """Windows of a 2x2 pool where two, three or four entries tie for the maximum."""
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = [[1, 1], [0, 1]]  # three-way tie
    x[0, 0, :2, 2:] = [[2, 0], [2, 0]]  # two-way tie, in different rows
    x[0, 0, 2:, :2] = 5  # four-way tie
    x[0, 0, 2:, 2:] = [[0, 0], [0, 3]]  # no tie
    return x


def test_ties_first_matches_torch():
    """PyTorch sends the gradient to the first maximum in row-major window order."""
    x = _tied_input()
    assert_parity(lambda x: pool.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), x)
    assert_parity(lambda x: pool.max_pool2d(x, 3, 1), lambda x: TF.max_pool2d(x, 3, 1), x)
    xt = rg.tensor(x, requires_grad=True)
    pool.max_pool2d(xt, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[0, 2] = expected[2, 0] = expected[3, 3] = 1
    np.testing.assert_array_equal(xt.grad.array[0, 0], expected)


@pytest.mark.parametrize("kernel", [2, (1, 2), (2, 1), (3, 3), (2, 3), (1, 1)])
def test_tiling_windows_match_torch_under_many_ties(kernel):
    """Windows that tile the input exactly take a two-stage path (row maxima, then across rows);
    values drawn from {0, 1, 2} make most windows tie, so the first-maximum rule is exercised."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.integers(0, 3, size=(3, 2, 2 * kh, 3 * kw)).astype(np.float64)
    assert_parity(lambda x: pool.max_pool2d(x, kernel), lambda x: TF.max_pool2d(x, kernel), x)
    assert_parity(lambda x: pool.max_pool2d(x.float(), kernel), lambda x: TF.max_pool2d(x.float(), kernel), x)


def test_tiling_windows_with_nan_and_non_finite_gradients_match_torch():
    x = rng.standard_normal((1, 2, 4, 4))
    x[0, 0, 1, 1] = np.nan  # NaN propagates to its window's output, and the gradient goes to it
    assert_parity(lambda x: pool.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), x)
    grad = np.array([np.inf, 1.0, -np.inf, 2.0] * 2).reshape(1, 2, 2, 2)  # unchosen entries stay exactly 0
    xt, xtorch = rg.tensor(x[:, 1:], requires_grad=True), torch.tensor(x[:, 1:], requires_grad=True)
    pool.max_pool2d(xt, 2).backward(rg.tensor(grad[:, 1:]))
    TF.max_pool2d(xtorch, 2).backward(torch.tensor(grad[:, 1:]))
    np.testing.assert_array_equal(xt.grad.array, xtorch.grad.numpy())


def test_ties_split_shares_evenly():
    x = _tied_input()
    xt = rg.tensor(x, requires_grad=True)
    upstream = np.array([[2.0, 4.0], [8.0, 1.0]])
    pool.max_pool2d(xt, 2, ties="split").backward(rg.tensor(upstream[None, None]))
    grad = xt.grad.array[0, 0]
    np.testing.assert_allclose(grad[:2, :2], [[2 / 3, 2 / 3], [0, 2 / 3]])
    np.testing.assert_allclose(grad[:2, 2:], [[2, 0], [2, 0]])
    np.testing.assert_allclose(grad[2:, :2], [[2, 2], [2, 2]])
    np.testing.assert_allclose(grad[2:, 2:], [[0, 0], [0, 1]])
    for rows in (slice(0, 2), slice(2, 4)):  # each window's gradient sums to its upstream gradient
        for i, cols in enumerate((slice(0, 2), slice(2, 4))):
            assert grad[rows, cols].sum() == pytest.approx(upstream[rows.start // 2, i])


def test_ties_random_picks_exactly_one_tied_maximum_uniformly():
    x = _tied_input()
    counts = np.zeros((2, 2))
    for seed in range(400):
        rg.manual_seed(seed)
        xt = rg.tensor(x, requires_grad=True)
        pool.max_pool2d(xt, 2, ties="random").sum().backward()
        window = xt.grad.array[0, 0, 2:, :2]  # the four-way tie
        assert window.sum() == 1 and set(np.unique(window)) <= {0, 1}
        counts += window
        assert xt.grad.array[0, 0, :2, :2][1, 0] == 0  # never the entry that is not a maximum
        assert xt.grad.array[0, 0, 3, 3] == 1  # untied windows behave as always
    assert counts.min() > 60  # each of the four is picked about 100 times in 400 draws
    rg.manual_seed(7)
    a = rg.tensor(x, requires_grad=True)
    pool.max_pool2d(a, 2, ties="random").sum().backward()
    rg.manual_seed(7)
    b = rg.tensor(x, requires_grad=True)
    pool.max_pool2d(b, 2, ties="random").sum().backward()
    np.testing.assert_array_equal(a.grad.array, b.grad.array)  # seeded: repeatable


def test_ties_policy_is_validated():
    with pytest.raises(ValueError, match="ties must be one of"):
        pool.max_pool2d(rg.randn(1, 1, 4, 4), 2, ties="last")
    with pytest.raises(ValueError, match="MaxPool2d: ties must be one of"):
        rg.nn.MaxPool2d(2, ties="mean")


def test_max_pool1d_and_avg_pool1d_match_torch():
    x = rng.standard_normal((2, 3, 11))
    assert_parity(lambda x: pool.max_pool1d(x, 3, 2, 1), lambda x: TF.max_pool1d(x, 3, 2, 1), x)
    assert_parity(lambda x: pool.max_pool1d(x, 2, return_indices=True)[1],
                  lambda x: TF.max_pool1d(x, 2, return_indices=True)[1], x, grad=False)
    assert_parity(lambda x: pool.avg_pool1d(x, 3, 2, 1), lambda x: TF.avg_pool1d(x, 3, 2, 1), x)


@pytest.mark.parametrize("size", [1, (2, 4), (4, 1), (None, 2)])
def test_adaptive_pools_match_torch(size):
    x = rng.standard_normal((2, 3, 8, 8))
    assert_parity(lambda x: pool.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), x)
    assert_parity(lambda x: pool.adaptive_max_pool2d(x, size), lambda x: TF.adaptive_max_pool2d(x, size), x)


@pytest.mark.parametrize("shape", [(2, 3, 7, 7), (2, 3, 5, 9), (3, 6, 6), (2, 3, 1, 1)])
@pytest.mark.parametrize("size", [1, (1, 1), (None, 1)])
def test_global_average_pooling_is_the_mean_over_each_plane_as_in_pytorch(shape, size):
    """An output of 1 x 1 is PyTorch's special case: input.mean((-1, -2), keepdim=True), its node mean's (the graph
    names it as PyTorch's does); batched and unbatched, values and gradients as torch's. (None, 1) keeps the height,
    so it stays a windowed pool unless the height is 1."""
    x = rng.standard_normal(shape)
    assert_parity(lambda x: pool.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), x)
    xt = rg.tensor(x.astype(np.float32), requires_grad=True)
    y = pool.adaptive_avg_pool2d(xt, size)
    plane_mean = size != (None, 1) or shape[-2] == 1
    assert (y.grad_fn.name() == "MeanBackward") == plane_mean, y.grad_fn.name()
    if plane_mean:
        np.testing.assert_array_equal(y.array, xt.mean((-2, -1), keepdim=True).array)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_adaptive_pools_of_integers_are_refused_as_pytorch_refuses_them(dtype):
    """Global average pooling is mean's refusal (torch calls mean); other sizes name the pool (they computed
    silently before). max_pool2d and avg_pool2d take integers in both libraries."""
    x = (np.arange(2 * 3 * 4 * 4) % 3).reshape(2, 3, 4, 4).astype(dtype)
    with pytest.raises(RuntimeError, match="mean"):
        TF.adaptive_avg_pool2d(torch.tensor(x), 1)
    with pytest.raises(RuntimeError, match="mean"):
        pool.adaptive_avg_pool2d(rg.tensor(x), 1)
    for name, size in (("adaptive_avg_pool2d", 2), ("adaptive_avg_pool2d", 3), ("adaptive_max_pool2d", 2)):
        with pytest.raises(RuntimeError, match=f'"{name}" not implemented'):
            getattr(TF, name)(torch.tensor(x), size)
        with pytest.raises(RuntimeError, match=f'{name}: not implemented for input of dtype {np.dtype(dtype)}'):
            getattr(pool, name)(rg.tensor(x), size)


def test_adaptive_pool_unsupported_size_says_so():
    """Windows that do not tile the input are supported (tests/test_opinfo_fixes.py) with PyTorch's tie
    rule only; another tie policy on them says so."""
    with pytest.raises(NotImplementedError, match="ties='split' needs windows that tile the input"):
        pool.adaptive_max_pool2d(rg.randn(1, 1, 7, 7), 3, ties="split")


def test_max_unpool2d_matches_torch():
    x = rng.standard_normal((2, 3, 8, 8))
    values_t, indices_t = TF.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    values = values_t.numpy()
    assert_parity(lambda v: pool.max_unpool2d(v, rg.tensor(indices_t.numpy()), 2),
                  lambda v: TF.max_unpool2d(v, indices_t, 2), values)


def test_pool_layers_match_torch():
    x = rng.standard_normal((2, 3, 8, 8))
    for ours, theirs in [(rg.nn.MaxPool2d(2), torch.nn.MaxPool2d(2)), (rg.nn.AvgPool2d(3, 2, 1),
                                                                        torch.nn.AvgPool2d(3, 2, 1)),
                         (rg.nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
                         (rg.nn.AdaptiveMaxPool2d((2, 2)), torch.nn.AdaptiveMaxPool2d((2, 2)))]:
        assert_module_parity(ours, theirs, x)
    assert_module_parity(rg.nn.MaxPool1d(3, 2), torch.nn.MaxPool1d(3, 2), x[:, :, 0])


def test_pool_errors():
    with pytest.raises(ValueError, match="max_pool2d: expected a 4-D input"):
        pool.max_pool2d(rg.randn(4, 4), 2)
    with pytest.raises(ValueError, match="pad should be at most half"):
        pool.max_pool2d(rg.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="too small"):
        pool.avg_pool2d(rg.randn(1, 1, 2, 2), 3)


def test_dropout2d_drops_whole_channels():
    rg.manual_seed(0)
    x = rg.ones(50, 40, 3, 3, requires_grad=True)
    y = rg.nn.Dropout2d(0.5)(x)
    per_map = y.array.reshape(50, 40, 9)
    assert np.all((per_map == 0).all(-1) | (per_map == 2).all(-1))
    assert abs((per_map[..., 0] == 0).mean() - 0.5) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, y.array)


@pytest.mark.parametrize("kwargs", MAX_CASES + [{"kernel_size": (1, 3), "stride": 1, "padding": (0, 1)},
                                                {"kernel_size": 1, "stride": 2}])
def test_max_pool2d_matches_torch_under_many_ties(kwargs):
    """Values from {0, 1, 2} make most windows tie: the first maximum (row-major) gets the gradient and
    is the returned index, for every geometry (overlapping, padded, dilated, ceil_mode, 1x1)."""
    x = rng.integers(0, 3, size=(2, 3, 9, 8)).astype(np.float64)
    assert_parity(lambda x: pool.max_pool2d(x, return_indices=True, **kwargs),
                  lambda x: TF.max_pool2d(x, return_indices=True, **kwargs), x)
    assert_parity(lambda x: pool.max_pool2d(x.float(), **kwargs), lambda x: TF.max_pool2d(x.float(), **kwargs), x,
                  rtol=1e-6)  # float32 sums of overlapping windows' gradients, in another order than PyTorch's


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1},
                                    {"kernel_size": (2, 3), "stride": (1, 2), "dilation": (2, 1), "ceil_mode": True}])
def test_windows_with_several_nans_send_the_gradient_to_the_last_nan_as_torch(kwargs):
    """PyTorch's kernel takes every NaN it meets (`val > max || isnan(val)`), so a window holding several
    NaNs sends its gradient, and its index, to the last one in row-major order."""
    x = rng.standard_normal((2, 2, 6, 7))
    x[rng.random(x.shape) < 0.3] = np.nan
    assert_parity(lambda x: pool.max_pool2d(x, return_indices=True, **kwargs),
                  lambda x: TF.max_pool2d(x, return_indices=True, **kwargs), x)
    assert_parity(lambda x: pool.max_pool1d(x, 3, 2), lambda x: TF.max_pool1d(x, 3, 2), x[:, :, 0])


def test_windows_of_more_than_127_entries_match_torch():
    """A 16 x 16 window has 256 entries: the saved offsets take a wider integer type than int8."""
    x = rng.integers(0, 4, size=(2, 3, 16, 16)).astype(np.float64)
    assert_parity(lambda x: pool.adaptive_max_pool2d(x, 1, return_indices=True),
                  lambda x: TF.adaptive_max_pool2d(x, 1, return_indices=True), x)
    assert_parity(lambda x: pool.max_pool2d(x, 12, 4, return_indices=True),
                  lambda x: TF.max_pool2d(x, 12, 4, return_indices=True), x)


def _split_and_random_twin(x, kernel, stride, padding, grad):
    """Loops over windows, the slow twin: (the split policy's input gradient, for each input entry the number of
    windows in which it is a tied maximum)."""
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
    split, tied_in = np.zeros_like(padded), np.zeros_like(padded)
    for n, c, i, j in np.ndindex(grad.shape):
        rows, cols = slice(i * stride, i * stride + kernel), slice(j * stride, j * stride + kernel)
        tied = padded[n, c, rows, cols] == padded[n, c, rows, cols].max()
        split[n, c, rows, cols] += grad[n, c, i, j] * tied / tied.sum()
        tied_in[n, c, rows, cols] += tied
    inner = (slice(None), slice(None), slice(padding, padding + x.shape[2]), slice(padding, padding + x.shape[3]))
    return split[inner], tied_in[inner]


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_split_and_random_ties_on_overlapping_padded_windows(kernel, stride, padding):
    x = rng.integers(0, 3, size=(2, 2, 7, 7)).astype(np.float64)
    xt = rg.tensor(x, requires_grad=True)
    y = pool.max_pool2d(xt, kernel, stride, padding, ties="split")
    grad = rng.standard_normal(y.shape)
    y.backward(rg.tensor(grad))
    split, tied_in = _split_and_random_twin(x, kernel, stride, padding, grad)
    np.testing.assert_allclose(xt.grad.array, split, rtol=1e-12, atol=1e-15)
    rg.manual_seed(3)
    xt = rg.tensor(x, requires_grad=True)
    pool.max_pool2d(xt, kernel, stride, padding, ties="random").backward(rg.tensor(np.ones(y.shape)))
    assert xt.grad.array.sum() == y.numel()  # each window's 1 went to exactly one entry ...
    assert np.all(xt.grad.array <= tied_in)  # ... one of its tied maxima
    values, indices = TF.max_pool2d(torch.from_numpy(x), kernel, stride, padding, return_indices=True)
    for ties in ("split", "random"):  # the values, and the indices of the first maxima, are PyTorch's
        ours = pool.max_pool2d(rg.tensor(x), kernel, stride, padding, return_indices=True, ties=ties)
        np.testing.assert_array_equal(ours[0].array, values.numpy())
        np.testing.assert_array_equal(ours[1].array, indices.numpy())
