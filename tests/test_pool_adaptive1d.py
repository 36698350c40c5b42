"""adaptive_avg_pool1d / adaptive_max_pool1d and their layers against torch 2.13."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, assert_parity, numerical_check
from retrograd import nn
from retrograd.nn import functional as F

rng = np.random.default_rng(0)
TF = torch.nn.functional

CASES = [((2, 3, 10), 4), ((2, 3, 10), 5), ((3, 7), 3), ((2, 3, 5), 1), ((2, 3, 5), (7,)), ((0, 2, 6), 3)]


@pytest.mark.parametrize("shape, size", CASES)
def test_adaptive_avg_pool1d_matches_torch(shape, size):
    assert_parity(lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size),
                  rng.standard_normal(shape))
    assert_module_parity(nn.AdaptiveAvgPool1d(size), torch.nn.AdaptiveAvgPool1d(size), rng.standard_normal(shape))


@pytest.mark.parametrize("shape, size", CASES[:-1])
def test_adaptive_max_pool1d_matches_torch_with_indices(shape, size):
    x = rng.standard_normal(shape)
    x[..., 1] = x[..., 2]  # a tie inside a window: the first maximum gets the gradient
    assert_parity(lambda x: F.adaptive_max_pool1d(x, size, True), lambda x: TF.adaptive_max_pool1d(x, size, True), x)
    ours, theirs = nn.AdaptiveMaxPool1d(size, return_indices=True), torch.nn.AdaptiveMaxPool1d(size, True)
    _, our_indices = ours(rg.tensor(x))
    _, their_indices = theirs(torch.tensor(x))
    assert our_indices.dtype == rg.int64
    np.testing.assert_array_equal(our_indices.numpy(), their_indices.numpy())
    assert_module_parity(nn.AdaptiveMaxPool1d(size), torch.nn.AdaptiveMaxPool1d(size), x)


def test_adaptive_pool1d_gradients_reprs_and_errors():
    numerical_check(lambda x: F.adaptive_avg_pool1d(x, 3), rng.standard_normal((2, 7)))
    numerical_check(lambda x: F.adaptive_max_pool1d(x, 3), rng.standard_normal((2, 7)))
    assert repr(nn.AdaptiveAvgPool1d(3)) == repr(torch.nn.AdaptiveAvgPool1d(3)) == "AdaptiveAvgPool1d(output_size=3)"
    assert repr(nn.AdaptiveMaxPool1d(3)) == repr(torch.nn.AdaptiveMaxPool1d(3))
    with pytest.raises(RuntimeError, match="Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 "
                                           r"'self' \(while checking arguments for adaptive_avg_pool1d\)"):
        F.adaptive_avg_pool1d(rg.ones(3), 2)
    with pytest.raises(RuntimeError, match=r"adaptive_avg_pool1d\(\) argument 'output_size' should contain one int "
                                           r"\(got 2\)"):
        F.adaptive_avg_pool1d(rg.ones(2, 3, 4), (2, 3))
    with pytest.raises(RuntimeError, match=r"adaptive_max_pool1d\(\): Expected input to have non-zero size for "
                                           r"non-batch dimensions, but input has sizes \[2, 3, 0\] with dimension 2"):
        F.adaptive_max_pool1d(rg.ones(2, 3, 0), 2)
