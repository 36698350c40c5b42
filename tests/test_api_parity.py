"""PyTorch-named public API that had no test of its own, each against torch 2.13 on the same inputs."""
import math

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, assert_parity
from retrograd import nn
from retrograd.autograd import anomaly

rng = np.random.default_rng(0)


# ----- layers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0))])
def test_max_unpool2d_after_max_pool2d_matches_torch(kernel, stride, padding):
    x = rng.standard_normal((2, 3, 7, 8))

    def unpool(lib, value):
        pooled, indices = lib.nn.MaxPool2d(kernel, stride, padding, return_indices=True)(value)
        return lib.nn.MaxUnpool2d(kernel, stride, padding)(pooled, indices, output_size=value.shape[-2:])

    assert_parity(lambda v: unpool(rg, v), lambda v: unpool(torch, v), x)


def test_max_unpool2d_default_output_size_matches_torch():
    x = rng.standard_normal((1, 2, 6, 6))
    rg_pooled, rg_indices = nn.MaxPool2d(2, return_indices=True)(rg.tensor(x))
    torch_pooled, torch_indices = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(rg_indices.numpy(), torch_indices.numpy())
    out = nn.MaxUnpool2d(2)(rg_pooled, rg_indices)
    np.testing.assert_array_equal(out.numpy(), torch.nn.MaxUnpool2d(2)(torch_pooled, torch_indices).numpy())


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), dict(kernel_size=4, stride=3, ceil_mode=True),
])
def test_avg_pool1d_matches_torch(kwargs):
    assert_module_parity(nn.AvgPool1d(**kwargs), torch.nn.AvgPool1d(**kwargs), rng.standard_normal((2, 3, 11)))


@pytest.mark.parametrize("dim, sizes, shape", [(1, (2, 3), (4, 6)), (-1, (2, 2, 2), (3, 5, 8)), (0, (2, 3), (6, 4))])
def test_unflatten_matches_torch(dim, sizes, shape):
    (out,) = assert_module_parity(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), rng.standard_normal(shape))
    assert repr(nn.Unflatten(dim, sizes)) == repr(torch.nn.Unflatten(dim, sizes))


def test_identity_returns_its_input_and_ignores_arguments_as_torch():
    x = rg.randn(2, 3, requires_grad=True)
    layer = nn.Identity(54, unused="argument")
    assert layer(x) is x and torch.nn.Identity(54, unused="argument")(torch.ones(1)) is not None
    assert [name for name, _ in layer.named_parameters()] == [] and repr(layer) == repr(torch.nn.Identity())


# ----- init -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((6, 2, 3, 3), 3), ((4, 2, 3, 3, 3), 2),
                                           ((3, 5, 2, 4), 1)])
def test_dirac_matches_torch_exactly(shape, groups):
    ours, theirs = rg.zeros(*shape), torch.zeros(*shape)
    nn.init.dirac_(ours, groups)
    torch.nn.init.dirac_(theirs, groups)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_dirac_refuses_what_torch_refuses():
    with pytest.raises(ValueError, match="only tensors with 3, 4, or 5 dimensions are supported"):
        nn.init.dirac_(rg.zeros(3, 3))
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        torch.nn.init.dirac_(torch.zeros(3, 3))


def _truncated_normal_moments(mean, std, a, b):
    """Mean and standard deviation of Normal(mean, std) restricted to [a, b] (closed form)."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift ** 2
    return mean + std * shift, std * math.sqrt(variance)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 4.0), (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_has_the_distribution_torch_draws_from(mean, std, a, b):
    """Different algorithms (redrawing vs PyTorch's inverse CDF), so no bit parity: both samples lie in
    [a, b] and have the truncated normal's mean and standard deviation."""
    rg.manual_seed(0)
    torch.manual_seed(0)
    ours = nn.init.trunc_normal_(rg.empty(200, 500, dtype=rg.float64), mean, std, a, b).numpy()
    theirs = torch.nn.init.trunc_normal_(torch.empty(200, 500, dtype=torch.float64), mean, std, a, b).numpy()
    expected_mean, expected_std = _truncated_normal_moments(mean, std, a, b)
    for sample in (ours, theirs):
        assert a <= sample.min() and sample.max() <= b
        assert sample.mean() == pytest.approx(expected_mean, abs=5 * expected_std / math.sqrt(sample.size))
        assert sample.std() == pytest.approx(expected_std, rel=0.01)


# ----- modules: hooks, running statistics ------------------------------------------------------------
def test_forward_pre_hook_changes_inputs_and_is_removable_as_torch():
    x = rng.standard_normal((2, 3))
    results = []
    for lib in (rg, torch):
        layer = lib.nn.Linear(3, 2).double()
        seen = []
        double = layer.register_forward_pre_hook(lambda module, args: (args[0] * 2,))  # a tuple replaces args
        record = layer.register_forward_pre_hook(lambda module, args: seen.append(module is layer))  # None: keeps
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3)))
            layer.bias.zero_()
            doubled = layer(lib.tensor(x)).numpy().copy()
            double.remove()
            plain = layer(lib.tensor(x)).numpy().copy()
            record.remove()
            layer.register_forward_pre_hook(lambda module, args: args[0] + 1)  # a single value: wrapped in a tuple
            shifted = layer(lib.tensor(x)).numpy().copy()
        results.append((doubled, plain, shifted, seen))
    (ours, theirs) = results
    for mine, torch_value in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(mine, torch_value, rtol=1e-12)
    np.testing.assert_allclose(ours[0], 2 * ours[1], rtol=1e-12)
    assert ours[3] == theirs[3] == [True, True]


@pytest.mark.parametrize("layer_name, shape", [("BatchNorm1d", (8, 3)), ("BatchNorm2d", (4, 3, 5, 5))])
def test_reset_running_stats_matches_torch(layer_name, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    ours, theirs = getattr(nn, layer_name)(3), getattr(torch.nn, layer_name)(3)
    for _ in range(2):
        ours(rg.tensor(x))
        theirs(torch.tensor(x))
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-6)
    weight_before = ours.weight.detach().numpy().copy()
    ours.reset_running_stats()
    theirs.reset_running_stats()
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name].numpy(), value.numpy(), err_msg=name)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), weight_before)  # the affine parameters stay
    untracked = getattr(nn, layer_name)(3, track_running_stats=False)
    untracked.reset_running_stats()  # nothing to reset, as in PyTorch
    assert untracked.running_mean is None


# ----- anomaly mode ---------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # 0 / 0 in sqrt's backward at 0: the NaN it finds
def test_set_detect_anomaly_as_a_context_manager_matches_torch():
    for lib, enabled in ((rg, anomaly.is_enabled), (torch, torch.is_anomaly_enabled)):
        with lib.autograd.set_detect_anomaly(True):
            assert enabled()
            with lib.autograd.set_detect_anomaly(False):
                assert not enabled()
            assert enabled()
        assert not enabled()
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True), pytest.raises(RuntimeError, match="returned nan values"):
        (x.sqrt() * 0).sum().backward()


def test_set_detect_anomaly_called_as_a_function_switches_the_mode_as_torch():
    torch.autograd.set_detect_anomaly(True)
    rg.autograd.set_detect_anomaly(True)
    try:
        assert torch.is_anomaly_enabled() and anomaly.is_enabled()
    finally:
        torch.autograd.set_detect_anomaly(False)
        rg.autograd.set_detect_anomaly(False)
    assert not torch.is_anomaly_enabled() and not anomaly.is_enabled()


# ----- from the sweep for public names no test used ------------------------------------------------------
@pytest.mark.parametrize("old_name, args", [("uniform", (-1.0, 1.0)), ("normal", ()), ("constant", (0.5,)), ("eye", ()),
                                            ("xavier_uniform", ()), ("xavier_normal", ()), ("kaiming_uniform", ()),
                                            ("kaiming_normal", ()), ("orthogonal", ())])
def test_deprecated_init_names_warn_as_torch_and_do_the_same(old_name, args):
    message = f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{old_name}_`."
    with pytest.warns(FutureWarning, match=message):
        getattr(torch.nn.init, old_name)(torch.empty(3, 4), *args)
    rg.manual_seed(3)
    with pytest.warns(FutureWarning, match=message):
        old = getattr(nn.init, old_name)(rg.empty(3, 4), *args).numpy().copy()
    rg.manual_seed(3)
    np.testing.assert_array_equal(old, getattr(nn.init, old_name + "_")(rg.empty(3, 4), *args).numpy())


def test_deprecated_dirac_warns_as_torch():
    with pytest.warns(FutureWarning, match="`nn.init.dirac` is now deprecated in favor of `nn.init.dirac_`."):
        torch.nn.init.dirac(torch.empty(2, 2, 3))
    with pytest.warns(FutureWarning, match="`nn.init.dirac` is now deprecated in favor of `nn.init.dirac_`."):
        ours = nn.init.dirac(rg.empty(2, 2, 3)).numpy()
    np.testing.assert_array_equal(ours, torch.nn.init.dirac_(torch.empty(2, 2, 3)).numpy())


def test_uniform_normal_and_ones_fill_as_torch_does():
    """uniform_ and normal_ draw from their own stream (no bit parity): bounds and moments; ones_ exactly."""
    ours = nn.init.uniform_(rg.empty(400, 500, dtype=rg.float64), -1.0, 3.0).numpy()
    assert -1.0 <= ours.min() and ours.max() < 3.0
    assert ours.mean() == pytest.approx(1.0, abs=0.01) and ours.std() == pytest.approx(4 / math.sqrt(12), rel=0.01)
    ours = nn.init.normal_(rg.empty(400, 500, dtype=rg.float64), 0.5, 2.0).numpy()
    assert ours.mean() == pytest.approx(0.5, abs=0.02) and ours.std() == pytest.approx(2.0, rel=0.01)
    np.testing.assert_array_equal(nn.init.ones_(rg.empty(2, 3)).numpy(), torch.nn.init.ones_(torch.empty(2, 3)))


def test_dropout2d_drops_whole_channels_and_scales_the_rest_as_torch():
    x = rng.standard_normal((64, 16, 3, 3)).astype(np.float32)
    out = nn.functional.dropout2d(rg.tensor(x), p=0.25).numpy()
    dropped = np.all(out == 0, axis=(2, 3))
    np.testing.assert_allclose(out[~dropped], x[~dropped] / 0.75, rtol=1e-6)  # kept maps, scaled by 1 / (1 - p)
    assert 0.18 < dropped.mean() < 0.32  # about p of the (N, C) maps, as in torch
    assert 0.18 < np.all(torch.nn.functional.dropout2d(torch.tensor(x), p=0.25).numpy() == 0, axis=(2, 3)).mean() < 0.32
    np.testing.assert_array_equal(nn.functional.dropout2d(rg.tensor(x), p=0.25, training=False).numpy(), x)
    with pytest.raises(ValueError, match="probability has to be between 0 and 1, but got 1.5"):
        nn.functional.dropout2d(rg.tensor(x), p=1.5)
    with pytest.raises(ValueError, match="probability has to be between 0 and 1, but got 1.5"):
        torch.nn.functional.dropout2d(torch.tensor(x), p=1.5)


def test_registration_traversal_and_forward_hooks_match_torch():
    trees = []
    for lib in (rg, torch):
        root = lib.nn.Module()
        root.add_module("encoder", lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh()))
        root.register_module("head", lib.nn.Linear(4, 2))
        root.register_parameter("scale", lib.nn.Parameter(lib.ones(2)))
        root.add_module("alias", root.head)  # the same child under two names: listed once
        trees.append(([name for name, _ in root.named_children()], [name for name, _ in root.named_parameters()],
                      type(root.get_submodule("encoder.1")).__name__, root.cpu() is root))
        with pytest.raises(AttributeError):
            root.get_submodule("encoder.missing")
    assert trees[0] == trees[1]

    x = rng.standard_normal((2, 3))
    outputs = []
    for lib in (rg, torch):
        layer = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3)))
            layer.bias.zero_()
            seen = []
            handle = layer.register_forward_hook(lambda module, args, output: output * 10)  # replaces the output
            layer.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[0]))  # None: keeps
            hooked = layer(lib.tensor(x)).numpy().copy()
            handle.remove()
            plain = layer(lib.tensor(x)).numpy().copy()
        outputs.append((hooked, plain, seen))
    np.testing.assert_allclose(outputs[0][0], outputs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outputs[0][1], outputs[1][1], rtol=1e-12)
    np.testing.assert_allclose(outputs[0][0], 10 * outputs[0][1], rtol=1e-12)
    assert outputs[0][2] == outputs[1][2] == [2, 2]


def test_extra_repr_is_what_a_custom_module_prints_as_torch():
    def scaled(lib):
        class Scaled(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = lib.nn.Identity()

            def extra_repr(self):
                return "factor=2"

        return Scaled()

    assert repr(scaled(rg)) == repr(scaled(torch)) == "Scaled(\n  factor=2\n  (inner): Identity()\n)"


def test_onnx_imports_as_torch_onnx_does_and_export_refuses_by_name():
    # word_language_model/main.py imports torch.onnx at the top and exports only with --onnx-export
    import retrograd.onnx

    assert retrograd.onnx.is_in_onnx_export() is torch.onnx.is_in_onnx_export() is False
    with pytest.raises(NotImplementedError, match="onnx.export: retrograd cannot export Linear to ONNX"):
        retrograd.onnx.export(nn.Linear(2, 1), (rg.zeros(1, 2),), "model.onnx")


def test_legacy_typed_constructors_build_what_torchs_do():
    # gcn/gat build features with torch.FloatTensor(array) and labels with torch.LongTensor(array)
    data = np.arange(6, dtype=np.int32).reshape(2, 3)
    for ours, theirs in [(rg.FloatTensor(data), torch.FloatTensor(data)), (rg.LongTensor([1.7, -2.5]),
                         torch.LongTensor([1.7, -2.5])), (rg.DoubleTensor([[1, 2]]), torch.DoubleTensor([[1, 2]])),
                         (rg.ByteTensor([3, 255]), torch.ByteTensor([3, 255])),
                         (rg.BoolTensor([0, 2]), torch.BoolTensor([0, 2]))]:
        assert ours.dtype == theirs.numpy().dtype and ours.tolist() == theirs.tolist()
    for ours, theirs in [(rg.FloatTensor(2, 3), torch.FloatTensor(2, 3)), (rg.IntTensor(), torch.IntTensor()),
                         (rg.HalfTensor(rg.Size([4])), torch.HalfTensor(torch.Size([4])))]:
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
    assert rg.LongTensor(3).zero_().tolist() == torch.LongTensor(3).zero_().tolist() == [0, 0, 0]
    same = rg.zeros(2)
    assert rg.FloatTensor(same) is same
    assert isinstance(same, rg.FloatTensor) and not isinstance(same, rg.LongTensor)
    assert isinstance(torch.zeros(2), torch.FloatTensor) and not isinstance(torch.zeros(2), torch.LongTensor)
    with pytest.raises(TypeError, match="FloatTensor: expected a float32 tensor, got one of dtype int64"):
        rg.FloatTensor(rg.tensor([1]))
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        rg.FloatTensor("a")
    with pytest.raises(RuntimeError, match="FloatTensor: retrograd runs on the CPU only"):
        rg.FloatTensor(2, device="cuda")


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_size_keyword_of_the_plain_factories(name):
    # gat/main.py: nn.Parameter(torch.empty(size=(in_features, n_hidden * n_heads)))
    ours, theirs = getattr(rg, name)(size=(2, 3), dtype=rg.float64), getattr(torch, name)(size=(2, 3),
                                                                                         dtype=torch.float64)
    assert tuple(ours.shape) == tuple(theirs.shape) == (2, 3) and ours.dtype == theirs.numpy().dtype
    if name != "empty":
        assert ours.tolist() == theirs.tolist()
    with pytest.raises(TypeError, match=f"{name}: got the size both positionally"):
        getattr(rg, name)(2, size=(3,))
    with pytest.raises(TypeError, match="unexpected keyword"):
        getattr(rg, name)(sise=(3,))


def test_hub_reexports_tqdm_as_torch_hub_does():
    # vision_transformer: from torch.hub import tqdm
    import retrograd.hub
    import torch.hub

    assert retrograd.hub.tqdm is torch.hub.tqdm
