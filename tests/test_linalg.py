"""matmul (1-D, 2-D, batched with broadcasting) and the fused linear op: gradients by central differences
in float64, parity with PyTorch, float32 behaviour, the skipped input gradient, and error messages."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import retrograd as rg
from helpers import assert_parity, numerical_check
from retrograd.ops.linalg import linear

rng = np.random.default_rng(0)


def randn(*shape):
    return np.asarray(rng.standard_normal(shape))


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3,), (3,)),  # 1-D @ 1-D: a dot product, shape ()
    ((3,), (3, 4)),  # 1-D @ 2-D: a row vector
    ((2, 3), (3,)),  # 2-D @ 1-D: a column vector
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),  # batched @ matrix: the matrix's gradient sums over the batch
    ((2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)),  # batch dims (5, 1) and (4,) broadcast to (5, 4)
    ((1, 2, 3), (5, 3, 2)),
    ((2, 2, 3), (3,)),  # 3-D @ 1-D
    ((3,), (2, 3, 4)),  # 1-D @ 3-D
    ((1, 3), (3, 1)),
])
def test_matmul_gradients_and_torch_parity(a_shape, b_shape):
    a, b = randn(*a_shape), randn(*b_shape)
    numerical_check(rg.matmul, a, b)
    out = assert_parity(rg.matmul, torch.matmul, a, b)
    assert out[0].shape == torch.matmul(torch.tensor(a), torch.tensor(b)).shape
    assert_parity(lambda x, y: x @ y, lambda x, y: x @ y, a, b)


@given(batch=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
       sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 2 ** 16))
def test_batched_matmul_with_broadcast_batch_dims(batch, sizes, seed):
    n, k, m = sizes
    r = np.random.default_rng(seed)
    a = r.standard_normal(batch.input_shapes[0] + (n, k))
    b = r.standard_normal(batch.input_shapes[1] + (k, m))
    numerical_check(rg.matmul, a, b)
    assert_parity(rg.matmul, torch.matmul, a, b)


def test_matmul_only_one_operand_requires_grad():
    a, b = rg.tensor(randn(2, 3)), rg.tensor(randn(3, 4), requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad is None and b.grad.shape == (3, 4)


def test_matmul_float32_and_mixed_dtypes():
    a, b = randn(4, 3).astype(np.float32), randn(3, 2).astype(np.float32)
    out = assert_parity(rg.matmul, torch.matmul, a, b, rtol=1e-5, atol=1e-6)
    assert out[0].dtype == rg.float32
    x = rg.tensor(a, requires_grad=True)
    (x @ rg.tensor(b)).sum().backward()
    assert x.grad.dtype == rg.float32
    ints = rg.tensor([[1, 2]]) @ rg.tensor([[3], [4]])
    assert ints.dtype == rg.int64 and ints.tolist() == [[11]]


def test_matmul_methods_are_bound():
    a, b = rg.tensor(randn(2, 3)), rg.tensor(randn(3, 4))
    for result in (a.matmul(b), a.mm(b), rg.mm(a, b)):
        np.testing.assert_allclose(result.array, a.array @ b.array)


@pytest.mark.parametrize("a_shape, b_shape, message", [
    ((2, 3), (4, 5), r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(a's last dimension 3 must "
                     r"equal b's second-to-last dimension 4\)"),
    ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\) cannot be multiplied .*b's only dimension 4"),
    ((2, 3, 4), (3, 4, 5), r"matmul: batch dimensions \(2,\) and \(3,\) .*cannot be broadcast"),
    ((), (3,), r"matmul: both arguments need at least 1 dimension, got shapes \(\) and \(3,\)"),
])
def test_matmul_errors_name_the_op_and_the_shapes(a_shape, b_shape, message):
    with pytest.raises(RuntimeError, match=message):
        rg.matmul(rg.ones(*a_shape), rg.ones(*b_shape))


# ----- linear -------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(4,), (2, 4), (3, 2, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_and_torch_parity(x_shape, bias):
    args = [randn(*x_shape), randn(5, 4)] + ([randn(5)] if bias else [])
    numerical_check(linear, *args)
    out = assert_parity(linear, F.linear, *args)
    assert out[0].shape == x_shape[:-1] + (5,)


def test_linear_matches_its_composite_twin():
    x, w, b = randn(3, 2, 4), randn(5, 4), randn(5)
    fused = [rg.tensor(v, requires_grad=True) for v in (x, w, b)]
    composite = [rg.tensor(v, requires_grad=True) for v in (x, w, b)]
    dout = rg.tensor(randn(3, 2, 5))
    y_fused = linear(*fused)
    y_composite = composite[0] @ composite[1].T + composite[2]
    (y_fused * dout).sum().backward()
    (y_composite * dout).sum().backward()
    np.testing.assert_allclose(y_fused.array, y_composite.array, rtol=1e-12)
    for f, c in zip(fused, composite):
        np.testing.assert_allclose(f.grad.array, c.grad.array, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("memory_shape, view_order", [
    ((6, 3, 4), (1, 0, 2)),  # the batch_first view of a time-major (T, B, I) RNN output
    ((2, 3, 5, 4), (2, 0, 1, 3)),
    ((6, 3, 4), (0, 1, 2)),  # contiguous
])
def test_linear_on_a_view_with_permuted_leading_axes(memory_shape, view_order):
    """The GEMM runs over x's rows in memory order; values, gradients and y's layout follow."""
    stored, w, b = randn(*memory_shape), randn(5, 4), randn(5)
    x = rg.tensor(stored, requires_grad=True)
    x_view = x.permute(*view_order)
    weight, bias = rg.tensor(w, requires_grad=True), rg.tensor(b, requires_grad=True)
    y = linear(x_view, weight, bias)
    inverse = tuple(np.argsort(view_order[:-1])) + (len(view_order) - 1,)
    assert y.array.transpose(inverse).flags.c_contiguous  # y is a view in x's memory order, not a copy
    dout = randn(*y.shape)
    (y * rg.tensor(dout)).sum().backward()

    x_t = torch.tensor(stored, requires_grad=True)
    w_t, b_t = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    y_t = F.linear(x_t.permute(*view_order), w_t, b_t)
    (y_t * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(y.array, y_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, theirs in ((x, x_t), (weight, w_t), (bias, b_t)):
        np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_linear_on_a_strided_view_that_is_not_a_permutation():
    x = rg.tensor(randn(4, 6, 4), requires_grad=True)
    w = rg.tensor(randn(5, 4), requires_grad=True)
    x_view = x[:, ::2]  # every other row: no memory order makes it contiguous, so it is copied
    y = linear(x_view, w)
    y.sum().backward()
    np.testing.assert_allclose(y.array, x.array[:, ::2] @ w.array.T, rtol=1e-12)
    expected = np.zeros((4, 6, 4))
    expected[:, ::2] = w.array.sum(axis=0)
    np.testing.assert_allclose(x.grad.array, expected, rtol=1e-12)


def test_linear_float32():
    args = [randn(2, 4).astype(np.float32), randn(5, 4).astype(np.float32), randn(5).astype(np.float32)]
    out = assert_parity(linear, F.linear, *args, rtol=1e-5, atol=1e-6)
    assert out[0].dtype == rg.float32


def test_linear_skips_the_input_gradient_when_x_needs_none():
    x = rg.tensor(randn(2, 4))
    w, b = rg.tensor(randn(5, 4), requires_grad=True), rg.tensor(randn(5), requires_grad=True)
    y = linear(x, w, b)
    grads = y.grad_fn.backward_fn(np.ones((2, 5)))  # the VJP itself: no work for x
    assert grads[0] is None and grads[1].shape == (5, 4) and grads[2].shape == (5,)
    linear(x, w, b).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.array, np.ones((5, 2)) @ x.array)
    np.testing.assert_allclose(b.grad.array, np.full(5, 2.0))


def test_linear_with_a_frozen_weight_gives_only_the_input_gradient():
    x, w = rg.tensor(randn(2, 4), requires_grad=True), rg.tensor(randn(5, 4))
    linear(x, w).sum().backward()
    assert w.grad is None
    np.testing.assert_allclose(x.grad.array, np.ones((2, 5)) @ w.array)


@pytest.mark.parametrize("x_shape, w_shape, b_shape, message", [
    ((2, 3), (5, 4), None, r"linear: input of shape \(2, 3\) does not match weight of shape \(5, 4\) "
                           r"\(expected input \(\.\.\., 4\)\)"),
    ((4,), (4,), None, r"linear: input of shape \(4,\) does not match weight of shape \(4,\)"),
    ((), (5, 4), None, r"linear: input of shape \(\) does not match"),
    ((2, 4), (5, 4), (3,), r"linear: bias of shape \(3,\) does not match weight of shape \(5, 4\) "
                           r"\(expected bias \(5,\)\)"),
])
def test_linear_errors_name_the_op_and_the_shapes(x_shape, w_shape, b_shape, message):
    bias = None if b_shape is None else rg.ones(*b_shape)
    with pytest.raises(RuntimeError, match=message):
        linear(rg.ones(*x_shape), rg.ones(*w_shape), bias)
