"""F.unfold / F.fold (im2col / col2im), nn.Unfold / nn.Fold, F.bilinear and nn.Bilinear against torch 2.13."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, assert_parity, closure_arrays, numerical_check
from retrograd import nn
from retrograd.nn import functional as F

rng = np.random.default_rng(0)
TF = torch.nn.functional

GEOMETRIES = [  # (input shape, keyword arguments)
    ((2, 3, 5, 6), {"kernel_size": 2}),
    ((2, 3, 5, 6), {"kernel_size": (2, 3), "dilation": (2, 1), "padding": 1, "stride": (2, 1)}),
    ((3, 5, 6), {"kernel_size": 1}),  # unbatched, and a 1 x 1 kernel (a reshape that must not alias the input)
    ((1, 2, 4, 4), {"kernel_size": 2, "stride": 2}),  # disjoint blocks
    ((0, 2, 4, 4), {"kernel_size": 3}),
]


@pytest.mark.parametrize("shape, kwargs", GEOMETRIES)
def test_unfold_and_fold_match_torch(shape, kwargs):
    assert_parity(lambda x: F.unfold(x, **kwargs), lambda x: TF.unfold(x, **kwargs), rng.standard_normal(shape))
    cols_shape = tuple(TF.unfold(torch.zeros(shape), **kwargs).shape)
    assert_parity(lambda c: F.fold(c, shape[-2:], **kwargs), lambda c: TF.fold(c, shape[-2:], **kwargs),
                  rng.standard_normal(cols_shape))
    assert_module_parity(nn.Unfold(**kwargs), torch.nn.Unfold(**kwargs), rng.standard_normal(shape))
    assert_module_parity(nn.Fold(shape[-2:], **kwargs), torch.nn.Fold(shape[-2:], **kwargs),
                         rng.standard_normal(cols_shape))


def test_unfold_and_fold_gradients_are_numerically_right_and_save_nothing():
    numerical_check(lambda x: F.unfold(x, 2, padding=1, stride=2), rng.standard_normal((1, 2, 3, 3)))
    numerical_check(lambda c: F.fold(c, (3, 3), 2), rng.standard_normal((1, 8, 4)))
    x = rg.tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    cols = F.unfold(x, 1)
    assert not np.shares_memory(cols.detach().numpy(), x.detach().numpy())
    assert closure_arrays(cols.grad_fn.backward_fn) == {}
    assert closure_arrays(F.fold(cols, (3, 3), 1).grad_fn.backward_fn) == {}


def test_unfold_and_fold_reprs_and_errors_match_torch():
    assert repr(nn.Fold((4, 5), 2)) == repr(torch.nn.Fold((4, 5), 2))
    assert repr(nn.Unfold(3, padding=1)) == repr(torch.nn.Unfold(3, padding=1))
    with pytest.raises(RuntimeError, match=r"Given input with spatial size \(3, 3\), kernel_size=\(4, 4\), dilation="
                                           r"\(1, 1\), padding=\(0, 0\), calculated shape of the array of sliding "
                                           r"blocks as \(0, 0\), but its components must be at least one."):
        F.unfold(rg.ones(1, 2, 3, 3), 4)
    with pytest.raises(RuntimeError, match=r"Expected size of input's dimension 1 to be divisible by the product of "
                                           r"kernel_size, but got input.size\(1\)=7 and kernel_size=\(2, 2\)."):
        F.fold(rg.ones(1, 7, 4), (3, 3), 2)
    with pytest.raises(RuntimeError, match=r"expected size of input's dimension 2 to match the calculated number of "
                                           r"sliding blocks 2 \* 2 = 4, but got input.size\(2\)=5."):
        F.fold(rg.ones(1, 8, 5), (3, 3), 2)
    with pytest.raises(RuntimeError, match="stride should be greater than zero, but got stride_height: 0"):
        F.unfold(rg.ones(1, 2, 3, 3), 2, stride=0)


# ----- bilinear -----------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [(4,), (2, 3), (), (0,)])
def test_bilinear_matches_torch(batch):
    x1, x2 = rng.standard_normal(batch + (3,)), rng.standard_normal(batch + (4,))
    weight, bias = rng.standard_normal((5, 3, 4)), rng.standard_normal(5)
    assert_parity(F.bilinear, TF.bilinear, x1, x2, weight, bias)
    assert_parity(F.bilinear, TF.bilinear, x1, x2, weight)


def test_bilinear_gradient_is_numerically_right():
    numerical_check(F.bilinear, rng.standard_normal((2, 3)), rng.standard_normal((2, 2)),
                    rng.standard_normal((4, 3, 2)), rng.standard_normal(4))


def test_bilinear_layer_draws_torch_initial_weights_and_matches_it():
    torch.manual_seed(7)
    theirs = torch.nn.Bilinear(3, 4, 5)
    rg.manual_seed(7)
    ours = nn.Bilinear(3, 4, 5)
    assert [n for n, _ in ours.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    np.testing.assert_array_equal(ours.bias.detach().numpy(), theirs.bias.detach().numpy())
    assert repr(ours) == repr(theirs)
    assert_module_parity(ours.double(), theirs.double(), rng.standard_normal((6, 3)), rng.standard_normal((6, 4)))
    assert nn.Bilinear(2, 2, 2, bias=False).bias is None


def test_bilinear_errors_match_torch():
    with pytest.raises(RuntimeError, match="bilinear\\(\\): input2 size does not match weight size: got 4 but "
                                           "expected 3"):
        F.bilinear(rg.ones(2, 3), rg.ones(2, 4), rg.ones(5, 3, 3))
    with pytest.raises(RuntimeError, match="bilinear\\(\\): input batch dimensions do not match at dim 0: got 2 "
                                           "and 3"):
        F.bilinear(rg.ones(2, 3), rg.ones(3, 4), rg.ones(5, 3, 4))
