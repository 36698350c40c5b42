"""nn.modules import paths, ParameterList/ParameterDict and RNN.all_weights, against torch 2.13."""
import importlib

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn


# ----- nn.modules: PyTorch's submodule paths ---------------------------------------------------
PATHS = [("module", "Module"), ("linear", "Linear"), ("linear", "Identity"), ("conv", "Conv2d"), ("conv", "_ConvNd"),
         ("activation", "ReLU"), ("loss", "CrossEntropyLoss"), ("loss", "_Loss"), ("loss", "_WeightedLoss"),
         ("container", "Sequential"), ("container", "ModuleDict"), ("container", "ParameterList"),
         ("batchnorm", "BatchNorm2d"), ("batchnorm", "_BatchNorm"), ("normalization", "LayerNorm"),
         ("pooling", "MaxPool2d"), ("rnn", "LSTM"), ("rnn", "RNNBase"), ("sparse", "Embedding"),
         ("dropout", "Dropout"), ("flatten", "Flatten")]


@pytest.mark.parametrize("submodule, name", PATHS)
def test_torch_nn_modules_import_paths_exist(submodule, name):
    assert hasattr(importlib.import_module(f"torch.nn.modules.{submodule}"), name)  # the path is PyTorch's
    ours = getattr(importlib.import_module(f"retrograd.nn.modules.{submodule}"), name)
    public = getattr(nn, name, None)
    assert ours is public if public is not None else issubclass(ours, nn.Module)
    assert getattr(nn.modules, submodule) is importlib.import_module(f"retrograd.nn.modules.{submodule}")


def test_every_layer_of_nn_is_in_nn_modules_under_its_name():
    layers = {name for name, value in vars(nn).items() if isinstance(value, type) and issubclass(value, nn.Module)}
    missing = sorted(name for name in layers if getattr(nn.modules, name, None) is not getattr(nn, name))
    assert not missing, f"add these to their PyTorch submodule in retrograd/nn/modules/: {missing}"


def test_a_custom_loss_on_the_private_base_works():
    from retrograd.nn.modules.loss import _Loss

    class HalfSquaredError(_Loss):
        def forward(self, input, target):
            return ((input - target) ** 2).mean() / 2

    loss = HalfSquaredError()(rg.tensor([1.0, 3.0]), rg.tensor([0.0, 0.0]))
    assert loss.item() == 2.5


def test_pair_helpers_match_torch():
    from torch.nn.modules.utils import _pair, _single, _triple

    from retrograd.nn.modules.utils import _pair as pair, _single as single, _triple as triple
    for value in (3, (1, 2), [4, 5, 6]):
        assert (single(value), pair(value), triple(value)) == (_single(value), _pair(value), _triple(value))


# ----- ParameterList / ParameterDict ----------------------------------------------------------
def test_parameter_list_matches_torch():
    data = [np.ones(2), np.zeros(3)]
    ours = nn.ParameterList([nn.Parameter(rg.tensor(data[0])), rg.tensor(data[1])])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(data[0])), torch.tensor(data[1])])
    ours.append(rg.ones(1)).extend([rg.full((2,), 2.0)])
    theirs.append(torch.ones(1)).extend([torch.full((2,), 2.0)])
    assert len(ours) == len(theirs) == 4
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for mine, reference in zip(ours, theirs):
        assert isinstance(mine, nn.Parameter) and mine.requires_grad == reference.requires_grad
        np.testing.assert_array_equal(mine.detach().numpy(), reference.detach().numpy())
    np.testing.assert_array_equal(ours[-1].detach().numpy(), theirs[-1].detach().numpy())
    assert type(ours[1:3]).__name__ == type(theirs[1:3]).__name__ and len(ours[1:3]) == 2
    ours[0] = rg.full((2,), 3.0)
    assert isinstance(ours[0], nn.Parameter) and ours[0].requires_grad
    with pytest.raises(IndexError, match="index 10 is out of range"):
        ours[10]
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        ours(rg.ones(1))
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable, but got Tensor"):
        ours.extend(rg.ones(2))
    assert "(0): Parameter containing: [retrograd.float64 of size 2]" in repr(nn.ParameterList([rg.ones(2).double()]))


def test_parameter_dict_matches_torch():
    ours = nn.ParameterDict({"b": rg.zeros(1), "a": nn.Parameter(rg.ones(2))})
    theirs = torch.nn.ParameterDict({"b": torch.zeros(1), "a": torch.nn.Parameter(torch.ones(2))})
    ours["c"] = rg.ones(3)
    theirs["c"] = torch.ones(3)
    ours.update([("e", rg.ones(1)), ("d", rg.ones(1))])
    theirs.update([("e", torch.ones(1)), ("d", torch.ones(1))])
    assert list(ours) == list(theirs) == ["a", "b", "c", "e", "d"]  # a plain dict is sorted, pairs keep order
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours["b"], nn.Parameter) and ours["b"].requires_grad
    assert ("a" in ours, "z" in ours, len(ours)) == ("a" in theirs, "z" in theirs, len(theirs))
    assert ours.pop("c").shape == theirs.pop("c").shape and list(ours) == list(theirs)
    assert ours.get("zz", 5) == theirs.get("zz", 5) == 5
    with pytest.raises(AttributeError):  # PyTorch's error for a missing key
        ours["zz"]
    with pytest.raises(TypeError, match="Index given to ParameterDict cannot be used as a key as it is not a string "
                                        r"\(type is 'int'\)"):
        nn.ParameterDict({1: rg.ones(1)})
    with pytest.raises(ValueError, match="ParameterDict update sequence element #1 has length 1; 2 is required"):
        ours.update([("x", rg.ones(1)), ("y",)])
    assert "x" not in ours  # a bad update stores nothing
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        ours()


def test_parameter_containers_train_inside_a_module():
    class Mixture(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([nn.Parameter(rg.ones(2)) for _ in range(2)])
            self.offsets = nn.ParameterDict({"x": nn.Parameter(rg.zeros(2))})

        def forward(self, x):
            return (x * self.scales[0] * self.scales[1] + self.offsets["x"]).sum()

    model = Mixture()
    assert [n for n, _ in model.named_parameters()] == ["scales.0", "scales.1", "offsets.x"]
    model(rg.tensor([1.0, 2.0])).backward()
    np.testing.assert_array_equal(model.scales[0].grad.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(model.offsets["x"].grad.numpy(), [1.0, 1.0])
    fresh = Mixture()
    fresh.load_state_dict(model.state_dict())
    assert len(list(fresh.parameters())) == 3


# ----- RNN.all_weights --------------------------------------------------------------------------
@pytest.mark.parametrize("cls, kwargs", [("RNN", {}), ("LSTM", {"num_layers": 2, "bidirectional": True}),
                                         ("GRU", {"bias": False, "num_layers": 2}),
                                         ("LSTM", {"proj_size": 2, "bidirectional": True})])
def test_rnn_all_weights_nests_as_torch(cls, kwargs):
    theirs = getattr(torch.nn, cls)(3, 4, **kwargs).double()
    ours = getattr(nn, cls)(3, 4, **kwargs).double()
    ours.load_state_dict({k: rg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert [len(cell) for cell in ours.all_weights] == [len(cell) for cell in theirs.all_weights]
    for our_cell, their_cell in zip(ours.all_weights, theirs.all_weights):
        for mine, reference in zip(our_cell, their_cell):
            assert isinstance(mine, nn.Parameter)
            np.testing.assert_array_equal(mine.detach().numpy(), reference.detach().numpy())
    assert ours.all_weights[0][0] is ours.weight_ih_l0
