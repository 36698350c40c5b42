"""Matrix products: matmul (1-D, 2-D and batched) and the fused linear layer op."""
import math

import numpy as np

from .base import array_of, binary_operands, needs_grad, record, unbroadcast


def matmul(a, b):
    """y = a @ b, with NumPy/PyTorch rules for 1-D and batched operands.

    For matrices: dL/da = g @ b^T ;  dL/db = a^T @ g.
    A 1-D `a` acts as a row vector (a new leading axis) and a 1-D `b` as a
    column vector (a new trailing axis); the backward adds those axes to g,
    applies the matrix rule, and removes them again. Batch dimensions
    broadcast, so each gradient is summed back to its input's batch shape.
    Saves `saved_b` (b) when a needs a gradient, `saved_a` (a) when b does."""
    a_val, b_val = binary_operands(a, b)
    if a_val.ndim == 0 or b_val.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{a_val.shape} and {b_val.shape}")
    try:
        y = np.matmul(a_val, b_val)
    except ValueError:
        inner_b = b_val.shape[0] if b_val.ndim == 1 else b_val.shape[-2]
        if a_val.shape[-1] == inner_b:  # the matrix dimensions agree: the batch dimensions do not
            raise RuntimeError(f"matmul: batch dimensions {a_val.shape[:-2]} and {b_val.shape[:-2]} of shapes "
                               f"{a_val.shape} and {b_val.shape} cannot be broadcast together") from None
        raise RuntimeError(
            f"matmul: shapes {a_val.shape} and {b_val.shape} cannot be multiplied "
            f"(a's last dimension {a_val.shape[-1]} must equal b's "
            f"{'only' if b_val.ndim == 1 else 'second-to-last'} dimension "
            f"{b_val.shape[0] if b_val.ndim == 1 else b_val.shape[-2]})"
        ) from None

    a_needs, b_needs = needs_grad(a), needs_grad(b)
    a_shape, b_shape = a_val.shape, b_val.shape
    saved_b = (b_val[:, None] if len(b_shape) == 1 else b_val) if a_needs else None  # dL/da reads b
    saved_a = (a_val[None, :] if len(a_shape) == 1 else a_val) if b_needs else None  # dL/db reads a

    def matmul_backward(grad_out):
        grad_mat = grad_out
        if len(a_shape) == 1:
            grad_mat = np.expand_dims(grad_mat, -2 if len(b_shape) > 1 else 0)
        if len(b_shape) == 1:
            grad_mat = np.expand_dims(grad_mat, -1)  # (..., n, m)
        grad_a = grad_b = None
        if saved_b is not None:
            grad_a = grad_mat @ saved_b.swapaxes(-1, -2)  # (..., n, k); the method: np.swapaxes costs ~0.3 us more
            grad_a = unbroadcast(grad_a, (1,) + a_shape if len(a_shape) == 1 else a_shape).reshape(a_shape)
        if saved_a is not None:
            grad_b = saved_a.swapaxes(-1, -2) @ grad_mat  # (..., k, m)
            grad_b = unbroadcast(grad_b, b_shape + (1,) if len(b_shape) == 1 else b_shape).reshape(b_shape)
        return grad_a, grad_b

    return record(matmul, y, (a, b), matmul_backward, saved=(b if a_needs else None, a if b_needs else None))


def rmatmul(a, b):
    return matmul(b, a)


def mm(input, mat2):
    """torch.mm: matmul of two matrices, with PyTorch's checks (no vectors, no batches, no broadcasting).
    Saves what matmul saves: the node it records is matmul's."""
    a_shape, b_shape = np.shape(array_of(input)), np.shape(array_of(mat2))
    if len(a_shape) != 2:
        raise RuntimeError("self must be a matrix")
    if len(b_shape) != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a_shape[1] != b_shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a_shape[0]}x{a_shape[1]} and "
                           f"{b_shape[0]}x{b_shape[1]})")
    return matmul(input, mat2)


def bmm(input, mat2):
    """torch.bmm: matmul of two batches of matrices of one batch size, with PyTorch's checks (no broadcasting).
    Saves what matmul saves: the node it records is matmul's."""
    a_shape, b_shape = np.shape(array_of(input)), np.shape(array_of(mat2))
    if len(a_shape) != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if len(b_shape) != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if (b_shape[0], b_shape[1]) != (a_shape[0], a_shape[2]):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{a_shape[0]}, "
                           f"{a_shape[2]}] but got: [{b_shape[0]}, {b_shape[1]}].")
    return matmul(input, mat2)


def _leading_axes_in_memory_order(x_val):
    """The permutation of x's leading axes that lists them in memory order (largest stride first),
    when x is a view with merely permuted leading axes of a C-contiguous array (e.g. the batch_first
    view of a time-major RNN output); None when x is already C-contiguous or is not such a view."""
    if x_val.flags.c_contiguous or x_val.ndim < 3 or x_val.strides[-1] != x_val.itemsize:
        return None
    order = tuple(sorted(range(x_val.ndim - 1), key=lambda axis: -x_val.strides[axis]))
    permuted = x_val.transpose(order + (x_val.ndim - 1,))
    return order if permuted.flags.c_contiguous else None


def _shape_of(value):
    """np.shape, without its dispatch for the usual ndarray (a bias given as a number has shape ())."""
    return value.shape if type(value) is np.ndarray else np.shape(value)


def linear(x, weight, bias=None):
    """y = x @ W^T + b, one fused op (PyTorch's layout: W is (out, in)).

    Shapes: x (..., in), W (out, in), b (out,), y (..., out); with N = prod(...):
      dL/dx = g @ W              (N, out) @ (out, in)
      dL/dW = g^T @ x            (out, N) @ (N, in)   one GEMM over all leading axes
      dL/db = sum_N g
    Saves `saved_w` (W) when x needs a gradient and `saved_x` (x as (N, in)) when W does: a first
    layer keeps no W and skips dL/dx.
    The N rows go through the GEMM in x's memory order: a view with permuted leading axes (the
    batch_first output of a time-major RNN) is not copied; y is the same permuted view of the
    GEMM's result, and the small (N, out) gradient is put in that order in the backward pass."""
    x_val, w_val, b_val = array_of(x), array_of(weight), None if bias is None else array_of(bias)
    if w_val.ndim != 2 or x_val.ndim == 0 or x_val.shape[-1] != w_val.shape[1]:
        raise RuntimeError(
            f"linear: input of shape {x_val.shape} does not match weight of shape {w_val.shape} "
            f"(expected input (..., {w_val.shape[-1] if w_val.ndim else '?'}))"
        )
    if b_val is not None and _shape_of(b_val) not in ((w_val.shape[0],), ()):
        raise RuntimeError(f"linear: bias of shape {np.shape(b_val)} does not match weight of shape {w_val.shape} "
                           f"(expected bias ({w_val.shape[0]},))")
    if x_val.dtype != w_val.dtype:
        x_val, w_val = binary_operands(x_val, w_val)
    order = None if x_val.ndim < 3 else _leading_axes_in_memory_order(x_val)
    last = (x_val.ndim - 1,)
    restore = None if order is None else tuple(np.argsort(order)) + last
    rows = x_val if order is None else x_val.transpose(order + last)
    lead = rows.shape[:-1]
    # one GEMM over all leading axes, not a batch of small ones; sizes spelled out so that in = 0 reshapes too
    x_2d = rows.reshape(math.prod(lead), rows.shape[-1])
    y = x_2d @ w_val.T
    if b_val is not None:
        y += b_val
    if len(lead) != 1:  # a 2-D x already gives y in shape; reshaping would make it a view for nothing
        y = y.reshape(lead + (w_val.shape[0],))
    if restore is not None:
        y = y.transpose(restore)

    n_rows, in_features = x_2d.shape
    x_needs, w_needs, b_needs = needs_grad(x), needs_grad(weight), needs_grad(bias)
    saved_w = w_val if x_needs else None  # dL/dx reads W, dL/dW reads x: keep only what is asked for
    saved_x = x_2d if w_needs else None

    def linear_backward(grad_out):
        if order is not None:
            grad_out = grad_out.transpose(order + last)  # rows in x_2d's order
        grad_2d = grad_out.reshape(n_rows, grad_out.shape[-1])  # (N, out)
        grad_x = grad_w = grad_b = None
        if saved_w is not None:
            grad_x = (grad_2d @ saved_w).reshape(lead + (in_features,))  # (..., in)
            if restore is not None:
                grad_x = grad_x.transpose(restore)
        if saved_x is not None:
            grad_w = grad_2d.T @ saved_x  # (out, in)
        if b_needs:
            grad_b = grad_2d.sum(axis=0)  # (out,)
        return grad_x, grad_w, grad_b

    return record(linear, y, (x, weight, bias), linear_backward,
                  saved=(weight if x_needs else None, x if w_needs else None))


def embedding(indices, weight, padding_idx=None):
    """y[...] = weight[indices[...]]: a row lookup, i.e. onehot(indices) @ weight.

    dL/dweight = onehot(indices)^T @ g: each row's gradient is the sum of g over every position
    that looked it up; the padding_idx row gets none. Indices get no gradient. Saves `index` (the indices).
    The sum groups positions by index (a stable sort) and adds each group with one reduceat,
    several times faster than np.add.at's element-by-element scatter."""
    index = np.asarray(array_of(indices))
    w_val = array_of(weight)
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= w_val.shape[0]):
        raise IndexError(f"embedding: index {index.max() if index.max() >= w_val.shape[0] else index.min()} is out "
                         f"of range for a table of {w_val.shape[0]} rows")
    w_shape, w_dtype = w_val.shape, w_val.dtype

    def embedding_backward(grad_out):
        grad_w = np.zeros(w_shape, w_dtype)
        flat = index.reshape(-1)
        if flat.size:
            order = np.argsort(flat, kind="stable")
            rows = flat[order]
            starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))  # first position of each index
            grad_w[rows[starts]] = np.add.reduceat(grad_out.reshape(-1, w_shape[1])[order], starts, axis=0)
        if padding_idx is not None:
            grad_w[padding_idx] = 0
        return None, grad_w

    return record(embedding, w_val[index], (indices, weight), embedding_backward, saved=(indices,))
