"""GroupNorm, InstanceNorm1d/2d, RMSNorm, LocalResponseNorm and their functional forms, against torch 2.13."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, assert_parity, numerical_check
from retrograd import nn
from retrograd.nn import functional as F

rng = np.random.default_rng(0)
TF = torch.nn.functional


# ----- group_norm -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 4), 3), ((2, 6, 5), 1), ((3, 4), 2), ((2, 6, 5), 6),
                                           ((0, 4, 3), 2)])
def test_group_norm_matches_torch(shape, groups):
    channels = shape[1]
    assert_parity(lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-3),
                  lambda x, w, b: TF.group_norm(x, groups, w, b, eps=1e-3),
                  rng.standard_normal(shape), rng.standard_normal(channels), rng.standard_normal(channels))
    assert_parity(lambda x: F.group_norm(x, groups), lambda x: TF.group_norm(x, groups), rng.standard_normal(shape))


def test_group_norm_gradient_is_numerically_right():
    numerical_check(lambda x, w, b: F.group_norm(x, 2, w, b), rng.standard_normal((2, 4, 3)),
                    rng.standard_normal(4), rng.standard_normal(4))


def test_group_norm_layer_matches_torch_parameters_repr_and_errors():
    ours, theirs = nn.GroupNorm(2, 4).double(), torch.nn.GroupNorm(2, 4).double()
    assert repr(ours) == repr(theirs) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    np.testing.assert_array_equal(ours.bias.detach().numpy(), theirs.bias.detach().numpy())
    assert ours.weight.dtype == rg.float64 and nn.GroupNorm(2, 4).weight.dtype == rg.float32
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    assert_module_parity(ours, theirs, rng.standard_normal((3, 4, 5)))
    unbiased = nn.GroupNorm(1, 3, affine=True, bias=False)
    assert repr(unbiased) == repr(torch.nn.GroupNorm(1, 3, bias=False)) and unbiased.bias is None
    assert [n for n, _ in nn.GroupNorm(1, 3, affine=False).named_parameters()] == []
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match=r"Expected number of channels in input to be divisible by num_groups, "
                                           r"but got input of shape \[2, 6, 3\] and num_groups=4"):
        F.group_norm(rg.ones(2, 6, 3), 4)
    with pytest.raises(RuntimeError, match=r"Expected weight to be a vector of size equal to the number of channels "
                                           r"in input, but got weight of shape \[5\] and input of shape \[2, 6, 3\]"):
        F.group_norm(rg.ones(2, 6, 3), 3, rg.ones(5))
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions for input tensor but received 1"):
        F.group_norm(rg.ones(6), 3)


# ----- instance_norm ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 3)])
def test_instance_norm_matches_torch(shape):
    channels = shape[1]
    assert_parity(lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-3),
                  lambda x, w, b: TF.instance_norm(x, weight=w, bias=b, eps=1e-3),
                  rng.standard_normal(shape), rng.standard_normal(channels), rng.standard_normal(channels))
    numerical_check(lambda x, w: F.instance_norm(x, weight=w), rng.standard_normal(shape),
                    rng.standard_normal(channels))


def test_instance_norm_updates_the_running_statistics_as_torch_and_then_uses_them():
    x = rng.standard_normal((4, 3, 6))
    ours = [rg.tensor(np.zeros(3)), rg.tensor(np.ones(3))]
    theirs = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    for _ in range(2):
        F.instance_norm(rg.tensor(x), *ours, momentum=0.3)
        TF.instance_norm(torch.tensor(x), *theirs, momentum=0.3)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-12)
    assert_parity(lambda x, w: F.instance_norm(x, *ours, w, None, use_input_stats=False),
                  lambda x, w: TF.instance_norm(x, *theirs, w, None, use_input_stats=False),
                  x, rng.standard_normal(3))
    with pytest.raises(RuntimeError, match="Expected running_mean and running_var to be defined when "
                                           "use_input_stats is false"):
        F.instance_norm(rg.tensor(x), use_input_stats=False)
    with pytest.raises(ValueError, match=r"Expected more than 1 spatial element when training, got input size "
                                         r"torch.Size\(\[2, 3, 1\]\)"):
        F.instance_norm(rg.ones(2, 3, 1))


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (2, 3, 7)), ("InstanceNorm1d", (3, 7)),
                                        ("InstanceNorm2d", (2, 3, 4, 5)), ("InstanceNorm2d", (3, 4, 5))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True, "momentum": 0.2},
                                    {"affine": True, "track_running_stats": True, "momentum": None}])
def test_instance_norm_layers_match_torch_in_training_and_eval(cls, shape, kwargs):
    ours, theirs = getattr(nn, cls)(3, **kwargs).double(), getattr(torch.nn, cls)(3, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    if kwargs.get("affine"):
        with torch.no_grad():
            theirs.weight.normal_()
    for mode in ("train", "eval", "train"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        assert_module_parity(ours, theirs, rng.standard_normal(shape))
        for (name, mine), reference in zip(ours.named_buffers(), theirs.buffers()):
            np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-12, err_msg=name)


def test_instance_norm_layers_check_their_input_as_torch():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(rg.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(3\), but got: 4."):
        nn.InstanceNorm1d(3, affine=True)(rg.ones(2, 4, 5))
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        nn.InstanceNorm1d(3)(rg.ones(2, 4, 5))


# ----- rms_norm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, normalized, eps", [((2, 3, 4), (4,), None), ((2, 3, 4), (3, 4), 1e-3),
                                                     ((5,), (5,), 0.1), ((2, 0, 4), (4,), None)])
def test_rms_norm_matches_torch(shape, normalized, eps):
    assert_parity(lambda x, w: F.rms_norm(x, normalized, w, eps), lambda x, w: TF.rms_norm(x, normalized, w, eps),
                  rng.standard_normal(shape), rng.standard_normal(normalized))
    numerical_check(lambda x: F.rms_norm(x, normalized, eps=eps), rng.standard_normal(shape))


def test_rms_norm_default_eps_is_the_dtype_machine_epsilon():
    tiny = np.full((2, 3), 1e-5, np.float32)  # mean(x^2) = 1e-10 is under float32's eps: eps decides the result
    assert_parity(lambda x: F.rms_norm(x, (3,)), lambda x: TF.rms_norm(x, (3,)), tiny, rtol=1e-6, atol=0)
    assert_parity(lambda x: F.rms_norm(x, (3,)), lambda x: TF.rms_norm(x, (3,)), tiny.astype(np.float64))


def test_rms_norm_layer_matches_torch():
    ours, theirs = nn.RMSNorm([3, 4]).double(), torch.nn.RMSNorm([3, 4]).double()
    assert repr(ours) == repr(theirs) == "RMSNorm((3, 4), eps=None, elementwise_affine=True)"
    with torch.no_grad():
        theirs.weight.normal_()
    assert_module_parity(ours, theirs, rng.standard_normal((2, 3, 4)))
    plain = nn.RMSNorm(4, eps=1e-3, elementwise_affine=False)
    assert repr(plain) == repr(torch.nn.RMSNorm(4, eps=1e-3, elementwise_affine=False)) and plain.weight is None
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*4\], but "
                                           r"got input of size\[2, 3\]"):
        F.rms_norm(rg.ones(2, 3), (4,))


# ----- local_response_norm ----------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 5, 4), (2, 5, 3, 4), (1, 3, 2, 2, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 6])
def test_local_response_norm_matches_torch(shape, size):
    assert_parity(lambda x: F.local_response_norm(x, size, alpha=0.5, beta=0.6, k=2.0),
                  lambda x: TF.local_response_norm(x, size, alpha=0.5, beta=0.6, k=2.0), rng.standard_normal(shape))


def test_local_response_norm_layer_gradient_and_errors():
    numerical_check(lambda x: F.local_response_norm(x, 3, alpha=0.5), rng.standard_normal((1, 4, 3)))
    assert repr(nn.LocalResponseNorm(2)) == repr(torch.nn.LocalResponseNorm(2))
    assert_module_parity(nn.LocalResponseNorm(3, 0.1), torch.nn.LocalResponseNorm(3, 0.1),
                         rng.standard_normal((2, 4, 3, 3)))
    with pytest.raises(ValueError, match=r"Expected 3D or higher dimensionality input \(got 2 dimensions\)"):
        F.local_response_norm(rg.ones(2, 3), 2)
