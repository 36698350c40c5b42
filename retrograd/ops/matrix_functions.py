"""Matrix functions composed from matmul, inv, slogdet, svd, qr and the elementwise ops, with PyTorch's names:
`linalg.matrix_power`, `linalg.cross` / `torch.cross`, `logdet`, and the older `torch.svd`, `torch.qr`,
`torch.slogdet` forms. Their gradients are those of the ops they are built from."""
import collections
import warnings

import numpy as np

from ..tensor import Tensor
from . import elementwise, shape
from .base import array_of
from .compare import _SCALAR_TYPE_NAMES
from .inverse import inv, slogdet
from .linalg import matmul
from .spectral import qr as linalg_qr, svd as linalg_svd, svdvals

# PyTorch's torch.return_types.svd (V, not V^T) and torch.return_types.slogdet / qr
SvdResult = collections.namedtuple("svd", ["U", "S", "V"])
SlogdetResult = collections.namedtuple("slogdet", ["sign", "logabsdet"])
QrResult = collections.namedtuple("qr", ["Q", "R"])


def matrix_power(A, n):
    """A^n by repeated squaring (n < 0: inv(A)^|n|; n = 0: the identity, with a zero gradient as PyTorch's)."""
    a_val = np.asarray(array_of(A))
    if a_val.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if a_val.shape[-1] != a_val.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{a_val.shape[-2]} by {a_val.shape[-1]} matrices")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:  # A * 0 + I keeps A on the tape: a gradient of zeros, as PyTorch's
        identity = np.broadcast_to(np.eye(a_val.shape[-1], dtype=a_val.dtype), a_val.shape)
        return elementwise.add(elementwise.mul(A, 0), identity)
    base = inv(A) if n < 0 else A
    result, n = None, abs(int(n))
    while n:  # binary exponentiation: about 2 log2(n) products
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def _cross_dim(op_name, a_val, b_val, dim):
    if a_val.ndim != b_val.ndim:
        raise RuntimeError(f"{op_name}: inputs must have the same number of dimensions.")
    if a_val.dtype != b_val.dtype:
        raise RuntimeError(f"expected scalar type {_SCALAR_TYPE_NAMES.get(a_val.dtype.name)} but found "
                           f"{_SCALAR_TYPE_NAMES.get(b_val.dtype.name)}")
    if dim is None:  # torch.cross's old default: the first dimension of size 3
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=3)
        shape_ = np.broadcast_shapes(a_val.shape, b_val.shape)
        sizes3 = [axis for axis, size in enumerate(shape_) if size == 3]
        if not sizes3:
            raise RuntimeError("no dimension of size 3 in input")
        return sizes3[0]
    rank = max(a_val.ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {dim})")
    if a_val.shape[dim] != 3 or b_val.shape[dim] != 3:
        raise RuntimeError(f"{op_name}: inputs dimension {dim} must have length 3. Got {a_val.shape[dim]} and "
                           f"{b_val.shape[dim]}")
    return dim % rank


def _cross(op_name, input, other, dim):
    """(a x b)_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1} along `dim` (indices mod 3); the other dims broadcast."""
    a_val, b_val = np.asarray(array_of(input)), np.asarray(array_of(other))
    axis = _cross_dim(op_name, a_val, b_val, dim)
    a, b = shape.unbind(input, axis), shape.unbind(other, axis)
    parts = [elementwise.sub(elementwise.mul(a[(i + 1) % 3], b[(i + 2) % 3]),
                             elementwise.mul(a[(i + 2) % 3], b[(i + 1) % 3])) for i in range(3)]
    return shape.stack(parts, axis)


def linalg_cross(input, other, *, dim=-1):
    """torch.linalg.cross: the cross product of 3-vectors along `dim` (the last by default), broadcast."""
    return _cross("linalg.cross", input, other, dim)


def cross(input, other, dim=None):
    """torch.cross: linalg.cross, but dim=None picks the first dimension of size 3 (with PyTorch's warning)."""
    return _cross("linalg.cross", input, other, dim)


def logdet(input):
    """log det(A): log|det A| where det A > 0, NaN where it is negative, -inf where it is 0 (PyTorch's values);
    the gradient is slogdet's, A^{-T}."""
    sign, logabsdet = slogdet(input)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_sign = np.log(sign.detach().numpy())  # 0, NaN (negative) or -inf (singular)
    return elementwise.add(logabsdet, log_sign)


def torch_slogdet(input):
    """torch.slogdet: linalg.slogdet under torch.return_types.slogdet's name."""
    return SlogdetResult(*slogdet(input))


def svd(input, some=True, compute_uv=True):
    """torch.svd: (U, S, V) with V, not V^T (some=False: full U and V); compute_uv=False gives S and zero U, V of
    shapes (m, m) and (n, n), as PyTorch's."""
    if not compute_uv:
        a_val = np.asarray(array_of(input))
        m, n = a_val.shape[-2:]
        return SvdResult(Tensor._from_array(np.zeros(a_val.shape[:-2] + (m, m), a_val.dtype)), svdvals(input),
                         Tensor._from_array(np.zeros(a_val.shape[:-2] + (n, n), a_val.dtype)))
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return SvdResult(U, S, shape.transpose(Vh, -2, -1))


def torch_qr(input, some=True):
    """torch.qr: linalg.qr with mode 'reduced' (some=True) or 'complete'."""
    return QrResult(*linalg_qr(input, mode="reduced" if some else "complete"))
