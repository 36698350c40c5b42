"""conv1d/conv2d: parity with PyTorch for every option, finite differences, layers, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import retrograd as rg
from helpers import assert_module_parity, assert_parity, numerical_check
from retrograd.ops.conv import conv1d, conv2d

rng = np.random.default_rng(0)

CONV2D_CASES = [
    # (N, C, H, W), O, kernel, stride, padding, dilation, groups
    ((2, 3, 7, 6), 4, 3, 1, 0, 1, 1),
    ((2, 4, 9, 8), 6, 3, 2, 1, 1, 2),
    ((1, 2, 10, 9), 2, (3, 2), (2, 1), (1, 2), (2, 1), 1),
    ((2, 4, 7, 7), 4, 3, 1, "same", 2, 4),
    ((2, 3, 6, 5), 2, (2, 3), 1, "same", 1, 1),  # even kernel: 'same' pads the extra row at the bottom
    ((2, 3, 6, 5), 2, 3, 1, "valid", 1, 1),
    ((3, 1, 28, 28), 6, 5, 1, 0, 1, 1),  # LeNet's first layer
]


@pytest.mark.parametrize("shape,out_channels,kernel,stride,padding,dilation,groups", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(shape, out_channels, kernel, stride, padding, dilation, groups, bias):
    kernel2 = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape)
    w = rng.standard_normal((out_channels, shape[1] // groups, *kernel2))
    b = rng.standard_normal(out_channels) if bias else None
    args = (stride, padding, dilation, groups)
    if bias:
        assert_parity(lambda x, w, b: conv2d(x, w, b, *args), lambda x, w, b: TF.conv2d(x, w, b, *args), x, w, b)
    else:
        assert_parity(lambda x, w: conv2d(x, w, None, *args), lambda x, w: TF.conv2d(x, w, None, *args), x, w)


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(3, 6), w=st.integers(3, 6), o=st.integers(1, 3),
       k=st.integers(1, 3), stride=st.integers(1, 2), padding=st.integers(0, 1), dilation=st.integers(1, 2))
def test_conv2d_gradcheck(n, c, h, w, o, k, stride, padding, dilation):
    if dilation * (k - 1) + 1 > min(h, w) + 2 * padding:
        return
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c, k, k))
    bias = rng.standard_normal(o)
    numerical_check(lambda x, wt, b: conv2d(x, wt, b, stride, padding, dilation), x, weight, bias)


@pytest.mark.parametrize("length,kernel,stride,padding,dilation,groups", [
    (9, 3, 1, 0, 1, 1), (10, 4, 2, 1, 1, 2), (8, 3, 1, "same", 2, 1), (7, 2, 3, 2, 1, 1)])
def test_conv1d_matches_torch_and_gradcheck(length, kernel, stride, padding, dilation, groups):
    x = rng.standard_normal((2, 4, length))
    w = rng.standard_normal((6, 4 // groups, kernel))
    b = rng.standard_normal(6)
    args = (stride, padding, dilation, groups)
    assert_parity(lambda x, w, b: conv1d(x, w, b, *args), lambda x, w, b: TF.conv1d(x, w, b, *args), x, w, b)
    numerical_check(lambda x, w, b: conv1d(x, w, b, *args), x[:1], w, b)


def test_input_gradient_is_a_full_convolution_with_the_flipped_kernel():
    """The docstring's claim, checked: dL/dx = conv2d(pad(g, k-1), flip(W)^T) for stride 1."""
    x = rng.standard_normal((1, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    g = rng.standard_normal((1, 3, 4, 4))
    xt = rg.tensor(x, requires_grad=True)
    conv2d(xt, rg.tensor(w)).backward(rg.tensor(g))
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, O, kh, kw)
    full = conv2d(rg.tensor(g), rg.tensor(flipped), padding=2)
    np.testing.assert_allclose(xt.grad.array, full.array, rtol=1e-10)


def test_first_layer_skips_input_gradient():
    x = rg.tensor(rng.standard_normal((2, 1, 8, 8)))
    layer = rg.nn.Conv2d(1, 2, 3).double()
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad is not None


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1}, {"padding": "same", "dilation": 2},
                                    {"groups": 2, "bias": False}])
def test_conv_layers_match_torch_with_copied_weights(kwargs):
    ours, theirs = rg.nn.Conv2d(4, 6, 3, **kwargs).double(), torch.nn.Conv2d(4, 6, 3, **kwargs).double()
    assert_module_parity(ours, theirs, rng.standard_normal((2, 4, 7, 7)))
    ours1, theirs1 = rg.nn.Conv1d(4, 6, 3, **kwargs).double(), torch.nn.Conv1d(4, 6, 3, **kwargs).double()
    assert_module_parity(ours1, theirs1, rng.standard_normal((2, 4, 9)))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_conv_default_init_bounds():
    rg.manual_seed(0)
    layer = rg.nn.Conv2d(6, 16, 5)
    bound = 1 / np.sqrt(6 * 25)
    assert np.abs(layer.weight.array).max() <= bound and np.abs(layer.weight.array).max() > 0.95 * bound
    assert np.abs(layer.bias.array).max() <= bound
    assert layer.weight.shape == (16, 6, 5, 5)


def test_conv_float32_stays_float32():
    layer = rg.nn.Conv2d(1, 2, 3)
    y = layer(rg.randn(1, 1, 5, 5))
    assert y.dtype == rg.float32
    y.sum().backward()
    assert layer.weight.grad.dtype == rg.float32


def test_conv_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"conv2d: input has 3 channels .* expects 4"):
        conv2d(rg.randn(1, 3, 5, 5), rg.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="conv2d: expected a 4-D input"):
        conv2d(rg.randn(5, 5), rg.randn(2, 3, 3, 3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv2d(rg.randn(1, 1, 2, 2), rg.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4, .*expected input of shape \(N, 3, \*, \*\) or \(3, \*, \*\), "
                                         r"got \(1, 2, 5, 5\)"):
        rg.nn.Conv2d(3, 4, 3)(rg.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        conv2d(rg.randn(1, 1, 5, 5), rg.randn(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        rg.nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize("layer", ["Conv1d", "Conv2d"])
def test_conv_layers_take_unbatched_input_as_torch(layer):
    torch_layer = getattr(torch.nn, layer)(3, 4, 2).double()
    ours = getattr(rg.nn, layer)(3, 4, 2, dtype=rg.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in torch_layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 5) if layer == "Conv1d" else (3, 5, 5))
    expected = torch_layer(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(rg.tensor(x)).detach().numpy(), expected, rtol=1e-12, atol=1e-12)
