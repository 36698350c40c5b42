"""Reductions composed from the ops of reduce.py, elementwise.py and shape.py, PyTorch's: nanmean, std_mean,
var_mean, aminmax, numel and diff, and the one primitive they need, nansum. Composed, each gets its gradient
(and `explain`'s trace) from the ops it is built of:

    nansum(x)  = sum of x with NaN read as 0     dL/dx = g~ * [x is not NaN] (a primitive: PyTorch's product)
    nanmean(x) = nansum(x) / (number of non-NaN entries)
    diff(x)    = x[1:] - x[:-1] along dim, n times (prepend/append concatenated first; bools: xor)
"""
import collections

import numpy as np

from .base import array_of, record
from .compare import _SCALAR_TYPE_NAMES, _tensor_array
from .elementwise import div, ne, sub
from . import reduce
from .shape import cat, narrow

# PyTorch's torch.return_types.aminmax: a tuple with .min and .max
AminmaxResult = collections.namedtuple("aminmax", ["min", "max"])


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """y = the sum over `dim` (default: all) with NaNs read as 0 (integers sum as sum does)

    dL/dx = g~ * [x is not NaN], a product as in PyTorch (not a select): an infinite g, as nanmean of an
    all-NaN slice sends, gives NaN at the NaNs, PyTorch's result.  Saves `kept` (where x is not NaN)."""
    x_val = array_of(input)
    if x_val.dtype.kind != "f":
        return reduce.sum(input, dim, keepdim, dtype=dtype)
    kept = ~np.isnan(x_val)
    y = reduce.sum(np.where(kept, x_val, 0), dim, keepdim, dtype=dtype).array  # sum's dtypes and accumulation
    axes, x_dtype = reduce._axes(dim, x_val.ndim, "nansum"), x_val.dtype

    def nansum_backward(grad_out):
        return ((reduce._unreduce(grad_out, axes, keepdim) * kept).astype(x_dtype, copy=False),)

    return record(nansum, y, (input,), nansum_backward)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean over `dim` of the non-NaN entries (NaN where there are none); float inputs only, as in PyTorch."""
    x_val = array_of(input)
    if x_val.dtype.kind not in "fc":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_SCALAR_TYPE_NAMES[x_val.dtype.name]}")
    counts = reduce.sum(~np.isnan(x_val), dim, keepdim)  # int64, no graph
    return div(nansum(input, dim, keepdim, dtype=dtype), counts)


def _moment_arguments(dim, unbiased, correction):
    """PyTorch's overloads: var_mean(x, unbiased), var_mean(x, dim, unbiased), var_mean(x, dim, correction=)."""
    if isinstance(dim, bool):
        return None, dim, correction
    return dim, unbiased, correction


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var(x, dim, correction), mean(x, dim)) as one tuple, PyTorch's var_mean."""
    dim, unbiased, correction = _moment_arguments(dim, unbiased, correction)
    return (reduce.var(input, dim, unbiased=unbiased, keepdim=keepdim, correction=correction),
            reduce.mean(input, dim, keepdim=keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std(x, dim, correction), mean(x, dim)) as one tuple, PyTorch's std_mean."""
    dim, unbiased, correction = _moment_arguments(dim, unbiased, correction)
    return (reduce.std(input, dim, unbiased=unbiased, keepdim=keepdim, correction=correction),
            reduce.mean(input, dim, keepdim=keepdim))


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over `dim` (default: all) as amin and amax: ties split each gradient evenly, as in PyTorch."""
    x_val = array_of(input)
    reduced = x_val.shape if dim is None else (x_val.shape[dim] if x_val.ndim else 1,)
    if 0 in reduced:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    dims = () if dim is None else dim
    return AminmaxResult(reduce.amin(input, dims, keepdim), reduce.amax(input, dims, keepdim))


def numel(input):
    """The number of entries of a tensor (an int)."""
    return int(_tensor_array(input, "numel", 1, "input").size)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along `dim`: out[i] = x[i + 1] - x[i], applied n times (logical xor for
    bools), after concatenating `prepend` and `append` along dim; n past the length gives an empty result."""
    x_val = array_of(input)
    if x_val.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    if n == 0:  # PyTorch returns the input itself, prepend and append unused
        return input
    for extra in (prepend, append):
        if extra is not None and np.ndim(array_of(extra)) != x_val.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    parts = [t for t in (prepend, input, append) if t is not None]
    out = cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        length = out.shape[dim]
        if length == 0:
            break
        later, earlier = narrow(out, dim, 1, length - 1), narrow(out, dim, 0, length - 1)
        out = ne(later, earlier) if out.dtype == np.bool_ else sub(later, earlier)
    return out
