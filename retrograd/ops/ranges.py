"""Range-built tensors, PyTorch's: logspace (a factory) and vander (a Vandermonde matrix of a 1-D tensor,
composed from cumprod, so its gradient is cumprod's)."""
import numpy as np

from ..device import check_device
from ..dtypes import as_dtype, get_default_dtype
from ..tensor import Tensor
from .scan import cumprod
from .shape import cat, expand, flip, unsqueeze


def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """base ** e for `steps` exponents e evenly spaced from start to end, computed as PyTorch's CPU kernel: the
    bounds read in the result's dtype (integers truncate), their difference divided in double, the first half
    of the exponents counted from start and the second from end (both ends exact), the power in double. The
    values agree with PyTorch's to 1 ulp in float64 and a few in float32 (its pow is not NumPy's)."""
    check_device(device, "logspace")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    out_dtype = as_dtype(dtype) or get_default_dtype()
    bound_type = out_dtype.type if out_dtype.kind == "f" else np.int64
    start, end = (np.asarray(v.array if isinstance(v, Tensor) else v).item() for v in (start, end))
    if steps == 1:  # PyTorch's single point: base ** start, the bound as given
        return Tensor(np.power(float(base), np.full(1, float(start))).astype(out_dtype), requires_grad=requires_grad)
    start, end = (bound_type(int(v)) if out_dtype.kind in "iub" else bound_type(v) for v in (start, end))
    step = np.float64(end - start) / (steps - 1) if steps > 1 else np.float64(0)
    index = np.arange(steps)
    exponents = np.where(index < steps // 2, np.float64(start) + step * index,
                         np.float64(end) - step * (steps - index - 1))
    return Tensor(np.power(float(base), exponents).astype(out_dtype), requires_grad=requires_grad)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D x: columns x^(N-1), ..., x^1, x^0 (increasing: the other way), built as
    PyTorch builds it: ones, then cumprod of x repeated, so the gradient is cumprod's. Integers give int64."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.int64)
    ones = Tensor(np.ones((x.shape[0], min(n, 1)), dtype))
    columns = [ones]
    if n > 1:
        columns.append(cumprod(expand(unsqueeze(x, 1), x.shape[0], n - 1), 1, dtype=dtype))
    result = cat(columns, 1) if len(columns) > 1 else ones
    return result if increasing else flip(result, (1,))
