"""The inverse, determinant and linear solve of square matrices, each with its VJP (PyTorch's `torch.linalg.inv`,
`det`, `slogdet` and `solve`). All take batches (..., n, n); A^{-T} is the transpose of the inverse.

    Y = A^{-1}:                dA = -Y^T G Y^T                 (dY = -Y dA Y)
    d = det(A):                dA = g d A^{-T}                 (0 where d = 0: PyTorch's value there)
    (sign, l) = slogdet(A):    dA = g_l A^{-T}                 (the sign is piecewise constant: no gradient)
    X = A^{-1} B:              dB = A^{-T} G,  dA = -dB X^T

At an exactly singular A the determinant's true gradient is the cofactor matrix (nonzero when the rank is n - 1),
but PyTorch's formula, g d A^{-T} computed from the LU factors, gives 0 there; retrograd gives PyTorch's 0, so that
the two libraries agree everywhere (near a singular matrix both give g d A^{-T}, which tends to the cofactors).
"""
import collections

import numpy as np

from .base import OUTPUT, array_of, needs_grad, record, record_multi, unbroadcast
from .compare import _SCALAR_TYPE_NAMES
from .factorization import LinAlgError, _transpose
from .spectral import square_matrices
from .shape import transpose

# PyTorch's torch.return_types.linalg_slogdet: a tuple with .sign and .logabsdet
SlogdetResult = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])


def _first_zero_pivot(matrix):
    """The 1-based column where LU with partial pivoting (LAPACK's getrf) meets a zero pivot, or None."""
    a = matrix.copy()
    for k in range(a.shape[0]):
        pivot = k + int(np.argmax(np.abs(a[k:, k])))
        if a[pivot, k] == 0:
            return k + 1
        a[[k, pivot]] = a[[pivot, k]]
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return None


def singular_error(op_name, a_val):
    """PyTorch's LinAlgError for a singular matrix: which batch element, and which diagonal element of U is 0."""
    batch = a_val.reshape((-1,) + a_val.shape[-2:])
    for index, matrix in enumerate(batch):
        column = _first_zero_pivot(matrix)
        if column is not None or not np.all(np.isfinite(matrix)):
            where = f"(Batch element {index}): " if a_val.ndim > 2 else ""
            return LinAlgError(f"{op_name}: {where}The diagonal element {column or 1} is zero, the inversion could "
                               f"not be completed because the input matrix is singular.")
    return LinAlgError(f"{op_name}: The inversion could not be completed because the input matrix is singular.")


def inv(A):
    """Y = A^{-1} ;  dL/dA = -Y^T g Y^T.  Saves `Y` (the output: the formula needs only the inverse)."""
    a_val = square_matrices("linalg.inv", A)
    try:
        Y = np.linalg.inv(a_val)
    except np.linalg.LinAlgError:
        raise singular_error("linalg.inv", a_val) from None

    def inv_backward(grad_out):
        Y_T = _transpose(Y)
        return (-(Y_T @ grad_out @ Y_T),)

    return record(inv, Y, (A,), inv_backward, saved=(OUTPUT,))


def det(A):
    """d = det(A) ;  dL/dA = g d A^{-T}, and 0 where d = 0 (PyTorch's value at a singular matrix).
    Saves `a_val` (A) and `d` (the output): the inverse is computed in backward, only if it runs."""
    a_val = square_matrices("linalg.det", A)
    d = np.asarray(np.linalg.det(a_val))

    def det_backward(grad_out):
        singular = (d == 0)[..., None, None]
        inverse = np.linalg.inv(np.where(singular, np.eye(a_val.shape[-1], dtype=a_val.dtype), a_val))
        return (np.where(singular, 0, (grad_out * d)[..., None, None] * _transpose(inverse)),)

    return record(det, d, (A,), det_backward, saved=(A, OUTPUT))


def slogdet(A):
    """(sign, logabsdet) = (sign(det A), log|det A|) ;  dL/dA = g_logabsdet A^{-T}; the sign is piecewise
    constant and gets no gradient.  Saves `inverse_T` (A^{-T})."""
    a_val = square_matrices("linalg.slogdet", A)
    sign, logabsdet = np.linalg.slogdet(a_val)
    inverse_T = None
    if needs_grad(A):
        singular = (sign == 0)[..., None, None]  # logabsdet = -inf; the gradient is infinite (PyTorch: +-inf)
        inverse = np.linalg.inv(np.where(singular, np.eye(a_val.shape[-1], dtype=a_val.dtype), a_val))
        inverse_T = np.where(singular, np.inf, _transpose(inverse))

    def slogdet_backward(grads):
        grad_sign, grad_logabsdet = grads  # the sign's gradient is 0: it is piecewise constant
        return (np.asarray(grad_logabsdet)[..., None, None] * inverse_T,)

    # the sign is on the tape too, as PyTorch's (its gradient is zero), so that code asking for it finds it
    return SlogdetResult(*record_multi(slogdet, [np.asarray(sign, dtype=a_val.dtype), np.asarray(logabsdet)], (A,),
                                       slogdet_backward))


def _solve_is_vector(a_shape, b_shape):
    """PyTorch's rule: B is a (batch of) vector(s) if it is 1-D, or A's shape without its last dimension."""
    return len(b_shape) == 1 or (len(b_shape) == len(a_shape) - 1 and tuple(b_shape) == tuple(a_shape[:-1]))


def solve(A, B, *, left=True):
    """X = A^{-1} B (left=True) ;  dL/dB = A^{-T} g,  dL/dA = -(dL/dB) X^T (each summed over broadcast batch
    dimensions). left=False solves X A = B as (A^T)^{-1} B^T, transposed.  Saves `a_val` (A) and `X` (the
    output, only when A needs a gradient)."""
    if not left:
        return transpose(solve(transpose(A, -2, -1), transpose(B, -2, -1)), -2, -1)
    a_val, b_val = square_matrices("linalg.solve", A), np.asarray(array_of(B))
    if a_val.dtype != b_val.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_SCALAR_TYPE_NAMES.get(a_val.dtype.name)} and B of type "
                           f"{_SCALAR_TYPE_NAMES.get(b_val.dtype.name)} instead")
    vector = _solve_is_vector(a_val.shape, b_val.shape)
    b_mat = b_val[..., None] if vector else b_val
    if b_mat.ndim < 2 or b_mat.shape[-2] != a_val.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({a_val.shape[-2]}x{a_val.shape[-1]} and "
                           f"{'x'.join(str(n) for n in (b_mat.shape[-2:] if b_mat.ndim >= 2 else b_mat.shape))})")
    batch = np.broadcast_shapes(a_val.shape[:-2], b_mat.shape[:-2])
    try:
        solution = np.linalg.solve(np.broadcast_to(a_val, batch + a_val.shape[-2:]),
                                   np.broadcast_to(b_mat, batch + b_mat.shape[-2:]))
    except np.linalg.LinAlgError:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None
    a_shape, b_shape = a_val.shape, b_val.shape
    X = solution if needs_grad(A) else None

    def solve_backward(grad_out):
        g = grad_out[..., None] if vector else grad_out
        grad_b = np.linalg.solve(np.broadcast_to(_transpose(a_val), g.shape[:-2] + a_shape[-2:]), g)
        grad_a = None if X is None else unbroadcast(-(grad_b @ _transpose(X)), a_shape)
        grad_b = unbroadcast(grad_b[..., 0] if vector else grad_b, b_shape)
        return grad_a, grad_b

    return record(solve, solution[..., 0] if vector else solution, (A, B), solve_backward,
                  saved=(A, OUTPUT) if X is not None else (A,))
