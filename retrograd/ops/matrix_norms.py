"""PyTorch's `torch.linalg.vector_norm`, `matrix_norm`, `norm` and `cond`, composed from the reductions, `abs`,
`svdvals` and `inv`, so their gradients follow those ops' conventions, which are PyTorch's: |x|'s gradient at 0 is
0, a max (ord inf, 1, 2) or min (-inf, -1, -2) over tied entries splits the gradient evenly among them (amax/amin),
a 2-norm at the origin has gradient 0.

    vector_norm(x, ord):  (sum |x|^ord)^(1/ord); inf: max |x|; -inf: min |x|; 0: the count of nonzeros
    matrix_norm(A, ord):  'fro': sqrt(sum a_ij^2); 'nuc': sum s_i; 2 / -2: max / min s_i;
                          1 / -1: max / min over columns of sum_i |a_ij|; inf / -inf: the same over rows

The gradients these compositions give (A = U diag(s) V^T; u_i, v_i the columns of U and V):

    'fro':    dL/dA = g A / y            'nuc':   dL/dA = g U V^T
    2 / -2:   dL/dA = g u_i v_i^T for the largest / smallest s_i (split evenly among ties)
    1 / inf:  dL/dA = g sign(a_ij) on the column / row with the largest sum (split evenly among ties)
"""
import math

import numpy as np

from . import elementwise, reduce, shape
from .base import array_of, normalize_dims
from .compare import _SCALAR_TYPE_NAMES
from .inverse import inv
from .spectral import svdvals

_MATRIX_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


def _float_input(op_name, x, dtype):
    x_val = np.asarray(array_of(x))
    if x_val.dtype.kind not in "fc":
        raise RuntimeError(f"{op_name}: Expected a floating point or complex tensor as input. Got "
                           f"{_SCALAR_TYPE_NAMES.get(x_val.dtype.name, x_val.dtype.name)}")
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise RuntimeError(f"{op_name}: dtype should be floating point or complex. Got "
                           f"{_SCALAR_TYPE_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)}")
    return x_val


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """y = (sum over `dim` of |x|^ord)^(1/ord) (all of x when dim is None), as retrograd's `norm`, whose
    docstring gives each order's gradient."""
    x_val = _float_input("linalg.vector_norm", x, dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    if ord < 0 or math.isinf(ord):
        axes = range(x_val.ndim) if dim is None else ((dim,) if isinstance(dim, int) else dim)
        if x_val.size == 0 and (x_val.ndim == 0 or any(x_val.shape[a] == 0 for a in axes) or not axes):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
                               f"operation does not have an identity")
    if dim is not None and not isinstance(dim, (int, np.integer)) and len(tuple(dim)) == 0:
        dim = None  # PyTorch: dim=() reduces every dimension
    return reduce.norm(x, float(ord), dim, keepdim, dtype)


def _matrix_dims(op_name, ndim, dim):
    if not isinstance(dim, (list, tuple)) or len(dim) != 2:
        raise RuntimeError(f"{op_name}: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in (dim if isinstance(dim, (list, tuple)) else [dim]))}")
    rows, cols = (normalize_dims(d, ndim, op_name)[0] for d in dim)
    if rows == cols:
        raise RuntimeError(f"{op_name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return rows, cols


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """y = the `ord` norm of the matrices in A's dims `dim` (see the module docstring for each order)."""
    a_val = _float_input("linalg.matrix_norm", A, dtype)
    if a_val.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    rows, cols = _matrix_dims("linalg.matrix_norm", a_val.ndim, dim)
    if dtype is not None:
        A = shape.cast(A, np.dtype(dtype))
    if ord == "fro":
        return reduce.norm(A, 2.0, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        singular_values = svdvals(shape.movedim(A, (rows, cols), (-2, -1)))        # (..., k)
        if ord == "nuc":
            y = reduce.sum(singular_values, -1)
        else:
            y = (reduce.amax if ord == 2 else reduce.amin)(singular_values, -1)
        if keepdim:
            for axis in sorted((rows, cols)):
                y = shape.unsqueeze(y, axis)
        return y
    summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)  # 1: the largest column sum
    extreme = reduce.amax if ord > 0 else reduce.amin
    sums = reduce.sum(elementwise.abs(A), summed, keepdim=True)
    y = extreme(sums, over, keepdim=True)
    return y if keepdim else shape.squeeze(shape.squeeze(y, max(rows, cols)), min(rows, cols))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm (dim an int, or a 1-D A) or a matrix norm (dim a 2-tuple, or a 2-D A);
    ord=None is the 2-norm of the flattened A when dim is None, else 'fro' / 2 by the kind of norm."""
    a_val = np.asarray(array_of(A))
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    if ord is not None:
        if dim is None:
            if a_val.ndim not in (1, 2):
                raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                                   f"Got {a_val.ndim}D.")
            dim = tuple(range(a_val.ndim))
        if len(dim) == 2:
            return matrix_norm(A, ord, tuple(dim), keepdim, dtype=dtype)
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro", tuple(dim), keepdim, dtype=dtype)
    return vector_norm(A, 2, dim, keepdim, dtype=dtype)


def cond(A, p=None):
    """The condition number: s_max / s_min for p None, 2 (-2: s_min / s_max); else
    matrix_norm(A, p) * matrix_norm(inv(A), p) (square A)."""
    a_val = _float_input("linalg.cond", A, None)
    if a_val.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor A must have at least 2 dimensions.")
    if p is None or p in (2, -2):
        singular_values = svdvals(A)
        largest, smallest = reduce.amax(singular_values, -1), reduce.amin(singular_values, -1)
        return elementwise.div(smallest, largest) if p == -2 else elementwise.div(largest, smallest)
    if p not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if a_val.shape[-1] != a_val.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                           f"{a_val.shape[-2]} by {a_val.shape[-1]} matrices")
    return elementwise.mul(matrix_norm(A, p), matrix_norm(inv(A), p))
