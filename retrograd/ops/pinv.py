"""The Moore-Penrose pseudo-inverse with PyTorch's VJP (`torch.linalg.pinv`, `torch.pinverse`), and the rank that
shares its cut-off (`torch.linalg.matrix_rank`).

The pseudo-inverse keeps the singular values above tol = max(atol, rtol * s_max) (rtol = eps * max(m, n) when
neither is given; 0 when only atol is): A+ = V diag(1 / s) U^T over those. Its derivative (Golub and Pereyra),
transposed, is PyTorch's formula, finite for rank-deficient A (no division by a singular value). With P = A+
(n, m) and G = dL/dP, for m <= n (K = G^T P, (m, m)):

    gA = -(P K)^T + K P^T - A P K P^T + P^T P (G^T - K A)

and for m > n the transposed arrangement (K = P G^T, (n, n)), so that every intermediate is at most
min(m, n) square, as PyTorch orders it.
"""
import numpy as np

from ..tensor import Tensor
from .base import OUTPUT, array_of, record
from .spectral import float_matrices


def _transpose(x):
    return np.swapaxes(x, -1, -2)


def _tolerance(s_max, shape, dtype, atol, rtol):
    """PyTorch's cut-off max(atol, rtol * s_max), (...,) arrays, with its defaults for atol and rtol."""
    atol_val = 0.0 if atol is None else np.asarray(array_of(atol), dtype)
    if rtol is None:
        rtol_val = np.finfo(dtype).eps * max(shape[-2:]) if atol is None or np.all(atol_val <= 0) else 0.0
    else:
        rtol_val = np.asarray(array_of(rtol), dtype)
    return np.maximum(atol_val, rtol_val * s_max)


def pinv_gradient(g, P, A):
    """dL/dA for P = pinv(A), P (n, m), A (m, n), g = dL/dP (PyTorch's pinv_backward)."""
    m, n = A.shape[-2:]
    P_T, g_T = _transpose(P), _transpose(g)
    if m <= n:
        K = g_T @ P                                                                 # (m, m)
        K_P_T = K @ P_T                                                             # (m, n)
        return -_transpose(P @ K) + K_P_T - (A @ P) @ K_P_T + (P_T @ P) @ (g_T - K @ A)
    K = P @ g_T                                                                     # (n, n)
    P_T_K = P_T @ K                                                                 # (m, n)
    return -_transpose(K @ P) + (g_T - A @ K) @ P @ P_T + P_T_K - P_T_K @ P @ A


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """P = A+ = V diag(1/s) U^T over the singular values s > max(atol, rtol * s_max) ;  dL/dA = PyTorch's
    pinv_backward (`pinv_gradient`), finite for rank-deficient A.  Saves `a_val` (A) and `P` (the output).
    hermitian=True reads A as symmetric (its eigendecomposition, |eigenvalues| for s)."""
    a_val = float_matrices("linalg.pinv", A)
    if hermitian:
        values, vectors = np.linalg.eigh(a_val)
        tol = _tolerance(np.abs(values).max(axis=-1, initial=0.0), a_val.shape, a_val.dtype, atol, rtol)
        keep = np.abs(values) > tol[..., None]
        inverse_values = np.where(keep, 1 / np.where(keep, values, 1), 0)
        P = (vectors * inverse_values[..., None, :]) @ _transpose(vectors)
    else:
        U, s, Vh = np.linalg.svd(a_val, full_matrices=False)
        tol = _tolerance(s.max(axis=-1, initial=0.0), a_val.shape, a_val.dtype, atol, rtol)
        keep = s > tol[..., None]
        inverse_values = np.where(keep, 1 / np.where(keep, s, 1), 0)
        P = (_transpose(Vh) * inverse_values[..., None, :]) @ _transpose(U)

    def pinv_backward(grad_out):
        return (pinv_gradient(grad_out, P, a_val),)

    return record(pinv, np.asarray(P, dtype=a_val.dtype), (A,), pinv_backward, saved=(A, OUTPUT))


def pinverse(input, rcond=1e-15):
    """torch.pinverse: pinv with rtol = rcond."""
    return pinv(input, rtol=rcond)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values (|eigenvalues| with hermitian=True) above max(atol, rtol * s_max), int64;
    no gradient."""
    a_val = float_matrices("linalg.matrix_rank", A)
    s = np.abs(np.linalg.eigvalsh(a_val)) if hermitian else np.linalg.svd(a_val, compute_uv=False)
    tol = _tolerance(s.max(axis=-1, initial=0.0), a_val.shape, a_val.dtype, atol, rtol)
    return Tensor._from_array(np.asarray((s > tol[..., None]).sum(axis=-1), dtype=np.int64))
