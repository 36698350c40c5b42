"""The product functions (retrograd/ops/products.py: dot, mv, outer/ger, inner, tensordot, kron, trace, the add*
family, addcmul/addcdiv, chain_matmul, linalg.multi_dot) against PyTorch: values, dtypes, shapes and gradients
with random cotangents, a float64 numerical check of each, the Tensor methods, and PyTorch's errors."""
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, numerical_check


def _lib(module):
    return rg if module == "rg" else torch


# (id, function of (library, *inputs), input shapes)
CASES = [
    ("dot", lambda L, a, b: L.dot(a, b), [(4,), (4,)]),
    ("dot-empty", lambda L, a, b: L.dot(a, b), [(0,), (0,)]),
    ("mv", lambda L, a, b: L.mv(a, b), [(3, 4), (4,)]),
    ("outer", lambda L, a, b: L.outer(a, b), [(3,), (4,)]),
    ("ger", lambda L, a, b: L.ger(a, b), [(3,), (2,)]),
    ("inner", lambda L, a, b: L.inner(a, b), [(2, 3), (4, 3)]),
    ("inner-vectors", lambda L, a, b: L.inner(a, b), [(3,), (3,)]),
    ("inner-0d", lambda L, a, b: L.inner(a, b), [(), (2, 3)]),
    ("tensordot-int", lambda L, a, b: L.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)]),
    ("tensordot-0", lambda L, a, b: L.tensordot(a, b, dims=0), [(2,), (3,)]),
    ("tensordot-lists", lambda L, a, b: L.tensordot(a, b, dims=([1, 0], [0, 2])), [(3, 2, 4), (2, 5, 3)]),
    ("tensordot-broadcast-1", lambda L, a, b: L.tensordot(a, b, dims=((0, 1), (2, 0))), [(1, 1, 1), (2, 1, 2)]),
    ("kron", lambda L, a, b: L.kron(a, b), [(2, 3), (4, 2)]),
    ("kron-ndim", lambda L, a, b: L.kron(a, b), [(2, 1, 3), (2, 2)]),
    ("kron-0d", lambda L, a, b: L.kron(a, b), [(), (2,)]),
    ("trace", lambda L, a: L.trace(a), [(3, 3)]),
    ("trace-wide", lambda L, a: L.trace(a), [(2, 4)]),
    ("addmm", lambda L, i, a, b: L.addmm(i, a, b), [(2, 4), (2, 3), (3, 4)]),
    ("addmm-broadcast-scaled", lambda L, i, a, b: L.addmm(i, a, b, beta=0.5, alpha=-2.0), [(4,), (2, 3), (3, 4)]),
    ("addmm-beta0", lambda L, i, a, b: L.addmm(i, a, b, beta=0), [(2, 4), (2, 3), (3, 4)]),
    ("addmv", lambda L, i, a, b: L.addmv(i, a, b, beta=2.0, alpha=0.5), [(2,), (2, 3), (3,)]),
    ("addmv-broadcast", lambda L, i, a, b: L.addmv(i, a, b), [(1,), (2, 3), (3,)]),
    ("addbmm", lambda L, i, a, b: L.addbmm(i, a, b, alpha=1.5), [(2, 4), (5, 2, 3), (5, 3, 4)]),
    ("baddbmm", lambda L, i, a, b: L.baddbmm(i, a, b, beta=0.5), [(5, 2, 4), (5, 2, 3), (5, 3, 4)]),
    ("baddbmm-broadcast", lambda L, i, a, b: L.baddbmm(i, a, b), [(2, 4), (5, 2, 3), (5, 3, 4)]),
    ("addr", lambda L, i, a, b: L.addr(i, a, b, beta=-1.0, alpha=3.0), [(2, 4), (2,), (4,)]),
    ("addcmul", lambda L, i, a, b: L.addcmul(i, a, b, value=0.5), [(2, 4), (2, 1), (4,)]),
    ("addcdiv", lambda L, i, a, b: L.addcdiv(i, a, b, value=-2.0), [(2, 4), (4,), (2, 4)]),
    ("addcmul-broadcast-input", lambda L, i, a, b: L.addcmul(i, a, b), [(4,), (2, 4), (4,)]),
    ("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [(2, 3), (3, 4), (4, 2)]),
    ("multi_dot-vectors", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [(3,), (3, 4), (4,)]),
    ("multi_dot-row", lambda L, a, b: L.linalg.multi_dot([a, b]), [(3,), (3, 4)]),
    ("multi_dot-column", lambda L, a, b: L.linalg.multi_dot([a, b]), [(2, 3), (3,)]),
    ("chain_matmul", lambda L, a, b, c: L.chain_matmul(a, b, c), [(2, 3), (3, 4), (4, 5)]),
    ("chain_matmul-one", lambda L, a: L.chain_matmul(a), [(2, 3)]),
    # Tensor methods
    ("x.dot", lambda L, a, b: a.dot(b), [(3,), (3,)]),
    ("x.mv", lambda L, a, b: a.mv(b), [(2, 3), (3,)]),
    ("x.outer", lambda L, a, b: a.outer(b), [(2,), (3,)]),
    ("x.inner", lambda L, a, b: a.inner(b), [(2, 3), (3,)]),
    ("x.kron", lambda L, a, b: a.kron(b), [(2,), (3,)]),
    ("x.trace", lambda L, a: a.trace(), [(3, 3)]),
    ("x.addmm", lambda L, i, a, b: i.addmm(a, b, alpha=2), [(2, 4), (2, 3), (3, 4)]),
    ("x.addmv", lambda L, i, a, b: i.addmv(a, b), [(2,), (2, 3), (3,)]),
    ("x.addbmm", lambda L, i, a, b: i.addbmm(a, b), [(2, 4), (3, 2, 3), (3, 3, 4)]),
    ("x.baddbmm", lambda L, i, a, b: i.baddbmm(a, b), [(3, 2, 4), (3, 2, 3), (3, 3, 4)]),
    ("x.addr", lambda L, i, a, b: i.addr(a, b), [(2, 4), (2,), (4,)]),
    ("x.addcmul", lambda L, i, a, b: i.addcmul(a, b, value=3), [(2, 4), (2, 4), (2, 4)]),
    ("x.addcdiv", lambda L, i, a, b: i.addcdiv(a, b), [(2, 4), (2, 4), (2, 4)]),
    ("x.addcmul_", lambda L, i, a, b: (i * 1).addcmul_(a, b, value=3), [(2, 4), (2, 4), (4,)]),
    ("x.addcdiv_", lambda L, i, a, b: (i * 1).addcdiv_(a, b, value=0.5), [(2, 4), (2, 1), (2, 4)]),
    ("x.addmm_", lambda L, i, a, b: (i * 1).addmm_(a, b, beta=0.5), [(2, 4), (2, 3), (3, 4)]),
    ("x.addmv_", lambda L, i, a, b: (i * 1).addmv_(a, b, alpha=2), [(2,), (2, 3), (3,)]),
    ("x.addbmm_", lambda L, i, a, b: (i * 1).addbmm_(a, b), [(2, 4), (3, 2, 3), (3, 3, 4)]),
    ("x.baddbmm_", lambda L, i, a, b: (i * 1).baddbmm_(a, b), [(3, 2, 4), (3, 2, 3), (3, 3, 4)]),
    ("x.addr_", lambda L, i, a, b: (i * 1).addr_(a, b), [(2, 4), (2,), (4,)]),
]


def _inputs(case_id, shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    if "addcdiv" in case_id:  # divisors away from 0
        arrays[2] = np.sign(arrays[2]) * (1 + np.abs(arrays[2]))
    return arrays


@pytest.mark.parametrize("case_id,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_pytorch(case_id, fn, shapes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch.chain_matmul is deprecated
        assert_parity(lambda *xs: fn(rg, *xs), lambda *xs: fn(torch, *xs), *_inputs(case_id, shapes),
                      rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case_id,fn,shapes", [c for c in CASES if "empty" not in c[0] and "_" not in c[0][-1]],
                         ids=[c[0] for c in CASES if "empty" not in c[0] and "_" not in c[0][-1]])
def test_gradients_match_central_differences(case_id, fn, shapes):
    numerical_check(lambda *xs: fn(rg, *xs), *_inputs(case_id, shapes, seed=1))


def test_beta_zero_ignores_nan_in_the_input_and_gives_it_a_zero_gradient():
    rng = np.random.default_rng(3)
    nan = np.full((2, 4), np.nan)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    x = rg.tensor(nan, requires_grad=True)
    y = rg.addmm(x, rg.tensor(a), rg.tensor(b), beta=0, alpha=2.0)
    np.testing.assert_allclose(y.detach().numpy(), 2 * a @ b, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 4)))
    ours = rg.addr(rg.tensor(nan), rg.tensor(a[:, 0]), rg.tensor(b[0]), beta=0)
    np.testing.assert_allclose(ours.numpy(), torch.addr(torch.tensor(nan), torch.tensor(a[:, 0]), torch.tensor(b[0]),
                                                         beta=0).numpy())


@pytest.mark.parametrize("build", [
    lambda L: L.dot(L.arange(3), L.arange(3)),
    lambda L: L.outer(L.arange(3), L.ones(2)),                    # int with float: promotes
    lambda L: L.outer(L.ones(2, dtype=L.float64), L.ones(3)),
    lambda L: L.kron(L.arange(3), L.ones(2, dtype=L.float64)),
    lambda L: L.trace(L.arange(6, dtype=L.int32).reshape(2, 3)),  # int32 sums to int64
    lambda L: L.tensordot(L.arange(6).reshape(2, 3), L.arange(6).reshape(3, 2), dims=1),
    lambda L: L.addcmul(L.ones(2), L.arange(2), L.arange(2)),
    lambda L: L.addcdiv(L.ones(2), L.ones(2), L.arange(1, 3)),
    lambda L: L.mv(L.ones(2, 3), L.ones(3)),
])
def test_result_dtypes_match_pytorch(build):
    ours, theirs = build(rg), build(torch)
    assert ours.dtype == {torch.float32: rg.float32, torch.float64: rg.float64, torch.int64: rg.int64}[theirs.dtype]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the type and message are what the test compares
        return type(error), str(error)
    raise AssertionError("no error raised")


@pytest.mark.parametrize("build", [
    lambda L: L.dot(L.ones(2, 3), L.ones(3)),
    lambda L: L.dot(L.ones(3), L.ones(4)),
    lambda L: L.dot(L.ones(3), L.ones(3, dtype=L.float64)),
    lambda L: L.mv(L.ones(2, 3), L.ones(4)),
    lambda L: L.mv(L.ones(3), L.ones(3)),
    lambda L: L.outer(L.ones(2, 3), L.ones(3)),
    lambda L: L.outer(L.ones(3), L.tensor(1.0)),
    lambda L: L.inner(L.ones(2, 3), L.ones(4, 2)),
    lambda L: L.tensordot(L.ones(2, 3), L.ones(4, 3), dims=([1], [0])),
    lambda L: L.tensordot(L.ones(2, 3), L.ones(4, 3), dims=-1),
    lambda L: L.tensordot(L.ones(2, 3), L.ones(2, 3), dims=3),
    lambda L: L.tensordot(L.ones(2, 3), L.ones(3, 2), dims=([1, 0], [0])),
    lambda L: L.trace(L.ones(3)),
    lambda L: L.addmm(L.ones(2, 4), L.ones(2, 3), L.ones(4, 4)),
    lambda L: L.addmv(L.ones(3), L.ones(2, 3), L.ones(3)),
    lambda L: L.addbmm(L.ones(2, 4), L.ones(5, 2, 3), L.ones(4, 3, 4)),
    lambda L: L.addr(L.ones(2, 4).long(), L.arange(2), L.arange(4), alpha=0.5),
    lambda L: L.addcdiv(L.ones(2), L.arange(2), L.arange(1, 3)),
    lambda L: L.linalg.multi_dot([L.ones(2, 3)]),
    lambda L: L.linalg.multi_dot([L.ones(2, 3), L.ones(4, 4)]),
    lambda L: L.linalg.multi_dot([L.ones(2, 3), L.ones(3, 4, 5)]),
    lambda L: L.linalg.multi_dot([L.ones(2, 3), L.ones(3, 4, dtype=L.float64)]),
])
def test_bad_input_raises_pytorchs_errors(build):
    ours, theirs = _error(lambda: build(rg)), _error(lambda: build(torch))
    assert ours[0] is theirs[0] and ours[1].endswith(theirs[1]), (ours, theirs)


def test_in_place_forms_update_a_leaf_under_no_grad_as_an_optimizer_does():
    rng = np.random.default_rng(4)
    start, a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)) + 3
    ours, theirs = rg.tensor(start, requires_grad=True), torch.tensor(start, requires_grad=True)
    alias = ours.data
    with rg.no_grad():
        ours.addcmul_(rg.tensor(a), rg.tensor(b), value=-0.1).addcdiv_(rg.tensor(a), rg.tensor(b), value=0.5)
    with torch.no_grad():
        theirs.addcmul_(torch.tensor(a), torch.tensor(b), value=-0.1).addcdiv_(torch.tensor(a), torch.tensor(b),
                                                                                value=0.5)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-14)
    np.testing.assert_array_equal(alias.numpy(), ours.detach().numpy())  # written in place
    assert ours._version == theirs._version == 2
    assert _error(lambda: ours.addcmul_(rg.tensor(a), rg.tensor(b)))[0] is RuntimeError  # a leaf that needs grad


def test_bad_dtypes_and_shapes_name_the_function_and_arguments():
    assert _error(lambda: rg.addmm(rg.ones(2, 4), rg.ones(2, 3), rg.ones(3, 4, dtype=rg.float64)))[1] == (
        "addmm: input tensors must have the same dtype, but got input Float, mat1 Float, mat2 Double")
    assert _error(lambda: rg.addmm(rg.ones(3), rg.ones(2, 3), rg.ones(3, 4)))[1].startswith(
        "expand: the expanded size of the tensor (4) must match the existing size (3)")
    assert _error(lambda: rg.addmm(rg.ones(2, 4), rg.ones(3), rg.ones(3, 4)))[1] == (
        "addmm: mat1 must be a matrix, got 1-D tensor")
