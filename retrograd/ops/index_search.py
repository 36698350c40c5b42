"""Functions that answer with positions or counts, PyTorch's: tril_indices, triu_indices, nonzero, argwhere,
unique, unique_consecutive, bincount, bucketize, searchsorted and histc.

None is differentiable: their results are integers (or counts), off the tape, as in PyTorch.
"""
import numpy as np

from ..dtypes import as_dtype
from .base import array_of, normalize_dims, record
from .compare import _SCALAR_TYPE_NAMES, _tensor_array

_INT64 = np.dtype(np.int64)


def _constant(array):
    return record(_constant, np.asarray(array), (), None)


# ----- triangles --------------------------------------------------------------------------------------------
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) row and column indices of the lower triangle (diagonal `offset`) of a row x col matrix,
    in row-major order."""
    rows, cols = np.tril_indices(row, offset, col)
    return _constant(np.stack([rows, cols]).astype(as_dtype(dtype) or _INT64))


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the upper triangle (from diagonal `offset`) of a row x col matrix, row-major."""
    rows, cols = np.triu_indices(row, offset, col)
    return _constant(np.stack([rows, cols]).astype(as_dtype(dtype) or _INT64))


# ----- where the entries are nonzero ---------------------------------------------------------------------
def nonzero(input, *, as_tuple=False):
    """The (N, ndim) int64 positions of the nonzero entries, row-major; as_tuple: one 1-D tensor per dim
    (a 0-d input counts as 1-D there, as in PyTorch)."""
    x_val = _tensor_array(input, "nonzero", 1, "input")
    if as_tuple:
        return tuple(_constant(p.astype(_INT64)) for p in np.nonzero(np.atleast_1d(x_val)))
    return _constant(np.argwhere(x_val).astype(_INT64))


def argwhere(input):
    """nonzero(input): the (N, ndim) positions of the nonzero entries."""
    return _constant(np.argwhere(_tensor_array(input, "argwhere", 1, "input")).astype(_INT64))


# ----- distinct values -------------------------------------------------------------------------------------
def _with_extras(values, inverse, counts, return_inverse, return_counts, input, aten_name):
    """The results of unique/unique_consecutive; the values stay on the tape of a float input whose backward
    refuses, as PyTorch's (its derivative is not implemented) does."""
    def refuse_backward(grad_out):
        raise RuntimeError(f"the derivative for '{aten_name}' is not implemented.")

    refuse_backward.__name__ = aten_name
    result = (record(_with_extras, values, (input,), refuse_backward),)
    if return_inverse:
        result += (_constant(inverse.astype(_INT64)),)
    if return_counts:
        result += (_constant(counts.astype(_INT64)),)
    return result[0] if len(result) == 1 else result


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (or distinct slices along `dim`), sorted (PyTorch's CPU sorts even with
    sorted=False), with the inverse map and the counts on request."""
    x_val = array_of(input)
    axis = None if dim is None else normalize_dims(dim, x_val.ndim, "unique")[0]
    values, inverse, counts = np.unique(x_val, return_inverse=True, return_counts=True, axis=axis)
    inverse = inverse.reshape(x_val.shape if axis is None else (x_val.shape[axis],))
    return _with_extras(values, inverse, counts, return_inverse, return_counts, input,
                        "_unique2" if dim is None else "unique_dim")


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The input with each run of equal consecutive values (or slices along `dim`) kept once."""
    x_val = array_of(input)
    if dim is None:
        flat = x_val.reshape(-1)
        starts = np.concatenate([[True], flat[1:] != flat[:-1]]) if flat.size else np.zeros(0, bool)
        values = flat[starts]
        inverse = (np.cumsum(starts) - 1).reshape(x_val.shape)
    else:
        axis = normalize_dims(dim, x_val.ndim, "unique_consecutive")[0]
        moved = np.moveaxis(x_val, axis, 0)
        moved = moved.reshape(len(moved), int(np.prod(moved.shape[1:])))  # -1 cannot be inferred for 0 rows
        starts = np.concatenate([[True], np.any(moved[1:] != moved[:-1], axis=1)]) if len(moved) else \
            np.zeros(0, bool)
        values = np.compress(starts, x_val, axis=axis)
        inverse = np.cumsum(starts) - 1
    counts = np.diff(np.append(np.flatnonzero(starts), starts.size))
    return _with_extras(values, inverse, counts, return_inverse, return_counts, input, "unique_consecutive")


# ----- counting and binning ------------------------------------------------------------------------------
def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ..., max occurs in a 1-D non-negative integer tensor (the sums of
    `weights` at those positions if given, in the weights' float dtype); at least `minlength` bins."""
    x_val = _tensor_array(input, "bincount", 1, "input")
    if x_val.dtype.kind in "fc":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_SCALAR_TYPE_NAMES[x_val.dtype.name]}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if x_val.ndim != 1 or (x_val.size and x_val.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _constant(np.bincount(x_val, minlength=minlength).astype(_INT64))
    weight_val = array_of(weights)
    out_dtype = weight_val.dtype if weight_val.dtype.kind == "f" else np.dtype(np.float64)
    return _constant(np.bincount(x_val, weight_val, minlength).astype(out_dtype))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """For each entry, the index of its bucket among the sorted 1-D `boundaries`: boundaries[i-1] < x <=
    boundaries[i] (right=False), boundaries[i-1] <= x < boundaries[i] (right=True)."""
    bounds = _tensor_array(boundaries, "bucketize", 2, "boundaries")
    if bounds.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({bounds.ndim})")
    positions = np.searchsorted(bounds, array_of(input), side="right" if right else "left")
    return _constant(np.asarray(positions).astype(np.int32 if out_int32 else _INT64))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value would be inserted to keep each row of `sorted_sequence` sorted (its last dim; the
    leading dims match `input`'s): the count of entries < value ('left') or <= value ('right')."""
    sequence = _tensor_array(sorted_sequence, "searchsorted", 1, "sorted_sequence")
    values = np.asarray(array_of(input))
    if side is not None and (side == "right") != right and right:
        raise RuntimeError(f"torch.searchsorted(): side and right can't be set to opposites, got side of {side} "
                           f"while right was True")
    right = right or side == "right"
    if sorter is not None:
        sequence = np.take_along_axis(sequence, array_of(sorter), -1)
    if sequence.ndim > 1 and sequence.shape[:-1] != values.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(sequence.shape)} and input value tensor {list(values.shape)}")
    if sequence.ndim == 1:
        positions = np.searchsorted(sequence, values, side="right" if right else "left")
    else:  # row by row, vectorised: count the entries before each value
        before = np.less_equal if right else np.less
        positions = before(sequence[..., None, :], values[..., :, None]).sum(axis=-1)
    return _constant(np.asarray(positions).astype(np.int32 if out_int32 else _INT64))


def histc(input, bins=100, min=0, max=0):
    """A histogram of the entries in `bins` equal bins over [min, max] (the data's range when both are 0;
    widened by 1 each way when that range is a point); entries outside are ignored, the top edge counts in
    the last bin. The counts have the input's float dtype."""
    x_val = _tensor_array(input, "histc", 1, "input")
    if x_val.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_SCALAR_TYPE_NAMES[x_val.dtype.name]}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    low, high = float(min), float(max)
    if low == high and x_val.size:
        low, high = float(x_val.min()), float(x_val.max())
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise RuntimeError("torch.histc: max must be larger than min")
    inside = x_val[(x_val >= low) & (x_val <= high)]
    position = ((inside - low) * bins / (high - low)).astype(_INT64)
    position[position == bins] = bins - 1  # the top edge belongs to the last bin
    return _constant(np.bincount(position, minlength=bins).astype(x_val.dtype))
