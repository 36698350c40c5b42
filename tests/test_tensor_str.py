"""repr / str / print of tensors, and set_printoptions, compared character for character with PyTorch's."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import retrograd as rg
from retrograd import _tensor_str

F32 = np.float32
CASES = {
    "integral floats": np.array([1.0, 2.0], F32),
    "mixed": np.array([1.0, 2.5, 3.0], F32),
    "scalar": np.array(3.5, F32),
    "scalar zero": np.array(0.0, F32),
    "scalar int-valued": np.array(-2.0, F32),
    "negative": np.array([-1.5, 2.25, -300.125], F32),
    "negative zero": np.array([0.0, -0.0], F32),
    "negative zero among fractions": np.array([-0.0, 1.5], F32),
    "nan and inf": np.array([math.nan, 1.5, math.inf, -math.inf], F32),
    "nan only": np.array([math.nan], F32),
    "inf with integers": np.array([math.inf, 2.0], F32),
    "1e-8 and 1e5": np.array([1e-8, 1e5], F32),
    "1e-5": np.array([1e-5, 2e-5], F32),
    "1e9": np.array([1e9, 2e9], F32),
    "ratio just over 1000": np.array([1.0, 1001.0], F32),
    "ratio under 1000": np.array([1.5, 999.0], F32),
    "just over 1e8": np.array([1.0000001e8, 1.0], F32),
    "every magnitude": np.logspace(-5, 9, 15).astype(F32),
    "rounds up a digit": np.array([9.99996, 0.5]),
    "3-digit exponents": np.array([1e-100, 1e100]),
    "ratio overflows to inf": np.array([1e308, 5e-324]),
    "ints": np.array([1, -200, 3]),
    "bools": np.array([True, False]),
    "bool true": np.array([True]),
    "0-d int": np.array(7),
    "0-d bool": np.array(False),
    "2-D": (np.arange(12.0).reshape(3, 4) / 7).astype(F32),
    "3-D": (np.arange(24.0).reshape(2, 3, 4) - 5).astype(F32),
    "wraps past 80 columns": (np.arange(40.0) / 3).astype(F32),
    "2-D rows wrap": (np.arange(60.0).reshape(2, 30) * 1.5).astype(F32),
    "2000 elements": np.arange(2000.0).astype(F32),
    "(100, 100)": (np.arange(10000.0).reshape(100, 100) / 3).astype(F32),
    "(10, 20, 10) ints": np.arange(2000).reshape(10, 20, 10),
    "empty (0,)": np.zeros((0,), F32),
    "empty (2, 0)": np.zeros((2, 0), F32),
    "empty int64": np.zeros((0,), np.int64),
    "empty (0, 2, 3) bool": np.zeros((0, 2, 3), bool),
    "float64": np.array([1.5, 2.0]),
    "float16 large": np.array([1.5, 60000.0], np.float16),
    "float16": np.array([0.1, 3.0], np.float16),
    "int32": np.array([1, 2], np.int32),
    "uint8": np.array([1, 255], np.uint8),
    "complex": np.array([1 + 2j, -0.5 - 3.25j]),
    "complex 2-D": np.array([[1e-6 + 1j, 3 + 0j]]),
    "random": np.random.RandomState(0).randn(5, 7).astype(F32),
    "random large": (np.random.RandomState(1).randn(40, 50) * 1e4).astype(F32),
}
OPTIONS = [{}, {"precision": 2}, {"precision": 0}, {"sci_mode": False}, {"sci_mode": True}, {"profile": "full"},
           {"linewidth": 40}, {"edgeitems": 0}, {"threshold": 5, "edgeitems": 1}, {"profile": "short"}]


@pytest.fixture(autouse=True)
def default_print_options():
    yield
    for lib in (rg, torch):
        lib.set_printoptions(profile="default")
        lib.set_default_dtype(lib.float32)


def _set_options(**options):
    rg.set_printoptions(**options)
    torch.set_printoptions(**options)


def _strip_overload(text):
    """PyTorch names its nodes with the overload number (MulBackward0); retrograd's are MulBackward
    (see the README's grad_fn section)."""
    return text.replace("Backward0>", "Backward>")


@pytest.mark.parametrize("options", OPTIONS, ids=[repr(o) for o in OPTIONS])
@pytest.mark.parametrize("name", CASES)
def test_repr_and_str_match_pytorch(name, options):
    _set_options(**options)
    array = CASES[name]
    ours, theirs = rg.tensor(array), torch.from_numpy(array.copy())
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs) and format(ours, "") == format(theirs, "")  # a 0-d one: its number


def test_print_writes_pytorchs_text(capsys):
    print(rg.tensor([1.0, 2.5, 3.0]), rg.tensor([1e-8, 1e5]), rg.tensor(3.5), rg.tensor([1.0], dtype=rg.float64))
    assert capsys.readouterr().out == (
        "tensor([1.0000, 2.5000, 3.0000]) tensor([1.0000e-08, 1.0000e+05]) tensor(3.5000) "
        "tensor([1.], dtype=torch.float64)\n")


def test_leaves_that_require_grad_and_parameters():
    for options in ({}, {"linewidth": 40}):
        _set_options(**options)
        for array in (np.arange(30.0, dtype=F32), np.array(0.5, F32), np.zeros((2, 0), F32)):
            assert repr(rg.tensor(array, requires_grad=True)) == repr(torch.tensor(array, requires_grad=True))
        weight = np.arange(6.0, dtype=F32).reshape(2, 3) / 4
        assert repr(rg.nn.Parameter(rg.tensor(weight))) == repr(torch.nn.Parameter(torch.tensor(weight)))


def _subclass(base, name):
    return type(name, (base,), {})


def test_subclasses_print_under_their_class_name():
    array = np.linspace(-1, 1, 25, dtype=F32)
    ours, theirs = _subclass(rg.Tensor, "MyTensor")(array), torch.tensor(array).as_subclass(
        _subclass(torch.Tensor, "MyTensor"))
    assert repr(ours) == repr(theirs) and repr(ours).startswith("MyTensor([-1.0000, -0.9167,")
    ours = _subclass(rg.nn.Parameter, "MyParameter")(rg.tensor(array))
    theirs = _subclass(torch.nn.Parameter, "MyParameter")(torch.tensor(array))
    assert repr(ours) == repr(theirs) and repr(ours).startswith("Parameter containing:\nParameter(MyParameter([")


@pytest.mark.parametrize("options", [{}, {"linewidth": 40}, {"edgeitems": 0}])
@pytest.mark.parametrize("build", [lambda m, x: x * 2, lambda m, x: m.tanh(x.double()), lambda m, x: (x * x).sum(),
                                   lambda m, x: m.exp(x.reshape(2, 15)).transpose(0, 1)])
def test_results_with_a_grad_fn(build, options):
    _set_options(**options)
    array = np.linspace(-1, 1, 30, dtype=F32)
    ours = build(rg, rg.tensor(array, requires_grad=True))
    theirs = build(torch, torch.tensor(array, requires_grad=True))
    assert ours.grad_fn is not None and repr(ours) == _strip_overload(repr(theirs))


def test_default_dtype_float64_shows_float32_instead():
    for lib in (rg, torch):
        lib.set_default_dtype(lib.float64)
    for name in ("mixed", "float64", "empty (0,)", "empty int64", "complex", "ints"):
        array = CASES[name]
        assert repr(rg.tensor(array)) == repr(torch.from_numpy(array.copy()))
    assert repr(rg.tensor([1.5])) == "tensor([1.5000])"
    assert repr(rg.tensor([1.5], dtype=rg.float32)) == "tensor([1.5000], dtype=torch.float32)"
    assert repr(rg.tensor([1j], dtype=np.complex64)) == repr(torch.tensor([1j], dtype=torch.complex64))


def test_the_texts_the_issue_names():
    assert repr(rg.tensor([1.0, 2.5, 3.0])) == "tensor([1.0000, 2.5000, 3.0000])"
    assert repr(rg.tensor([1e-8, 1e5])) == "tensor([1.0000e-08, 1.0000e+05])"
    assert repr(rg.tensor(3.5)) == "tensor(3.5000)"
    assert repr(rg.tensor([1.0, 2.0], dtype=rg.float64)) == "tensor([1., 2.], dtype=torch.float64)"
    assert repr(rg.arange(2000)) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"


def test_set_printoptions_has_pytorchs_semantics():
    calls = [dict(precision=2), dict(sci_mode=True), dict(precision=6), dict(profile="short", linewidth=50),
             dict(profile="full"), dict(threshold=10, edgeitems=1, sci_mode=False), dict(profile="default")]
    for call in calls:  # sci_mode is reset by any call that leaves it out
        _set_options(**call)
        assert _tensor_str.get_printoptions() == torch._tensor_str.get_printoptions()
        assert repr(rg.tensor(CASES["random large"])) == repr(torch.tensor(CASES["random large"]))
    assert _tensor_str.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                                              "sci_mode": None}


def test_printoptions_context_restores_the_options():
    rg.set_printoptions(precision=3)
    with _tensor_str.printoptions(precision=1, sci_mode=True):
        assert repr(rg.tensor([1.25, 2.0])) == "tensor([1.2e+00, 2.0e+00])"
    assert repr(rg.tensor([1.25, 2.0])) == "tensor([1.250, 2.000])"


@pytest.mark.parametrize("options,message", [
    ({"profile": "ful", "precision": 1}, r"profile must be one of \['default', 'full', 'short'\], got 'ful'"),
    ({"precision": -1}, r"precision must be an integer >= 0, got -1"),
    ({"precision": 2.5, "linewidth": 40}, r"precision must be an integer >= 0, got 2.5"),
    ({"edgeitems": "3"}, r"edgeitems must be an integer >= 0, got '3'"),
    ({"linewidth": True}, r"linewidth must be an integer, got True"),
    ({"threshold": "all", "precision": 1},
     r"threshold must be a number \(math.inf: never summarise\), got 'all'"),
    ({"sci_mode": "yes"}, r"sci_mode must be True, False or None \(chosen per tensor\), got 'yes'"),
])
def test_bad_options_are_refused_before_anything_changes(options, message):
    """PyTorch accepts these and fails, or prints nonsense, at the next print."""
    rg.set_printoptions(sci_mode=True)
    with pytest.raises(ValueError, match="set_printoptions: " + message):
        rg.set_printoptions(**options)
    assert _tensor_str.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                                              "sci_mode": True}


VALUES = st.sampled_from([0.0, -0.0, 1.0, -3.0, 0.5, 1e-5, 2.5e-3, 123.456, -7e4, 1e9, 3e12, math.nan, math.inf])
SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
ARRAYS = st.one_of(arrays(st.sampled_from([np.float32, np.float64]), SHAPES, elements=VALUES),
                   arrays(st.sampled_from([np.int64, np.int32]), SHAPES, elements=st.integers(-10**6, 10**6)),
                   arrays(np.bool_, SHAPES))


@given(ARRAYS, st.sampled_from([{}, {"threshold": 8, "edgeitems": 1}, {"linewidth": 30, "precision": 2}]))
def test_random_arrays_print_as_in_pytorch(array, options):
    _set_options(**options)
    try:
        assert repr(rg.tensor(array)) == repr(torch.from_numpy(array.copy()))
    finally:
        _set_options(profile="default")
