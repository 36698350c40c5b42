"""Order statistics, PyTorch's: median, nanmedian, mode, quantile and nanquantile.

Each picks entries of x by their rank, so each is composed: the positions are found without a graph
(NumPy's stable sort) and the values are gathered from x, whose gradient puts g on the picked entries.
The choices are PyTorch's:

- median is the lower median, the entry of rank (n - 1) // 2; with `dim`, ties are broken by position
  (the entry of that rank in the stable order, which is what PyTorch's CPU code returns), and a slice
  holding a NaN gives its first NaN. nanmedian ranks the non-NaN entries only; a slice of NaNs gives
  NaN at its first position (PyTorch's index there is an artefact of its selection algorithm).
  Over all entries (no `dim`) the result is a value without an index, and PyTorch spreads its gradient
  evenly over the entries equal to it (over the NaNs when it is NaN): `median_all` does the same.
- mode is the most frequent value, the smallest one on a tie of counts, at its last position: PyTorch's
  index for slices of up to 16 entries, where its (unstable) sort keeps equal entries in order; beyond
  that PyTorch returns some position of the value. NaNs are not counted as equal (PyTorch's NaN
  handling in mode is inconsistent and not followed).
- quantile q sorts, then interpolates between the entries of ranks floor(r) and ceil(r), r = q (n - 1),
  with lerp (interpolation 'linear'; 'lower', 'higher', 'nearest' round r; 'midpoint' uses weight 1/2);
  a slice with a NaN gives NaN, and nanquantile ranks the non-NaN entries only.
"""
import collections

import numpy as np

from ..tensor import Tensor
from .base import array_of, needs_grad, normalize_dims, record
from .binary_math import lerp
from .elementwise import mul, sub, where
from .indexing import gather
from .shape import expand, movedim, reshape, squeeze, unsqueeze
from .sort import sort

MedianResult = collections.namedtuple("median", ["values", "indices"])  # PyTorch's torch.return_types
NanmedianResult = collections.namedtuple("nanmedian", ["values", "indices"])
ModeResult = collections.namedtuple("mode", ["values", "indices"])

_INT64 = np.dtype(np.int64)
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _reduction_axis(x_val, dim, op_name):
    """The axis `dim` names (None for a 0-d input); an empty reduced dim is refused as PyTorch does."""
    axis = normalize_dims(int(dim), x_val.ndim, op_name)[0]
    if x_val.ndim == 0:
        return None
    if x_val.shape[axis] == 0:
        raise IndexError(f"{op_name}(): Expected reduction dim {axis} to have non-zero size.")
    return axis


def _pick(input, axis, indices, keepdim, dim):
    """(values, indices) of a value-selecting reduction: x gathered at `indices` (keepdims layout)."""
    index_tensor = record(_pick, indices, (), None)
    values = gather(input, dim, index_tensor) if axis is not None else gather(input, 0, index_tensor)
    if keepdim or axis is None:
        return values, index_tensor
    return squeeze(values, axis), record(_pick, np.squeeze(indices, axis), (), None)


def _ranked_position(x_val, axis, ignore_nan):
    """The keepdims int64 positions of the lower median along `axis` (the rule at the top of this file)."""
    order = np.argsort(x_val, axis=axis, kind="stable")  # NaN last, equal entries by position
    n = x_val.shape[axis]
    nans = np.isnan(x_val).sum(axis=axis, keepdims=True) if x_val.dtype.kind == "f" else np.zeros((), _INT64)
    if ignore_nan:
        rank = np.maximum((n - nans - 1) // 2, 0)  # all NaN: rank 0, the first NaN
    else:
        rank = np.where(nans > 0, n - nans, (n - 1) // 2)  # a NaN: the first one, at rank n - nans
    return np.take_along_axis(order, np.broadcast_to(rank, order.shape[:axis] + (1,) + order.shape[axis + 1:]),
                              axis)


def median(input, dim=None, keepdim=False):
    """The lower median of all entries (a value), or (values, indices) along `dim` (rules: top of this file)."""
    return _median(input, dim, keepdim, "median", ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaNs: the lower median of the non-NaN entries (NaN for a slice of NaNs)."""
    return _median(input, dim, keepdim, "nanmedian", ignore_nan=True)


def _median(input, dim, keepdim, op_name, ignore_nan):
    x_val = array_of(input)
    if dim is None:
        return median_all(input, ignore_nan)
    axis = _reduction_axis(x_val, dim, op_name)
    if axis is None:
        indices = np.zeros((), _INT64)
    else:
        indices = _ranked_position(x_val, axis, ignore_nan)
    result = NanmedianResult if ignore_nan else MedianResult
    return result(*_pick(input, axis, indices, keepdim, dim))


def median_all(input, ignore_nan=False):
    """m = the lower median of all entries (of the non-NaN ones if ignore_nan), NaN for no entries.

    dL/dx = g / c on the c entries equal to m (on the NaNs when m is NaN), 0 elsewhere: PyTorch spreads
    the gradient of a whole-tensor median evenly over its ties.  Saves `ties` (the bool mask)."""
    x_val = array_of(input)
    flat = x_val.reshape(-1)
    if flat.size == 0:
        value = np.full((), np.nan, x_val.dtype)
    else:
        value = flat[_ranked_position(flat, 0, ignore_nan)[0]]
    ties = np.isnan(x_val) if value != value else x_val == value

    def median_all_backward(grad_out):
        return (np.where(ties, grad_out / max(int(ties.sum()), 1), 0).astype(grad_out.dtype, copy=False),)

    return record(median_all, np.asarray(value, x_val.dtype), (input,), median_all_backward)


def mode(input, dim=-1, keepdim=False):
    """(values, indices): the most frequent value along `dim` (the smallest on a tie of counts) and its
    last position; composed (values gathered from x, so g goes to that position)."""
    x_val = array_of(input)
    axis = _reduction_axis(x_val, dim, "mode")
    if axis is None:
        return ModeResult(*_pick(input, None, np.zeros((), _INT64), keepdim, dim))
    order = np.argsort(x_val, axis=axis, kind="stable")
    ordered = np.take_along_axis(x_val, order, axis)
    n = x_val.shape[axis]
    shape = [1] * x_val.ndim
    shape[axis] = n
    positions = np.arange(n).reshape(shape)
    starts_run = np.ones(ordered.shape, bool)  # a run of equal values starts where the value changes
    starts_run[(slice(None),) * axis + (slice(1, None),)] = (
        np.take(ordered, range(1, n), axis) != np.take(ordered, range(n - 1), axis))
    run_start = np.maximum.accumulate(np.where(starts_run, positions, 0), axis=axis)
    length_so_far = positions - run_start + 1  # peaks at a run's last entry, the value's last position
    end_of_longest = np.argmax(length_so_far, axis=axis, keepdims=True)  # first maximum: smallest value
    indices = np.take_along_axis(order, end_of_longest, axis)
    return ModeResult(*_pick(input, axis, indices, keepdim, dim))


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles of x (all entries, or along `dim`); a 1-D q adds a leading dim (see the top of this file)."""
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile of the non-NaN entries (NaN for a slice of NaNs)."""
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=True)


def _check_quantile_arguments(x_val, q_val, q_is_tensor, interpolation):
    if x_val.dtype not in (np.float32, np.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if q_is_tensor and q_val.dtype != x_val.dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    if np.ndim(q_val) > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if x_val.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if not q_is_tensor and not 0 <= q_val <= 1:
        raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q_val:g}")
    if q_is_tensor and not np.all((q_val >= 0) & (q_val <= 1)):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, midpoint or "
                           f"nearest, but got {interpolation}")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):
    x_val = array_of(input)
    q_is_tensor = isinstance(q, Tensor)
    q_val = q.array if q_is_tensor else q
    _check_quantile_arguments(x_val, q_val, q_is_tensor, interpolation)
    if dim is None or x_val.ndim == 0:
        work = reshape(input, (-1,))
    else:
        dim = normalize_dims(dim, x_val.ndim, "quantile")[0]
        work = movedim(input, dim, -1)
    ordered = sort(work, -1).values  # NaN last
    q_flat = np.asarray(q_val, x_val.dtype).reshape((-1,) + (1,) * ordered.ndim)  # (nq, 1, ..., 1)
    ranks = _quantile_ranks(ordered.array, q_flat, ignore_nan, interpolation)  # (nq, *rest, 1)
    below = ranks.astype(_INT64)
    spread = expand(unsqueeze(ordered, 0), ranks.shape[0], *ordered.shape)
    values = gather(spread, -1, record(_quantile, below, (), None))
    if interpolation in ("linear", "midpoint"):
        if interpolation == "midpoint":
            weights = record(_quantile, np.full(ranks.shape, 0.5, x_val.dtype), (), None)
        else:
            weights = _linear_weights(q, ranks, below, ordered.array, ignore_nan)
        above = gather(spread, -1, record(_quantile, np.ceil(ranks).astype(_INT64), (), None))
        values = lerp(values, above, weights)
    values = squeeze(values, -1)  # (nq, *rest)
    if keepdim and x_val.ndim:
        kept = (1,) * x_val.ndim if dim is None else x_val.shape[:dim] + (1,) + x_val.shape[dim + 1:]
        values = reshape(values, (values.shape[0],) + kept)
    return squeeze(values, 0) if not q_is_tensor or np.ndim(q_val) == 0 else values


def _linear_weights(q, ranks, below, ordered, ignore_nan):
    """lerp's weights r - floor(r), as a Tensor: built from q when q needs a gradient (PyTorch's quantile is
    differentiable in q in linear mode: dy/dq = (n - 1)(x_above - x_below)), else a constant."""
    if not needs_grad(q):
        return record(_quantile, (ranks - below).astype(ordered.dtype, copy=False), (), None)
    q_column = reshape(q, (-1,) + (1,) * ordered.ndim)
    has_nan = np.isnan(ordered)
    if ignore_nan:
        scale = ((~has_nan).sum(axis=-1, keepdims=True) - 1).astype(ordered.dtype)
        rank = mul(q_column, scale)
        rank = where(rank.array < 0, 0.0, rank)
    else:
        rank = where(has_nan.any(axis=-1, keepdims=True), float(ordered.shape[-1] - 1),
                     mul(q_column, float(ordered.shape[-1] - 1)))
    return sub(rank, below.astype(ordered.dtype))


def _quantile_ranks(ordered, q_flat, ignore_nan, interpolation):
    """The fractional ranks q (n - 1) of each quantile in each sorted slice, as PyTorch computes them."""
    has_nan = np.isnan(ordered)
    if ignore_nan:
        valid = (~has_nan).sum(axis=-1, keepdims=True)
        ranks = np.maximum(q_flat * (valid - 1).astype(ordered.dtype), 0)  # a slice of NaNs: rank 0, NaN
    else:
        last = ordered.shape[-1] - 1
        ranks = np.where(has_nan.any(axis=-1, keepdims=True), last, q_flat * ordered.dtype.type(last))
    ranks = np.asarray(ranks, ordered.dtype)
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)  # half to even, as PyTorch's round
    return np.broadcast_to(ranks, (q_flat.shape[0],) + ordered.shape[:-1] + (1,))
