"""Checkpoints and models cross between retrograd and PyTorch: safetensors state dicts both ways (every
shipped model, every recurrent layout, BatchNorm buffers, optimizer state), and to_torch/from_torch."""
import inspect
import subprocess
import sys

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn as tnn

import retrograd as rg
from retrograd.interop import state_from_torch, state_to_torch

from torch_twins import TorchLeNet5, TorchResNet

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

DTYPES = {"float32": (rg.float32, torch.float32, 1e-5), "float64": (rg.float64, torch.float64, 1e-12)}


# ----- PyTorch twins (LeNet5 and the ResNet in tests/torch_twins.py), independent of retrograd.interop ----
def torch_mlp():
    return tnn.Sequential(tnn.Linear(6, 16), tnn.Tanh(), tnn.Linear(16, 8), tnn.ReLU(), tnn.Linear(8, 3))


def rg_mlp():
    return rg.nn.Sequential(rg.nn.Linear(6, 16), rg.nn.Tanh(), rg.nn.Linear(16, 8), rg.nn.ReLU(), rg.nn.Linear(8, 3))


MODELS = {  # name: (retrograd model, PyTorch twin, input shape)
    "mlp": (rg_mlp, torch_mlp, (5, 6)),
    "lenet": (rg.models.LeNet5, TorchLeNet5, (2, 1, 28, 28)),
    "resnet": (rg.models.resnet_small, TorchResNet, (2, 1, 12, 12)),  # (global pooling: any size; small is fast)
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


# ----- optimizer state -------------------------------------------------------------------------------
OPTIMIZERS = {"sgd-momentum": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
              "adam": ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01)),
              "adamw-amsgrad": ("AdamW", dict(lr=0.01, amsgrad=True)),
              "rmsprop-centered": ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
              "adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01)), "adadelta": ("Adadelta", {}),
              "adamax": ("Adamax", {}), "nadam": ("NAdam", {}), "radam": ("RAdam", {}),
              "asgd": ("ASGD", dict(t0=1)), "rprop": ("Rprop", {})}
# PyTorch's load_state_dict casts every state tensor but 'step' to its parameter's dtype: NAdam's float32
# mu_product becomes float64 on load, so a resumed PyTorch NAdam differs from an uninterrupted one by ~1e-11
# (PyTorch resuming from its own state dict does the same). Everything else continues to 1e-12.
INTO_TORCH_RTOL = {"nadam": 1e-9}


def _train_step(model, optimizer, x, y, library):
    optimizer.zero_grad()
    loss = ((model(library.from_numpy(x)) - library.from_numpy(y)) ** 2).mean()
    loss.backward()
    optimizer.step()


def _optimizer_twins(kind, receiver):
    """Model and optimizer on both sides; the receiver's first group gets a wrong learning rate, which only
    loading the sender's state (its param_groups) corrects."""
    class_name, options = OPTIMIZERS[kind]
    model, twin, _ = _twins("mlp", "float64")
    rng = np.random.default_rng(3)
    batches = [(rng.standard_normal((5, 6)), rng.standard_normal((5, 3))) for _ in range(3)]

    def two_groups(module, library):  # the first layer at half the learning rate
        lr = options.get("lr", inspect.signature(getattr(library.optim, class_name)).parameters["lr"].default)
        rest = [p for layer in list(module)[1:] for p in layer.parameters()]
        return [{"params": list(module[0].parameters()), "lr": (7.0 if library is receiver else 0.5) * lr},
                {"params": rest}]

    return (model, getattr(rg.optim, class_name)(two_groups(model, rg), **options),
            twin, getattr(torch.optim, class_name)(two_groups(twin, torch), **options), batches)


def _parameters_equal(model, twin, rtol=1e-12):
    theirs = dict(twin.named_parameters())
    for name, parameter in model.named_parameters():
        np.testing.assert_allclose(parameter.detach().numpy(), theirs[name].detach().numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_retrograd_optimizer_state_saved_continues_identically_in_pytorch(tmp_path, kind):
    model, optimizer, twin, torch_optimizer, batches = _optimizer_twins(kind, receiver=torch)
    for x, y in batches[:2]:
        _train_step(model, optimizer, x, y, rg)
    rg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "ckpt.safetensors")

    checkpoint = state_to_torch(rg.load(tmp_path / "ckpt.safetensors"))
    if "step" in checkpoint["optimizer"]["state"][0]:  # a number in the file; PyTorch's load makes its 0-d tensor
        assert checkpoint["optimizer"]["state"][0]["step"] == 2 and not torch.is_tensor(
            checkpoint["optimizer"]["state"][0]["step"])
    twin.load_state_dict(checkpoint["model"])
    torch_optimizer.load_state_dict(checkpoint["optimizer"])
    _train_step(model, optimizer, *batches[2], rg)
    _train_step(twin, torch_optimizer, *batches[2], torch)
    _parameters_equal(model, twin, INTO_TORCH_RTOL.get(kind, 1e-12))
    if "step" in torch_optimizer.state_dict()["state"][0]:
        assert torch_optimizer.state_dict()["state"][0]["step"].dtype == torch.float32  # PyTorch's own layout


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_pytorch_optimizer_state_continues_identically_in_retrograd(tmp_path, kind):
    model, optimizer, twin, torch_optimizer, batches = _optimizer_twins(kind, receiver=rg)
    for x, y in batches[:2]:
        _train_step(twin, torch_optimizer, x, y, torch)
    rg.save(state_from_torch({"model": twin.state_dict(), "optimizer": torch_optimizer.state_dict()}),
            tmp_path / "ckpt.safetensors")

    checkpoint = rg.load(tmp_path / "ckpt.safetensors")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    _train_step(model, optimizer, *batches[2], rg)
    _train_step(twin, torch_optimizer, *batches[2], torch)
    _parameters_equal(model, twin)
    if "step" in torch_optimizer.state_dict()["state"][0]:
        assert optimizer.state_dict()["state"][0]["step"] == torch_optimizer.state_dict()["state"][0]["step"] == 3


# ----- to_torch / from_torch --------------------------------------------------------------------------
def _loss_and_gradients(model, x, library):
    """Output and every parameter's gradient of sum(model(x) * cotangent), the cotangent random (not .sum()'s
    ones) and the same on both sides."""
    output = model(library.from_numpy(x.copy()))
    output = output[0] if isinstance(output, tuple) else output
    cotangent = np.random.default_rng(4).standard_normal(tuple(output.shape))
    (output * library.from_numpy(cotangent)).sum().backward()
    return output.detach().numpy(), {name: p.grad.numpy() for name, p in model.named_parameters()}


def _same_function(model, twin, x, train=False):
    model.train(train).zero_grad()
    twin.train(train).zero_grad()
    ours, our_grads = _loss_and_gradients(model, x, rg)
    theirs, their_grads = _loss_and_gradients(twin, x, torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert sorted(our_grads) == sorted(their_grads)
    for name, grad in our_grads.items():
        np.testing.assert_allclose(grad, their_grads[name], rtol=1e-10, atol=1e-12, err_msg=name)


CONVERTIBLE = {  # name: (retrograd model, input shape)
    "mlp": (rg_mlp, (5, 6)),
    "lenet": (rg.models.LeNet5, (2, 1, 28, 28)),
    "resnet": (rg.models.resnet_small, (2, 1, 12, 12)),
    "resnet-2-blocks": (lambda: rg.models.ResNet(layers=(2, 1, 1), widths=(8, 8, 16), num_classes=3), (2, 1, 12, 12)),
    "lstm": (lambda: rg.nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, batch_first=True), (2, 4, 3)),
    "gru": (lambda: rg.nn.GRU(3, 5, num_layers=2, bidirectional=True), (4, 2, 3)),
    "rnn-relu": (lambda: rg.nn.RNN(3, 5, nonlinearity="relu", bias=False), (4, 2, 3)),
    "lstm-cell": (lambda: rg.nn.LSTMCell(3, 4), (2, 3)),
    "gru-cell-no-bias": (lambda: rg.nn.GRUCell(3, 4, bias=False), (2, 3)),
    "rnn-cell-relu": (lambda: rg.nn.RNNCell(3, 4, nonlinearity="relu"), (2, 3)),
    "conv-bn-pool": (lambda: rg.nn.Sequential(
        rg.nn.Conv1d(2, 4, 3, padding=1), rg.nn.BatchNorm1d(4), rg.nn.LeakyReLU(0.2), rg.nn.MaxPool1d(2),
        rg.nn.Flatten(), rg.nn.Dropout(0.0), rg.nn.LayerNorm(12), rg.nn.Linear(12, 2, bias=False)), (3, 2, 6)),
}


@pytest.mark.parametrize("name", sorted(CONVERTIBLE))
def test_to_torch_and_back_give_the_same_outputs_and_gradients_in_float64(name):
    make, shape = CONVERTIBLE[name]
    rg.manual_seed(0)
    model = make().double()
    x = np.random.default_rng(5).standard_normal(shape)
    twin = rg.to_torch(model)
    assert isinstance(twin, torch.nn.Module) and type(twin).__name__ == type(model).__name__
    assert all(p.dtype == torch.float64 for p in twin.parameters())
    _same_function(model, twin, x, train=True)  # (BatchNorm in training mode updates both sides' statistics)
    back = rg.from_torch(twin)
    assert type(back) is type(model)
    _same_function(back, twin, x)
    twin_state = twin.state_dict()
    assert list(back.state_dict()) == list(twin_state) == list(model.state_dict())
    for key, value in back.state_dict().items():  # copies exactly, dtypes kept (int64 num_batches_tracked too)
        np.testing.assert_array_equal(value.numpy(), twin_state[key].numpy(), err_msg=key)
        assert value.dtype == model.state_dict()[key].dtype, key


def test_from_torch_builds_a_pytorch_model_in_retrograd_with_its_flags():
    torch.manual_seed(0)
    twin = tnn.Sequential(tnn.Embedding(7, 4, padding_idx=0), tnn.LSTM(4, 3, batch_first=True)).double()
    twin[0].weight.requires_grad_(False)
    twin.eval()
    model = rg.from_torch(twin)
    assert isinstance(model[0], rg.nn.Embedding) and model[0].padding_idx == 0
    assert model[1].batch_first and not model.training and not model[1].training
    assert not model[0].weight.requires_grad and model[1].weight_ih_l0.requires_grad
    tokens = np.array([[1, 2, 0], [6, 5, 4]])
    np.testing.assert_allclose(model(rg.tensor(tokens))[0].detach().numpy(),
                               twin(torch.from_numpy(tokens))[0].detach().numpy(), rtol=1e-12)


def test_containers_keep_their_names_and_shared_modules_and_tied_weights_stay_shared():
    first, second = rg.nn.Linear(3, 3), rg.nn.Linear(3, 3)
    second.weight = first.weight  # tied weights
    model = rg.nn.ModuleDict({"encoder": first, "decoder": second,
                              "blocks": rg.nn.ModuleList([first, rg.nn.Tanh()])})
    twin = rg.to_torch(model)
    assert isinstance(twin, tnn.ModuleDict) and list(twin) == ["encoder", "decoder", "blocks"]
    assert twin["blocks"][0] is twin["encoder"]  # one module twice stays one module
    assert twin["decoder"].weight is twin["encoder"].weight
    assert twin["decoder"].bias is not twin["encoder"].bias
    back = rg.from_torch(twin)
    assert back["decoder"].weight is back["encoder"].weight and back["blocks"][0] is back["encoder"]
    np.testing.assert_array_equal(back["decoder"].bias.detach().numpy(), second.bias.detach().numpy())


def test_a_model_class_of_ones_own_is_refused_with_the_state_dict_recipe():
    class Custom(rg.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = rg.nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x) * 2

    with pytest.raises(TypeError, match=r"retrograd\.to_torch: no twin for .*Custom.*load_state_dict"):
        rg.to_torch(rg.nn.Sequential(Custom()))
    with pytest.raises(TypeError, match=r"retrograd\.to_torch: expected a retrograd\.nn\.Module, got Linear"):
        rg.to_torch(tnn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"retrograd\.from_torch: expected a torch\.nn\.Module, got Linear"):
        rg.from_torch(rg.nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"retrograd\.from_torch: no twin for torch\.nn\.modules\.pooling\.LPPool2d"):
        rg.from_torch(tnn.LPPool2d(2, 2))


def test_an_option_pytorch_lacks_converts_only_at_its_default():
    with pytest.raises(TypeError, match=r"retrograd\.to_torch: MaxPool2d with ties='split' has no PyTorch twin"):
        rg.to_torch(rg.nn.MaxPool2d(2, ties="split"))
    assert isinstance(rg.to_torch(rg.nn.MaxPool2d(2, ties="first")), tnn.MaxPool2d)


def test_import_retrograd_never_imports_torch():
    code = "import sys, retrograd; retrograd.nn.Linear(2, 2); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_without_pytorch_the_helpers_name_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # Python's way to make `import torch` fail
    for function, argument in [(rg.to_torch, rg.nn.Linear(2, 2)), (rg.from_torch, object()),
                               (state_to_torch, {}), (state_from_torch, {})]:
        with pytest.raises(ImportError, match=r'needs PyTorch.*pip install "retrograd\[torch\]"'):
            function(argument)


def test_more_shared_layers_convert_with_their_options():
    rg.manual_seed(0)
    model = rg.nn.Sequential(
        rg.nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1), rg.nn.Upsample(scale_factor=2),
        rg.nn.AvgPool2d(2, count_include_pad=False), rg.nn.AdaptiveMaxPool2d(2), rg.nn.Softmax(dim=1),
        rg.nn.GELU("tanh"), rg.nn.Unflatten(1, (1, 3)), rg.nn.Identity()).double()
    twin = rg.to_torch(model)
    assert twin[0].output_padding == (1, 1) and twin[5].approximate == "tanh" and twin[4].dim == 1
    _same_function(model, twin, np.random.default_rng(6).standard_normal((2, 2, 4, 4)))

    attention = rg.nn.MultiheadAttention(8, 2, batch_first=True).double()
    twin = rg.to_torch(attention)
    x = np.random.default_rng(7).standard_normal((2, 3, 8))
    np.testing.assert_allclose(attention(*[rg.tensor(x)] * 3)[0].detach().numpy(),
                               twin(*[torch.from_numpy(x)] * 3)[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    assert rg.from_torch(tnn.MultiheadAttention(8, 2, bias=False)).in_proj_bias is None

    loss = rg.to_torch(rg.nn.CrossEntropyLoss(weight=rg.tensor([1.0, 2.0, 0.5]), label_smoothing=0.1))
    assert torch.equal(loss.weight, torch.tensor([1.0, 2.0, 0.5])) and loss.label_smoothing == 0.1


def test_pytorch_tied_weights_saved_with_save_model_load_with_strict_false(tmp_path):
    """PyTorch's save_file refuses tensors that share memory; save_model stores one name of each: the alias is the
    only missing key, and a retrograd model with the same tie gets the weight in both places."""
    twin = tnn.ModuleDict({"encoder": tnn.Linear(3, 3), "decoder": tnn.Linear(3, 3)})
    twin["decoder"].weight = twin["encoder"].weight
    with pytest.raises(RuntimeError, match="share memory"):
        safetensors.torch.save_file(twin.state_dict(), str(tmp_path / "tied.safetensors"))
    safetensors.torch.save_model(twin, str(tmp_path / "tied.safetensors"))
    model = rg.nn.ModuleDict({"encoder": rg.nn.Linear(3, 3), "decoder": rg.nn.Linear(3, 3)})
    model["decoder"].weight = model["encoder"].weight
    state = rg.load(tmp_path / "tied.safetensors")
    dropped = {"encoder.weight", "decoder.weight"} - set(state)
    assert len(dropped) == 1
    assert model.load_state_dict(state, strict=False).missing_keys == sorted(dropped)
    for name in ("encoder", "decoder"):
        np.testing.assert_array_equal(model[name].weight.detach().numpy(), twin[name].weight.detach().numpy())


def test_non_contiguous_and_memory_sharing_retrograd_weights_save_as_plain_tensors_pytorch_loads(tmp_path):
    model = rg.nn.ModuleDict({"encoder": rg.nn.Linear(3, 4), "decoder": rg.nn.Linear(4, 3)}).double()
    model["encoder"].weight.array = np.asfortranarray(model["encoder"].weight.array)  # a column-major array
    model["decoder"].weight.array = model["encoder"].weight.array.T  # a transposed view
    rg.save(model.state_dict(), tmp_path / "m.safetensors")
    state = safetensors.torch.load_file(str(tmp_path / "m.safetensors"))
    twin = tnn.ModuleDict({"encoder": tnn.Linear(3, 4), "decoder": tnn.Linear(4, 3)}).double()
    twin.load_state_dict(state)
    for name in ("encoder", "decoder"):
        np.testing.assert_array_equal(twin[name].weight.detach().numpy(), model[name].weight.detach().numpy())
