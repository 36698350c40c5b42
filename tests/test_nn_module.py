"""Module semantics, containers, Linear, Dropout and init against PyTorch."""
import math

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, copy_torch_weights
from retrograd import nn

rng = np.random.default_rng(0)


class RgNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))
        self.norm = nn.BatchNorm1d(8)
        self.heads = nn.ModuleDict({"a": nn.Linear(8, 3), "b": nn.Linear(8, 2, bias=False)})
        self.extra = nn.ModuleList([nn.Linear(3, 3)])
        self.scale = nn.Parameter(rg.ones(3))
        self.register_buffer("steps", rg.zeros(1))

    def forward(self, x):
        h = self.norm(self.features(x))
        return self.extra[0](self.heads["a"](h)) * self.scale + self.heads["b"](h).sum(dim=1, keepdim=True)


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))
        self.norm = torch.nn.BatchNorm1d(8)
        self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(8, 3), "b": torch.nn.Linear(8, 2, bias=False)})
        self.extra = torch.nn.ModuleList([torch.nn.Linear(3, 3)])
        self.scale = torch.nn.Parameter(torch.ones(3))
        self.register_buffer("steps", torch.zeros(1))

    def forward(self, x):
        h = self.norm(self.features(x))
        return self.extra[0](self.heads["a"](h)) * self.scale + self.heads["b"](h).sum(dim=1, keepdim=True)


def test_state_dict_keys_and_parameter_order_match_torch():
    ours, theirs = RgNet(), TorchNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]


def test_whole_model_parity_with_copied_weights():
    ours, theirs = RgNet().double(), TorchNet().double()
    assert_module_parity(ours, theirs, rng.standard_normal((6, 4)))


def test_load_state_dict_reports_problems_by_name_and_changes_nothing():
    model = nn.Sequential(nn.Linear(3, 2))
    before = model[0].weight.array.copy()
    bad = {"0.weight": np.zeros((5, 3)), "0.bias": np.zeros(2), "1.weight": np.zeros(1)}
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(bad)
    message = str(error.value)
    assert "size mismatch for 0.weight" in message and "(5, 3)" in message and "(2, 3)" in message
    assert 'Unexpected key(s) in state_dict: "1.weight"' in message
    np.testing.assert_array_equal(model[0].weight.array, before)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0.bias"'):
        model.load_state_dict({"0.weight": np.zeros((2, 3))})
    result = model.load_state_dict({"0.weight": np.ones((2, 3))}, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == []
    np.testing.assert_array_equal(model[0].weight.array, 1)


@pytest.mark.parametrize("value", ["oops", [[1.0, 2.0, 3.0]] * 2, np.array([["a"] * 3] * 2)])
def test_load_state_dict_refuses_a_value_that_is_not_a_numeric_tensor_as_torch(value):
    model, torch_model = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = model.weight.array.copy()
    with pytest.raises(RuntimeError, match='While copying the parameter named "weight", expected retrograd.Tensor '
                                           "or a numeric NumPy array from checkpoint but received"):
        model.load_state_dict({"weight": value, "bias": np.zeros(2)})
    np.testing.assert_array_equal(model.weight.array, before)
    with pytest.raises(RuntimeError, match='While copying the parameter named "weight", expected torch.Tensor'):
        torch_model.load_state_dict({"weight": value, "bias": torch.zeros(2)})


def test_load_state_dict_refuses_a_state_that_is_not_a_mapping_as_torch():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>"):
        nn.Linear(3, 2).load_state_dict([("weight", np.zeros((2, 3)))])
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>"):
        torch.nn.Linear(3, 2).load_state_dict([("weight", torch.zeros(2, 3))])


def test_load_state_dict_accepts_tensors_and_keeps_dtype():
    model = nn.Linear(3, 2)
    model.load_state_dict({"weight": rg.ones(2, 3, dtype=rg.float64), "bias": np.arange(2)})
    assert model.weight.dtype == rg.float32
    np.testing.assert_array_equal(model.bias.array, [0, 1])


def test_train_eval_double_float_zero_grad_requires_grad():
    model = RgNet()
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    weight = model.features[0].weight
    model.double()
    assert model.features[0].weight is weight and weight.dtype == rg.float64
    assert model.steps.dtype == rg.float64
    model.float()
    assert weight.dtype == rg.float32
    model(rg.randn(5, 4)).sum().backward()
    assert weight.grad is not None
    model.zero_grad()
    assert weight.grad is None
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_apply_and_init_are_used_by_users():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)

    model.apply(init_weights)
    assert np.all(model[1].weight.array == 0.5) and np.all(model[0].bias.array == 0)


def test_registration_rules():
    model = nn.Module()
    model.weight = nn.Parameter(rg.zeros(2))
    model.child = nn.Linear(1, 1)
    model.plain = rg.zeros(2)  # a plain tensor attribute is not a parameter
    assert [n for n, _ in model.named_parameters()] == ["weight", "child.weight", "child.bias"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        model.weight = rg.zeros(2)
    del model.child
    assert [n for n, _ in model.named_parameters()] == ["weight"]

    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_indexing_and_repr():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.Linear)
    assert len(model[1:]) == 2 and isinstance(model[1:][0], nn.ReLU)
    text = repr(model)
    assert "(0): Linear(in_features=4, out_features=3, bias=True)" in text and "(1): ReLU()" in text


@pytest.mark.parametrize("in_shape", [(5, 4), (4,), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_parity(in_shape, bias):
    ours, theirs = nn.Linear(4, 3, bias=bias).double(), torch.nn.Linear(4, 3, bias=bias).double()
    assert_module_parity(ours, theirs, rng.standard_normal(in_shape))


def test_linear_error_names_the_layer():
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=4, out_features=3\): input of shape \(2, 5\)"):
        nn.Linear(4, 3)(rg.randn(2, 5))


def test_linear_default_init_is_pytorch_uniform():
    rg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for values in (layer.weight.array, layer.bias.array):
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound
    assert abs(layer.weight.array.std() - bound / math.sqrt(3)) < 0.02 * bound  # U(-k, k) has std k/sqrt(3)


@pytest.mark.parametrize("name,kwargs,expected_std", [
    ("xavier_uniform_", {}, math.sqrt(2 / (200 + 100))),
    ("xavier_normal_", {}, math.sqrt(2 / (200 + 100))),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
    ("kaiming_normal_", {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 100)),
])
def test_init_scales(name, kwargs, expected_std):
    weight = rg.empty(100, 200)
    getattr(nn.init, name)(weight, **kwargs)
    assert abs(weight.array.std() - expected_std) < 0.03 * expected_std


def test_init_orthogonal_eye_constant_and_gain():
    weight = rg.empty(30, 50)
    nn.init.orthogonal_(weight, gain=2.0)
    np.testing.assert_allclose(weight.array @ weight.array.T, 4 * np.eye(30), atol=1e-5)
    nn.init.eye_(weight)
    np.testing.assert_array_equal(weight.array, np.eye(30, 50))
    for nonlinearity, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("sigmoid", None)]:
        assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param))


def test_dropout_is_inverted_and_off_in_eval():
    rg.manual_seed(0)
    layer = nn.Dropout(0.25)
    x = rg.ones(200, 100, requires_grad=True)
    y = layer(x)
    kept = y.array != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.array[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, kept / 0.75, rtol=1e-6)  # the same mask scales the gradient
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_copy_torch_weights_round_trip():
    torch.manual_seed(0)  # the weights must not depend on which tests ran before (an output near 0 fails rtol)
    ours, theirs = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)), torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    copy_torch_weights(ours, theirs)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(rg.tensor(x)).array, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


def test_replacing_a_registered_child_parameter_or_buffer_keeps_its_place():
    # siamese_network replaces resnet.conv1 and then keeps list(resnet.children())[:-1]: the new conv1 must stay
    # first, as in PyTorch, or the slice drops it (and the model feeds 1-channel images to a 64-channel BatchNorm)
    for lib in (rg, torch):
        model = lib.nn.Sequential()
        model.conv1, model.bn1, model.fc = lib.nn.Linear(1, 1), lib.nn.ReLU(), lib.nn.Linear(1, 1)
        model.conv1 = lib.nn.Tanh()
        model.add_module("bn1", lib.nn.Sigmoid())
        assert [name for name, _ in model.named_children()] == ["conv1", "bn1", "fc"]
        assert isinstance(list(model.children())[0], lib.nn.Tanh)
        layer = lib.nn.Linear(2, 2)
        layer.weight = lib.nn.Parameter(lib.zeros(2, 2))
        layer.register_parameter("weight", lib.nn.Parameter(lib.ones(2, 2)))
        assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
        layer.register_buffer("a", lib.zeros(1))
        layer.register_buffer("b", lib.zeros(1))
        layer.register_buffer("a", lib.ones(1))
        assert [name for name, _ in layer.named_buffers()] == ["a", "b"]
