"""conv_transpose1d/2d and ConvTranspose1d/2d: parity with PyTorch over a grid of settings (float64, copied
weights, forward and backward), finite differences, output_size=, default init and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
from helpers import assert_module_parity, assert_parity, closure_arrays, numerical_check, saves_names
from retrograd.ops.conv_transpose import conv_transpose1d, conv_transpose2d

rng = np.random.default_rng(0)

CASES_2D = [
    # (N, C, H, W), O, kernel, stride, padding, output_padding, groups, dilation
    ((2, 3, 5, 4), 4, 3, 1, 0, 0, 1, 1),
    ((2, 4, 4, 5), 6, 3, 2, 1, 1, 2, 1),
    ((1, 2, 3, 4), 2, (3, 2), (2, 3), (1, 0), (1, 2), 1, (1, 2)),
    ((2, 4, 4, 3), 4, 2, 2, 0, 0, 4, 1),  # depthwise, disjoint patches (the DCGAN / U-Net upsampler)
    ((1, 3, 4, 4), 6, 3, 3, 2, (2, 0), 3, 2),
    ((2, 2, 3, 3), 3, 4, 1, 1, 0, 1, 3),  # dilated, overlapping patches
]


@pytest.mark.parametrize("shape,out_channels,kernel,stride,padding,output_padding,groups,dilation", CASES_2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d_matches_torch(shape, out_channels, kernel, stride, padding, output_padding, groups,
                                        dilation, bias):
    kernel2 = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape)
    w = rng.standard_normal((shape[1], out_channels // groups, *kernel2))
    b = rng.standard_normal(out_channels) if bias else None
    args = (stride, padding, output_padding, groups, dilation)
    assert_parity(lambda x, w, b: conv_transpose2d(x, w, b, *args),
                  lambda x, w, b: TF.conv_transpose2d(x, w, b, *args), x, w, b)


@pytest.mark.parametrize("stride,padding,output_padding,dilation", [(1, 0, 0, 1), (2, 1, 1, 1), (3, 0, 2, 2)])
def test_conv_transpose2d_gradcheck(stride, padding, output_padding, dilation):
    x, w, b = rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 2, 2, 3)), rng.standard_normal(2)
    numerical_check(lambda x, w, b: conv_transpose2d(x, w, b, stride, padding, output_padding, 1, dilation), x, w, b)


@pytest.mark.parametrize("length,kernel,stride,padding,output_padding,groups,dilation", [
    (5, 3, 1, 0, 0, 1, 1), (4, 4, 2, 1, 1, 2, 1), (6, 2, 3, 2, 2, 1, 2), (3, 3, 2, 0, 1, 4, 3)])
def test_conv_transpose1d_matches_torch_and_gradcheck(length, kernel, stride, padding, output_padding, groups,
                                                      dilation):
    x = rng.standard_normal((2, 4, length))
    w = rng.standard_normal((4, 8 // groups, kernel))
    b = rng.standard_normal(8)
    args = (stride, padding, output_padding, groups, dilation)
    assert_parity(lambda x, w, b: conv_transpose1d(x, w, b, *args),
                  lambda x, w, b: TF.conv_transpose1d(x, w, b, *args), x, w, b)
    numerical_check(lambda x, w, b: conv_transpose1d(x, w, b, *args), x[:1, :, :3], w, b)


def test_unbatched_input_matches_torch():
    x2, w2 = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 2, 3, 3))
    assert_parity(lambda x, w: conv_transpose2d(x, w, None, 2, 1, 1),
                  lambda x, w: TF.conv_transpose2d(x, w, None, 2, 1, 1), x2, w2)
    x1, w1 = rng.standard_normal((3, 5)), rng.standard_normal((3, 2, 3))
    assert_parity(lambda x, w: conv_transpose1d(x, w, stride=2), lambda x, w: TF.conv_transpose1d(x, w, stride=2),
                  x1, w1)


def test_transpose_is_the_input_gradient_of_conv():
    """<conv(x, w), g> = <x, conv_transpose(g, w)>: the two ops are adjoint in x, for the same weight."""
    x, w, g = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal((2, 4, 4, 3))
    y = rg.nn.functional.conv2d(rg.tensor(x), rg.tensor(w), stride=2, padding=1, dilation=(1, 2)).numpy()
    back = conv_transpose2d(rg.tensor(g), rg.tensor(w), stride=2, padding=1, output_padding=(0, 1),
                            dilation=(1, 2)).numpy()
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("dims,kwargs", [
    (2, dict(kernel_size=3, stride=2, padding=1, output_padding=1)),
    (2, dict(kernel_size=(2, 3), stride=(2, 1), groups=2, bias=False, dilation=(1, 2))),
    (1, dict(kernel_size=4, stride=2, padding=1, groups=2)),
])
def test_layers_match_torch(dims, kwargs):
    torch_cls, rg_cls = (torch.nn.ConvTranspose2d, rg.nn.ConvTranspose2d) if dims == 2 else \
        (torch.nn.ConvTranspose1d, rg.nn.ConvTranspose1d)
    torch_layer = torch_cls(4, 6, **kwargs).double()
    layer = rg_cls(4, 6, **kwargs).double()
    assert layer.weight.shape == tuple(torch_layer.weight.shape)
    assert repr(layer) == repr(torch_layer)
    x = rng.standard_normal((2, 4) + (5,) * dims)
    assert_module_parity(layer, torch_layer, x)


def test_default_init_bounds_use_torchs_fan_in():
    """fan_in is the weight's second dim times the kernel: out/groups * kh * kw, as PyTorch computes it."""
    layer = rg.nn.ConvTranspose2d(64, 8, 4, groups=2)
    bound = 1 / np.sqrt(4 * 16)
    weight, bias = np.abs(layer.weight.detach().numpy()), np.abs(layer.bias.detach().numpy())
    assert layer.weight.shape == (64, 4, 4, 4)
    assert 0.9 * bound < weight.max() <= bound and 0.5 * bound < bias.max() <= bound


@pytest.mark.parametrize("output_size", [[9, 10], [2, 6, 10, 9], (10, 10)])
def test_output_size_picks_output_padding_like_torch(output_size):
    torch_layer = torch.nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1).double()
    layer = rg.nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1).double()
    x = rng.standard_normal((2, 6, 5, 5))
    assert_module_parity(layer, torch_layer, x, output_size)


def test_output_size_out_of_range_is_refused_like_torch():
    layer, x = rg.nn.ConvTranspose2d(2, 2, 3, stride=2), rg.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"requested an output size of \[12, 9\], but valid sizes range from "
                                         r"\[9, 9\] to \[10, 10\] \(for an input of \[4, 4\]\)"):
        layer(x, output_size=[12, 9])


@pytest.mark.parametrize("kwargs,message", [
    (dict(output_padding=1), "output padding must be smaller than either stride or dilation, but got "
                             "output_padding_height: 1 output_padding_width: 1 stride_height: 1"),
    (dict(padding=4), r"Output size is too small"),
])
def test_bad_arguments_are_refused_with_torchs_words(kwargs, message):
    x, w = rng.standard_normal((1, 2, 2, 2)), rng.standard_normal((2, 3, 3, 3))
    with pytest.raises(RuntimeError, match=message):
        TF.conv_transpose2d(torch.tensor(x), torch.tensor(w), **kwargs)
    with pytest.raises(RuntimeError, match=message):
        conv_transpose2d(rg.tensor(x), rg.tensor(w), **kwargs)


def test_channel_and_bias_mismatches_name_the_shapes():
    x = rg.randn(1, 3, 4, 4)
    with pytest.raises(RuntimeError, match=r"expected input\[1, 3, 4, 4\] to have 2 channels, but got 3"):
        conv_transpose2d(x, rg.randn(2, 2, 3, 3))
    with pytest.raises(RuntimeError, match=r"expected bias to be 1-dimensional with 4 elements"):
        conv_transpose2d(x, rg.randn(3, 4, 3, 3), rg.randn(3))
    with pytest.raises(RuntimeError, match=r"weight of size \[2, 2, 3\], expected input\[1, 3, 4\] to have 2 "):
        conv_transpose1d(rg.randn(1, 3, 4), rg.randn(2, 2, 3))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(3, 2.*expected input of shape \(N, 3, \*, \*\)"):
        rg.nn.ConvTranspose2d(3, 2, 3)(rg.randn(1, 2, 4, 4))


@pytest.mark.parametrize("need_x,need_w,expected", [(True, True, {"x_groups", "w_groups"}),
                                                    (False, True, {"x_groups"}), (True, False, {"w_groups"})])
def test_closure_keeps_what_the_docstring_saves(need_x, need_w, expected):
    y = conv_transpose2d(rg.randn(2, 3, 4, 4, requires_grad=need_x), rg.randn(3, 2, 3, 3, requires_grad=need_w),
                         stride=2)
    assert set(closure_arrays(y.grad_fn.backward_fn)) == expected
    assert expected <= saves_names(conv_transpose2d)[0]


def test_an_input_the_backward_does_not_read_may_change_in_place():
    """With a frozen weight the VJP reads only the weight, so changing the input in place afterwards is allowed
    (as in PyTorch); changing the weight is refused."""
    a, w = rg.randn(1, 2, 3, 3, dtype=rg.float64, requires_grad=True), rg.randn(2, 2, 2, 2, dtype=rg.float64)
    h = a * 1.0
    y = conv_transpose2d(h, w, stride=2)
    h.add_(1.0)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(w.numpy().sum(axis=(1, 2, 3))[:, None, None],
                                                               (2, 3, 3))[None], rtol=1e-12)
    w2 = rg.randn(2, 2, 2, 2)
    y = conv_transpose2d(a * 1.0, w2, stride=2)
    w2.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
