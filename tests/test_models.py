"""retrograd.models against PyTorch twins: same parameter names, same outputs and gradients."""
import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd.models import BasicBlock, LeNet5, ResNet, resnet_small

from helpers import assert_module_parity, copy_torch_weights
from torch_twins import TorchBasicBlock, TorchLeNet5, TorchResNet


def images(n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 1, 28, 28))


def test_lenet5_has_the_classic_61706_parameters_and_pytorch_names():
    model = LeNet5()
    assert sum(p.numel() for p in model.parameters()) == 61706
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in TorchLeNet5().named_parameters()]


def test_lenet5_matches_pytorch_outputs_and_gradients():
    rg.manual_seed(0)
    torch.manual_seed(0)
    assert_module_parity(LeNet5().double(), TorchLeNet5().double(), images(), rtol=1e-7, atol=1e-9)


def test_lenet5_rejects_other_image_sizes():
    with pytest.raises(ValueError, match=r"LeNet5: expected input of shape \(N, C, 28, 28\), got \(2, 1, 32, 32\)"):
        LeNet5()(rg.zeros(2, 1, 32, 32))


def test_basic_block_shortcut_is_identity_or_projection():
    assert BasicBlock(16, 16).downsample is None
    projection = BasicBlock(16, 32, stride=2)
    assert [n for n, _ in projection.downsample.named_parameters()] == ["0.weight", "1.weight", "1.bias"]
    assert tuple(projection.downsample[0].weight.shape) == (32, 16, 1, 1)
    assert projection(rg.zeros(2, 16, 8, 8)).shape == (2, 32, 4, 4)


@pytest.mark.parametrize("stride, in_planes, planes", [(1, 4, 4), (2, 4, 6)])
def test_basic_block_matches_pytorch_in_training_mode(stride, in_planes, planes):
    x = np.random.default_rng(1).normal(size=(3, in_planes, 6, 6))
    assert_module_parity(BasicBlock(in_planes, planes, stride).double(),
                         TorchBasicBlock(in_planes, planes, stride).double(), x, rtol=1e-7, atol=1e-9)


def test_resnet_small_matches_pytorch_state_dict_outputs_and_gradients():
    model, twin = resnet_small().double(), TorchResNet().double()
    assert list(model.state_dict()) == list(twin.state_dict())
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in twin.parameters())
    assert_module_parity(model, twin, images(), rtol=1e-7, atol=1e-9)
    # the running statistics were updated the same way, so evaluation mode agrees too
    model.eval()
    twin.eval()
    with rg.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(rg.tensor(images(seed=2))).numpy(),
                                   twin(torch.from_numpy(images(seed=2))).numpy(), rtol=1e-7, atol=1e-9)


def test_resnet_with_more_blocks_per_stage_loads_a_pytorch_state_dict():
    model, twin = ResNet(layers=(2, 1, 2), num_classes=3).double(), TorchResNet((2, 1, 2), num_classes=3).double()
    copy_torch_weights(model, twin)
    model.eval()
    twin.eval()
    with rg.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(rg.tensor(images(2))).numpy(), twin(torch.from_numpy(images(2))).numpy(),
                                   rtol=1e-7, atol=1e-9)
