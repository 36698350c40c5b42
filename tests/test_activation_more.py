"""SELU, CELU, Mish, Hardswish, Hardsigmoid, GLU, Softsign, Softshrink, Hardshrink, Tanhshrink, Softmax2d, PReLU
and RReLU (functional and layers) against torch 2.13, with the gradients at the kinks."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, assert_parity, closure_arrays, numerical_check, saves_names
from retrograd import nn
from retrograd.nn import functional as F

rng = np.random.default_rng(0)
TF = torch.nn.functional

# the kinks and ends of every piecewise function: -3, 3 (hard*), +-0.5 (the shrinks' lambd), 0, and NaN
KINKS = np.array([-4.0, -3.0, -2.5, -0.5, -0.2, 0.0, 0.2, 0.5, 0.7, 3.0, 4.0, 30.0, -30.0, np.nan])

FUNCTIONS = [  # (name, extra arguments)
    ("selu", ()), ("celu", ()), ("celu", (0.7,)), ("mish", ()), ("hardswish", ()), ("hardsigmoid", ()),
    ("softsign", ()), ("softshrink", ()), ("softshrink", (0.2,)), ("hardshrink", ()), ("hardshrink", (0.2,)),
    ("tanhshrink", ()),
]


def _nan_safe_parity(name, args, x):
    """Values and gradients equal PyTorch's, NaN where PyTorch has NaN (assert_parity does not accept NaN)."""
    ours_x, theirs_x = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = getattr(F, name)(ours_x, *args), getattr(TF, name)(theirs_x, *args)
    assert ours.dtype == theirs.detach().numpy().dtype and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-15)
    dout = rng.standard_normal(x.shape)
    (ours * rg.tensor(dout)).sum().backward()
    (theirs * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, args", FUNCTIONS)
def test_activation_matches_torch_at_its_kinks(name, args):
    with np.errstate(invalid="ignore"):
        _nan_safe_parity(name, args, KINKS.copy())


@pytest.mark.parametrize("name, args", FUNCTIONS)
@pytest.mark.parametrize("shape", [(3, 4), (), (2, 0)])
def test_activation_matches_torch_on_shapes_and_float32(name, args, shape):
    assert_parity(lambda x: getattr(F, name)(x, *args), lambda x: getattr(TF, name)(x, *args),
                  np.asarray(rng.standard_normal(shape) * 3))
    assert_parity(lambda x: getattr(F, name)(x, *args), lambda x: getattr(TF, name)(x, *args),
                  np.asarray(rng.standard_normal(shape) * 3).astype(np.float32), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name, args", FUNCTIONS)
def test_activation_gradient_is_numerically_right(name, args):
    x = rng.standard_normal(6) * 3
    x[np.abs(np.abs(x) - 0.5) < 1e-3] += 0.1  # away from the kinks, where central differences straddle them
    numerical_check(lambda v: getattr(F, name)(v, *args), x)


@pytest.mark.parametrize("name", ["selu", "celu", "mish", "hardswish", "hardsigmoid", "rrelu"])
def test_inplace_forms_write_into_the_input_as_torch(name):
    x = rng.standard_normal((3, 4))
    ours, theirs = rg.tensor(x), torch.tensor(x)
    assert getattr(F, name)(ours, inplace=True) is ours
    getattr(TF, name)(theirs, inplace=True)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_activation_errors_match_torch():
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 5"):
        F.glu(rg.ones(3, 5))
    with pytest.raises(RuntimeError, match="glu does not support scalars because halving size must be even"):
        F.glu(rg.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 3.40282e\+38\] for input dtype float32, "
                                           r"but found -1"):
        F.softshrink(rg.ones(3), -1.0)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size. Found parameter "
                                           "numbers = 2 and channel size = 3."):
        F.prelu(rg.ones(2, 3), rg.ones(2))
    with pytest.raises(RuntimeError, match="prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"):
        F.prelu(rg.ones(2, 3), rg.ones(1, 3))
    with pytest.raises(ValueError, match=r"Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(rg.ones(2, 3))
    with pytest.raises(RuntimeError, match="ZeroDivisionError: alpha cannot be 0 for CELU"):
        F.celu(rg.ones(2), 0.0)
    with pytest.raises(TypeError, match="hardswish: expected a floating-point tensor, got int64"):
        F.hardswish(rg.ones(3, dtype=rg.int64))


@pytest.mark.parametrize("shape, dim", [((3, 4), -1), ((4, 3), 0), ((2, 6, 2), 1), ((2, 0), 1)])
def test_glu_matches_torch(shape, dim):
    assert_parity(lambda x: F.glu(x, dim), lambda x: TF.glu(x, dim), rng.standard_normal(shape))
    assert_module_parity(nn.GLU(dim), torch.nn.GLU(dim), rng.standard_normal(shape))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5)])
def test_softmax2d_matches_torch(shape):
    assert_module_parity(nn.Softmax2d(), torch.nn.Softmax2d(), rng.standard_normal(shape))


# ----- PReLU --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, count", [((2, 3, 4), 3), ((2, 3), 3), ((2, 3, 4, 5), 1), ((5,), 1), ((), 1),
                                          ((4, 3, 2), 1)])
def test_prelu_matches_torch_with_the_slope_at_zero(shape, count):
    x = rng.standard_normal(shape)
    x.reshape(-1)[: x.size // 2] = 0.0  # x = 0 takes the slope w, and gives w no gradient
    assert_parity(lambda x, w: F.prelu(x, w), lambda x, w: TF.prelu(x, w), x, rng.standard_normal(count))
    numerical_check(lambda x, w: F.prelu(x, w), rng.standard_normal(shape) + 0.1, rng.standard_normal(count))


def test_prelu_layer_matches_torch_init_repr_and_gradients():
    ours, theirs = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(ours) == repr(theirs) == "PReLU(num_parameters=3)"
    assert ours.weight.dtype == rg.float32 and ours.weight.shape == (3,)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    assert_module_parity(ours.double(), theirs.double(), rng.standard_normal((2, 3, 4)))
    assert [n for n, _ in nn.PReLU().named_parameters()] == ["weight"]


# ----- RReLU --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rrelu_training_draws_torch_slopes_from_the_seeded_stream(dtype):
    x = rng.standard_normal((40, 30)).astype(dtype)
    x[0, :3] = 0.0  # x = 0 draws a slope too (PyTorch's test is x <= 0)
    torch.manual_seed(5)
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs = TF.rrelu(theirs_x, 0.1, 0.4, training=True)
    theirs_next = torch.rand(3)
    rg.manual_seed(5)
    ours_x = rg.tensor(x, requires_grad=True)
    ours = F.rrelu(ours_x, 0.1, 0.4, training=True)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())  # bit for bit
    np.testing.assert_array_equal(rg.rand(3).numpy(), theirs_next.numpy())  # and the stream stays in step
    dout = rng.standard_normal(x.shape).astype(dtype)
    (ours * rg.tensor(dout)).sum().backward()
    (theirs * torch.tensor(dout)).sum().backward()
    np.testing.assert_array_equal(ours_x.grad.numpy(), theirs_x.grad.numpy())


def test_rrelu_layer_uses_the_mean_slope_in_eval_and_draws_in_training():
    ours, theirs = nn.RReLU(0.1, 0.3), torch.nn.RReLU(0.1, 0.3)
    assert repr(ours) == repr(theirs) == "RReLU(lower=0.1, upper=0.3)"
    assert repr(nn.RReLU(inplace=True)) == repr(torch.nn.RReLU(inplace=True))
    ours.eval()
    theirs.eval()
    assert_module_parity(ours, theirs, np.array([-2.0, -1.0, 0.0, 1.0]))
    ours.train()
    rg.manual_seed(0)
    out = ours(rg.tensor(-np.ones(1000)))
    assert 0.1 <= -out.numpy().max() and -out.numpy().min() < 0.3 and len(set(out.numpy())) > 900


# ----- the parameterless layers -------------------------------------------------------------------
@pytest.mark.parametrize("cls, args", [("SELU", ()), ("SELU", (True,)), ("CELU", (0.5,)), ("CELU", (2.0, True)),
                                       ("Mish", ()), ("Mish", (True,)), ("Hardswish", ()), ("Hardswish", (True,)),
                                       ("Hardsigmoid", ()), ("Softsign", ()), ("Softshrink", (0.3,)),
                                       ("Hardshrink", ()), ("Tanhshrink", ()), ("GLU", ())])
def test_activation_layers_match_torch_and_its_repr(cls, args):
    ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((2, 4)) * 3
    if args and args[-1] is True:  # in place: compare the values only
        np.testing.assert_allclose(ours(rg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12)
    else:
        assert_module_parity(ours, theirs, x)


@pytest.mark.parametrize("name", ["celu", "hardswish", "hardsigmoid", "softshrink", "hardshrink"])
def test_the_new_primitive_ops_keep_what_their_docstring_saves(name):
    out = getattr(F, name)(rg.tensor(rng.standard_normal(5), requires_grad=True))
    assert out.grad_fn.op.__name__ == name
    assert set(closure_arrays(out.grad_fn.backward_fn)) == saves_names(out.grad_fn.op)[0]


def test_the_names_torch_also_has_at_top_level_and_as_methods_are_the_same_functions():
    # only those whose torch.* signature is F.*'s (torch.group_norm, torch.instance_norm and the torch.*_loss take
    # other arguments, and torch.adaptive_max_pool1d always returns indices)
    for name in ("celu", "hardshrink", "prelu", "rrelu", "selu", "bilinear", "cosine_similarity", "pairwise_distance",
                 "rms_norm", "adaptive_avg_pool1d"):
        assert hasattr(torch, name) and getattr(rg, name) is getattr(F, name), name
    x, w = rg.tensor([-1.0, 0.2, 0.7]), rg.tensor([0.25])
    np.testing.assert_array_equal(x.hardshrink(0.5).numpy(), torch.tensor([-1.0, 0.2, 0.7]).hardshrink(0.5).numpy())
    np.testing.assert_array_equal(x.prelu(w).numpy(), torch.tensor([-1.0, 0.2, 0.7]).prelu(torch.tensor([0.25])))
