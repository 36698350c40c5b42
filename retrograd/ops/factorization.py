"""The Cholesky factor and triangular solves, each with its VJP (PyTorch's `torch.linalg.cholesky` and
`torch.linalg.solve_triangular`): what a MultivariateNormal is made of. Both take batches (..., n, n).

Cholesky, A = L L^T with L lower triangular (only A's lower triangle is read, as in PyTorch). Differentiating
A = L L^T gives dA = dL L^T + L dL^T, so L^{-1} dA L^{-T} = L^{-1} dL + (L^{-1} dL)^T, whose lower triangle
with half its diagonal is L^{-1} dL (a lower triangular matrix). Transposing that map:

    P      = Phi(L^T Lbar)            Phi: the lower triangle, diagonal halved
    Abar   = sym(L^{-T} P L^{-1})      sym(X) = (X + X^T) / 2: A is symmetric, so is its gradient (PyTorch's)

Cholesky inverse, P = (L L^T)^{-1} from the factor (or (U^T U)^{-1}): dP = -P (dL L^T + L dL^T) P, so

    Lbar   = -P (Pbar + Pbar^T) P L      (Ubar = -U P (Pbar + Pbar^T) P)

on the whole matrix, as PyTorch's: the entries off the triangle, which the value never reads, get a gradient
too (a factor is triangular in every use, where that part is zero or dropped by tril).

Triangular solve, X = A^{-1} B (left) or X = B A^{-1} (right), only A's `upper` or lower triangle read:

    left:  Bbar = A^{-T} Xbar,   Abar = -Bbar X^T  (kept on A's triangle)
    right: Bbar = Xbar A^{-T},   Abar = -X^T Bbar  (kept on A's triangle)

NumPy has no triangular solver: `np.linalg.solve` on the triangle (an LU of a triangular matrix) costs the
same O(n^3) and agrees with LAPACK's trsm to rounding.
"""
import numpy as np

from .base import OUTPUT, array_of, record, to_float, unbroadcast


class LinAlgError(RuntimeError):
    """A matrix the factorization cannot handle (PyTorch's `torch.linalg.LinAlgError`)."""


def _transpose(x):
    return np.swapaxes(x, -1, -2)


def _not_positive_definite(a_val):
    """PyTorch's message: the first batch element and leading minor whose factorization fails."""
    batch = a_val.reshape((-1,) + a_val.shape[-2:])
    for index, matrix in enumerate(batch):
        for order in range(1, matrix.shape[-1] + 1):
            try:
                np.linalg.cholesky(matrix[:order, :order])
            except np.linalg.LinAlgError:
                where = f"(Batch element {index}): " if a_val.ndim > 2 else ""
                return LinAlgError(f"linalg.cholesky: {where}The factorization could not be completed because the "
                                   f"input is not positive-definite (the leading minor of order {order} is not "
                                   f"positive-definite).")
    return LinAlgError("linalg.cholesky: The factorization could not be completed (the input has NaN entries).")


def cholesky(A, *, upper=False):
    """L = cholesky(A), A = L L^T (upper: U = L^T, A = U^T U) ;  dL/dA = sym(L^{-T} Phi(L^T g) L^{-1}),
    Phi(X) = X's lower triangle with its diagonal halved, sym(X) = (X + X^T) / 2, g = dL/dL (upper: the
    transpose of dL/dU).  Saves `L`: the derivative needs only the factor."""
    a_val = to_float(array_of(A))
    if a_val.ndim < 2 or a_val.shape[-1] != a_val.shape[-2]:
        raise RuntimeError(f"linalg.cholesky: A must be batches of square matrices, but they are "
                           f"{a_val.shape[-2] if a_val.ndim >= 2 else 1} by {a_val.shape[-1]} matrices")
    # one triangle only, as LAPACK's potrf reads it: the lower, or (upper=True) the upper one transposed
    lower = np.tril(_transpose(a_val) if upper else a_val)
    try:
        L = np.linalg.cholesky(lower)
    except np.linalg.LinAlgError:
        raise _not_positive_definite(lower) from None
    if not np.all(np.isfinite(L)):
        raise _not_positive_definite(lower)

    def cholesky_backward(grad_out):
        if upper:
            grad_out = _transpose(grad_out)
        product = _transpose(L) @ grad_out                                  # L^T g
        phi = np.tril(product) - 0.5 * np.eye(L.shape[-1], dtype=L.dtype) * product
        left = np.linalg.solve(_transpose(L), phi)                          # L^{-T} P
        grad = _transpose(np.linalg.solve(_transpose(L), _transpose(left)))  # (L^{-T} P) L^{-1}
        return (0.5 * (grad + _transpose(grad)),)

    return record(cholesky, _transpose(L) if upper else L, (A,), cholesky_backward, saved=(OUTPUT,))


def cholesky_inverse(L, upper=False):
    """P = (L L^T)^{-1} (upper: (U^T U)^{-1}) ;  dL/dL = -P (g + g^T) P L (upper: -U P (g + g^T) P).
    Saves `factor` and `P`."""
    factor = to_float(array_of(L))
    if factor.ndim < 2 or factor.shape[-1] != factor.shape[-2]:
        raise RuntimeError(f"cholesky_inverse: A must be batches of square matrices, but they are "
                           f"{factor.shape[-2] if factor.ndim >= 2 else 1} by {factor.shape[-1]} matrices")
    triangle = np.triu(factor) if upper else np.tril(factor)
    identity = np.broadcast_to(np.eye(factor.shape[-1], dtype=factor.dtype), factor.shape)
    inverse = np.linalg.solve(triangle, identity)                                # L^{-1} (or U^{-1})
    P = inverse @ _transpose(inverse) if upper else _transpose(inverse) @ inverse
    del triangle, identity, inverse

    def cholesky_inverse_backward(grad_out):
        common = P @ (grad_out + _transpose(grad_out)) @ P
        return (-(factor @ common) if upper else -(common @ factor),)

    return record(cholesky_inverse, P, (L,), cholesky_inverse_backward, saved=(L, OUTPUT))


def _check_solve_shapes(a_val, b_val, left):
    if a_val.ndim < 2 or b_val.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor A and B must have at least 2 dimensions.")
    if a_val.shape[-1] != a_val.shape[-2]:
        raise RuntimeError(f"linalg.solve_triangular: A must be batches of square matrices, but they are "
                           f"{a_val.shape[-2]} by {a_val.shape[-1]} matrices")
    size = b_val.shape[-2] if left else b_val.shape[-1]
    if size != a_val.shape[-1]:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({a_val.shape[-2]}x{a_val.shape[-1]} and "
                           f"{b_val.shape[-2]}x{b_val.shape[-1]})")


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X = A^{-1} B (left) or B A^{-1}, A triangular ;  dL/dB = A^{-T} g (left) or g A^{-T},
    dL/dA = -(dL/dB) X^T (left) or -X^T (dL/dB), on A's triangle.  Saves `triangle` and `X` (only
    `triangle` when A needs no gradient)."""
    a_val, b_val = to_float(array_of(A)), to_float(array_of(B))
    _check_solve_shapes(a_val, b_val, left)
    triangle = np.triu(a_val) if upper else np.tril(a_val)
    if unitriangular:
        triangle = triangle - np.eye(triangle.shape[-1]) * triangle + np.eye(triangle.shape[-1])
    batch = np.broadcast_shapes(a_val.shape[:-2], b_val.shape[:-2])
    a_full = np.broadcast_to(triangle, batch + a_val.shape[-2:])
    b_full = np.broadcast_to(b_val, batch + b_val.shape[-2:])
    result = (np.linalg.solve(a_full, b_full) if left
              else _transpose(np.linalg.solve(_transpose(a_full), _transpose(b_full))))
    a_shape, b_shape = a_val.shape, b_val.shape
    X = result if getattr(A, "requires_grad", False) else None
    del a_val, b_val, a_full, b_full

    def solve_triangular_backward(grad_out):
        if left:
            grad_b = np.linalg.solve(np.broadcast_to(_transpose(triangle), grad_out.shape[:-2] + a_shape[-2:]),
                                     grad_out)
            grad_a = None if X is None else -(grad_b @ _transpose(X))
        else:
            grad_b = _transpose(np.linalg.solve(
                np.broadcast_to(triangle, grad_out.shape[:-2] + a_shape[-2:]), _transpose(grad_out)))
            grad_a = None if X is None else -(_transpose(X) @ grad_b)
        if grad_a is not None:
            grad_a = np.triu(grad_a) if upper else np.tril(grad_a)
            if unitriangular:
                grad_a = grad_a - np.eye(a_shape[-1]) * grad_a
            grad_a = unbroadcast(grad_a, a_shape)
        return grad_a, unbroadcast(grad_b, b_shape)

    return record(solve_triangular, result, (A, B), solve_triangular_backward,
                  saved=(A,) if X is None else (A, OUTPUT))
