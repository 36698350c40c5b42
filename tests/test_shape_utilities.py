"""Shape, selection and search utilities (ops/shape_composed.py, ops/selection.py, ops/index_search.py) against
PyTorch: values, shapes, dtypes and gradients (random cotangents) over 0-d, 1-D, broadcast and empty inputs,
central differences for the primitives (diag_embed, scatter), PyTorch's conventions (meshgrid's default and
warning, negative indices, repeated scatter positions, unique's refused backward), errors, and what the
primitive VJPs keep."""
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, assert_refused_as_torch_refuses, closure_arrays, numerical_check, saves_names
from retrograd.ops import selection, shape_composed


def _x(*shape, seed=0):
    return np.asarray(np.random.default_rng(seed).normal(size=shape))


def _both(name):
    return getattr(rg, name), getattr(torch, name)


# name: (retrograd fn, torch fn, input arrays)
DIFFERENTIABLE = {
    "broadcast_to": (lambda t: rg.broadcast_to(t, (2, 3, 4)), lambda t: torch.broadcast_to(t, (2, 3, 4)), [_x(3, 1)]),
    "broadcast_to_method": (lambda t: t.broadcast_to((4, 3)), lambda t: t.broadcast_to((4, 3)), [_x(3)]),
    "broadcast_tensors": (rg.broadcast_tensors, torch.broadcast_tensors, [_x(3, 1), _x(4), _x()]),
    "tile": (lambda t: rg.tile(t, (2,)), lambda t: torch.tile(t, (2,)), [_x(2, 3)]),
    "tile_more_dims": (lambda t: t.tile((2, 1, 3)), lambda t: t.tile((2, 1, 3)), [_x(2, 3)]),
    "hstack_1d": (lambda a, b: rg.hstack([a, b]), lambda a, b: torch.hstack([a, b]), [_x(2), _x(3)]),
    "hstack_2d": (lambda a, b: rg.hstack((a, b)), lambda a, b: torch.hstack((a, b)), [_x(2, 1), _x(2, 3)]),
    "vstack": (lambda a, b, c: rg.vstack([a, b, c]), lambda a, b, c: torch.vstack([a, b, c]), [_x(3), _x(2, 3), _x(3)]),
    "row_stack": (lambda a, b: rg.row_stack([a, b]), lambda a, b: torch.row_stack([a, b]), [_x(3), _x(3)]),
    "dstack": (lambda a, b, c: rg.dstack([a, b, c]), lambda a, b, c: torch.dstack([a, b, c]),
               [_x(3), _x(1, 3), _x(1, 3, 2)]),
    "column_stack": (lambda a, b, c: rg.column_stack([a, b, c]), lambda a, b, c: torch.column_stack([a, b, c]),
                     [_x(3), _x(3, 2), _x(3)]),
    "column_stack_0d": (lambda a, b: rg.column_stack([a, b]), lambda a, b: torch.column_stack([a, b]),
                        [_x(), _x(1, 2)]),
    "atleast_1d": (rg.atleast_1d, torch.atleast_1d, [_x()]),
    "atleast_2d": (lambda a, b: rg.atleast_2d(a, b), lambda a, b: torch.atleast_2d(a, b), [_x(), _x(3)]),
    "atleast_3d": (lambda a, b, c: rg.atleast_3d([a, b, c]), lambda a, b, c: torch.atleast_3d([a, b, c]),
                   [_x(), _x(3), _x(2, 3)]),
    "fliplr": (rg.fliplr, torch.fliplr, [_x(2, 3, 2)]), "flipud": (rg.flipud, torch.flipud, [_x(3, 2)]),
    "rot90": (rg.rot90, torch.rot90, [_x(2, 3)]),
    "rot90_k3_dims": (lambda t: rg.rot90(t, 3, (2, 0)), lambda t: torch.rot90(t, 3, (2, 0)), [_x(2, 3, 4)]),
    "rot90_k-2": (lambda t: t.rot90(-2, [1, 2]), lambda t: t.rot90(-2, [1, 2]), [_x(2, 3, 4)]),
    "swapdims": (lambda t: rg.swapdims(t, 0, 2), lambda t: torch.swapdims(t, 0, 2), [_x(2, 3, 4)]),
    "swapaxes": (lambda t: rg.swapaxes(t, -1, 0), lambda t: torch.swapaxes(t, -1, 0), [_x(2, 3)]),
    "diagonal": (rg.diagonal, torch.diagonal, [_x(3, 4)]),
    "diagonal_offset_dims": (lambda t: t.diagonal(1, 2, 0), lambda t: t.diagonal(1, 2, 0), [_x(3, 2, 4)]),
    "diagonal_negative_offset": (lambda t: rg.diagonal(t, -2), lambda t: torch.diagonal(t, -2), [_x(4, 3)]),
    "diagonal_outside": (lambda t: rg.diagonal(t, 5), lambda t: torch.diagonal(t, 5), [_x(2, 3)]),
    "diag_embed": (rg.diag_embed, torch.diag_embed, [_x(2, 3)]),
    "diag_embed_offset_dims": (lambda t: t.diag_embed(-1, 0, 2), lambda t: t.diag_embed(-1, 0, 2), [_x(2, 3)]),
    "meshgrid_ij": (lambda a, b: rg.meshgrid(a, b, indexing="ij"), lambda a, b: torch.meshgrid(a, b, indexing="ij"),
                    [_x(3), _x(2)]),
    "meshgrid_xy": (lambda a, b, c: rg.meshgrid([a, b, c], indexing="xy"),
                    lambda a, b, c: torch.meshgrid([a, b, c], indexing="xy"), [_x(3), _x(2), _x(4)]),
    "cartesian_prod": (rg.cartesian_prod, torch.cartesian_prod, [_x(3), _x(2), _x(2)]),
    "combinations": (rg.combinations, torch.combinations, [_x(4)]),
    "combinations_replacement": (lambda t: rg.combinations(t, 3, True), lambda t: torch.combinations(t, 3, True),
                                 [_x(3)]),
    "block_diag": (rg.block_diag, torch.block_diag, [_x(2, 3), _x(), _x(2), _x(1, 2)]),
    "repeat_interleave_int": (lambda t: rg.repeat_interleave(t, 2), lambda t: torch.repeat_interleave(t, 2),
                              [_x(2, 3)]),
    "repeat_interleave_dim": (lambda t: t.repeat_interleave(rg.tensor([1, 0, 3]), dim=1),
                              lambda t: t.repeat_interleave(torch.tensor([1, 0, 3]), dim=1), [_x(2, 3)]),
    "take": (lambda t: rg.take(t, rg.tensor([[0, 5], [-1, 5]])),
             lambda t: torch.take(t, torch.tensor([[0, 5], [-1, 5]])),
             [_x(2, 3)]),
    "take_along_dim": (lambda t: rg.take_along_dim(t, rg.tensor([[0], [-1]]), 1),
                       lambda t: torch.take_along_dim(t, torch.tensor([[0], [-1]]), 1), [_x(2, 3)]),
    "take_along_dim_broadcast": (lambda t: rg.take_along_dim(t, rg.tensor([[[2, 0]]]), 2),
                                 lambda t: torch.take_along_dim(t, torch.tensor([[[2, 0]]]), 2), [_x(2, 3, 4)]),
    "take_along_dim_flat": (lambda t: rg.take_along_dim(t, rg.tensor([5, 0, 5])),
                            lambda t: torch.take_along_dim(t, torch.tensor([5, 0, 5])), [_x(2, 3)]),
    "masked_select": (lambda t: rg.masked_select(t, rg.tensor([True, False, True])),
                      lambda t: torch.masked_select(t, torch.tensor([True, False, True])), [_x(2, 3)]),
    "masked_select_broadcast_input": (lambda t: t.masked_select(rg.tensor([[True], [False]])),
                                      lambda t: t.masked_select(torch.tensor([[True], [False]])), [_x(3)]),
    "select": (lambda t: rg.select(t, 1, -1), lambda t: torch.select(t, 1, -1), [_x(2, 3)]),
    "scatter_src": (lambda t, s: rg.scatter(t, 1, rg.tensor([[2, 0], [1, 1]]), s),
                    lambda t, s: torch.scatter(t, 1, torch.tensor([[2, 0], [1, 1]]), s), [_x(3, 3), _x(2, 2)]),
    "scatter_src_distinct": (lambda t, s: t.scatter(0, rg.tensor([[2, 0], [1, 2]]), s),
                             lambda t, s: t.scatter(0, torch.tensor([[2, 0], [1, 2]]), s), [_x(3, 2), _x(2, 2)]),
    "scatter_value": (lambda t: t.scatter(0, rg.tensor([[1, 0, 1]]), 2.5),
                      lambda t: t.scatter(0, torch.tensor([[1, 0, 1]]), 2.5), [_x(2, 3)]),
}


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_values_and_gradients_match_torch(name):
    rg_fn, torch_fn, arrays = DIFFERENTIABLE[name]
    assert_parity(rg_fn, torch_fn, *arrays)


@pytest.mark.parametrize("name", ["diag_embed_offset_dims", "scatter_src_distinct", "diagonal_offset_dims",
                                  "rot90_k3_dims",
                                  "take_along_dim_broadcast", "block_diag"])
def test_central_differences(name):
    rg_fn, _, arrays = DIFFERENTIABLE[name]
    numerical_check(lambda *ts: rg_fn(*ts) * 1.0, *arrays)


def test_results_on_empty_and_0d_inputs_match_torch():
    for rg_fn, torch_fn, array in [
        (rg.diag_embed, torch.diag_embed, _x(0)), (rg.diagonal, torch.diagonal, _x(0, 3)),
        (lambda t: rg.tile(t, (2, 0)), lambda t: torch.tile(t, (2, 0)), _x(3)),
        (lambda t: rg.combinations(t, 3), lambda t: torch.combinations(t, 3), _x(2)),
        (lambda t: rg.combinations(t, 0), lambda t: torch.combinations(t, 0), _x(2)),
        (lambda t: rg.repeat_interleave(t, 3), lambda t: torch.repeat_interleave(t, 3), _x()),
        (lambda t: rg.select(t, 0, 1), lambda t: torch.select(t, 0, 1), _x(2, 0)),
        (lambda t: rg.masked_select(t, rg.tensor(True)), lambda t: torch.masked_select(t, torch.tensor(True)), _x()),
        (lambda t: t.scatter(0, rg.tensor(0), 1.5), lambda t: t.scatter(0, torch.tensor(0), 1.5), _x()),
    ]:
        assert_parity(rg_fn, torch_fn, array)
    assert rg.block_diag().shape == torch.block_diag().shape == (1, 0)


def test_scatter_with_an_index_smaller_than_the_input_and_repeated_positions():
    """Entries beyond the index keep the input; a repeated position takes one of its writes (PyTorch: unspecified),
    and every src entry aimed at it reads that position's gradient, as PyTorch's backward does."""
    index = np.array([[1, 1], [0, 2]])
    src = _x(2, 3, seed=1)
    ours = rg.scatter(rg.tensor(_x(3, 4)), 1, rg.tensor(index), rg.tensor(src, requires_grad=True))
    theirs = torch.scatter(torch.tensor(_x(3, 4)), 1, torch.tensor(index), torch.tensor(src))
    np.testing.assert_array_equal(ours.detach().numpy()[[0, 2]], theirs.numpy()[[0, 2]])
    np.testing.assert_array_equal(ours.detach().numpy()[1], theirs.numpy()[1])
    assert ours.detach().numpy()[0, 1] in src[0, :2]
    assert_parity(lambda t, s: rg.scatter(t, 1, rg.tensor(index), s),
                  lambda t, s: torch.scatter(t, 1, torch.tensor(index), s), _x(3, 4), np.ones((2, 2)))
    # a src larger than the index: its extra entries get 0 (PyTorch's own backward refuses that shape)
    src = rg.tensor(np.ones((2, 3)), requires_grad=True)
    rg.scatter(rg.tensor(_x(3, 4)), 1, rg.tensor(index), src).sum().backward()
    assert src.grad.tolist() == [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]


def test_in_place_scatter_and_scatter_method_agree_with_torch():
    ours, theirs = rg.tensor(_x(2, 3)), torch.tensor(_x(2, 3))
    assert ours.scatter_(1, rg.tensor([[2], [0]]), rg.tensor(_x(2, 1, seed=3))) is ours
    theirs.scatter_(1, torch.tensor([[2], [0]]), torch.tensor(_x(2, 1, seed=3)))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_meshgrid_defaults_to_ij_with_torchs_warning():
    a, b = _x(3), _x(2)
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        ours = rg.meshgrid(rg.tensor(a), rg.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.meshgrid(torch.tensor(a), torch.tensor(b))
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert rg.meshgrid(rg.tensor(2.0), rg.tensor(a), indexing="xy")[0].shape == (3, 1)


def test_broadcast_shapes_and_triangle_indices_match_torch():
    assert rg.broadcast_shapes((2, 1, 3), (4, 1), 3) == torch.broadcast_shapes((2, 1, 3), (4, 1), 3)
    assert isinstance(rg.broadcast_shapes((2,)), rg.Size)
    with pytest.raises(RuntimeError, match=r"\(2, 3\), \(4,\)"):
        rg.broadcast_shapes((2, 3), (4,))
    for args in [(3, 4, 1), (3, 3, -1), (4, 2), (0, 0), (3, 5, -7)]:
        for name in ("tril_indices", "triu_indices"):
            ours, theirs = getattr(rg, name)(*args), getattr(torch, name)(*args)
            assert ours.dtype == rg.int64 and ours.tolist() == theirs.tolist() and ours.shape == tuple(theirs.shape)
    assert rg.tril_indices(2, 2, dtype=rg.int32).dtype == rg.int32


# ----- positions and counts -------------------------------------------------------------------------------
def _same(ours, theirs):
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape) and str(o.dtype) == str(t.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())


@pytest.mark.parametrize("call", [
    lambda m, t: m.nonzero(t([[1.0, 0.0], [2.0, 3.0]])), lambda m, t: m.nonzero(t(2.0)),
    lambda m, t: m.nonzero(t([[1, 0], [2, 3]]), as_tuple=True), lambda m, t: m.nonzero(t(0.0), as_tuple=True),
    lambda m, t: t([[0, 1, 1]]).nonzero(), lambda m, t: m.argwhere(t([[True, False], [False, True]])),
    lambda m, t: m.argwhere(t(0.0)),
    lambda m, t: m.unique(t([3, 1, 3, 2]), return_inverse=True, return_counts=True),
    lambda m, t: m.unique(t([[3.0, 1.0], [3.0, 2.0]]), return_inverse=True),
    lambda m, t: m.unique(t([[1, 2], [1, 2], [0, 5]]), dim=0, return_inverse=True, return_counts=True),
    lambda m, t: t([[1, 2], [1, 0]]).unique(dim=1, return_counts=True), lambda m, t: m.unique(t([])),
    lambda m, t: m.unique_consecutive(t([1, 1, 2, 2, 1]), return_inverse=True, return_counts=True),
    lambda m, t: m.unique_consecutive(t([[1, 1], [1, 1], [2, 0]]), dim=0, return_counts=True),
    lambda m, t: t([[1.0, 1.0, 2.0]]).unique_consecutive(return_inverse=True),
    lambda m, t: m.bincount(t([0, 2, 2, 5])), lambda m, t: m.bincount(t([1, 1]), minlength=4),
    lambda m, t: m.bincount(t([0, 2, 2]), weights=t([1.0, 2.0, 3.5])),
    lambda m, t: m.bincount(t([0, 2]), weights=t([1.0, 2.0], dtype=m.float64)),
    lambda m, t: m.bincount(t([], dtype=m.int64), minlength=3),
    lambda m, t: m.bucketize(t([3.0, 6.0, 9.0, 1.0]), t([1.0, 3.0, 5.0, 7.0])),
    lambda m, t: m.bucketize(t([[3.0, 6.0]]), t([1.0, 3.0, 5.0]), right=True, out_int32=True),
    lambda m, t: m.searchsorted(t([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), t([[3.0, 6.0], [1.0, 7.0]])),
    lambda m, t: m.searchsorted(t([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), t([[3.0, 6.0], [2.0, 7.0]]), right=True),
    lambda m, t: m.searchsorted(t([1.0, 3.0, 5.0, 7.0]), t([3.0, 6.0]), side="right"),
    lambda m, t: m.searchsorted(t([5.0, 1.0, 3.0]), t(3.0), sorter=t([1, 2, 0])),
    lambda m, t: m.histc(t([1.0, 2.0, 1.0]), bins=4, min=0, max=3),
    lambda m, t: m.histc(t([1.0, 2.0, 1.0, 2.5, 7.0, -1.0]), bins=3, min=1, max=2.5),
    lambda m, t: m.histc(t([1.0, 2.0, 1.0, 2.5])), lambda m, t: t([2.0, 2.0]).histc(bins=2),
    lambda m, t: m.histc(t([0.1, 0.2, 0.3], dtype=m.float64), bins=5),
], ids=lambda _: "")
def test_position_and_count_functions_match_torch(call):
    _same(call(rg, rg.tensor), call(torch, torch.tensor))


def test_unique_keeps_its_values_on_the_tape_but_refuses_backward_as_torch_does():
    x = rg.tensor([3.0, 1.0, 3.0], requires_grad=True)
    for values, aten in [(rg.unique(x), "_unique2"), (rg.unique(x, dim=0), "unique_dim"),
                         (rg.unique_consecutive(x), "unique_consecutive")]:
        assert values.requires_grad
        with pytest.raises(RuntimeError, match=f"the derivative for '{aten}' is not implemented."):
            values.sum().backward()


# ----- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m, t: m.hstack([]), lambda m, t: m.vstack([]), lambda m, t: m.fliplr(t([1.0])),
    lambda m, t: m.flipud(t(1.0)),
    lambda m, t: m.rot90(t([[1.0]]), 1, [0]), lambda m, t: m.rot90(t([1.0]), 1, [0, 1]),
    lambda m, t: m.rot90(t([[1.0]]), 1, [1, 1]), lambda m, t: m.diagonal(t([[1.0]]), 0, 1, 1),
    lambda m, t: m.diag_embed(t([1.0]), 0, 0, 0), lambda m, t: m.meshgrid(t([1.0]), indexing="ji"),
    lambda m, t: m.combinations(t([[1.0]])), lambda m, t: m.combinations(t([1.0]), -1),
    lambda m, t: m.block_diag(t([[[1.0]]])), lambda m, t: m.bincount(t([-1, 2])), lambda m, t: m.bincount(t([1.0])),
    lambda m, t: m.bincount(t([[1]])), lambda m, t: m.bincount(t([1]), minlength=-1),
    lambda m, t: m.searchsorted(t([1.0, 2.0]), t([1.0]), side="left", right=True),
    lambda m, t: m.searchsorted(t([[1.0, 2.0]]), t([[1.0], [2.0]])), lambda m, t: m.histc(t([1, 2])),
    lambda m, t: m.histc(t([1.0]), bins=0), lambda m, t: m.histc(t([1.0]), min=3, max=1),
    lambda m, t: m.select(t([1.0, 2.0]), 0, 2),
], ids=lambda _: "")
def test_bad_inputs_raise_torchs_error(call):
    assert_refused_as_torch_refuses(call)


# ----- what the primitive VJPs keep ---------------------------------------------------------------------------
@pytest.mark.parametrize("op,build", [
    (shape_composed.diag_embed, lambda x: shape_composed.diag_embed(x, 1)),
    (selection.scatter,
     lambda x: selection.scatter(x, 1, rg.tensor([[0], [1]]), rg.tensor(_x(2, 1), requires_grad=True))),
], ids=["diag_embed", "scatter"])
def test_each_vjp_keeps_exactly_what_its_docstring_saves(op, build):
    node = build(rg.tensor(_x(2, 3), requires_grad=True)).grad_fn
    assert node.op is op
    assert set(closure_arrays(node.backward_fn)) == saves_names(op)[0]
