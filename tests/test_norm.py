"""batch_norm and layer_norm: parity with PyTorch, gradients, running statistics, and the composite twins."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import retrograd as rg
from helpers import assert_module_parity, assert_parity, numerical_check
from retrograd.ops import norm

rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_torch(shape, training, affine):
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    stats = rng.uniform(0.5, 2.0, 3)
    rm, rv = rg.tensor(stats * 0.1), rg.tensor(stats)
    rm_t, rv_t = torch.tensor(stats * 0.1), torch.tensor(stats)
    if affine:
        assert_parity(lambda x, w, b: norm.batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5),
                      lambda x, w, b: torch.nn.functional.batch_norm(x, rm_t, rv_t, w, b, training, 0.1, 1e-5),
                      x, w, b)
    else:
        assert_parity(lambda x: norm.batch_norm(x, rm, rv, None, None, training, 0.1, 1e-5),
                      lambda x: torch.nn.functional.batch_norm(x, rm_t, rv_t, None, None, training, 0.1, 1e-5), x)
    np.testing.assert_allclose(rm.array, rm_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.array, rv_t.numpy(), rtol=1e-12)


@given(st.integers(2, 5), st.integers(1, 4), st.integers(1, 3))
def test_batch_norm_gradcheck(n, c, length):
    x = rng.standard_normal((n, c, length))
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    numerical_check(lambda x, w, b: norm.batch_norm(x, None, None, w, b, True), x, w, b)


@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 5))])
def test_layer_norm_matches_torch(shape, normalized):
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(normalized), rng.standard_normal(normalized)
    assert_parity(lambda x, w, b: norm.layer_norm(x, normalized, w, b),
                  lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b), x, w, b)
    numerical_check(lambda x, w, b: norm.layer_norm(x, normalized, w, b), x, w, b)


def test_layer_norm_matches_composite_twin():
    """The fused op against the same normalisation built from primitive ops."""
    x = rng.standard_normal((3, 7))
    w, b = rng.standard_normal(7), rng.standard_normal(7)

    def composite(x, w, b):
        mean = x.mean(dim=-1, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(dim=-1, keepdim=True)
        return centered / (var + 1e-5).sqrt() * w + b

    fused_inputs = [rg.tensor(a, requires_grad=True) for a in (x, w, b)]
    twin_inputs = [rg.tensor(a, requires_grad=True) for a in (x, w, b)]
    dout = rg.tensor(rng.standard_normal((3, 7)))
    fused = norm.layer_norm(fused_inputs[0], (7,), fused_inputs[1], fused_inputs[2])
    twin = composite(*twin_inputs)
    np.testing.assert_allclose(fused.array, twin.array, rtol=1e-10)
    (fused * dout).sum().backward()
    (twin * dout).sum().backward()
    for a, b_ in zip(fused_inputs, twin_inputs):
        np.testing.assert_allclose(a.grad.array, b_.grad.array, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_modules_match_torch_over_steps(momentum):
    """Train-mode steps update running stats like PyTorch (incl. the cumulative average for momentum=None),
    then eval mode uses them; state_dict keys and order equal PyTorch's."""
    for ours, theirs, shape in [(rg.nn.BatchNorm1d(3, momentum=momentum), torch.nn.BatchNorm1d(3, momentum=momentum),
                                 (5, 3)),
                                (rg.nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum),
                                 (2, 3, 4, 4))]:
        ours.double()
        theirs.double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for _ in range(3):
            x = rng.standard_normal(shape)
            assert_module_parity(ours, theirs, x, copy_weights=False)
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].array, value.numpy(), rtol=1e-12)
        ours.eval()
        theirs.eval()
        assert_module_parity(ours, theirs, rng.standard_normal(shape), copy_weights=False)


def test_layernorm_module_state_dict_and_parity():
    ours, theirs = rg.nn.LayerNorm((3, 4)).double(), torch.nn.LayerNorm((3, 4)).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert_module_parity(ours, theirs, rng.standard_normal((2, 3, 4)))


def test_batchnorm_errors_name_the_layer():
    bn = rg.nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): input has 4 channels"):
        bn(rg.randn(5, 4))
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input"):
        rg.nn.BatchNorm2d(3)(rg.randn(5, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(rg.randn(1, 3))
    with pytest.raises(ValueError, match="layer_norm: input of shape"):
        rg.nn.LayerNorm(5)(rg.randn(2, 4))


def test_layer_norm_refuses_an_empty_normalized_shape_as_pytorch_does():
    with pytest.raises(RuntimeError, match=r"layer_norm: expected normalized_shape to be at least 1-dimensional.*"
                                           r"normalized_shape = \[\]"):
        norm.layer_norm(rg.tensor(2.0, requires_grad=True), ())
    with pytest.raises(RuntimeError, match=r"at least 1-dimensional.*normalized_shape = \[\]"):
        torch.nn.functional.layer_norm(torch.tensor(2.0), ())


def _layer_norm_written_out(x, normalized, w, b, g, eps):
    """The module docstring's equations as written, one NumPy expression each: (y, dL/dx, dL/dw, dL/db)."""
    axes = tuple(range(x.ndim - len(normalized), x.ndim))
    lead, n = tuple(range(x.ndim - len(normalized))), int(np.prod(normalized))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    rstd = 1.0 / np.sqrt(np.mean(centered * centered, axis=axes, keepdims=True) + eps)
    x_hat = centered * rstd
    y = (x_hat * w if w is not None else x_hat.copy())
    y = y + b if b is not None else y
    dx_hat = g * w if w is not None else g
    dx = (rstd / n) * (n * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
                       - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True))
    return y, dx, (g * x_hat).sum(axis=lead), g.sum(axis=lead)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,normalized", [((5, 7), (7,)), ((2, 3, 20), (3, 20)), ((4, 300), (300,)), ((6, 1), (1,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_numpy_code_gives_the_written_out_equations_bits(shape, normalized, dtype, affine):
    """The op evaluates its equations in place (two full-size arrays where the expressions make six): the same
    operations in the same order, so the same bits as the expressions written out."""
    local = np.random.default_rng(len(shape) + shape[-1])
    x = (3 * local.standard_normal(shape) + 1).astype(dtype)
    g = local.standard_normal(shape).astype(dtype)
    w, b = (local.standard_normal((2,) + normalized).astype(dtype) if affine else (None, None))
    inputs = [rg.from_numpy(a.copy()).requires_grad_(True) if a is not None else None for a in (x, w, b)]
    y = norm.layer_norm(inputs[0], normalized, inputs[1], inputs[2], eps=1e-3)
    y.backward(rg.from_numpy(g))
    expected = _layer_norm_written_out(x, normalized, w, b, g, 1e-3)
    got = [y.detach().numpy()] + [t.grad.numpy() for t in inputs if t is not None]
    for name, ours, theirs in zip(["y", "dL/dx", "dL/dw", "dL/db"], got, expected):
        assert ours.dtype == dtype, name
        np.testing.assert_array_equal(ours.view(f"u{ours.itemsize}"), theirs.view(f"u{theirs.itemsize}"), err_msg=name)
