"""The SVD, the symmetric eigendecomposition and the QR decomposition, each with PyTorch's VJP (`torch.linalg.svd`,
`svdvals`, `eigh`, `eigvalsh`, `qr`). All take batches (..., m, n); real matrices. Legend: k = min(m, n);
S2 = S * S; sk(X) = X - X^T; E_ij = S2_j - S2_i (eigh: L_j - L_i) with E_ii = 1; g* the output gradients.

SVD, A = U diag(S) Vh (reduced: U (m, k), Vh (k, n); V = Vh^T):

    inner = (sk(U^T gU) * S_j + S_i * sk(V^T gV)) / E  +  diag(gS)           (k, k)
    dL/dA = U inner Vh  +  (I - U U^T) gU S^{-1} Vh   (m > k)
                        +  U S^{-1} gV^T (I - V V^T)   (n > k)

  Only gS (svdvals, or U and V unused): dL/dA = U diag(gS) Vh, finite for repeated singular values too. U and V are
  defined up to a sign per column (and a rotation within a repeated singular value), so a loss that reads them
  has a gradient only where the singular values are distinct (E has no zero off its diagonal), as in PyTorch.
  With full_matrices=True the extra columns of U / rows of Vh get no gradient (PyTorch narrows them too).

eigh, A = V diag(L) V^T (A symmetric; only its `UPLO` triangle is read):

    dL/dA = V (sk(V^T gV) / 2 / E + diag(gL)) V^T     (symmetric, as PyTorch's)

QR, A = Q R (Householder, LAPACK's signs; copyltu(M) = tril(M) + tril(M, -1)^T):

    m >= n:  M = R gR^T - gQ^T Q,   dL/dA = (gQ + Q copyltu(M)) R^{-T}
    m <  n:  A = [X | Y], R = [U | W] with U square: gY = Q gW, and gX as above with gQ + Y gW^T for gQ and U for R
"""
import collections

import numpy as np

from .base import OUTPUT, array_of, record, record_multi
from .compare import _SCALAR_TYPE_NAMES
from .factorization import _transpose

# PyTorch's torch.return_types: tuples with its field names
SvdResult = collections.namedtuple("linalg_svd", ["U", "S", "Vh"])
EighResult = collections.namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
QrResult = collections.namedtuple("linalg_qr", ["Q", "R"])


def float_matrices(op_name, x):
    """x's array, checked as PyTorch's linalg functions check it: at least 2-D, floating point."""
    x_val = np.asarray(array_of(x))
    if x_val.ndim < 2:
        raise RuntimeError(f"{op_name}: The input tensor A must have at least 2 dimensions.")
    if x_val.dtype.kind not in "fc":
        raise RuntimeError(f"{op_name}: Expected a floating point or complex tensor as input. Got "
                           f"{_SCALAR_TYPE_NAMES.get(x_val.dtype.name, x_val.dtype.name)}")
    return x_val


def square_matrices(op_name, x):
    """x's array, checked as PyTorch's linalg functions check it: float, at least 2-D, square."""
    x_val = float_matrices(op_name, x)
    if x_val.shape[-1] != x_val.shape[-2]:
        raise RuntimeError(f"{op_name}: A must be batches of square matrices, but they are {x_val.shape[-2]} by "
                           f"{x_val.shape[-1]} matrices")
    return x_val


def _given(grad):
    """A gradient that is all zeros carries nothing: treated as absent (PyTorch's undefined gradient)."""
    return grad if np.any(grad) else None


def svd_gradient(grad_U, grad_S, grad_Vh, U, S, Vh):
    """dL/dA from the reduced factors and their gradients (None: absent); see the module docstring."""
    m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
    if grad_U is None and grad_Vh is None:
        return (U * grad_S[..., None, :]) @ Vh
    S2 = S * S
    E = S2[..., None, :] - S2[..., :, None]                                     # (k, k)
    E[..., np.arange(k), np.arange(k)] = 1
    inner = np.zeros(S.shape + (k,), S.dtype)
    if grad_U is not None:
        UtgU = _transpose(U) @ grad_U
        inner += (UtgU - _transpose(UtgU)) * S[..., None, :]                    # term 1: sk(U^T gU) S_j
    if grad_Vh is not None:
        VtgV = Vh @ _transpose(grad_Vh)
        inner += S[..., :, None] * (VtgV - _transpose(VtgV))                    # term 2: S_i sk(V^T gV)
    inner /= E
    inner[..., np.arange(k), np.arange(k)] += grad_S
    if m > k and grad_U is not None:                                            # term 3: (I - U U^T) gU S^{-1}
        grad_U_Sinv = grad_U / S[..., None, :]
        return (U @ inner + grad_U_Sinv - U @ (_transpose(U) @ grad_U_Sinv)) @ Vh
    if n > k and grad_Vh is not None:                                           # term 3: S^{-1} gV^T (I - V V^T)
        Sinv_gVh = grad_Vh / S[..., :, None]
        return U @ (inner @ Vh + Sinv_gVh - (Sinv_gVh @ _transpose(Vh)) @ Vh)
    return U @ inner @ Vh


def _check_driver(driver):
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")


def svd(A, full_matrices=True, *, driver=None):
    """A = U diag(S) Vh ;  dL/dA as in the module docstring (reduced factors; the extra columns of a full U or
    rows of a full Vh get no gradient).  Saves `U`, `S` and `Vh` (the outputs, narrowed to k columns/rows)."""
    _check_driver(driver)
    a_val = float_matrices("linalg.svd", A)
    U_full, S, Vh_full = np.linalg.svd(a_val, full_matrices=full_matrices)
    k = S.shape[-1]
    U, Vh = U_full[..., :, :k], Vh_full[..., :k, :]

    def svd_backward(grads):
        grad_U, grad_S, grad_Vh = grads
        return (svd_gradient(_given(grad_U[..., :, :k]), grad_S, _given(grad_Vh[..., :k, :]), U, S, Vh),)

    return SvdResult(*record_multi(svd, [U_full, S, Vh_full], (A,), svd_backward, saved=(OUTPUT,)))


def svdvals(A, *, driver=None):
    """S, the singular values in descending order ;  dL/dA = U diag(g) Vh.  Saves `U` and `Vh`."""
    _check_driver(driver)
    a_val = float_matrices("linalg.svd", A)  # PyTorch's message names linalg.svd, which svdvals calls
    U, S, Vh = np.linalg.svd(a_val, full_matrices=False)

    def svdvals_backward(grad_out):
        return ((U * grad_out[..., None, :]) @ Vh,)

    return record(svdvals, S, (A,), svdvals_backward, saved=(A,))


def _check_uplo(op_name, UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{op_name}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh_gradient(grad_L, grad_V, L, V):
    """dL/dA of A = V diag(L) V^T (grad_V None: absent); see the module docstring."""
    if grad_V is None:
        return (V * grad_L[..., None, :]) @ _transpose(V)
    n = L.shape[-1]
    E = L[..., None, :] - L[..., :, None]
    E[..., np.arange(n), np.arange(n)] = 1
    VtgV = _transpose(V) @ grad_V
    inner = 0.5 * (VtgV - _transpose(VtgV)) / E
    inner[..., np.arange(n), np.arange(n)] = grad_L
    return V @ inner @ _transpose(V)


def eigh(A, UPLO="L"):
    """A = V diag(L) V^T, L ascending (A's `UPLO` triangle read) ;  dL/dA = V (sk(V^T gV) / 2 / E + diag(gL)) V^T.
    Saves `L` and `V` (the outputs)."""
    a_val = square_matrices("linalg.eigh", A)
    _check_uplo("linalg.eigh", UPLO)
    L, V = np.linalg.eigh(a_val, UPLO=UPLO)

    def eigh_backward(grads):
        grad_L, grad_V = grads
        return (eigh_gradient(grad_L, _given(grad_V), L, V),)

    return EighResult(*record_multi(eigh, [L, V], (A,), eigh_backward, saved=(OUTPUT,)))


def eigvalsh(A, UPLO="L"):
    """L, the eigenvalues of the symmetric A in ascending order ;  dL/dA = V diag(g) V^T.  Saves `V`."""
    a_val = square_matrices("linalg.eigvalsh", A)
    _check_uplo("linalg.eigvalsh", UPLO)
    L, V = np.linalg.eigh(a_val, UPLO=UPLO)

    def eigvalsh_backward(grad_out):
        return ((V * grad_out[..., None, :]) @ _transpose(V),)

    return record(eigvalsh, L, (A,), eigvalsh_backward, saved=(A,))


def _copyltu(M):
    return np.tril(M) + _transpose(np.tril(M, -1))


def _qr_square_gradient(grad_Q, grad_R, Q, R):
    """(gQ + Q copyltu(R gR^T - gQ^T Q)) R^{-T}, for m >= n (R square)."""
    M = R @ _transpose(grad_R) - _transpose(grad_Q) @ Q
    B = grad_Q + Q @ _copyltu(M)
    return _transpose(np.linalg.solve(R, _transpose(B)))                      # B R^{-T}


def qr_gradient(grad_Q, grad_R, Q, R):
    """dL/dA of A = Q R (reduced, or complete with m <= n); see the module docstring."""
    m, n = Q.shape[-2], R.shape[-1]
    if m >= n:
        return _qr_square_gradient(grad_Q, grad_R, Q, R)
    U, W = R[..., :, :m], R[..., :, m:]
    grad_U, grad_W = grad_R[..., :, :m], grad_R[..., :, m:]
    Y = Q @ W
    grad_X = _qr_square_gradient(grad_Q + Y @ _transpose(grad_W), grad_U, Q, U)
    return np.concatenate([grad_X, Q @ grad_W], axis=-1)


def qr(A, mode="reduced"):
    """A = Q R (mode 'reduced': Q (m, k); 'complete': Q (m, m); 'r': R only, Q empty) ;  dL/dA as in the module
    docstring. Saves `Q` and `R` (the outputs; with mode='r', or 'complete' with m > n, the backward raises
    PyTorch's error instead)."""
    a_val = float_matrices("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           f"or 'complete'")
    m, n = a_val.shape[-2:]
    Q, R = np.linalg.qr(a_val, mode="complete" if mode == "complete" else "reduced")

    def qr_backward(grads):
        if mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        return (qr_gradient(grads[0], grads[1], Q, R),)

    if mode == "r":
        Q = np.empty((0,), a_val.dtype)
    return QrResult(*record_multi(qr, [Q, R], (A,), qr_backward, saved=(OUTPUT,)))
