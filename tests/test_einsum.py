"""retrograd.einsum (retrograd/ops/einsum.py) against torch.einsum: values, shapes, dtypes and gradients with random
cotangents over the equation forms (explicit, implicit, ellipsis, repeated subscripts, size-1 broadcasting, the
sublist and list forms), a float64 numerical check, PyTorch's errors, and what the VJP keeps."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, numerical_check, saves_names
from retrograd.bench.graph_memory import captured
from retrograd.ops import einsum as einsum_module

CASES = [
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("ij,jk", (2, 3), (3, 4)),                 # implicit output: the subscripts seen once, in order
    ("ba", (2, 3)),                            # implicit output sorts: a transpose
    ("aB", (2, 3)),                            # upper case sorts first
    ("ii", (3, 3)),                            # trace
    ("ii->i", (3, 3)),                         # diagonal
    ("iij->j", (2, 2, 3)),
    ("iji->ij", (2, 3, 2)),
    ("ijj,jk->ik", (2, 3, 3), (3, 4)),
    ("ij->ji", (2, 3)),
    ("ij,ij->", (2, 3), (2, 3)),
    ("i,j->ij", (3,), (4,)),
    ("ijk->", (2, 3, 4)),
    ("ab,bc,cd->ad", (2, 3), (3, 4), (4, 5)),  # three operands: a contraction path
    ("i,i,i", (3,), (3,), (3,)),
    (",->", (), ()),                           # 0-d operands
    ("...", ()),
    ("ij->i", (2, 0)),                         # empty
    ("...ij,...jk", (2, 1, 2, 3), (5, 3, 4)),  # ellipsis dims broadcast
    ("b...a", (5, 2, 3)),                      # implicit output: ellipsis dims first
    ("...i,...i", (2, 3), (1, 3)),
    ("...ij->...", (2, 3)),
    ("bi,bi->b", (1, 3), (4, 3)),              # a size-1 subscript broadcasts
    ("ij,jk->ik", (2, 1), (3, 4)),
    ("ab,cb->ac", (1, 3), (4, 1)),
    ("i->", (3,)),                             # summed in one operand only: the gradient broadcasts
    ("ij,jk->i", (2, 3), (3, 4)),
    ("i j , j k-> i k", (2, 3), (3, 2)),       # spaces
]


@pytest.mark.parametrize("equation,shapes", [(c[0], c[1:]) for c in CASES], ids=[c[0] for c in CASES])
def test_einsum_values_and_gradients_match_pytorch(equation, shapes):
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_parity(lambda *xs: rg.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs), *arrays,
                  rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", ((2, 3), (3, 4))), ("iij->ji", ((2, 2, 3),)), ("...i,i...->...", ((2, 3), (3, 2))),
    ("bi,bj->bij", ((1, 3), (2, 2))), ("ab,bc,ca->", ((2, 3), (3, 4), (4, 2))),
])
def test_einsum_gradient_matches_central_differences(equation, shapes):
    rng = np.random.default_rng(7)
    numerical_check(lambda *xs: rg.einsum(equation, *xs), *[rng.standard_normal(s) for s in shapes])


def test_sublist_and_list_forms_match_pytorch():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    assert_parity(lambda x, y: rg.einsum(x, [..., 0, 1], y, [..., 1, 2], [..., 0, 2]),
                  lambda x, y: torch.einsum(x, [..., 0, 1], y, [..., 1, 2], [..., 0, 2]), a, b, rtol=1e-12)
    assert_parity(lambda x, y: rg.einsum(x, [0, 1, 2], y, [0, 2, 3]),  # implicit: sublist 0-25 are A-Z
                  lambda x, y: torch.einsum(x, [0, 1, 2], y, [0, 2, 3]), a, b, rtol=1e-12)
    assert_parity(lambda x, y: rg.einsum("bij,bjk->bik", [x, y]), lambda x, y: torch.einsum("bij,bjk->bik", [x, y]),
                  a, b, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float32])
@pytest.mark.parametrize("equation", ["ij,jk->ik", "i,j->ij", "ij->", "ij,k->", "ii->i", "ij,ij->ij"])
def test_integer_bool_and_float32_operands_give_pytorchs_dtype(dtype, equation):
    """Integers and bools summed within one operand become int64 (torch.sum's rule); bools are not contracted."""
    rng = np.random.default_rng(2)
    shapes = {"ij,jk->ik": [(3, 3), (3, 3)], "i,j->ij": [(3,), (4,)], "ij->": [(2, 3)], "ij,k->": [(2, 3), (4,)],
              "ii->i": [(3, 3)], "ij,ij->ij": [(2, 3), (2, 3)]}[equation]
    arrays = [rng.integers(0, 3, s).astype(dtype) for s in shapes]
    theirs = _error_or_value(lambda: torch.einsum(equation, *[torch.tensor(a) for a in arrays]))
    ours = _error_or_value(lambda: rg.einsum(equation, *[rg.tensor(a) for a in arrays]))
    if isinstance(theirs, tuple):
        assert ours[0] is theirs[0] and ours[1].endswith(theirs[1])
        return
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def _error_or_value(fn):
    try:
        return fn().numpy()
    except Exception as error:  # noqa: BLE001 - the type and message are what the test compares
        return type(error), str(error)


def test_a_transpose_or_diagonal_is_a_new_array_not_a_view():
    x = rg.tensor(np.arange(9.0).reshape(3, 3))
    for equation in ("ij->ji", "ii->i", "ij->ij"):
        y = rg.einsum(equation, x)
        assert not np.shares_memory(y.numpy(), x.numpy())
    np.testing.assert_array_equal(rg.einsum("ii->i", x).numpy(), [0.0, 4.0, 8.0])


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the type and message are what the test compares
        return type(error), str(error)
    raise AssertionError("no error raised")


@pytest.mark.parametrize("args", [
    ("ij,jk->ik", (2, 3), (4, 4)),
    ("ij->ijk", (2, 3)),
    ("i", (2, 2)),
    ("ij", (3,)),
    ("ijk", (2, 3)),
    ("i...jk", (2, 3)),
    ("ij->jj", (2, 3)),
    ("ii", (2, 3)),
    ("ij,jk", (2, 3)),
    ("i->i", (3,), (3,)),
    ("i-->i", (3,)),
    ("i>i", (3,)),
    ("i1", (2, 3)),
    ("ij->i..", (2, 3)),
    ("...i...->i", (2, 3)),
    ("..i", (3,)),
])
def test_bad_equations_raise_pytorchs_errors(args):
    equation, *shapes = args
    ours = _error(lambda: rg.einsum(equation, *[rg.zeros(*s) for s in shapes]))
    theirs = _error(lambda: torch.einsum(equation, *[torch.zeros(*s) for s in shapes]))
    assert ours == theirs


def test_other_bad_input_raises_with_pytorchs_words():
    assert _error(lambda: rg.einsum("i,i", rg.zeros(2), rg.zeros(2, dtype=rg.float64)))[1].startswith(
        "einsum(): expected scalar type Float but found Double")
    assert _error(lambda: rg.einsum("ij")) == _error(lambda: torch.einsum("ij"))
    assert _error(lambda: rg.einsum(rg.zeros(2), [0, 60])) == _error(lambda: torch.einsum(torch.zeros(2), [0, 60]))
    assert _error(lambda: rg.einsum(1, rg.zeros(2)))[0] is TypeError
    assert _error(lambda: rg.einsum("i", 1.0)) == (TypeError, "einsum(): expected Tensor as element 0 in argument 1, "
                                                              "but got float")
    assert _error(lambda: rg.einsum("...i,...i", rg.zeros(2, 3), rg.zeros(4, 3)))[1] == (
        "einsum(): dimension 0 covered by ellipsis in operand 1 has size 4 which does not broadcast with previously "
        "seen ellipsis with size 2 for the respective dimension")


def test_the_vjp_keeps_only_the_operands_another_gradient_reads():
    a = rg.randn(2, 3, requires_grad=True)
    b, c = rg.randn(3, 4), rg.randn(4, 5)
    node = rg.einsum("ab,bc,cd->ad", a, b, c).grad_fn
    arrays, tensors = captured(node.backward_fn)
    assert not tensors and set(arrays) <= saves_names(einsum_module.einsum)[0]
    kept = [x for x in arrays["operands"] if x is not None]
    assert len(kept) == 2 and np.shares_memory(kept[0], b.numpy()) and np.shares_memory(kept[1], c.numpy())
