"""Tensor: creation and dtype inference (vs PyTorch), storage sharing, conversions, repr, seeding,
and in-place ops with PyTorch's rules under and outside grad mode."""
import numpy as np
import pytest
import torch

import retrograd as rg


def torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


# ----- creation and dtype inference -------------------------------------------------------
@pytest.mark.parametrize("data", [
    1.5, [1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]], [1, 2.5],  # Python floats -> float32
    3, [1, 2], [[1, 2], [3, 4]],  # Python ints -> int64
    True, [True, False],  # bools stay bool
    np.float64(2.0), np.array([1.0, 2.0]), np.array([1.0, 2.0], np.float32), np.float32(1.0),  # NumPy keeps its dtype
    np.array([1, 2], np.int32), np.array([1, 2], np.int64), np.array([True]),
])
def test_tensor_infers_dtype_like_torch(data):
    ours, theirs = rg.tensor(data), torch.tensor(data)
    assert str(ours.dtype) == torch_dtype_name(theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.array, theirs.numpy())


def test_explicit_dtype_wins():
    assert rg.tensor([1, 2], dtype=rg.float64).dtype == np.float64
    assert rg.tensor([1.7, 2.2], dtype=rg.int64).tolist() == [1, 2]
    assert rg.float32 == np.dtype("float32") and rg.float64 == np.dtype("float64") and rg.long == np.dtype("int64")


@pytest.mark.parametrize("name", ["zeros", "ones", "rand", "randn", "empty"])
def test_factories_default_to_float32_and_accept_sizes_or_a_tuple(name):
    factory = getattr(rg, name)
    assert factory(2, 3).dtype == rg.float32 == np.dtype(torch_dtype_name(getattr(torch, name)(2, 3)))
    assert factory((2, 3)).shape == (2, 3) == factory([2, 3]).shape
    assert factory(2, dtype=rg.float64).dtype == rg.float64
    assert factory(2, requires_grad=True).requires_grad


@pytest.mark.parametrize("args, kwargs", [
    ((5,), {}), ((5.0,), {}), ((0, 1, 0.25), {}), ((2, 9, 3), {}), ((5,), {"dtype": rg.float64}),
])
def test_arange_like_torch(args, kwargs):
    torch_kwargs = {k: getattr(torch, str(v)) for k, v in kwargs.items()}
    ours, theirs = rg.arange(*args, **kwargs), torch.arange(*args, **torch_kwargs)
    assert str(ours.dtype) == torch_dtype_name(theirs)
    np.testing.assert_array_equal(ours.array, theirs.numpy())


@pytest.mark.parametrize("fill", [3, 1.5, True])
def test_full_infers_dtype_from_the_fill_value(fill):
    assert str(rg.full((2, 2), fill).dtype) == torch_dtype_name(torch.full((2, 2), fill))


def test_like_factories_eye_and_linspace():
    x = rg.tensor([[1, 2]], dtype=rg.float64)
    assert rg.zeros_like(x).dtype == rg.float64 and rg.zeros_like(x).shape == (1, 2)
    assert rg.ones_like(rg.tensor([1, 2])).dtype == rg.int64
    np.testing.assert_array_equal(rg.eye(3).array, torch.eye(3).numpy())
    np.testing.assert_allclose(rg.linspace(0, 1, 5).array, torch.linspace(0, 1, 5).numpy())
    assert rg.eye(3).dtype == rg.linspace(0, 1, 5).dtype == rg.float32


def test_tensor_copies_but_from_numpy_shares():
    source = np.array([1.0, 2.0])
    copied, shared = rg.tensor(source), rg.from_numpy(source)
    source[0] = 9.0
    assert copied.tolist() == [1.0, 2.0]
    assert shared.tolist() == [9.0, 2.0]
    assert rg.tensor(copied).array is not copied.array


def test_set_default_dtype_changes_python_float_inference():
    try:
        rg.set_default_dtype(rg.float64)
        assert rg.tensor([1.5]).dtype == rg.zeros(2).dtype == (rg.tensor([1, 2]) * 1.5).dtype == rg.float64
    finally:
        rg.set_default_dtype(rg.float32)
    assert rg.tensor([1.5]).dtype == rg.float32
    with pytest.raises(TypeError, match="floating-point"):
        rg.set_default_dtype(rg.int64)


def test_bad_data_errors():
    with pytest.raises(TypeError, match="expected numbers"):
        rg.tensor(["a", "b"])
    with pytest.raises(ValueError, match="nested data"):
        rg.tensor([[1, 2], [3]])


def test_requires_grad_on_an_integer_tensor_errors():
    with pytest.raises(RuntimeError, match="floating point"):
        rg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        rg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point and complex"):
        torch.tensor([1, 2], requires_grad=True)  # PyTorch agrees


def test_requires_grad_of_a_non_leaf_cannot_be_switched_off():
    y = rg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False


# ----- storage sharing and conversions ----------------------------------------------------
def test_data_shares_storage_and_is_detached():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 7.0
    d.mul_(2)
    assert x.tolist() == [14.0, 4.0, 6.0]
    x.data = rg.tensor([0.0, 0.0, 1.0])
    assert x.tolist() == [0.0, 0.0, 1.0] and x.requires_grad


def test_detach_shares_storage_and_cuts_the_tape():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert np.shares_memory(d.array, y.array)
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    (d * y).sum().backward()  # the gradient flows only through y
    np.testing.assert_array_equal(x.grad.array, 3 * d.array)


def test_clone_copies_and_stays_differentiable():
    x, tx = rg.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    c, tc = x.clone(), tx.clone()
    assert not np.shares_memory(c.array, x.array)
    assert repr(c).endswith("grad_fn=<CloneBackward>)")
    (c * rg.tensor([3.0, 4.0])).sum().backward()
    (tc * torch.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.array, tx.grad.numpy())


def test_item_tolist_numpy_and_python_conversions():
    assert rg.tensor(3.5).item() == 3.5 and isinstance(rg.tensor(3).item(), int)
    assert rg.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert float(rg.tensor([2.5])) == 2.5 and int(rg.tensor(3)) == 3 and bool(rg.tensor([1.0]))
    with pytest.raises(RuntimeError, match="2 elements cannot be converted to Scalar"):
        rg.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(rg.tensor([1.0, 2.0]))
    x = rg.tensor([1.0, 2.0])
    assert x.numpy() is x.array  # shares memory, as in PyTorch
    assert np.asarray(x).dtype == np.float32


def test_numpy_on_a_tensor_requiring_grad_errors_like_torch():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad.*detach\(\)"):
        x.numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_repr_shows_dtype_grad_fn_and_requires_grad():
    assert repr(rg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(rg.tensor([1, 2], dtype=rg.int32)) == "tensor([1, 2], dtype=torch.int32)"  # PyTorch's text
    assert repr(rg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    y = rg.tanh(rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True))
    assert "grad_fn=<TanhBackward>" in repr(y) and "dtype=torch.float64" in repr(y)
    assert "grad_fn=<TanhBackward0>" in repr(torch.tanh(torch.tensor([1.0], requires_grad=True)))  # PyTorch's form
    assert repr(rg.tensor([1.0]) * 2) == "tensor([2.])"


def test_manual_seed_reproduces_random_tensors():
    rg.manual_seed(123)
    first = (rg.randn(3, 2).tolist(), rg.rand(4).tolist(), rg.randint(0, 10, (5,)).tolist(), rg.randperm(6).tolist())
    rg.manual_seed(123)
    second = (rg.randn(3, 2).tolist(), rg.rand(4).tolist(), rg.randint(0, 10, (5,)).tolist(), rg.randperm(6).tolist())
    assert first == second
    rg.manual_seed(124)
    assert rg.randn(3, 2).tolist() != first[0]
    state = rg.get_rng_state()
    a = rg.randn(3).tolist()
    rg.set_rng_state(state)
    assert rg.randn(3).tolist() == a


# ----- in-place ops -----------------------------------------------------------------------
def test_in_place_ops_under_no_grad_mutate_shared_storage():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    storage, view = x.array, x.data
    with rg.no_grad():
        x.add_(1).mul_(2)
        x.sub_(rg.tensor([1.0, 1.0, 1.0]))
        x.div_(2)
        x -= 0.5
    assert x.array is storage and x.requires_grad and x.is_leaf and x.grad_fn is None
    assert view.tolist() == x.tolist() == [1.0, 2.0, 3.0]


def test_in_place_ops_on_plain_tensors_need_no_no_grad():
    x = rg.tensor([1.0, 4.0])
    storage = x.array
    x.add_(1)
    x.sqrt_()
    x *= 2
    assert x.array is storage
    np.testing.assert_allclose(x.array, 2 * np.sqrt([2.0, 5.0]))


def test_in_place_result_must_keep_shape_and_dtype():
    with pytest.raises(RuntimeError, match="add_"):
        rg.zeros(3).add_(rg.ones(2, 3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        rg.tensor([1, 2]).add_(1.5)


def test_in_place_on_a_leaf_requiring_grad_raises_mentioning_leaf():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.exp_(), lambda t: t.__iadd__(1)):
        with pytest.raises(RuntimeError, match="leaf"):
            op(x)
    assert x.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="leaf"):
        torch.tensor([1.0], requires_grad=True).add_(1)  # PyTorch agrees


def chain_in_place(lib, x, w):
    y = x * 2
    y.add_(1)
    y.mul_(w)
    y.sub_(x)
    y.div_(3.0)
    y.tanh_()
    return y


def chain_out_of_place(lib, x, w):
    return lib.tanh(((x * 2 + 1) * w - x) / 3.0)


def test_in_place_on_non_leaves_keeps_gradients_correct_vs_torch():
    rng = np.random.default_rng(0)
    a, b, dout = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    results = []
    for lib, fn in ((rg, chain_in_place), (torch, chain_in_place), (torch, chain_out_of_place)):
        x, w = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        y = fn(lib, x, w)
        (y * lib.tensor(dout)).sum().backward()
        results.append([np.asarray(t.detach().numpy() if lib is torch else t.array) for t in (y, x.grad, w.grad)])
    for ours, theirs in zip(results[0], results[1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert "TanhBackward" in repr(chain_in_place(rg, rg.tensor(a, requires_grad=True), rg.tensor(b)))


def test_in_place_that_overwrites_a_saved_value_raises_as_in_torch():
    """y.mul_(y) saves y as the other operand, and tanh_ saves its output: changing either afterwards makes
    backward refuse, with PyTorch's error (issue 10: the old behaviour, computing with the values the VJP
    had kept, differed from PyTorch; tests/test_inplace.py has the full table)."""
    for lib in (rg, torch):
        x = lib.tensor([0.5, -1.0, 2.0, 0.25], requires_grad=True)
        y = x * 2
        y.add_(1)
        y.mul_(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward(retain_graph=True)
        z = (x * 2).tanh_()
        z += x
        with pytest.raises(RuntimeError, match=r"is at version 2; expected version 1 instead"):
            z.sum().backward()


def test_in_place_change_of_a_tensor_saved_for_an_earlier_op_raises_as_in_torch():
    for lib in (rg, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x * 1.0
        z = y * y  # saves y's values
        y.add_(10)
        with pytest.raises(RuntimeError, match=r"is at version 1; expected version 0 instead"):
            z.sum().backward()


def test_setitem_on_a_non_leaf_matches_torch():
    rng = np.random.default_rng(2)
    a, v, dout = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 4))
    results = []
    for lib in (rg, torch):
        x, values = lib.tensor(a, requires_grad=True), lib.tensor(v, requires_grad=True)
        y = x * 1.5
        y[0] = values * 2
        y[1, 1:] = 7.0
        y[2, ::2] = values[:2]
        (y * lib.tensor(dout)).sum().backward()
        results.append([t.detach().numpy() if lib is torch else t.array for t in (y, x.grad, values.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_setitem_on_plain_tensors_and_leaves():
    x = rg.tensor([1.0, 2.0, 3.0])
    storage = x.array
    x[0] = 5
    x[1:] = rg.tensor([6.0, 7.0])
    assert x.tolist() == [5.0, 6.0, 7.0] and x.array is storage
    leaf = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf[0] = 3.0
    with rg.no_grad():
        leaf[0] = 3.0
    assert leaf.tolist() == [3.0, 2.0]


def test_linspace_reads_a_tensor_bound_as_its_number_as_torch():
    import torch

    start = torch.tensor(0.1, dtype=torch.float32)
    expected = torch.linspace(start, 1.0, 5, dtype=torch.float64).numpy()
    got = rg.linspace(rg.tensor(0.1, dtype=rg.float32), 1.0, 5, dtype=rg.float64).numpy()
    np.testing.assert_array_equal(got, expected)
