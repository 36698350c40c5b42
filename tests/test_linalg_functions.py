"""retrograd.linalg's inv, det, slogdet, solve, svd, svdvals, eigh, eigvalsh, qr, pinv, matrix_rank, vector_norm,
matrix_norm, norm, cond, matrix_power, cross, and the torch.* forms (inverse, det, slogdet, logdet, svd, qr, pinverse,
matrix_power, cross) with their Tensor methods, against PyTorch: values, dtypes, shapes, gradients with random
cotangents, a float64 numerical check of each, the conventions at ties and singular points, PyTorch's errors, and
what the new VJPs keep. Singular and eigenvectors are compared through sign-invariant functions of them (each column
is defined up to its sign, which the LAPACK library picks)."""
import math
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, numerical_check, saves_names
from retrograd.bench.graph_memory import captured
from retrograd.ops import inverse, pinv, spectral


def _lib(name):
    return rg if name == "rg" else torch


def _well_conditioned(rng, shape):
    return rng.standard_normal(shape) + 3 * np.eye(shape[-1])


def _symmetric(rng, shape):
    a = rng.standard_normal(shape)
    return a + np.swapaxes(a, -1, -2)


def _signless(out, lib, weights):
    """A function of (U, S, Vh) or (L, V) that does not change when a column of U and V flips its sign."""
    return sum((((x * x) if x.ndim >= 2 else x) * w).sum() for x, w in zip(out, weights))


# (id, function of (library, *inputs), inputs built from a Generator)
CASES = [
    ("inv", lambda L, a: L.linalg.inv(a), lambda r: [_well_conditioned(r, (3, 3))]),
    ("inv-batched", lambda L, a: L.linalg.inv(a), lambda r: [_well_conditioned(r, (2, 3, 3))]),
    ("inverse", lambda L, a: L.inverse(a), lambda r: [_well_conditioned(r, (3, 3))]),
    ("det", lambda L, a: L.linalg.det(a), lambda r: [r.standard_normal((2, 3, 3))]),
    ("det-top", lambda L, a: L.det(a), lambda r: [r.standard_normal((4, 4))]),
    ("slogdet", lambda L, a: tuple(L.linalg.slogdet(a)), lambda r: [r.standard_normal((2, 3, 3))]),
    ("slogdet-top", lambda L, a: tuple(L.slogdet(a)), lambda r: [r.standard_normal((3, 3))]),
    ("logdet", lambda L, a: L.logdet(a), lambda r: [_well_conditioned(r, (2, 3, 3))]),
    ("solve-matrix", lambda L, a, b: L.linalg.solve(a, b), lambda r: [_well_conditioned(r, (3, 3)),
                                                                      r.standard_normal((3, 2))]),
    ("solve-vector", lambda L, a, b: L.linalg.solve(a, b), lambda r: [_well_conditioned(r, (2, 3, 3)),
                                                                      r.standard_normal((3,))]),
    ("solve-batch-of-vectors", lambda L, a, b: L.linalg.solve(a, b),
     lambda r: [_well_conditioned(r, (2, 3, 3)), r.standard_normal((2, 3))]),
    ("solve-broadcast", lambda L, a, b: L.linalg.solve(a, b),
     lambda r: [_well_conditioned(r, (2, 1, 3, 3)), r.standard_normal((4, 3, 2))]),
    ("solve-right", lambda L, a, b: L.linalg.solve(a, b, left=False),
     lambda r: [_well_conditioned(r, (3, 3)), r.standard_normal((2, 2, 3))]),
    ("svdvals", lambda L, a: L.linalg.svdvals(a), lambda r: [r.standard_normal((2, 4, 3))]),
    ("svd-reduced", lambda L, a, w1, w2, w3: _signless(L.linalg.svd(a, full_matrices=False), L, (w1, w2, w3)),
     lambda r: [r.standard_normal((2, 4, 3)), r.standard_normal((2, 4, 3)), r.standard_normal((2, 3)),
                r.standard_normal((2, 3, 3))]),
    ("svd-wide", lambda L, a, w1, w2, w3: _signless(L.linalg.svd(a, full_matrices=False), L, (w1, w2, w3)),
     lambda r: [r.standard_normal((3, 5)), r.standard_normal((3, 3)), r.standard_normal(3), r.standard_normal((3, 5))]),
    ("torch.svd", lambda L, a, w1, w2, w3: _signless(L.svd(a), L, (w1, w2, w3)),
     lambda r: [r.standard_normal((4, 3)), r.standard_normal((4, 3)), r.standard_normal(3), r.standard_normal((3, 3))]),
    ("eigh", lambda L, a, w1, w2: _signless(L.linalg.eigh(a), L, (w1, w2)),
     lambda r: [_symmetric(r, (2, 4, 4)), r.standard_normal((2, 4)), r.standard_normal((2, 4, 4))]),
    ("eigh-upper", lambda L, a, w1, w2: _signless(L.linalg.eigh(a, UPLO="U"), L, (w1, w2)),
     lambda r: [r.standard_normal((4, 4)), r.standard_normal(4), r.standard_normal((4, 4))]),
    ("eigvalsh", lambda L, a: L.linalg.eigvalsh(a), lambda r: [_symmetric(r, (2, 3, 3))]),
    ("eigvalsh-upper", lambda L, a: L.linalg.eigvalsh(a, UPLO="U"), lambda r: [r.standard_normal((3, 3))]),
    ("qr-tall", lambda L, a: tuple(L.linalg.qr(a)), lambda r: [r.standard_normal((2, 5, 3))]),
    ("qr-wide", lambda L, a: tuple(L.linalg.qr(a)), lambda r: [r.standard_normal((3, 5))]),
    ("qr-complete-square", lambda L, a: tuple(L.linalg.qr(a, mode="complete")), lambda r: [r.standard_normal((3, 3))]),
    ("qr-complete-wide", lambda L, a: tuple(L.linalg.qr(a, mode="complete")), lambda r: [r.standard_normal((2, 4))]),
    ("torch.qr", lambda L, a: tuple(L.qr(a)), lambda r: [r.standard_normal((4, 3))]),
    ("pinv", lambda L, a: L.linalg.pinv(a), lambda r: [r.standard_normal((2, 4, 3))]),
    ("pinv-wide", lambda L, a: L.linalg.pinv(a), lambda r: [r.standard_normal((3, 5))]),
    ("pinv-rank-deficient", lambda L, a, b: L.linalg.pinv(a @ b.mT), lambda r: [r.standard_normal((4, 2)),
                                                                                 r.standard_normal((3, 2))]),
    ("pinv-hermitian", lambda L, a: L.linalg.pinv(a, hermitian=True), lambda r: [_symmetric(r, (3, 3))]),
    ("pinv-rtol", lambda L, a: L.linalg.pinv(a, rtol=0.3), lambda r: [r.standard_normal((3, 4))]),
    ("pinverse", lambda L, a: L.pinverse(a), lambda r: [r.standard_normal((4, 3))]),
    ("matrix_power-3", lambda L, a: L.linalg.matrix_power(a, 3), lambda r: [r.standard_normal((2, 3, 3))]),
    ("matrix_power-0", lambda L, a: L.linalg.matrix_power(a, 0), lambda r: [r.standard_normal((3, 3))]),
    ("matrix_power--2", lambda L, a: L.linalg.matrix_power(a, -2), lambda r: [_well_conditioned(r, (3, 3))]),
    ("matrix_power-top-5", lambda L, a: L.matrix_power(a, 5), lambda r: [0.5 * r.standard_normal((3, 3))]),
    ("cross", lambda L, a, b: L.linalg.cross(a, b), lambda r: [r.standard_normal((4, 3)), r.standard_normal((1, 3))]),
    ("cross-dim", lambda L, a, b: L.cross(a, b, dim=0), lambda r: [r.standard_normal((3, 2)),
                                                                   r.standard_normal((3, 2))]),
    ("cond", lambda L, a: L.linalg.cond(a), lambda r: [r.standard_normal((2, 3, 3))]),
    ("cond-fro", lambda L, a: L.linalg.cond(a, "fro"), lambda r: [_well_conditioned(r, (3, 3))]),
    ("cond-1", lambda L, a: L.linalg.cond(a, 1), lambda r: [_well_conditioned(r, (3, 3))]),
    ("cond--2", lambda L, a: L.linalg.cond(a, -2), lambda r: [r.standard_normal((3, 4))]),
]
CASES += [(f"vector_norm-{ord}", lambda L, a, o=ord: L.linalg.vector_norm(a, o, dim=(0, 2)),
           lambda r: [r.standard_normal((2, 3, 4))]) for ord in (2, 1, 3, 0.5, -1, math.inf, -math.inf)]
CASES += [(f"matrix_norm-{ord}", lambda L, a, o=ord: L.linalg.matrix_norm(a, o),
           lambda r: [r.standard_normal((2, 3, 4))]) for ord in ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)]
CASES += [
    ("matrix_norm-dims-keepdim", lambda L, a: L.linalg.matrix_norm(a, 2, dim=(2, 0), keepdim=True),
     lambda r: [r.standard_normal((3, 2, 4))]),
    ("matrix_norm-nuc-keepdim", lambda L, a: L.linalg.matrix_norm(a, "nuc", dim=(0, 2), keepdim=True),
     lambda r: [r.standard_normal((3, 2, 4))]),
    ("norm-default", lambda L, a: L.linalg.norm(a), lambda r: [r.standard_normal((2, 3, 4))]),
    ("norm-matrix-ord", lambda L, a: L.linalg.norm(a, 1), lambda r: [r.standard_normal((3, 4))]),
    ("norm-vector-dim", lambda L, a: L.linalg.norm(a, 3, dim=1, keepdim=True), lambda r: [r.standard_normal((2, 3))]),
    ("norm-matrix-dims", lambda L, a: L.linalg.norm(a, dim=(0, 1)), lambda r: [r.standard_normal((2, 3, 2))]),
    ("norm-dtype", lambda L, a: L.linalg.norm(a, dtype=L.float64), lambda r: [r.standard_normal((3, 2))]),
    # Tensor methods
    ("x.inverse", lambda L, a: a.inverse(), lambda r: [_well_conditioned(r, (3, 3))]),
    ("x.det", lambda L, a: a.det(), lambda r: [r.standard_normal((3, 3))]),
    ("x.slogdet", lambda L, a: tuple(a.slogdet()), lambda r: [r.standard_normal((3, 3))]),
    ("x.logdet", lambda L, a: a.logdet(), lambda r: [_well_conditioned(r, (3, 3))]),
    ("x.matrix_power", lambda L, a: a.matrix_power(2), lambda r: [r.standard_normal((3, 3))]),
    ("x.pinverse", lambda L, a: a.pinverse(), lambda r: [r.standard_normal((3, 2))]),
    ("x.cross", lambda L, a, b: a.cross(b, dim=-1), lambda r: [r.standard_normal((2, 3)), r.standard_normal((2, 3))]),
    ("x.qr", lambda L, a: tuple(a.qr()), lambda r: [r.standard_normal((3, 3))]),
    ("x.svd-values", lambda L, a: a.svd()[1], lambda r: [r.standard_normal((3, 2))]),
]


# PyTorch 2.13 cannot differentiate these itself (its cond changes inv's output in place: "modified by an inplace
# operation"): their values are compared here, their gradients with central differences below.
NO_TORCH_GRADIENT = {"cond-fro", "cond-1"}

# Functions of a symmetric A that read one triangle: PyTorch's gradient is the symmetric one, so the numerical
# check differentiates through (A + A^T) / 2, where both agree.
SYMMETRIC_INPUT = {"eigh", "eigh-upper", "eigvalsh", "eigvalsh-upper", "pinv-hermitian"}


@pytest.mark.filterwarnings("ignore:torch.qr is deprecated")
@pytest.mark.parametrize("case_id,fn,build", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_pytorch(case_id, fn, build):
    arrays = build(np.random.default_rng(len(case_id)))
    assert_parity(lambda *xs: fn(rg, *xs), lambda *xs: fn(torch, *xs), *arrays, rtol=1e-9, atol=1e-10,
                  grad=case_id not in NO_TORCH_GRADIENT)


@pytest.mark.parametrize("case_id,fn,build", [c for c in CASES if not c[0].endswith(("-0", "rtol"))],
                         ids=[c[0] for c in CASES if not c[0].endswith(("-0", "rtol"))])
def test_gradients_match_central_differences(case_id, fn, build):
    arrays = build(np.random.default_rng(len(case_id) + 1))
    if case_id in SYMMETRIC_INPUT:
        numerical_check(lambda a, *ws: fn(rg, (a + a.mT) / 2, *ws), *arrays, rtol=1e-5, atol=1e-6)
    else:
        numerical_check(lambda *xs: fn(rg, *xs), *arrays, rtol=1e-5, atol=1e-6)


def _gradient(lib, fn, array, cotangent=None):
    x = lib.tensor(array, requires_grad=True)
    y = fn(lib, x)
    (y * lib.tensor(np.ones(tuple(y.shape)) if cotangent is None else cotangent)).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize("fn,array", [
    (lambda L, a: L.linalg.det(a), np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])),   # singular: PyTorch's 0
    (lambda L, a: L.linalg.det(a), np.array([[1.0, 0], [0, 0]])),
    (lambda L, a: L.linalg.svdvals(a), np.eye(3)),                                   # repeated singular values
    (lambda L, a: L.linalg.eigvalsh(a), np.diag([2.0, 2.0, 1.0])),                   # repeated eigenvalues
    (lambda L, a: L.linalg.matrix_norm(a, "nuc"), np.diag([1.0, 1.0, 0.0])),
    (lambda L, a: L.linalg.matrix_norm(a, math.inf), np.array([[1.0, -2], [3, 0], [-1.5, 1.5]])),  # tied rows
    (lambda L, a: L.linalg.matrix_norm(a, 1), np.array([[1.0, 0], [0, -1]])),                       # tied columns
    (lambda L, a: L.linalg.vector_norm(a), np.zeros(3)),                                            # origin
    (lambda L, a: L.linalg.vector_norm(a, math.inf), np.array([1.0, -3, 3])),                       # tie
    (lambda L, a: L.linalg.pinv(a), np.zeros((2, 3))),
])
def test_gradients_at_ties_and_singular_points_are_pytorchs(fn, array):
    np.testing.assert_allclose(_gradient(rg, fn, array), _gradient(torch, fn, array), rtol=1e-10, atol=1e-12)


def test_factorizations_reconstruct_and_are_namedtuples_with_pytorchs_fields():
    rng = np.random.default_rng(5)
    a = rg.tensor(rng.standard_normal((2, 4, 3)))
    U, S, Vh = rg.linalg.svd(a)
    assert (U.shape, S.shape, Vh.shape) == ((2, 4, 4), (2, 3), (2, 3, 3))
    np.testing.assert_allclose((U[..., :3] * S.unsqueeze(-2) @ Vh).numpy(), a.numpy(), atol=1e-12)
    assert rg.linalg.svd(a)._fields == ("U", "S", "Vh") and rg.svd(a)._fields == ("U", "S", "V")
    np.testing.assert_allclose(rg.svd(a).V.numpy(), rg.linalg.svd(a, full_matrices=False).Vh.mT.numpy())
    assert rg.svd(a, some=False).U.shape == (2, 4, 4)
    no_uv = rg.svd(a, compute_uv=False)
    assert no_uv.U.shape == (2, 4, 4) and no_uv.V.shape == (2, 3, 3) and not no_uv.U.numpy().any()
    values, vectors = rg.linalg.eigh(rg.tensor(_symmetric(rng, (3, 3))))
    assert rg.linalg.eigh(rg.eye(2, dtype=rg.float64))._fields == ("eigenvalues", "eigenvectors")
    assert rg.linalg.qr(a)._fields == ("Q", "R") and rg.linalg.slogdet(rg.eye(2))._fields == ("sign", "logabsdet")
    Q, R = rg.linalg.qr(a, mode="r")
    assert Q.shape == (0,) and R.shape == (2, 3, 3)
    assert rg.linalg.matrix_rank(rg.tensor(rng.standard_normal((4, 2)) @ rng.standard_normal((2, 5)))).item() == 2


@pytest.mark.parametrize("build", [
    lambda L: L.linalg.matrix_rank(L.tensor(np.diag([3.0, 1.0, 1e-3]))),
    lambda L: L.linalg.matrix_rank(L.tensor(np.diag([3.0, 1.0, 1e-3])), atol=0.5),
    lambda L: L.linalg.matrix_rank(L.tensor(np.diag([3.0, 1.0, 1e-3])), rtol=0.5),
    lambda L: L.linalg.matrix_rank(L.tensor(np.diag([3.0, -1.0, 0.0])), hermitian=True),
    lambda L: L.linalg.matrix_rank(L.ones(2, 3, 4)),
    lambda L: L.linalg.matrix_power(L.arange(4).reshape(2, 2), 3),
    lambda L: L.linalg.cross(L.arange(3), L.arange(3, 6)),
    lambda L: L.logdet(-L.eye(2, dtype=L.float64)),
    lambda L: L.logdet(-L.eye(3, dtype=L.float64)),
    lambda L: L.linalg.slogdet(L.zeros(2, 2)).logabsdet,
    lambda L: L.linalg.det(L.zeros(2, 0, 0)),
    lambda L: L.linalg.inv(L.zeros(2, 0, 0)),
])
def test_values_and_dtypes_of_special_cases_match_pytorch(build):
    ours, theirs = build(rg), build(torch)
    assert ours.dtype == rg.tensor(theirs.numpy()).dtype and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), equal_nan=True)


def test_torch_cross_without_dim_picks_the_first_size_3_dimension_with_pytorchs_warning():
    a, b = np.random.default_rng(8).standard_normal((2, 3, 3, 4))
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg is deprecated"):
        ours = rg.cross(rg.tensor(a), rg.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(ours.numpy(), torch.cross(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the type and message are what the test compares
        return type(error).__name__, str(error)
    raise AssertionError("no error raised")


@pytest.mark.parametrize("build", [
    lambda L: L.linalg.inv(L.ones(2, 3)),
    lambda L: L.linalg.inv(L.ones(3)),
    lambda L: L.linalg.inv(L.arange(4).reshape(2, 2)),
    lambda L: L.linalg.inv(L.tensor([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])),
    lambda L: L.linalg.inv(L.stack([L.eye(3), L.tensor([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])])),
    lambda L: L.linalg.inv(L.tensor([[0.0, 1], [0, 0]])),
    lambda L: L.linalg.det(L.ones(2, 3)),
    lambda L: L.linalg.det(L.arange(4).reshape(2, 2)),
    lambda L: L.linalg.solve(L.ones(3, 3), L.ones(2, 3)),
    lambda L: L.linalg.solve(L.eye(3), L.ones(3, 2, dtype=L.float64)),
    lambda L: L.linalg.solve(L.tensor([[1.0, 2], [2, 4]]), L.ones(2)),
    lambda L: L.linalg.svd(L.ones(3)),
    lambda L: L.linalg.svdvals(L.arange(4).reshape(2, 2)),
    lambda L: L.linalg.svd(L.eye(2), driver="gesvd"),
    lambda L: L.linalg.svdvals(L.eye(2), driver="gesvd"),
    lambda L: L.linalg.eigh(L.ones(2, 3)),
    lambda L: L.linalg.eigh(L.eye(2), UPLO="X"),
    lambda L: L.linalg.qr(L.ones(3, 3), mode="full"),
    lambda L: L.linalg.matrix_power(L.ones(2, 3), 2),
    lambda L: L.linalg.cross(L.ones(4, 3), L.ones(3)),
    lambda L: L.linalg.cross(L.ones(4, 2), L.ones(4, 2)),
    lambda L: L.linalg.cross(L.ones(4, 3), L.ones(4, 3, dtype=L.float64)),
    lambda L: L.linalg.vector_norm(L.arange(3)),
    lambda L: L.linalg.vector_norm(L.ones(0), ord=math.inf),
    lambda L: L.linalg.matrix_norm(L.ones(3)),
    lambda L: L.linalg.matrix_norm(L.ones(3, 3), ord=3),
    lambda L: L.linalg.matrix_norm(L.ones(3, 3), dim=(0, 0)),
    lambda L: L.linalg.norm(L.ones(2, 3, 4), ord=2),
    lambda L: L.linalg.norm(L.ones(2, 3, 4), ord="fro", dim=1),
    lambda L: L.linalg.cond(L.ones(2, 3), p=1),
])
def test_bad_input_raises_pytorchs_errors(build):
    ours, theirs = _error(lambda: build(rg)), _error(lambda: build(torch))
    assert ours[1].endswith(theirs[1]), (ours, theirs)  # retrograd may prefix the function's name
    assert ours[0] == theirs[0] or (ours[0], theirs[0]) == ("LinAlgError", "_LinAlgError")


@pytest.mark.parametrize("mode,shape", [("r", (3, 3)), ("complete", (4, 3))])
def test_qr_backward_refuses_what_pytorch_refuses(mode, shape):
    x = rg.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    t = torch.tensor(x.detach().numpy(), requires_grad=True)
    ours = _error(lambda: rg.linalg.qr(x, mode=mode).R.sum().backward())
    theirs = _error(lambda: torch.linalg.qr(t, mode=mode).R.sum().backward())
    assert ours[1] == theirs[1]


@pytest.mark.parametrize("op,build", [
    (inverse.inv, lambda x: rg.linalg.inv(x)),
    (inverse.det, lambda x: rg.linalg.det(x)),
    (inverse.slogdet, lambda x: rg.linalg.slogdet(x).logabsdet),
    (inverse.solve, lambda x: rg.linalg.solve(x, rg.ones(3, 2, dtype=rg.float64))),
    (inverse.solve, lambda x: rg.linalg.solve(rg.eye(3, dtype=rg.float64) * 2, x)),
    (spectral.svd, lambda x: rg.linalg.svd(x).S),
    (spectral.svdvals, lambda x: rg.linalg.svdvals(x)),
    (spectral.eigh, lambda x: rg.linalg.eigh(x).eigenvalues),
    (spectral.eigvalsh, lambda x: rg.linalg.eigvalsh(x)),
    (spectral.qr, lambda x: rg.linalg.qr(x).R),
    (pinv.pinv, lambda x: rg.linalg.pinv(x)),
])
def test_each_vjp_keeps_only_what_its_docstring_saves(op, build):
    x = rg.tensor(_well_conditioned(np.random.default_rng(2), (3, 3)), requires_grad=True)
    node = build(x).grad_fn
    assert node.op is op
    arrays, tensors = captured(node.backward_fn)
    assert not tensors, f"{op.__name__} captures Tensors {tensors}"
    assert set(arrays) <= saves_names(op)[0], (op.__name__, set(arrays))
