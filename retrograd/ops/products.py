"""PyTorch's product functions, composed from matmul, einsum and the elementwise ops (so each gets its
gradient, its `explain` trace and its saved-memory accounting from them): `dot`, `mv`, `outer` (`ger`),
`inner`, `tensordot`, `kron`, `trace`, `addmm`, `addmv`, `addbmm`, `baddbmm`, `addr`, `addcmul`,
`addcdiv`, `chain_matmul` and `linalg.multi_dot`, with PyTorch's argument checks and messages.

The add* family computes beta * input + alpha * (product), as PyTorch: with beta = 0 the input is not
read at all (a NaN in it does not reach the result) and gets a zero gradient.
"""
import numpy as np

from ..tensor import Tensor
from . import elementwise, reduce, shape
from .base import array_of
from .compare import _SCALAR_TYPE_NAMES
from .einsum import einsum
from .linalg import matmul


# the C names PyTorch's multi_dot message gives the dtypes
_C_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int64": "long", "int32": "int"}


def _name(array):
    return _SCALAR_TYPE_NAMES.get(np.asarray(array).dtype.name, np.asarray(array).dtype.name)


def dot(input, tensor):
    """y = sum_i input_i tensor_i for two 1-D tensors of one dtype (matmul's gradient: g * tensor, g * input)."""
    a, b = np.asarray(array_of(input)), np.asarray(array_of(tensor))
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_name(a)} and {_name(b)}")
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.size}] and src [{b.size}] to have the "
                           f"same number of elements, but got {a.size} and {b.size} elements respectively")
    return matmul(input, tensor)


def mv(input, vec):
    """y = input @ vec, a (n, m) matrix times a (m,) vector (matmul's gradient)."""
    a, v = np.asarray(array_of(input)), np.asarray(array_of(vec))
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{a.shape[1]}), "
                           f"vec ({v.shape[0]})")
    if a.dtype != v.dtype:
        raise RuntimeError(f"mv: expected mat and vec to have the same dtype, but got {_name(a)} and {_name(v)}")
    return matmul(input, vec)


def outer(input, vec2):
    """y_ij = input_i vec2_j (the dtypes promote, as in PyTorch): dL/dinput = g @ vec2, dL/dvec2 = g^T @ input."""
    for name, value in (("self", input), ("vec2", vec2)):
        if np.ndim(array_of(value)) != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {np.ndim(array_of(value))}-D")
    return elementwise.mul(shape.unsqueeze(input, 1), vec2)


ger = outer


def inner(input, other):
    """y = the sum over the last dimension of input and other (a 0-d operand: their product);
    shape input.shape[:-1] + other.shape[:-1]."""
    a, b = np.asarray(array_of(input)), np.asarray(array_of(other))
    if a.ndim == 0 or b.ndim == 0:
        return elementwise.mul(input, other)
    if a.dtype != b.dtype:
        raise RuntimeError("inner: both inputs should have same dtype")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(a.shape)} and {list(b.shape)}")
    return tensordot(input, other, ([a.ndim - 1], [b.ndim - 1]))


def _tensordot_dims(dims, a_ndim, b_ndim):
    """(a's contracted axes, b's) from an int (a's last `dims` with b's first) or a pair of lists."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a_ndim, b_ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(a_ndim - dims, a_ndim)), list(range(dims))
    if not (isinstance(dims, (list, tuple)) and len(dims) == 2):
        raise TypeError(f"tensordot(): dims must be an int or a pair of lists of ints, got {dims!r}")
    a_dims, b_dims = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
    if len(a_dims) != len(b_dims):
        raise RuntimeError("both dimension lists should have same length")
    return ([_axis(d, a_ndim) for d in a_dims], [_axis(d, b_ndim) for d in b_dims])


def _axis(dim, ndim):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                         f"{max(ndim, 1) - 1}], but got {dim})")
    return dim % max(ndim, 1)


def tensordot(a, b, dims=2):
    """y = the sum over a's dims[0] paired with b's dims[1] of a * b; the free axes of a, then of b (an
    einsum, whose gradient is an einsum of g with the other operand). A contracted size-1 dimension
    broadcasts against its partner, as in PyTorch."""
    a_val, b_val = np.asarray(array_of(a)), np.asarray(array_of(b))
    if a_val.dtype != b_val.dtype:
        raise RuntimeError("tensordot: both inputs should have same dtype")
    a_dims, b_dims = _tensordot_dims(dims, a_val.ndim, b_val.ndim)
    for a_dim, b_dim in zip(a_dims, b_dims):
        if a_val.shape[a_dim] != b_val.shape[b_dim] and 1 not in (a_val.shape[a_dim], b_val.shape[b_dim]):
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a_val.shape[a_dim]} in "
                               f"dim {a_dim} and second has size {b_val.shape[b_dim]} in dim {b_dim}")
    a_labels = list(range(a_val.ndim))
    b_labels = list(range(a_val.ndim, a_val.ndim + b_val.ndim))
    for a_dim, b_dim in zip(a_dims, b_dims):
        b_labels[b_dim] = a_labels[a_dim]
    out_labels = [n for i, n in enumerate(a_labels) if i not in a_dims] + \
                 [n for i, n in enumerate(b_labels) if i not in b_dims]
    if len(set(a_labels + b_labels)) > 52:
        raise RuntimeError("tensordot: more than 52 dimensions in all")
    return einsum(a, a_labels, b, b_labels, out_labels)


def kron(input, other):
    """y = the Kronecker product: y[i * other.shape + j] = input[i] * other[j] over every axis (the shorter
    operand gets leading 1s); a broadcast product of interleaved axes, reshaped."""
    a_val, b_val = np.asarray(array_of(input)), np.asarray(array_of(other))
    ndim = max(a_val.ndim, b_val.ndim)
    a_shape = (1,) * (ndim - a_val.ndim) + a_val.shape
    b_shape = (1,) * (ndim - b_val.ndim) + b_val.shape
    a_spread = shape.reshape(input, [n for size in a_shape for n in (size, 1)])   # (a0, 1, a1, 1, ...)
    b_spread = shape.reshape(other, [n for size in b_shape for n in (1, size)])   # (1, b0, 1, b1, ...)
    return shape.reshape(elementwise.mul(a_spread, b_spread), [m * n for m, n in zip(a_shape, b_shape)])


def trace(input):
    """y = sum_i input_ii of a matrix (its main diagonal, a non-square one's too); dL/dinput = g I."""
    x = np.asarray(array_of(input))
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    if x.dtype == bool:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return reduce.sum(shape.diag(input))


def _scaled_sum(op_name, input, product, beta, alpha):
    """beta * input + alpha * product, input broadcast to the product's shape; beta = 0 ignores input's
    values (NaN included) and gives it a zero gradient, as in PyTorch."""
    target = tuple(product.shape)
    if np.ndim(array_of(input)) > len(target):
        raise RuntimeError(f"{op_name}: input of shape {tuple(np.shape(array_of(input)))} cannot be broadcast "
                           f"to the product's shape {target}")
    expanded = shape.expand(input, *target)
    if alpha != 1:
        product = elementwise.mul(product, alpha)
    if beta == 0:
        expanded = elementwise.where(np.zeros(target, bool), expanded, 0)
    elif beta != 1:
        expanded = elementwise.mul(expanded, beta)
    return elementwise.add(expanded, product)


def _same_dtypes(op_name, **named):
    dtypes = {name: np.asarray(array_of(value)).dtype for name, value in named.items()}
    if len(set(dtypes.values())) > 1:
        got = ", ".join(f"{name} {_name(np.empty(0, dtype))}" for name, dtype in dtypes.items())
        raise RuntimeError(f"{op_name}: input tensors must have the same dtype, but got {got}")


def _require_ndim(op_name, ndim, **named):
    for name, value in named.items():
        got = np.ndim(array_of(value))
        if got != ndim:
            kind = {1: "a vector", 2: "a matrix", 3: "a 3D tensor"}[ndim]
            raise RuntimeError(f"{op_name}: {name} must be {kind}, got {got}-D tensor")


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """y = beta * input + alpha * (mat1 @ mat2), input broadcast to (n, p)."""
    _require_ndim("addmm", 2, mat1=mat1, mat2=mat2)
    _same_dtypes("addmm", input=input, mat1=mat1, mat2=mat2)
    m1, m2 = np.shape(array_of(mat1)), np.shape(array_of(mat2))
    if m1[1] != m2[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m1[0]}x{m1[1]} and {m2[0]}x{m2[1]})")
    return _scaled_sum("addmm", input, matmul(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """y = beta * input + alpha * (mat @ vec), input broadcast to (n,)."""
    a, v = np.shape(array_of(mat)), np.shape(array_of(vec))
    if len(a) != 2 or len(v) != 1 or np.ndim(array_of(input)) > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {np.ndim(array_of(input))}, {len(a)}, {len(v)}")
    if a[1] != v[0] or np.shape(array_of(input)) not in ((), (1,), (a[0],)):
        raise RuntimeError(f"size mismatch, got input ({'x'.join(map(str, np.shape(array_of(input))))}), "
                           f"mat ({a[0]}x{a[1]}), vec ({v[0]})")
    _same_dtypes("addmv", input=input, mat=mat, vec=vec)
    return _scaled_sum("addmv", input, matmul(mat, vec), beta, alpha)


def _check_batches(op_name, batch1, batch2):
    _require_ndim(op_name, 3, batch1=batch1, batch2=batch2)
    b1, b2 = np.shape(array_of(batch1)), np.shape(array_of(batch2))
    if b1[0] != b2[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {b1[0]} and {b2[0]}")
    if b1[2] != b2[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({b1[1]}x{b1[2]} and {b2[1]}x{b2[2]})")


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """y = beta * input + alpha * sum_b batch1[b] @ batch2[b], input broadcast to (n, p)."""
    _check_batches("addbmm", batch1, batch2)
    _same_dtypes("addbmm", input=input, batch1=batch1, batch2=batch2)
    return _scaled_sum("addbmm", input, einsum("bij,bjk->ik", batch1, batch2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """y = beta * input + alpha * (batch1 @ batch2), input broadcast to (b, n, p)."""
    _check_batches("baddbmm", batch1, batch2)
    _same_dtypes("baddbmm", input=input, batch1=batch1, batch2=batch2)
    return _scaled_sum("baddbmm", input, matmul(batch1, batch2), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """y = beta * input + alpha * outer(vec1, vec2), input broadcast to (n, m)."""
    _require_ndim("addr", 1, vec1=vec1, vec2=vec2)
    if np.asarray(array_of(vec1)).dtype.kind in "biu" and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def addcmul(input, tensor1, tensor2, *, value=1):
    """y = input + value * tensor1 * tensor2 (all three broadcast)."""
    product = elementwise.mul(tensor1, tensor2)
    return elementwise.add(input, product if value == 1 else elementwise.mul(product, value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """y = input + value * tensor1 / tensor2 (all three broadcast); integer tensor1 and tensor2 are refused,
    as PyTorch refuses them."""
    if all(np.asarray(array_of(t)).dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                           "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                           "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
                           "tensor2), for all dtypes.")
    quotient = elementwise.div(tensor1, tensor2)
    return elementwise.add(input, quotient if value == 1 else elementwise.mul(quotient, value))


def multi_dot(tensors):
    """y = tensors[0] @ tensors[1] @ ... (the first may be 1-D, a row; the last 1-D, a column), multiplied in
    the order that costs the fewest multiplications (an einsum contraction path), as PyTorch chooses it."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    arrays = [np.asarray(array_of(t)) for t in tensors]
    for index, array in enumerate(arrays):
        allowed = (1, 2) if index in (0, len(arrays) - 1) else (2,)
        if array.ndim not in allowed:
            where = {0: "first", len(arrays) - 1: "last"}.get(index)
            raise RuntimeError(f"multi_dot(): the {where} tensor must be 1D or 2D but got {array.ndim}D" if where
                               else f"multi_dot(): tensor {index} must be 2D but got {array.ndim}D")
        if array.dtype != arrays[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{_C_NAMES.get(arrays[0].dtype.name, arrays[0].dtype.name)} and tensor {index} "
                               f"{_C_NAMES.get(array.dtype.name, array.dtype.name)}")
    for index in range(len(arrays) - 1):
        left, right = arrays[index], arrays[index + 1]
        if left.shape[-1] != right.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {index} and {index + 1} with shapes {list(left.shape)} and "
                               f"{list(right.shape)} cannot be multiplied")
    args = []
    for index, t in enumerate(tensors):
        args += [t, [index, index + 1] if arrays[index].ndim == 2 else ([1] if index == 0 else [index])]
    out_labels = ([0] if arrays[0].ndim == 2 else []) + ([len(arrays)] if arrays[-1].ndim == 2 else [])
    return einsum(*args, out_labels)


def chain_matmul(*matrices):
    """y = matrices[0] @ ... @ matrices[-1], all 2-D (PyTorch's deprecated form of linalg.multi_dot)."""
    if len(matrices) == 1:
        return shape.clone(matrices[0])
    return multi_dot(matrices)
