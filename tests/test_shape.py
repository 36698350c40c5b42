"""Shape ops: forward and gradients against PyTorch and central differences, in float64.

Each op in CASES runs through `assert_parity` (random cotangent, all input
gradients) and `numerical_check`. Then the cases a table hides: repeated
indices that must accumulate, masks, negative dims, uneven splits, cropping
pads, dtypes and the error messages.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import retrograd as rg
from helpers import assert_parity, numerical_check
from retrograd.ops import indexing as I
from retrograd.ops import shape as S

rng = np.random.default_rng(0)


def arr(*shape):
    return rng.standard_normal(shape)


IDX = np.array([2, 0, 2, 1, 2])  # repeats: index 2 appears three times
MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])

# (id, retrograd fn, torch fn, inputs)
CASES = [
    ("reshape_varargs", lambda x: S.reshape(x, 4, -1), lambda x: x.reshape(4, -1), [arr(2, 3, 2)]),
    ("reshape_tuple", lambda x: S.reshape(x, (3, 4)), lambda x: x.reshape((3, 4)), [arr(2, 6)]),
    ("reshape_as", lambda x, o: S.reshape_as(x, o), lambda x, o: x.reshape_as(o), [arr(6), arr(2, 3)]),
    ("view_method", lambda x: x.view(3, 2), lambda x: x.view(3, 2), [arr(6)]),
    ("flatten", lambda x: S.flatten(x), lambda x: torch.flatten(x), [arr(2, 3, 2)]),
    ("flatten_mid", lambda x: S.flatten(x, 1, -2), lambda x: torch.flatten(x, 1, -2), [arr(2, 3, 2, 2)]),
    ("flatten_0d", lambda x: S.flatten(x), lambda x: torch.flatten(x), [np.array(1.5)]),
    ("squeeze_all", lambda x: S.squeeze(x), lambda x: torch.squeeze(x), [arr(1, 3, 1, 2)]),
    ("squeeze_dim", lambda x: S.squeeze(x, -2), lambda x: torch.squeeze(x, -2), [arr(1, 3, 1, 2)]),
    ("squeeze_tuple_keeps_non1", lambda x: S.squeeze(x, (0, 1)), lambda x: torch.squeeze(x, (0, 1)),
     [arr(1, 3, 1, 2)]),
    ("unsqueeze", lambda x: S.unsqueeze(x, 1), lambda x: torch.unsqueeze(x, 1), [arr(2, 3)]),
    ("unsqueeze_neg", lambda x: S.unsqueeze(x, -1), lambda x: torch.unsqueeze(x, -1), [arr(2, 3)]),
    ("transpose", lambda x: S.transpose(x, 0, 2), lambda x: torch.transpose(x, 0, 2), [arr(2, 3, 4)]),
    ("transpose_neg", lambda x: S.transpose(x, -1, -2), lambda x: torch.transpose(x, -1, -2), [arr(2, 3, 4)]),
    ("t_2d", lambda x: S.t(x), lambda x: torch.t(x), [arr(2, 3)]),
    ("t_1d", lambda x: S.t(x), lambda x: torch.t(x), [arr(3)]),
    ("T_property", lambda x: x.T, lambda x: x.permute(2, 1, 0), [arr(2, 3, 4)]),
    ("mT_property", lambda x: x.mT, lambda x: x.mT, [arr(2, 3, 4)]),
    ("permute_varargs", lambda x: S.permute(x, 2, 0, 1), lambda x: x.permute(2, 0, 1), [arr(2, 3, 4)]),
    ("permute_tuple_neg", lambda x: S.permute(x, (-1, 0, 1)), lambda x: x.permute((-1, 0, 1)), [arr(2, 3, 4)]),
    ("movedim", lambda x: S.movedim(x, 0, -1), lambda x: torch.movedim(x, 0, -1), [arr(2, 3, 4)]),
    ("movedim_tuple", lambda x: S.movedim(x, (0, 1), (2, 0)), lambda x: torch.movedim(x, (0, 1), (2, 0)),
     [arr(2, 3, 4)]),
    ("expand", lambda x: S.expand(x, 2, -1, 4), lambda x: x.expand(2, -1, 4), [arr(3, 1)]),
    ("expand_tuple", lambda x: S.expand(x, (3, 4)), lambda x: x.expand((3, 4)), [arr(4)]),
    ("expand_as", lambda x, o: S.expand_as(x, o), lambda x, o: x.expand_as(o), [arr(1, 3), arr(2, 3)]),
    ("repeat", lambda x: S.repeat(x, 2, 3), lambda x: x.repeat(2, 3), [arr(2, 3)]),
    ("repeat_new_dims", lambda x: S.repeat(x, (2, 1, 3)), lambda x: x.repeat((2, 1, 3)), [arr(2, 3)]),
    ("cat", lambda a, b: S.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1), [arr(2, 3), arr(2, 2)]),
    ("cat_neg_dim", lambda a, b, c: S.cat((a, b, c), -1), lambda a, b, c: torch.cat((a, b, c), -1),
     [arr(2, 1), arr(2, 3), arr(2, 2)]),
    ("stack", lambda a, b: S.stack([a, b]), lambda a, b: torch.stack([a, b]), [arr(2, 3), arr(2, 3)]),
    ("stack_neg_dim", lambda a, b: S.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1),
     [arr(2, 3), arr(2, 3)]),
    ("split_size", lambda x: S.split(x, 2, 1), lambda x: torch.split(x, 2, 1), [arr(2, 5)]),
    ("split_sections", lambda x: S.split(x, [1, 3, 1], -1), lambda x: torch.split(x, [1, 3, 1], -1), [arr(2, 5)]),
    ("chunk", lambda x: S.chunk(x, 3), lambda x: torch.chunk(x, 3), [arr(7, 2)]),
    ("unbind", lambda x: S.unbind(x, 1), lambda x: torch.unbind(x, 1), [arr(2, 3, 2)]),
    ("narrow", lambda x: S.narrow(x, 1, 1, 2), lambda x: torch.narrow(x, 1, 1, 2), [arr(2, 4)]),
    ("narrow_neg_start", lambda x: S.narrow(x, -1, -3, 2), lambda x: torch.narrow(x, -1, -3, 2), [arr(2, 4)]),
    ("flip", lambda x: S.flip(x, (0, -1)), lambda x: torch.flip(x, (0, -1)), [arr(2, 3, 2)]),
    ("roll", lambda x: S.roll(x, (1, -2), (0, 1)), lambda x: torch.roll(x, (1, -2), (0, 1)), [arr(3, 4)]),
    ("roll_flat", lambda x: S.roll(x, 2), lambda x: torch.roll(x, 2), [arr(3, 4)]),
    ("tril", lambda x: S.tril(x, -1), lambda x: torch.tril(x, -1), [arr(2, 3, 3)]),
    ("triu", lambda x: S.triu(x, 1), lambda x: torch.triu(x, 1), [arr(3, 4)]),
    ("getitem_basic", lambda x: x[1:, None, ..., ::2], lambda x: x[1:, None, ..., ::2], [arr(3, 2, 4)]),
    ("getitem_int_neg", lambda x: x[-1, :, 2], lambda x: x[-1, :, 2], [arr(3, 2, 4)]),
    ("getitem_list_repeats", lambda x: x[[2, 0, 2, 2]], lambda x: x[[2, 0, 2, 2]], [arr(3, 2)]),
    ("getitem_tensor_repeats", lambda x, i: x[:, i], lambda x, i: x[:, i], [arr(2, 3), IDX]),
    ("getitem_two_arrays", lambda x: x[[0, 2, 0], [1, 1, 1]], lambda x: x[[0, 2, 0], [1, 1, 1]], [arr(3, 2)]),
    ("getitem_separated_arrays", lambda x: x[[0, 1], :, [1, 1]], lambda x: x[[0, 1], :, [1, 1]],
     [arr(2, 3, 2)]),
    ("getitem_mask", lambda x, m: x[m], lambda x, m: x[m], [arr(3, 4), MASK]),
    ("getitem_mask_rows", lambda x, m: x[m, 1:], lambda x, m: x[m, 1:], [arr(3, 4), MASK[:, 0].copy()]),
    ("getitem_0d_tensor", lambda x, i: x[i], lambda x, i: x[i], [arr(3, 2), np.array(1)]),
    ("index_put_basic", lambda x, v: I.index_put(x, (slice(None), 1), v), None, [arr(3, 4), arr(3)]),
    ("index_put_broadcast", lambda x, v: I.index_put(x, (slice(0, 2),), v), None, [arr(3, 4), arr(1, 4)]),
    ("index_put_repeats", lambda x, v: I.index_put(x, [0, 2, 0], v), None, [arr(3, 2), arr(2)]),
    ("index_put_mask", lambda x, v, m: I.index_put(x, m, v), None, [arr(3, 4), arr(1), MASK]),
    ("gather", lambda x, i: I.gather(x, 1, i), lambda x, i: torch.gather(x, 1, i),
     [arr(3, 4), np.array([[3, 3, 0], [1, 1, 1], [2, 0, 2]])]),
    ("gather_dim0_smaller_index", lambda x, i: I.gather(x, 0, i), lambda x, i: torch.gather(x, 0, i),
     [arr(3, 4), np.array([[2, 2], [0, 2]])]),
    ("scatter_add", lambda x, i, s: I.scatter_add(x, 1, i, s), lambda x, i, s: torch.scatter_add(x, 1, i, s),
     [arr(3, 4), np.array([[3, 3, 0], [1, 1, 1]]), arr(2, 3)]),
    ("index_select", lambda x, i: I.index_select(x, 0, i), lambda x, i: torch.index_select(x, 0, i),
     [arr(3, 2), IDX]),
    ("index_select_neg_dim", lambda x, i: I.index_select(x, -1, i), lambda x, i: torch.index_select(x, -1, i),
     [arr(2, 3), IDX]),
    ("masked_fill", lambda x, m: I.masked_fill(x, m, -1.5), lambda x, m: x.masked_fill(m, -1.5), [arr(3, 4), MASK]),
    ("masked_fill_broadcast_mask", lambda x, m: I.masked_fill(x, m, 0.0), lambda x, m: x.masked_fill(m, 0.0),
     [arr(2, 3, 4), MASK[0].copy()]),
    ("masked_fill_tensor_value", lambda x, m, v: I.masked_fill(x, m, v), lambda x, m, v: x.masked_fill(m, v),
     [arr(3, 4), MASK, np.array(0.7)]),
    ("pad_constant", lambda x: S.pad(x, (1, 2), value=0.5), lambda x: F.pad(x, (1, 2), value=0.5), [arr(2, 3)]),
    ("pad_two_dims", lambda x: S.pad(x, (1, 0, 0, 2)), lambda x: F.pad(x, (1, 0, 0, 2)), [arr(2, 3)]),
    ("pad_negative_crops", lambda x: S.pad(x, (-1, 2, 1, -1)), lambda x: F.pad(x, (-1, 2, 1, -1)), [arr(3, 4)]),
    ("pad_crop_all", lambda x: S.pad(x, (2, -3)), lambda x: F.pad(x, (2, -3)), [arr(2, 3)]),
    ("pad_reflect", lambda x: S.pad(x, (2, 1, 1, 1), mode="reflect"),
     lambda x: F.pad(x, (2, 1, 1, 1), mode="reflect"), [arr(1, 3, 4)]),
    ("pad_replicate", lambda x: S.pad(x, (2, 3), mode="replicate"), lambda x: F.pad(x, (2, 3), mode="replicate"),
     [arr(2, 3)]),
    ("pad_replicate_crop", lambda x: S.pad(x, (-1, 2), mode="replicate"),
     lambda x: F.pad(x, (-1, 2), mode="replicate"), [arr(1, 2, 5)]),
    ("pad_circular", lambda x: S.pad(x, (2, 1), mode="circular"), lambda x: F.pad(x, (2, 1), mode="circular"),
     [arr(1, 2, 3)]),
    ("clone", lambda x: S.clone(x), lambda x: x.clone(), [arr(2, 3)]),
    ("cast_to_float32", lambda x: S.cast(x, rg.float32) * 1.0, lambda x: x.float() * 1.0, [arr(2, 3)]),
]


def _torch_index_put(index):
    """PyTorch's x[index] = v on a clone (the reference for the functional index_put); a mask input
    comes as a third argument."""
    def fn(x, v, *mask):
        y = x.clone()
        y[mask[0] if mask else index] = v
        return y
    return fn


TORCH_INDEX_PUT = {
    "index_put_basic": _torch_index_put((slice(None), 1)),
    "index_put_broadcast": _torch_index_put((slice(0, 2),)),
    "index_put_repeats": _torch_index_put([0, 2, 0]),
    "index_put_mask": _torch_index_put(None),
}


@pytest.mark.parametrize("name, rg_fn, torch_fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_parity_and_gradcheck(name, rg_fn, torch_fn, inputs):
    torch_fn = torch_fn or TORCH_INDEX_PUT[name]
    tol = dict(rtol=1e-6, atol=1e-7) if name.startswith("cast") else {}
    assert_parity(rg_fn, torch_fn, *inputs, **tol)
    # cast rounds to float32; with a repeated index only the last write survives, yet PyTorch (and so
    # retrograd) sends g[index] back to every listed copy of value: not the true derivative
    if not name.startswith("cast") and name != "index_put_repeats":
        numerical_check(rg_fn, *inputs)


@pytest.mark.parametrize("fn, n_out", [(lambda x: S.split(x, [1, 3, 1], -1), 3), (lambda x: S.chunk(x, 2, 1), 2),
                                       (lambda x: S.unbind(x, 0), 2)])
def test_each_piece_gradchecks(fn, n_out):
    x = arr(2, 5)
    for k in range(n_out):
        numerical_check(lambda t: fn(t)[k] * (k + 1), x)


def test_unused_pieces_get_zero_gradient():
    x = rg.tensor(arr(4, 3), requires_grad=True)
    a, b = S.split(x, [1, 3])
    (b * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.array, np.r_[np.zeros((1, 3)), 2 * np.ones((3, 3))])
    assert a.grad_fn is b.grad_fn and a.grad_fn.name() == "SplitBackward"


# ----- hypothesis over shapes ---------------------------------------------------------
shapes = st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple)


@given(shape=shapes, data=st.data())
def test_permute_any(shape, data):
    dims = data.draw(st.permutations(range(len(shape))))
    x = arr(*shape)
    assert_parity(lambda t: S.permute(t, *dims), lambda t: t.permute(*dims), x)


@given(shape=shapes, data=st.data())
def test_reshape_any(shape, data):
    total = int(np.prod(shape))
    first = data.draw(st.sampled_from([d for d in range(1, total + 1) if total % d == 0]))
    x = arr(*shape)
    assert_parity(lambda t: S.reshape(t, first, -1), lambda t: t.reshape(first, -1), x)


@given(shape=shapes, data=st.data())
def test_expand_and_repeat_any(shape, data):
    ones = tuple(data.draw(st.sampled_from([1, n])) for n in shape)
    target = (2,) + tuple(data.draw(st.integers(1, 3)) if o == 1 else n for o, n in zip(ones, shape))
    reps = tuple(data.draw(st.integers(1, 3)) for _ in range(len(shape) + 1))
    x = arr(*ones)
    assert_parity(lambda t: S.expand(t, *target), lambda t: t.expand(*target), x)
    assert_parity(lambda t: S.repeat(t, *reps), lambda t: t.repeat(*reps), x)


@given(shape=shapes, data=st.data())
def test_cat_and_stack_any_dim(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[dim] = data.draw(st.integers(1, 3))
    a, b, c = arr(*shape), arr(*other), arr(*shape)
    assert_parity(lambda x, y: S.cat([x, y], dim), lambda x, y: torch.cat([x, y], dim), a, b)
    assert_parity(lambda x, y: S.stack([x, y], dim), lambda x, y: torch.stack([x, y], dim), a, c)


@given(n=st.integers(0, 9), chunks=st.integers(1, 5), size=st.integers(1, 4))
def test_chunk_and_split_sizes_match_torch(n, chunks, size):
    x = np.arange(n, dtype=np.float64)
    for ours, theirs in [(S.chunk(rg.tensor(x), chunks), torch.chunk(torch.from_numpy(x), chunks)),
                         (S.split(rg.tensor(x), size), torch.split(torch.from_numpy(x), size))]:
        assert [p.shape[0] for p in ours] == [p.shape[0] for p in theirs]
        for p, q in zip(ours, theirs):
            np.testing.assert_array_equal(p.array, q.numpy())


@given(pads=st.lists(st.integers(-1, 3), min_size=2, max_size=4).filter(lambda p: len(p) % 2 == 0))
def test_constant_pad_any(pads):
    x = arr(2, 3, 4)
    assert_parity(lambda t: S.pad(t, pads, value=-1.0), lambda t: F.pad(t, pads, value=-1.0), x)


# ----- repeated indices accumulate ---------------------------------------------------------
def test_repeated_indices_accumulate():
    """The gradient of an entry picked k times is the sum of its k cotangents (not the last one)."""
    x = arr(3, 4)
    idx = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    for rg_fn, torch_fn in [(lambda t, i: t[i], lambda t, i: t[i]),
                            (lambda t, i: t[:, i], lambda t, i: t[:, i]),
                            (lambda t, i: I.index_select(t, 1, i[0]), lambda t, i: torch.index_select(t, 1, i[0])),
                            (lambda t, i: I.gather(t, 0, i), lambda t, i: torch.gather(t, 0, i))]:
        assert_parity(rg_fn, torch_fn, x, idx)
    t = rg.tensor(x, requires_grad=True)
    t[[1, 1, 1]].sum().backward()
    np.testing.assert_array_equal(t.grad.array[1], [3, 3, 3, 3])


# ----- masks ----------------------------------------------------------------------------
@pytest.mark.parametrize("as_tensor", [True, False])
def test_bool_mask_tensor_or_array(as_tensor):
    x = rg.tensor(arr(3, 4), requires_grad=True)
    mask = rg.tensor(MASK) if as_tensor else MASK
    y = x[mask]
    np.testing.assert_array_equal(y.array, x.array[MASK])
    y.backward(rg.ones(y.shape[0], dtype=rg.float64))
    np.testing.assert_array_equal(x.grad.array, MASK.astype(float))


def test_mask_from_comparison_and_uint8_mask():
    x = rg.tensor(arr(3, 4), requires_grad=True)
    assert_parity(lambda t: t[t > 0], lambda t: t[t > 0], x.array)
    u8 = rg.tensor(MASK.astype(np.uint8))
    np.testing.assert_array_equal(x[u8].array, x.array[MASK])


def test_masked_fill_value_gets_gradient_and_keeps_dtype():
    x = rg.tensor(arr(3, 4).astype(np.float32), requires_grad=True)
    v = rg.tensor(np.array(2.0), requires_grad=True)  # float64 value: the result keeps x's float32
    y = I.masked_fill(x, rg.tensor(MASK), v)
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert v.grad.shape == () and v.grad.dtype == np.float64 and v.grad.item() == 3 * MASK.sum()
    np.testing.assert_array_equal(x.grad.array, 3 * ~MASK)


def test_setitem_on_non_leaf_uses_index_put():
    x, v = arr(3, 4), arr(4)
    xr, vr = rg.tensor(x, requires_grad=True), rg.tensor(v, requires_grad=True)
    xt, vt = torch.tensor(x, requires_grad=True), torch.tensor(v, requires_grad=True)
    yr, yt = xr * 2, xt * 2
    yr[1] = vr
    yt[1] = vt
    dout = arr(3, 4)
    (yr * rg.tensor(dout)).sum().backward()
    (yt * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(yr.array, yt.detach().numpy())
    np.testing.assert_allclose(xr.grad.array, xt.grad.numpy())
    np.testing.assert_allclose(vr.grad.array, vt.grad.numpy())


# ----- dtypes --------------------------------------------------------------------------
def test_float32_stays_float32():
    x = rg.randn(2, 3, requires_grad=True)
    outs = [S.reshape(x, 3, 2), S.transpose(x, 0, 1), S.expand(x[None], 4, 2, 3), S.repeat(x, 2, 1),
            S.cat([x, x]), S.stack([x, x]), x[[0, 0]], S.pad(x, (1, 1)), I.gather(x, 1, rg.tensor([[0], [2]]))]
    assert all(o.dtype == np.float32 for o in outs)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == np.float32


def test_cat_promotes_like_torch_and_returns_grads_in_input_dtypes():
    a = rg.tensor(arr(2).astype(np.float32), requires_grad=True)
    b = rg.tensor(arr(3), requires_grad=True)
    i = rg.tensor([1, 2])
    y = S.cat([a, b, i])
    assert y.dtype == torch.cat([torch.zeros(2), torch.zeros(3, dtype=torch.float64),
                                 torch.zeros(2, dtype=torch.int64)]).numpy().dtype
    S.stack([a, b[:2]]).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert S.cat([rg.tensor([1, 2]), rg.zeros(2)]).dtype == np.float32  # int64 + float32 -> float32


def test_cat_skips_legacy_empty_1d():
    x = rg.tensor(arr(2, 3), requires_grad=True)
    y = S.cat([rg.tensor([]), x])
    assert y.shape == (2, 3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, np.ones((2, 3)))


def test_cast_gradient_returns_to_input_dtype():
    x = rg.tensor(arr(2, 3), requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.grad_fn.name() == "CastBackward"
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.array, 2 * np.ones((2, 3)))
    assert x.double() is x  # no-op casts return the tensor itself, as PyTorch's .to does


def test_cast_to_int_is_not_differentiable():
    x = rg.tensor(arr(3) * 3, requires_grad=True)
    y = x.long()
    assert y.dtype == np.int64 and not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.array, torch.tensor(x.array).long().numpy())


def test_clone_is_a_copy():
    x = rg.tensor(arr(3))
    y = S.clone(x)
    y.array[0] = 100.0
    assert x.array[0] != 100.0


# ----- errors name the op and the shapes ------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda: S.reshape(rg.zeros(2, 3), 4, 2), RuntimeError, r"reshape: .*\(2, 3\).*\(4, 2\)"),
    (lambda: S.stack([rg.zeros(3), rg.zeros(4)]), RuntimeError, r"stack: .*\(3,\).*\(4,\)"),
    (lambda: S.cat([rg.zeros(2, 3), rg.zeros(2, 4)]), RuntimeError, r"cat: .*\(2, 3\).*\(2, 4\)"),
    (lambda: S.expand(rg.zeros(3), 2, 4), RuntimeError, r"expand: .*\(2, 4\).*\(3,\)"),
    (lambda: S.permute(rg.zeros(2, 3), 0, 0), RuntimeError, r"permute: .*\(2, 3\)"),
    (lambda: S.transpose(rg.zeros(2, 3), 0, 2), IndexError, r"transpose: dimension out of range"),
    (lambda: S.unsqueeze(rg.zeros(2), 3), IndexError, r"unsqueeze: dimension out of range"),
    (lambda: S.t(rg.zeros(2, 3, 4)), RuntimeError, r"t: expects a tensor with <= 2 dimensions"),
    (lambda: S.repeat(rg.zeros(2, 3), 2), RuntimeError, r"repeat: number of repeat dims"),
    (lambda: S.split(rg.zeros(5), [2, 2]), RuntimeError, r"split: .*sum exactly to 5.*\[2, 2\]"),
    (lambda: S.chunk(rg.zeros(5), 0), RuntimeError, r"chunk: number of chunks"),
    (lambda: S.narrow(rg.zeros(5), 0, 3, 3), IndexError, r"narrow: start \(3\) \+ length \(3\)"),
    (lambda: rg.zeros(3)[5], IndexError, r"getitem: .*index 5.*\(3,\)"),
    (lambda: rg.zeros(3)[rg.tensor([0.5])], IndexError, r"getitem: tensors used as indices"),
    (lambda: I.index_put(rg.zeros(3, 4), 0, rg.zeros(3)), RuntimeError, r"index_put: .*\(3,\).*\(4,\)"),
    (lambda: I.gather(rg.zeros(3, 4), 1, rg.tensor([0, 1])), RuntimeError, r"gather: .*\(2,\).*\(3, 4\)"),
    (lambda: I.gather(rg.zeros(3, 4), 1, rg.tensor([[4]])), IndexError, r"gather: index 4 is out of bounds"),
    (lambda: I.gather(rg.zeros(3, 4), 1, rg.tensor([[-1]])), IndexError, r"gather: index -1 is out of bounds"),
    (lambda: I.index_select(rg.zeros(3, 4), 0, rg.tensor([3])), IndexError, r"index_select: index 3"),
    (lambda: I.index_select(rg.zeros(3, 4), 0, rg.tensor([0.0])), RuntimeError, r"index_select: .*integer"),
    (lambda: I.masked_fill(rg.zeros(3), rg.tensor([1.0, 0, 1]), 0.0), RuntimeError, r"masked_fill: .*bool"),
    (lambda: I.masked_fill(rg.zeros(3), rg.tensor([True, False]), 0.0), ValueError, r"masked_fill: .*\(3,\)"),
    (lambda: I.masked_fill(rg.zeros(3), rg.tensor([True] * 3), rg.zeros(2)), RuntimeError, r"masked_fill: .*0-dim"),
    (lambda: S.pad(rg.zeros(3), (1, 2, 3)), RuntimeError, r"pad: padding length"),
    (lambda: S.pad(rg.zeros(3), (-2, -2)), RuntimeError, r"pad: negative padding \(-2, -2\) crops more"),
    (lambda: S.pad(rg.zeros(1, 3), (3, 0), mode="reflect"), RuntimeError, r"pad: padding size should be less"),
    (lambda: S.pad(rg.zeros(1, 3), (1, 0), mode="wrap"), NotImplementedError, r"pad: mode"),
])
def test_error_messages(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_getitem_basic_slice_is_a_view_and_grad_fn_named():
    x = rg.tensor(arr(3, 4), requires_grad=True)
    y = x[1:]
    assert y.grad_fn.name() == "GetitemBackward"
    assert np.shares_memory(y.array, x.array)


def test_scatter_add_src_larger_than_index():
    """PyTorch reads only src's leading block of index's shape (its own backward errors here, so the
    gradient is checked numerically)."""
    x, src, idx = arr(3, 4), arr(3, 5), np.array([[3, 3, 0], [1, 1, 1]])
    assert_parity(lambda a, i, s: I.scatter_add(a, 1, i, s), lambda a, i, s: torch.scatter_add(a, 1, i, s),
                  x, idx, src, grad=False)
    numerical_check(lambda a, s: I.scatter_add(a, 1, rg.tensor(idx), s), x, src)


def test_index_select_0d_index_keeps_dim():
    assert_parity(lambda x, i: I.index_select(x, 1, i), lambda x, i: torch.index_select(x, 1, i),
                  arr(2, 3), np.array(2))


def test_getitem_ellipsis_and_none_with_arrays():
    x = arr(2, 3, 4)
    assert_parity(lambda t: t[..., [3, 3, 0]], lambda t: t[..., [3, 3, 0]], x)
    assert_parity(lambda t: t[None, 1, ..., None], lambda t: t[None, 1, ..., None], x)
    assert_parity(lambda t, i: t[i, 1:, i], lambda t, i: t[i, 1:, i], x, np.array([[1, 0], [1, 1]]))


def test_integer_indexing_gives_0d_arrays_that_are_views():
    x = rg.tensor(arr(2, 3), requires_grad=True)
    for y in (x[1, 2], x[0][1], S.unbind(x[0])[2], list(x[1])[0]):
        assert type(y.array) is np.ndarray and y.shape == ()
    assert np.shares_memory(x[1, 2].array, x.array)
    (x[1, 2] * 3 + S.unbind(x[0])[2]).backward()
    np.testing.assert_array_equal(x.grad.array, [[0, 0, 1], [0, 0, 3]])


@pytest.mark.parametrize("shape, diagonal", [((4,), 0), ((3,), 2), ((3,), -1), ((3, 3), 0), ((3, 5), 1),
                                             ((5, 3), -2), ((2, 3), 4), ((0,), 0)])
def test_diag_matches_torch_with_gradients(shape, diagonal):
    # gcn/gat scale their features with torch.diag(1 / row sums)
    x = np.random.default_rng(1).standard_normal(shape)
    assert_parity(lambda t: rg.diag(t, diagonal), lambda t: torch.diag(t, diagonal), x)
    assert_parity(lambda t: t.diag(diagonal), lambda t: t.diag(diagonal), x)


def test_diag_refuses_other_ranks_as_torch_does():
    with pytest.raises(RuntimeError, match="diag\\(\\): Supports 1D or 2D tensors. Got 3D"):
        rg.diag(rg.zeros(2, 2, 2))


@pytest.mark.parametrize("shape, dim, size, step", [((2, 7), 1, 3, 2), ((2, 7), -1, 3, 1), ((4, 3, 8), 2, 4, 4),
                                                    ((5,), 0, 5, 3), ((3, 6, 2), 1, 2, 3), ((), 0, 1, 2)])
def test_unfold_matches_torch_with_gradients(shape, dim, size, step):
    # vision_transformer cuts its patches with x.unfold(2, p, p).unfold(3, p, p); overlapping windows add gradients
    x = np.random.default_rng(2).standard_normal(shape)
    assert_parity(lambda t: t.unfold(dim, size, step), lambda t: t.unfold(dim, size, step), x)


def test_unfold_refuses_what_torch_refuses():
    x = rg.zeros(2, 5)
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 1 is 5 but size is 6"):
        x.unfold(1, 6, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        x.unfold(1, 2, 0)
    with pytest.raises(IndexError, match="dimension out of range"):
        x.unfold(2, 2, 1)
