"""The padding layers (ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad 1d/2d/3d) against torch
2.13: values, gradients, reprs and input checks."""
import importlib

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity
from retrograd import nn

rng = np.random.default_rng(0)

LAYERS = [  # (class, constructor arguments, input shape)
    ("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad1d", ((1, -2),), (3, 5)), ("ZeroPad2d", ((1, 0, 2, 3),), (2, 3, 4, 5)),
    ("ZeroPad2d", (1,), (3, 4, 5)), ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ConstantPad1d", (3, 2.5), (2, 3, 4)), ("ConstantPad2d", ((0, 1, 2, 0), -1.0), (2, 2, 3, 3)),
    ("ConstantPad3d", ((1, 0, 0, 1, 1, 1), 0.5), (2, 2, 2, 2)),
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad1d", ((3, 1),), (3, 5)),
    ("ReflectionPad2d", ((1, 2, 2, 0),), (2, 3, 4, 5)), ("ReflectionPad2d", (1,), (3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", ((4, 1),), (2, 3, 5)), ("ReplicationPad2d", ((1, 3, 0, 2),), (2, 3, 4, 5)),
    ("ReplicationPad2d", (2,), (3, 4, 5)), ("ReplicationPad3d", ((1, 0, 2, 0, 0, 1),), (1, 2, 3, 3, 3)),
    ("CircularPad1d", (2,), (2, 3, 5)), ("CircularPad1d", ((1, 3),), (3, 5)),
    ("CircularPad2d", ((1, 2, 2, 1),), (2, 3, 4, 5)), ("CircularPad3d", (1,), (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("cls, args, shape", LAYERS)
def test_padding_layer_matches_torch(cls, args, shape):
    ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    assert_module_parity(ours, theirs, rng.standard_normal(shape))


def test_padding_layers_keep_the_dtype_and_check_what_torch_checks():
    out = nn.ReflectionPad1d(1)(rg.ones(1, 2, 3, dtype=rg.float32))
    assert out.dtype == rg.float32 and out.shape == (1, 2, 5)
    assert nn.ZeroPad2d(1)(rg.ones(1, 2, 2, dtype=rg.int64)).dtype == rg.int64
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.CircularPad2d(1)(rg.ones(3, 3))
    with pytest.raises(RuntimeError, match="padding size should be less than the corresponding input dimension"):
        nn.ReflectionPad1d(3)(rg.ones(1, 2, 3))


@pytest.mark.parametrize("submodule, name", [("padding", "ReflectionPad2d"), ("padding", "ZeroPad1d"),
                                             ("instancenorm", "InstanceNorm2d"), ("instancenorm", "_InstanceNorm"),
                                             ("distance", "CosineSimilarity"), ("fold", "Unfold"),
                                             ("normalization", "GroupNorm"), ("linear", "Bilinear"),
                                             ("loss", "TripletMarginLoss"), ("pooling", "AdaptiveMaxPool1d"),
                                             ("activation", "PReLU")])
def test_the_new_layers_sit_at_torch_nn_modules_paths(submodule, name):
    assert hasattr(importlib.import_module(f"torch.nn.modules.{submodule}"), name)
    ours = getattr(importlib.import_module(f"retrograd.nn.modules.{submodule}"), name)
    assert ours is getattr(nn, name, ours) and issubclass(ours, nn.Module)
