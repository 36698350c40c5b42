"""interpolate / Upsample and pixel_shuffle / PixelShuffle: parity with PyTorch (float64 forward and backward,
and float32 forward), finite differences, PyTorch's size and scale rules, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
from helpers import assert_parity, closure_arrays, numerical_check, saves_names
from retrograd.ops.resample import interpolate, pixel_shuffle, pixel_unshuffle

rng = np.random.default_rng(0)

SIZES = [dict(size=9), dict(size=(3, 8)), dict(scale_factor=2), dict(scale_factor=(1.7, 0.6)),
         dict(scale_factor=1.7, recompute_scale_factor=True), dict(scale_factor=2.5, recompute_scale_factor=False),
         dict(scale_factor=1 / 3)]
MODES_2D = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True)]


@pytest.mark.parametrize("mode,align_corners", MODES_2D)
@pytest.mark.parametrize("kwargs", SIZES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_interpolate_2d_matches_torch(mode, align_corners, kwargs):
    """scale_factor=1.7 on 5 rows gives 8 rows, but the index map keeps 1/1.7 (not 5/8) unless recompute_scale_factor
    is True: both cases are in the grid, with sizes that shrink and grow."""
    x = rng.standard_normal((2, 3, 5, 7))
    assert_parity(lambda x: interpolate(x, mode=mode, align_corners=align_corners, **kwargs),
                  lambda x: TF.interpolate(x, mode=mode, align_corners=align_corners, **kwargs), x, rtol=1e-12)


@pytest.mark.parametrize("mode,align_corners", [("nearest", None), ("nearest-exact", None), ("linear", False),
                                                ("linear", True)])
@pytest.mark.parametrize("kwargs", [dict(size=11), dict(size=4), dict(scale_factor=1.5), dict(scale_factor=0.7)])
def test_interpolate_1d_matches_torch(mode, align_corners, kwargs):
    x = rng.standard_normal((2, 3, 6))
    assert_parity(lambda x: interpolate(x, mode=mode, align_corners=align_corners, **kwargs),
                  lambda x: TF.interpolate(x, mode=mode, align_corners=align_corners, **kwargs), x, rtol=1e-12)


@pytest.mark.parametrize("mode,align_corners", MODES_2D)
def test_interpolate_float32_matches_torch_exactly_enough(mode, align_corners):
    """PyTorch computes nearest indices in float32 and linear weights in the input's dtype: so does retrograd."""
    x = rng.standard_normal((1, 2, 7, 9)).astype(np.float32)
    for kwargs in [dict(scale_factor=1.3), dict(size=(20, 4)), dict(scale_factor=3)]:
        ours = interpolate(rg.tensor(x), mode=mode, align_corners=align_corners, **kwargs)
        theirs = TF.interpolate(torch.tensor(x), mode=mode, align_corners=align_corners, **kwargs).numpy()
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode,align_corners", MODES_2D)
def test_interpolate_gradcheck(mode, align_corners):
    x = rng.standard_normal((1, 2, 3, 4))
    numerical_check(lambda x: interpolate(x, size=(5, 3), mode=mode, align_corners=align_corners), x)


def test_nearest_copies_an_inf_without_spreading_nan():
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 0, 0] = np.inf
    y = interpolate(rg.tensor(x), scale_factor=2).numpy()
    np.testing.assert_array_equal(y, TF.interpolate(torch.tensor(x), scale_factor=2).numpy())


def test_closure_keeps_only_the_index_maps():
    y = interpolate(rg.randn(2, 3, 4, 4, requires_grad=True), scale_factor=2, mode="bilinear")
    assert set(closure_arrays(y.grad_fn.backward_fn)) == {"height_map", "width_map"}
    y = interpolate(rg.randn(2, 3, 4, requires_grad=True), scale_factor=2)
    assert set(closure_arrays(y.grad_fn.backward_fn)) == {"width_map"}
    y = interpolate(rg.randn(1, 2, 3, 3, 3, requires_grad=True), scale_factor=2, mode="trilinear")
    maps = {"depth_map", "height_map", "width_map"}
    assert set(closure_arrays(y.grad_fn.backward_fn)) == saves_names(interpolate)[0] == maps


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(size=4, scale_factor=2), ValueError, "only one of size or scale_factor should be defined"),
    (dict(), ValueError, "either size or scale_factor should be defined"),
    (dict(size=4, recompute_scale_factor=True), ValueError, "recompute_scale_factor is not meaningful"),
    (dict(size=4, mode="nearest", align_corners=True), ValueError, "align_corners option can only be set"),
    (dict(size=(4, 4, 4)), ValueError, "Input and output must have the same number of spatial dimensions"),
    (dict(scale_factor=(2, 2, 2)), ValueError, "Input and scale_factor must have the same number"),
    (dict(size=4, mode="linear"), NotImplementedError, "Got 4D input, but linear mode needs 3D input"),
])
def test_bad_arguments_are_refused_as_torch_refuses_them(kwargs, error, message):
    x = np.zeros((1, 1, 2, 2))
    with pytest.raises(error, match=message):
        TF.interpolate(torch.tensor(x), **kwargs)
    with pytest.raises(error, match=message):
        interpolate(rg.tensor(x), **kwargs)


def test_unsupported_modes_and_sizes_say_what_is_supported():
    with pytest.raises(NotImplementedError, match="mode='lanczos' is not supported; retrograd has 'nearest'"):
        interpolate(rg.zeros(1, 1, 2, 2), size=4, mode="lanczos")
    with pytest.raises(NotImplementedError, match=r"\(got 3D\) for the modes: .* \(got bicubic\)"):  # PyTorch's words
        interpolate(rg.zeros(1, 1, 2), size=4, mode="bicubic")
    with pytest.raises(RuntimeError, match=r"Input and output sizes should be greater than 0"):
        interpolate(rg.zeros(1, 1, 2, 2), size=0)


@pytest.mark.parametrize("rg_layer,torch_layer", [
    (rg.nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear")),
    (rg.nn.Upsample(size=(3, 4)), torch.nn.Upsample(size=(3, 4))),
    (rg.nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)),
    (rg.nn.UpsamplingNearest2d(size=5), torch.nn.UpsamplingNearest2d(size=5)),
])
def test_upsample_layers_match_torch(rg_layer, torch_layer):
    assert repr(rg_layer) == repr(torch_layer)
    assert_parity(rg_layer, torch_layer, rng.standard_normal((2, 3, 3, 4)), rtol=1e-12)


@pytest.mark.parametrize("shape,factor", [((2, 8, 3, 2), 2), ((9, 2, 3), 3), ((2, 1, 4, 1, 1), 2)])
def test_pixel_shuffle_and_unshuffle_match_torch(shape, factor):
    x = rng.standard_normal(shape)
    assert_parity(lambda x: pixel_shuffle(x, factor), lambda x: TF.pixel_shuffle(x, factor), x)
    y = TF.pixel_shuffle(torch.tensor(x), factor).numpy()
    assert_parity(lambda y: pixel_unshuffle(y, factor), lambda y: TF.pixel_unshuffle(y, factor), y)
    np.testing.assert_array_equal(pixel_unshuffle(pixel_shuffle(rg.tensor(x), factor), factor).numpy(), x)


def test_pixel_shuffle_layers_match_torch():
    for ours, theirs in [(rg.nn.PixelShuffle(3), torch.nn.PixelShuffle(3)),
                         (rg.nn.PixelUnshuffle(3), torch.nn.PixelUnshuffle(3))]:
        assert repr(ours) == repr(theirs)
        assert_parity(ours, theirs, rng.standard_normal((2, 9, 6, 3)))


@pytest.mark.parametrize("fn,shape,factor", [
    ("pixel_shuffle", (2, 5, 2, 2), 2), ("pixel_shuffle", (5, 2), 2), ("pixel_shuffle", (4, 2, 2), 0),
    ("pixel_unshuffle", (1, 3, 4), 2), ("pixel_unshuffle", (1, 4, 3), 2), ("pixel_unshuffle", (4,), 2)])
def test_pixel_shuffle_errors_are_torchs(fn, shape, factor):
    with pytest.raises(RuntimeError) as theirs:
        getattr(TF, fn)(torch.zeros(shape), factor)
    with pytest.raises(RuntimeError) as ours:
        {"pixel_shuffle": pixel_shuffle, "pixel_unshuffle": pixel_unshuffle}[fn](rg.zeros(*shape), factor)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("mode,kwargs", [("trilinear", dict(align_corners=False)),
                                         ("trilinear", dict(align_corners=True)),
                                         ("nearest", {}), ("nearest-exact", {})])
def test_5d_input_matches_torch_forward_and_backward(mode, kwargs):
    x = np.random.default_rng(5).standard_normal((2, 2, 3, 4, 5))
    g = np.random.default_rng(6).standard_normal((2, 2, 5, 6, 7))
    ours = rg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y = interpolate(ours, size=(5, 6, 7), mode=mode, **kwargs)
    expected = torch.nn.functional.interpolate(theirs, size=(5, 6, 7), mode=mode, **kwargs)
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    (y * rg.tensor(g)).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(size=(8, 9), mode="bicubic"),
                                    dict(size=(8, 9), mode="bicubic", align_corners=True),
                                    dict(scale_factor=1.7, mode="bicubic"), dict(size=(3, 4), mode="area"),
                                    dict(size=(8, 11), mode="area"), dict(scale_factor=0.6, mode="area")],
                         ids=["bicubic", "bicubic-corners", "bicubic-scale", "area-down", "area-up", "area-scale"])
def test_bicubic_and_area_match_torch_forward_and_backward(kwargs):
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 7))
    ours, theirs = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, expected = interpolate(ours, **kwargs), TF.interpolate(theirs, **kwargs)
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(8).standard_normal(expected.shape)
    (y * rg.tensor(g)).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
