"""ops/window.py, the window geometry that convolution and pooling share: col2im is the adjoint of the
windows view for every geometry, output sizes are PyTorch's, and size arguments parse as PyTorch's do."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
from retrograd.ops import window

rng = np.random.default_rng(0)

GEOMETRIES = [
    # kernel, stride, dilation, padded size
    ((2, 2), (2, 2), (1, 1), (8, 6)),  # tiling windows: col2im writes every entry once, no zero-fill
    ((2, 2), (2, 2), (1, 1), (9, 7)),  # disjoint windows that leave a last row and column uncovered
    ((3, 3), (1, 1), (1, 1), (7, 6)),  # overlapping windows accumulate
    ((3, 2), (2, 1), (2, 3), (11, 9)),  # strided and dilated
    ((1, 1), (3, 2), (1, 1), (7, 5)),  # windows that skip entries
]


@pytest.mark.parametrize("kernel, stride, dilation, size", GEOMETRIES)
def test_col2im_is_the_adjoint_of_the_windows_view(kernel, stride, dilation, size):
    """<windows(x), G> = <x, col2im(G)> for random x and G: col2im sends every window entry's gradient to the
    input entry it was read from, and nothing anywhere else."""
    out = window.output_size(size, kernel, stride, dilation, ((0, 0), (0, 0)))
    x = rng.standard_normal((2, 3) + size)
    grad_windows = rng.standard_normal((2, 3) + kernel + out)
    parts = (grad_windows[:, :, u, v] for u in range(kernel[0]) for v in range(kernel[1]))
    grad_x = window.col2im(parts, x.shape, x.dtype, kernel, stride, dilation, out)
    lhs = np.sum(window.windows(x, kernel, stride, dilation, out) * grad_windows)
    np.testing.assert_allclose(lhs, np.sum(x * grad_x), rtol=1e-12)
    gathered = window.gathered(x, kernel, stride, dilation, out)  # the same windows, offset-major and contiguous
    assert gathered.flags.c_contiguous
    np.testing.assert_array_equal(gathered, window.windows(x, kernel, stride, dilation, out).transpose(
        2, 3, 0, 1, 4, 5).reshape(gathered.shape))


@pytest.mark.parametrize("size, kernel, stride, padding, dilation", [
    ((9, 8), 3, 2, 1, 1), ((10, 7), (3, 2), (2, 3), (1, 0), (2, 1)), ((5, 5), 2, 2, 0, 1), ((6, 9), 3, 3, 1, 2)])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_output_size_is_pytorchs_for_pooling_and_convolution(size, kernel, stride, padding, dilation, ceil_mode):
    k, s, p, d = (window.pair(v, "arg", "test") for v in (kernel, stride, padding, dilation))
    pads = ((p[0], p[0]), (p[1], p[1]))
    x = torch.zeros((1, 1) + size)
    expected = TF.max_pool2d(x, k, s, p, d, ceil_mode=ceil_mode).shape[2:]
    assert window.output_size(size, k, s, d, pads, ceil_mode) == tuple(expected)
    if not ceil_mode:
        assert window.output_size(size, k, s, d, pads) == TF.conv2d(x, torch.zeros((1, 1) + k), None, s, p,
                                                                    d).shape[2:]


def test_pad_and_crop_are_inverse_and_pad_copies_nothing_when_there_is_none():
    x = rng.standard_normal((2, 3, 4, 5))
    assert window.pad(x, ((0, 0), (0, 0))) is x
    pads = ((1, 2), (0, 3))
    padded = window.pad(x, pads, fill=-np.inf)
    assert padded.shape == (2, 3, 7, 8) and padded[0, 0, 0, 0] == -np.inf
    np.testing.assert_array_equal(window.crop(padded, pads, (4, 5)), x)


def _error(call):
    try:
        call()
    except Exception as error:  # any type: the test compares it with PyTorch's
        return error
    return None


@pytest.mark.parametrize("name, call", [
    ("conv2d stride (1, 2, 3)", lambda L, x, w: L.conv2d(x, w, stride=(1, 2, 3))),
    ("conv2d stride (2,)", lambda L, x, w: L.conv2d(x, w, stride=(2,))),
    ("conv2d padding [1]", lambda L, x, w: L.conv2d(x, w, padding=[1])),
    ("conv1d stride (1, 2)", lambda L, x, w: L.conv1d(x[:, :, 0], w[:, :, 0], stride=(1, 2))),
    ("max_pool2d kernel (1, 2, 3)", lambda L, x, w: L.max_pool2d(x, (1, 2, 3))),
    ("max_pool2d kernel (2,)", lambda L, x, w: L.max_pool2d(x, (2,))),
    ("max_pool2d stride (1, 2, 3)", lambda L, x, w: L.max_pool2d(x, 2, (1, 2, 3))),
    ("max_pool1d kernel (1, 2)", lambda L, x, w: L.max_pool1d(x[:, :, 0], (1, 2))),
    ("max_pool1d stride [2]", lambda L, x, w: L.max_pool1d(x[:, :, 0], 2, [2])),
    ("avg_pool1d padding (1, 1)", lambda L, x, w: L.avg_pool1d(x[:, :, 0], 3, 1, (1, 1))),
])
def test_size_arguments_parse_as_pytorchs(name, call):
    """A sequence of one int stands for both dims, as in PyTorch; any other length raises PyTorch's
    RuntimeError, naming the op and the argument."""
    x, w = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    theirs = _error(lambda: call(TF, torch.from_numpy(x), torch.from_numpy(w)))
    ours = _error(lambda: call(rg.nn.functional, rg.tensor(x), rg.tensor(w)))
    if theirs is None:
        assert ours is None, f"{name}: PyTorch accepts it, retrograd raised {ours!r}"
        torch_out = call(TF, torch.from_numpy(x), torch.from_numpy(w))
        np.testing.assert_allclose(call(rg.nn.functional, rg.tensor(x), rg.tensor(w)).array, torch_out.numpy(),
                                   rtol=1e-12)
    else:
        assert type(ours) is type(theirs), f"{name}: {ours!r}, PyTorch raises {theirs!r}"
        op, argument = name.split()[:2]
        assert op in str(ours) and argument in str(ours)
