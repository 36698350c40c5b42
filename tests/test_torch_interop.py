"""Checkpoints and models cross between retrograd and PyTorch: safetensors state dicts both ways (every
shipped model, every recurrent layout, BatchNorm buffers, optimizer state), and to_torch/from_torch."""
import subprocess
import sys

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn as tnn

import retrograd as rg
from retrograd.interop import state_from_torch, state_to_torch

DTYPES = {"float32": (rg.float32, torch.float32, 1e-5), "float64": (rg.float64, torch.float64, 1e-12)}


# ----- PyTorch twins written here, from the papers' layouts, independent of retrograd.interop -----------
def torch_mlp():
    return tnn.Sequential(tnn.Linear(6, 16), tnn.Tanh(), tnn.Linear(16, 8), tnn.ReLU(), tnn.Linear(8, 3))


def rg_mlp():
    return rg.nn.Sequential(rg.nn.Linear(6, 16), rg.nn.Tanh(), rg.nn.Linear(16, 8), rg.nn.ReLU(), rg.nn.Linear(8, 3))


def torch_lenet():
    class LeNet5(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                                           tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
                                             tnn.ReLU(), tnn.Linear(84, 10))

        def forward(self, x):
            return self.classifier(self.features(x))
    return LeNet5()


class TorchBlock(tnn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1, self.relu = tnn.BatchNorm2d(planes), tnn.ReLU()
        self.conv2, self.bn2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False), tnn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = tnn.Sequential(tnn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                             tnn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1, self.relu = tnn.Conv2d(1, 16, 3, 1, 1, bias=False), tnn.BatchNorm2d(16), tnn.ReLU()
        self.layer1 = tnn.Sequential(TorchBlock(16, 16, 1))
        self.layer2 = tnn.Sequential(TorchBlock(16, 32, 2))
        self.layer3 = tnn.Sequential(TorchBlock(32, 64, 2))
        self.avgpool, self.flatten, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))
        return self.fc(self.flatten(self.avgpool(x)))


MODELS = {  # name: (retrograd model, PyTorch twin, input shape)
    "mlp": (rg_mlp, torch_mlp, (5, 6)),
    "lenet": (rg.models.LeNet5, torch_lenet, (2, 1, 28, 28)),
    "resnet": (rg.models.resnet_small, TorchResNet, (2, 1, 28, 28)),
}


def _twins(name, dtype_name):
    rg_dtype, torch_dtype, _ = DTYPES[dtype_name]
    make_rg, make_torch, shape = MODELS[name]
    rg.manual_seed(0)
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype_name)
    return make_rg().to(rg_dtype), make_torch().to(torch_dtype), x


def _outputs_equal(rg_out, torch_out, rtol):
    np.testing.assert_allclose(rg_out.detach().numpy(), torch_out.detach().numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_retrograd_checkpoint_loads_into_pytorch_with_safetensors(tmp_path, name, dtype_name):
    model, twin, x = _twins(name, dtype_name)
    model.train()(rg.tensor(x))  # one training step's worth of BatchNorm statistics: buffers differ from init
    model.eval()
    path = tmp_path / "m.safetensors"
    rg.save(model.state_dict(), path)
    state = safetensors.torch.load_file(str(path))
    assert twin.load_state_dict(state) is not None  # strict: every key, shape matched
    for key, value in model.state_dict().items():
        assert state[key].dtype == getattr(torch, str(value.dtype)), key
    if name == "resnet":
        assert state["bn1.num_batches_tracked"].dtype == torch.int64
        assert state["bn1.num_batches_tracked"].item() == 1
    _outputs_equal(model(rg.tensor(x)), twin.eval()(torch.from_numpy(x)), DTYPES[dtype_name][2])


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_pytorch_safetensors_checkpoint_loads_into_retrograd(tmp_path, name, dtype_name):
    model, twin, x = _twins(name, dtype_name)
    twin.train()(torch.from_numpy(x))
    twin.train()(torch.from_numpy(x))
    path = tmp_path / "m.safetensors"
    safetensors.torch.save_file(twin.state_dict(), str(path))
    state = rg.load(path)
    assert sorted(state) == sorted(twin.state_dict())  # (safetensors files keep their keys sorted)
    model.load_state_dict(state)
    if name == "resnet":
        assert model.bn1.num_batches_tracked.dtype == np.int64
        assert model.layer2[0].downsample[1].num_batches_tracked.item() == 2
        np.testing.assert_array_equal(model.bn1.running_var.numpy(), twin.bn1.running_var.numpy())
    _outputs_equal(model.eval()(rg.tensor(x)), twin.eval()(torch.from_numpy(x)), DTYPES[dtype_name][2])


# ----- recurrent layers in every layout ---------------------------------------------------------------
RNN_LAYOUTS = [(mode, layers, bidirectional, batch_first, proj)
               for mode in ("LSTM", "GRU", "RNN") for layers in (1, 2) for bidirectional in (False, True)
               for batch_first in (False, True) for proj in ((0, 2) if mode == "LSTM" else (0,))]


def _rnn_pair(mode, layers, bidirectional, batch_first, proj, dtype_name):
    options = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    if proj:
        options["proj_size"] = proj
    if mode == "RNN" and layers == 2:
        options["nonlinearity"] = "relu"  # the other activation, too
    rg.manual_seed(0)
    torch.manual_seed(0)
    model = getattr(rg.nn, mode)(3, 4, **options).to(DTYPES[dtype_name][0])
    twin = getattr(tnn, mode)(3, 4, **options).to(DTYPES[dtype_name][1])
    x = np.random.default_rng(2).standard_normal((2, 5, 3) if batch_first else (5, 2, 3)).astype(dtype_name)
    return model, twin, x


def _rnn_outputs_equal(model, twin, x, rtol):
    output, state = model(rg.tensor(x))
    twin_output, twin_state = twin(torch.from_numpy(x))
    _outputs_equal(output, twin_output, rtol)
    for mine, theirs in zip(state if isinstance(state, tuple) else (state,),
                            twin_state if isinstance(twin_state, tuple) else (twin_state,)):
        _outputs_equal(mine, theirs, rtol)


@pytest.mark.parametrize("layout", RNN_LAYOUTS, ids=lambda layout: "-".join(map(str, layout)))
def test_recurrent_checkpoints_cross_both_ways_in_every_layout(tmp_path, layout):
    for dtype_name in ("float64", "float32"):
        model, twin, x = _rnn_pair(*layout, dtype_name)
        rg.save(model.state_dict(), tmp_path / "rg.safetensors")
        twin.load_state_dict(safetensors.torch.load_file(str(tmp_path / "rg.safetensors")))
        _rnn_outputs_equal(model, twin, x, DTYPES[dtype_name][2])

        model, twin, x = _rnn_pair(*layout, dtype_name)
        safetensors.torch.save_file(twin.state_dict(), str(tmp_path / "torch.safetensors"))
        model.load_state_dict(rg.load(tmp_path / "torch.safetensors"))
        _rnn_outputs_equal(model, twin, x, DTYPES[dtype_name][2])
