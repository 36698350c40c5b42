"""isclose / allclose / equal and testing.assert_close against PyTorch: results, default tolerances per dtype,
and the messages (PyTorch's, with retrograd's names for sizes, dtypes and the tensor type)."""
import math

import numpy as np
import pytest
import torch
import torch.testing

import retrograd as rg

NAN, INF = math.nan, math.inf


def _pair(m, a, b, dtype="float32"):
    return m.tensor(np.array(a, dtype)), m.tensor(np.array(b, dtype))


ISCLOSE_CASES = [  # (a, b, dtype, kwargs)
    ([1.0, 2.0, NAN, INF, -INF, 3.0], [1.00001, 2.1, NAN, INF, INF, 3.0], "float32", {}),
    ([1.0, 2.0, NAN, INF, -INF, 3.0], [1.00001, 2.1, NAN, INF, INF, 3.0], "float64", {"equal_nan": True}),
    ([1.0, 1e-9, 0.0, 1e8], [1.0 + 1e-6, 0.0, 1e-8, 1e8 + 1e3], "float64", {}),
    ([1.0, 1.1, 1.3], [1.05, 1.0, 1.0], "float32", {"rtol": 0.1, "atol": 0.0}),
    ([100, 101, 103], [101, 102, 100], "int64", {"rtol": 0.01, "atol": 0}),
    ([100, 101], [100, 102], "int64", {}),
    ([True, False], [True, True], "bool", {}),
    ([1.0, 2.0], [1.0009765625, 2.0], "float16", {"rtol": 1e-3, "atol": 0.0}),
]


@pytest.mark.parametrize("a,b,dtype,kwargs", ISCLOSE_CASES)
def test_isclose_and_allclose_match_pytorch(a, b, dtype, kwargs):
    ours = rg.isclose(*_pair(rg, a, b, dtype), **kwargs)
    theirs = torch.isclose(*_pair(torch, a, b, dtype), **kwargs)
    assert ours.dtype == np.bool_ and ours.tolist() == theirs.tolist()
    assert rg.allclose(*_pair(rg, a, b, dtype), **kwargs) is torch.allclose(*_pair(torch, a, b, dtype), **kwargs)


def test_isclose_broadcasts_and_equal_matches_pytorch():
    for m in (rg, torch):
        assert m.isclose(m.tensor([1.0, 2.0]), m.tensor([[1.0], [2.0]])).tolist() == [[True, False], [False, True]]
    pairs = [([1.0, 2.0], [1.0, 2.0]), ([1.0, NAN], [1.0, NAN]), ([1.0], [[1.0]]), ([1.0, 2.0], [1.0, 2.0, 3.0])]
    for a, b in pairs:
        assert rg.equal(rg.tensor(a), rg.tensor(b)) is torch.equal(torch.tensor(a), torch.tensor(b))
    assert rg.equal(rg.tensor([1.0, 2.0]), rg.tensor([1, 2])) is torch.equal(torch.tensor([1.0, 2.0]),
                                                                           torch.tensor([1, 2])) is True


def _raised(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 (the type is compared)
        return type(error), str(error)
    return None, None


def _same_error(ours, theirs):
    assert ours[0] is theirs[0], (ours, theirs)
    if theirs[1] is None:
        return
    translated = theirs[1].replace("torch.Size", "retrograd.Size").replace("torch.float", "retrograd.float") \
        .replace("torch.int", "retrograd.int").replace("<class 'torch.Tensor'>", "<class 'retrograd.tensor.Tensor'>")
    assert ours[1] == translated


@pytest.mark.parametrize("build", [
    lambda m: m.isclose(m.tensor([1.0]), m.tensor([1.0], dtype=m.float64)),
    lambda m: m.isclose(m.tensor([1.0]), m.tensor([1.0]), rtol=-1),
    lambda m: m.isclose(m.tensor([1.0]), m.tensor([1.0]), atol=-1),
    lambda m: m.allclose(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0, 3.0])),
])
def test_isclose_errors_start_with_pytorchs_message(build):
    ours, theirs = _raised(lambda: build(rg)), _raised(lambda: build(torch))
    assert ours[0] is theirs[0] and ours[1].startswith(theirs[1]), (ours, theirs)


ASSERT_CLOSE_CASES = {  # id -> fn(lib, assert_close): one call, compared with PyTorch's outcome
    "float32": lambda m, ac: ac(m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.5, 3.0])),
    "float32-within-default": lambda m, ac: ac(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0 + 2e-6])),
    "float64-2d": lambda m, ac: ac(m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64),
                                   m.tensor([[1.0, 2.0], [3.1, 4.2]], dtype=m.float64)),
    "float64-within-default": lambda m, ac: ac(m.tensor([1.0], dtype=m.float64), m.tensor([1.0 + 5e-8], dtype=m.float64)),
    "float16-default": lambda m, ac: ac(m.tensor([1.0], dtype=m.float16), m.tensor([1.001], dtype=m.float16)),
    "0d": lambda m, ac: ac(m.tensor(1.0), m.tensor(1.5)),
    "int": lambda m, ac: ac(m.tensor([1, 2, 3]), m.tensor([1, 2, 4])),
    "int-rel-third": lambda m, ac: ac(m.tensor([1, 2, 4]), m.tensor([1, 2, 3])),
    "bool": lambda m, ac: ac(m.tensor([True, False]), m.tensor([True, True])),
    "shape": lambda m, ac: ac(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0, 3.0])),
    "dtype": lambda m, ac: ac(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64)),
    "dtype-unchecked": lambda m, ac: ac(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64),
                                        check_dtype=False),
    "nan": lambda m, ac: ac(m.tensor([1.0, NAN]), m.tensor([1.0, NAN])),
    "nan-equal": lambda m, ac: ac(m.tensor([1.0, NAN]), m.tensor([1.0, NAN]), equal_nan=True),
    "zero-expected": lambda m, ac: ac(m.tensor([0.0, 1.0]), m.tensor([1.0, 0.0])),
    "large": lambda m, ac: ac(m.tensor([1e10, 2.0]), m.tensor([1e10 + 1e6, 2.0])),
    "python-floats": lambda m, ac: ac(1.0, 1.1),
    "python-ints": lambda m, ac: ac(1, 2),
    "int-vs-float": lambda m, ac: ac(1, 1.0),
    "booleans": lambda m, ac: ac(True, False),
    "sequence": lambda m, ac: ac([m.tensor(1.0), m.tensor(2.0)], [m.tensor(1.0), m.tensor(3.0)]),
    "sequence-length": lambda m, ac: ac([m.tensor(1.0)], [m.tensor(1.0), m.tensor(2.0)]),
    "nested": lambda m, ac: ac([[m.tensor([1.0])]], [[m.tensor([2.0])]]),
    "mapping": lambda m, ac: ac({"a": m.tensor([1.0])}, {"a": m.tensor([2.0])}),
    "mapping-keys": lambda m, ac: ac({"a": 1.0}, {"b": 1.0}),
    "msg": lambda m, ac: ac(m.tensor([1.0]), m.tensor([2.0]), msg="custom"),
    "msg-callable": lambda m, ac: ac([m.tensor([1.0])], [m.tensor([2.0])], msg=lambda text: "X" + text),
    "rtol-only": lambda m, ac: ac(m.tensor([1.0]), m.tensor([1.1]), rtol=0.2),
    "rtol-and-atol": lambda m, ac: ac(m.tensor([1.0]), m.tensor([1.1]), rtol=0.2, atol=0),
    "tensor-vs-list": lambda m, ac: ac(m.tensor([1.0, 2.0]), [1.0, 2.0]),
    "requires-grad": lambda m, ac: ac(m.tensor([1.0, 2.0], requires_grad=True), m.tensor([1.0, 2.0])),
    "empty": lambda m, ac: ac(m.tensor([]), m.tensor([])),
    "numpy": lambda m, ac: ac(np.array([1.0, 2.0]), np.array([1.0, 3.0])),
}


@pytest.mark.parametrize("case", list(ASSERT_CLOSE_CASES))
def test_assert_close_matches_pytorch(case):
    build = ASSERT_CLOSE_CASES[case]
    _same_error(_raised(lambda: build(rg, rg.testing.assert_close)),
                _raised(lambda: build(torch, torch.testing.assert_close)))


def test_default_tolerances_are_pytorchs():
    assert rg.testing.DEFAULT_TOLERANCES[np.dtype(np.float32)] == (1.3e-6, 1e-5)
    assert rg.testing.DEFAULT_TOLERANCES[np.dtype(np.float64)] == (1e-7, 1e-7)
    assert rg.testing.DEFAULT_TOLERANCES[np.dtype(np.float16)] == (1e-3, 1e-5)


def test_tensor_methods_match_pytorch():
    for m in (rg, torch):
        a, b = m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0 + 1e-3])
        assert a.allclose(b) is False and a.allclose(b, atol=1e-2) is True and a.equal(a.clone()) is True
        assert a.isclose(b).tolist() == [True, False]
