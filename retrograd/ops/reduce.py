"""Reductions with `dim` and `keepdim`, each with its VJP.

Notation: y is the output, g = dL/dy (`grad_out`), g~ is g with the reduced
axes put back as size-1 axes (`_unreduce`), so that it broadcasts against x.
`dim` follows PyTorch: an int, a tuple/list of ints (negative allowed), or None;
an empty tuple means "all dims" (except for `all`/`any`, where it reduces nothing).
Ties: `max()`/`min()` without dim, `amax`/`amin` and the inf-norm split the
gradient evenly among tied entries; `max`/`min` with dim send it to the returned
index, the first occurrence (PyTorch's choices).
float16: sum, mean, cumsum, var, std, norm and logsumexp compute in float32 and
round the result to float16 once, forward and backward, as PyTorch does on the CPU
(`accumulation_dtype`).
"""
import builtins
import collections
import math
import warnings

import numpy as np

from ..tensor import Tensor
from .base import OUTPUT, accumulation_dtype, array_of, normalize_dims, pass_where, record, to_float
from .elementwise import maximum, minimum, signum

# PyTorch's torch.return_types.max / .min: a tuple with .values and .indices
MaxMin = collections.namedtuple("MaxMin", ["values", "indices"])

_INT64 = np.dtype(np.int64)


# ----- shared helpers -----------------------------------------------------------
def _axes(dim, ndim, op_name):
    """None (reduce everything) or a sorted tuple of distinct axes. dim=() means all dims, as in PyTorch."""
    if dim is None:
        return None
    axes = normalize_dims(dim, ndim, op_name)
    if not axes or ndim == 0:
        return None
    if len(set(axes)) != len(axes):
        repeated = next(a for a in axes if axes.count(a) > 1)
        raise RuntimeError(f"{op_name}: dim {repeated} appears multiple times in the list of dims")
    return axes


def _one_axis(dim, ndim, op_name):
    """A single int `dim` as an axis (None for a 0-d input, which only dim 0/-1 can name)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op_name}: dim must be an int, got {type(dim).__name__} ({dim!r})")
    return _axes(int(dim), ndim, op_name)


def _count(shape, axes):
    """How many entries of x each output entry reduces."""
    return math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)


def _unreduce(grad_out, axes, keepdim):
    """g~: g with the reduced axes restored as size-1 axes (broadcasts against x)."""
    if keepdim or axes is None:
        return grad_out
    return np.expand_dims(grad_out, axes)


def _squeeze(kept, axes, keepdim):
    """A keepdims=True result in the shape the caller asked for."""
    if keepdim:
        return kept
    return kept.reshape(()) if axes is None else np.squeeze(kept, axis=axes)


def _as_grad(grad, x_shape, x_dtype):
    """The gradient in x's dtype and shape (a read-only broadcast view when that is enough)."""
    if grad.dtype != x_dtype:
        grad = grad.astype(x_dtype)
    return np.broadcast_to(grad, x_shape)


def _require_float(x_val, op_name, what="floating point"):
    if x_val.dtype.kind not in "fc":
        raise RuntimeError(f"{op_name}(): expected a {what} input, got {x_val.dtype} "
                           f"(convert with .float() or pass dtype=)")


def _nonempty(op_name, reduce, *args, **kwargs):
    """Run a max/min-like NumPy reduction, naming the op when a reduced dim is empty."""
    try:
        return reduce(*args, **kwargs)
    except ValueError:
        raise IndexError(f"{op_name}(): Expected reduction dim to have non-zero size "
                         f"(the input has shape {np.shape(args[0])}).") from None


# ----- sums and products --------------------------------------------------------
def sum(x, dim=None, keepdim=False, dtype=None):
    """y = sum of x over `dim` ;  dL/dx = g~ broadcast back over the summed axes.

    bool and integer inputs sum to int64, as in PyTorch; `dtype` casts x first.
    Saves nothing (only x's shape and dtype)."""
    x_val = array_of(x)
    axes = _axes(dim, np.ndim(x_val), "sum")
    if dtype is not None:
        summed = x_val.astype(dtype, copy=False)
        y = np.add.reduce(summed, axis=axes, keepdims=keepdim, dtype=accumulation_dtype(summed.dtype))
        y = np.asarray(y).astype(summed.dtype, copy=False)
    elif x_val.dtype.kind in "biu":
        y = np.add.reduce(x_val, axis=axes, dtype=_INT64, keepdims=keepdim)
    else:
        y = np.add.reduce(x_val, axis=axes, keepdims=keepdim, dtype=accumulation_dtype(x_val.dtype))
        y = np.asarray(y).astype(x_val.dtype, copy=False)
    x_shape, x_dtype = x_val.shape, x_val.dtype

    def sum_backward(grad_out):
        return (_as_grad(_unreduce(grad_out, axes, keepdim), x_shape, x_dtype),)

    return record(sum, np.asarray(y), (x,), sum_backward)


def mean(x, dim=None, keepdim=False, dtype=None):
    """y = (1/n) * sum of x over `dim` ;  dL/dx = g~ / n broadcast back, n = entries averaged per output.

    Integer inputs are an error unless `dtype` is a float (PyTorch's rule).
    Saves nothing (only x's shape, dtype and n)."""
    x_val = array_of(x)
    if dtype is not None:
        x_val = x_val.astype(dtype, copy=False)
    _require_float(x_val, "mean", "floating point or complex")
    axes = _axes(dim, x_val.ndim, "mean")
    n = _count(x_val.shape, axes)
    acc = accumulation_dtype(x_val.dtype)
    if n:
        y = np.add.reduce(x_val, axis=axes, keepdims=keepdim, dtype=acc) / n
    else:
        y = np.mean(x_val, axis=axes, keepdims=keepdim)
    y = np.asarray(y).astype(x_val.dtype, copy=False)
    x_shape, x_dtype = x_val.shape, array_of(x).dtype

    def mean_backward(grad_out):
        grad = np.divide(_unreduce(grad_out, axes, keepdim), n, dtype=acc)  # n itself may exceed float16
        return (_as_grad(grad, x_shape, x_dtype),)

    return record(mean, np.asarray(y), (x,), mean_backward)


def prod(x, dim=None, keepdim=False, dtype=None):
    """y = product of x over `dim` (one int dim, or all) ;  dL/dx_i = g~ * prod_{j != i} x_j.

    Without zeros in x that is g~ * y / x_i. With zeros, division is wrong (0/0), so the
    product of the others is built from exclusive cumulative products from both ends:
    one zero in a slice gives its position the product of the rest and the others 0;
    two or more zeros give the whole slice 0, and over all dims (dim=None) exactly 0 everywhere even
    beside an inf or NaN, as PyTorch's shortcut does. Saves `x_val` (x) and `y`."""
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod: dim must be a single int or None (PyTorch's prod reduces one dim or all)")
    x_val = array_of(x)
    axes = None if dim is None else _one_axis(dim, np.ndim(x_val), "prod")
    if dtype is not None:
        x_val = x_val.astype(dtype, copy=False)
    y = np.multiply.reduce(x_val, axis=axes, keepdims=keepdim,
                           dtype=_INT64 if x_val.dtype.kind in "biu" else None)
    x_dtype = array_of(x).dtype

    def prod_backward(grad_out):
        g = _unreduce(grad_out, axes, keepdim)
        if np.all(x_val != 0):
            grad = g * (_unreduce(y, axes, keepdim) / x_val)
        elif axes is None and np.count_nonzero(x_val == 0) > 1:
            grad = np.zeros(x_val.shape, g.dtype)
        elif axes is None:
            grad = g * _product_of_others(x_val.reshape(-1), 0).reshape(x_val.shape)
        else:
            grad = g * _product_of_others(x_val, axes[0])
        return (grad.astype(x_dtype, copy=False),)

    return record(prod, np.asarray(y), (x,), prod_backward, saved=(x, OUTPUT))


def _product_of_others(x_val, axis):
    """For every entry, the product of all other entries along `axis`, without division.

    before[i] = x_0 * ... * x_{i-1},  after[i] = x_{i+1} * ... * x_{n-1},  result = before * after."""
    n = x_val.shape[axis]
    head = (slice(None),) * axis
    before, after = np.ones_like(x_val), np.ones_like(x_val)
    np.cumprod(x_val[head + (slice(0, n - 1),)], axis=axis, out=before[head + (slice(1, None),)])
    np.cumprod(np.flip(x_val, axis)[head + (slice(0, n - 1),)], axis=axis,
               out=np.flip(after, axis)[head + (slice(1, None),)])
    return before * after


def cumsum(x, dim, dtype=None):
    """y_i = x_0 + ... + x_i along `dim` ;  dL/dx_i = g_i + ... + g_{n-1}: the reversed cumulative sum of g.

    bool and integer inputs give int64. Saves nothing."""
    x_val = array_of(x)
    axis = _one_axis(dim, np.ndim(x_val), "cumsum")
    if dtype is None and x_val.dtype.kind in "biu":
        dtype = _INT64
    if axis is None:  # 0-d: the identity
        y = np.array(x_val, dtype=dtype)
    else:
        out_dtype = x_val.dtype if dtype is None else np.dtype(dtype)
        y = np.cumsum(x_val, axis=axis[0], dtype=accumulation_dtype(out_dtype)).astype(out_dtype, copy=False)
    x_dtype = x_val.dtype

    def cumsum_backward(grad_out):
        if axis is None:
            return (grad_out.astype(x_dtype, copy=False),)
        acc = accumulation_dtype(grad_out.dtype)
        grad = np.flip(np.cumsum(np.flip(grad_out, axis[0]), axis=axis[0], dtype=acc), axis[0])
        return (grad.astype(x_dtype, copy=False),)

    return record(cumsum, y, (x,), cumsum_backward)


# ----- moments --------------------------------------------------------------------
def _correction(dim, unbiased, correction, op_name):
    if isinstance(dim, bool):  # x.var(False): PyTorch's positional `unbiased`
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op_name}: cannot specify both unbiased and correction")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _centered(x, dim, correction, op_name):
    """x - mean, sum of squares (keepdims) and the degrees of freedom n - correction (clipped at 0).

    x - mean and the squares are in the accumulation dtype (float32 for float16 x)."""
    x_val = array_of(x)
    _require_float(x_val, op_name)
    axes = _axes(dim, x_val.ndim, op_name)
    n = _count(x_val.shape, axes)
    x_acc = x_val.astype(accumulation_dtype(x_val.dtype), copy=False)
    centered = x_acc - np.add.reduce(x_acc, axis=axes, keepdims=True) / n
    squares = np.add.reduce(centered * centered, axis=axes, keepdims=True)
    dof = builtins.max(n - correction, 0)
    if dof == 0:
        warnings.warn(f"{op_name}(): degrees of freedom is <= 0 (correction {correction} for {n} entries)",
                      RuntimeWarning, stacklevel=3)
    return x_val, axes, centered, squares, dof


def _divide(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """y = sum (x - mean)^2 / (n - c) over `dim`, c = correction (default 1; unbiased=False means 0)

    dL/dx = g~ * 2 (x - mean) / (n - c)   (the mean's own dependence on x cancels: sum (x - mean) = 0).
    Saves `centered` (x - mean)."""
    dim, c = _correction(dim, unbiased, correction, "var")
    x_val, axes, centered, squares, dof = _centered(x, dim, c, "var")
    y = _squeeze(_divide(squares, float(dof)), axes, keepdim).astype(x_val.dtype, copy=False)
    scale = 2.0 / dof if dof > 0 else math.inf
    x_dtype = x_val.dtype

    def var_backward(grad_out):
        with np.errstate(invalid="ignore"):
            return ((scale * _unreduce(grad_out, axes, keepdim) * centered).astype(x_dtype, copy=False),)

    return record(var, y, (x,), var_backward, saved=(x,))  # x - mean is a copy; x as PyTorch


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """y = sqrt(var(x)) (see var for dim/unbiased/correction)

    dL/dx = g~ / (2 y) * 2 (x - mean) / (n - c) = g~ * (x - mean) / ((n - c) * y).
    Where y = 0 (a constant slice) the gradient is 0, PyTorch's choice.
    Saves `centered` (x - mean) and `y_kept` (y with the reduced axes kept)."""
    dim, c = _correction(dim, unbiased, correction, "std")
    x_val, axes, centered, squares, dof = _centered(x, dim, c, "std")
    y_kept = np.sqrt(_divide(squares, float(dof)))
    scale = 2.0 / dof if dof > 0 else math.inf
    x_dtype = x_val.dtype

    def std_backward(grad_out):
        g = _unreduce(grad_out, axes, keepdim)
        half = np.divide(g, 2 * y_kept, out=np.zeros(y_kept.shape, y_kept.dtype), where=y_kept != 0)
        with np.errstate(invalid="ignore"):
            return ((scale * half * centered).astype(x_dtype, copy=False),)

    return record(std, _squeeze(y_kept, axes, keepdim).astype(x_dtype, copy=False), (x,), std_backward,
                  saved=(x, OUTPUT))


# ----- max and min ------------------------------------------------------------------
def max(x, dim=None, keepdim=False):
    """max(x): y = the largest entry ;  dL/dx = g / k on each of the k entries equal to y, +0.0 elsewhere.
    max(x, dim): (values, indices) ;  dL/dx = g at the returned index along dim, 0 elsewhere.

    Ties: the full reduction splits the gradient evenly (NaN counts as the maximum when y is NaN);
    with dim the index is the first occurrence, and only it gets the gradient (PyTorch's choices).
    max(x, other_tensor) is the elementwise maximum.
    Saves `x_val` (x) and `y` without dim, `index` (the chosen positions) with dim."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    if dim is None:
        return _extreme_all(max, x, np.max)
    return _extreme_dim(max, x, dim, keepdim, np.argmax)


def min(x, dim=None, keepdim=False):
    """min(x): y = the smallest entry ;  dL/dx = g / k on each of the k entries equal to y, +0.0 elsewhere.
    min(x, dim): (values, indices) ;  dL/dx = g at the returned index along dim, 0 elsewhere.

    Ties as for max: split evenly without dim, first occurrence with dim.
    min(x, other_tensor) is the elementwise minimum.
    Saves `x_val` (x) and `y` without dim, `index` (the chosen positions) with dim."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    if dim is None:
        return _extreme_all(min, x, np.min)
    return _extreme_dim(min, x, dim, keepdim, np.argmin)


def _extreme_all(op, x, reduce):
    x_val = array_of(x)
    if x_val.size == 0:
        raise RuntimeError(f"{op.__name__}(): Expected reduction dim to be specified for input.numel() == 0. "
                           f"Specify the reduction dim with the 'dim' argument.")
    y = np.asarray(reduce(x_val))

    def extreme_backward(grad_out):
        mask = np.isnan(x_val) if np.isnan(y) else x_val == y
        share = np.broadcast_to(grad_out / int(np.count_nonzero(mask)), mask.shape)
        return (pass_where(share, mask),)  # +0.0 elsewhere, whatever g is: PyTorch fills zeros with the share

    return record(op, y, (x,), extreme_backward, saved=(x, OUTPUT))


def _extreme_dim(op, x, dim, keepdim, pick):
    x_val = array_of(x)
    axes = _one_axis(dim, np.ndim(x_val), op.__name__)
    if axes is None:  # 0-d input: the value itself, index 0
        return MaxMin(record(op, np.array(x_val), (x,), _identity_backward),
                      Tensor._from_array(np.zeros((), _INT64)))
    axis = axes[0]
    if x_val.shape[axis] == 0:
        raise IndexError(f"{op.__name__}(): Expected reduction dim {dim} to have non-zero size.")
    index = pick(x_val, axis=axis, keepdims=True)
    values = np.take_along_axis(x_val, index, axis)
    x_shape, x_dtype = x_val.shape, x_val.dtype

    def extreme_dim_backward(grad_out):
        grad = np.zeros(x_shape, x_dtype)
        np.put_along_axis(grad, index, _unreduce(grad_out, axes, keepdim), axis)
        return (grad,)

    out = record(op, _squeeze(values, axes, keepdim), (x,), extreme_dim_backward)
    return MaxMin(out, Tensor._from_array(_squeeze(index, axes, keepdim).astype(_INT64, copy=False)))


def _identity_backward(grad_out):
    return (grad_out,)


def amax(x, dim=(), keepdim=False):
    """y = max of x over `dim` (default: all) ;  dL/dx = g~ / k on the k entries of each slice equal to y.

    Ties split the gradient evenly (PyTorch's amax; max-with-dim picks one index instead).
    Saves `x_val` (x) and `y`."""
    return _amax_amin(amax, x, dim, keepdim, np.max)


def amin(x, dim=(), keepdim=False):
    """y = min of x over `dim` (default: all) ;  dL/dx = g~ / k on the k entries of each slice equal to y.

    Ties split the gradient evenly, as for amax. Saves `x_val` (x) and `y`."""
    return _amax_amin(amin, x, dim, keepdim, np.min)


def _amax_amin(op, x, dim, keepdim, reduce):
    x_val = array_of(x)
    axes = _axes(dim, np.ndim(x_val), op.__name__)
    y = np.asarray(_nonempty(op.__name__, reduce, x_val, axis=axes, keepdims=keepdim))

    def amax_amin_backward(grad_out):
        mask = x_val == _unreduce(y, axes, keepdim)
        ties = np.add.reduce(mask, axis=axes, keepdims=True, dtype=x_val.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):  # NaN slices: 0 ties, NaN gradient as in PyTorch
            return ((_unreduce(grad_out, axes, keepdim) / ties) * mask,)

    return record(op, y, (x,), amax_amin_backward, saved=(x, OUTPUT))


def logsumexp(x, dim, keepdim=False):
    """y = log sum exp(x) over `dim`, computed as m + log sum exp(x - m) with m = max (no overflow)

    dL/dx = g~ * exp(x - y) = g~ * softmax(x) over dim. An infinite m is replaced by 0 so that all -inf
    gives -inf (PyTorch's rule).
    Saves `exps` (exp(x - m)) and `total` (their sum): the softmax's parts."""
    x_val = to_float(array_of(x))
    out_dtype = x_val.dtype
    x_val = x_val.astype(accumulation_dtype(out_dtype), copy=False)
    axes = _axes(dim, x_val.ndim, "logsumexp")
    shift = np.max(x_val, axis=axes, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(shift), shift, 0)
    exps = np.exp(x_val - shift)
    total = np.add.reduce(exps, axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        y = np.log(total) + shift

    def logsumexp_backward(grad_out):
        with np.errstate(invalid="ignore"):
            return ((_unreduce(grad_out, axes, keepdim) * exps / total).astype(out_dtype, copy=False),)

    return record(logsumexp, _squeeze(y, axes, keepdim).astype(out_dtype, copy=False), (x,), logsumexp_backward,
                  saved=(x, OUTPUT))


# ----- norms -------------------------------------------------------------------------
def _p_norm(x_val, p, axes):
    """(sum |x|^p)^(1/p) over `axes`, kept as size-1 axes (the forward of `norm`)."""
    if p == 2:
        return np.sqrt(np.add.reduce(x_val * x_val, axis=axes, keepdims=True))
    if p == 0:
        return np.add.reduce(x_val != 0, axis=axes, keepdims=True, dtype=x_val.dtype)
    abs_x = np.abs(x_val)
    if p == 1:
        return np.add.reduce(abs_x, axis=axes, keepdims=True)
    if p == math.inf:
        return _nonempty("norm", np.max, abs_x, axis=axes, keepdims=True)
    if p == -math.inf:
        return _nonempty("norm", np.min, abs_x, axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.add.reduce(abs_x ** p, axis=axes, keepdims=True) ** (1.0 / p)


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """y = (sum |x|^p)^(1/p) over `dim` (p = 2 or 'fro' by default; 1; inf = max|x|; -inf = min|x|; 0 = count)

    p = 2:       dL/dx = g~ * x / y
    p = 1:       dL/dx = g~ * sign(x)   (sign(NaN) = 0, as in PyTorch: a NaN entry gets 0)
    p = +-inf:   dL/dx = g~ * sign(x) / k on the k entries with |x| = y (ties split evenly; NaN gets 0)
    p = 0:       dL/dx = 0
    other p:     dL/dx = g~ * sign(x) |x|^(p-1) / y^(p-1)
    Where y = 0 the gradient is 0 (PyTorch's subgradient), and for p < 1 entries x = 0 get 0.
    Saves `saved_x` (x) unless p = 0, and `saved_y` (y) unless p is 0 or 1; |x| is recomputed."""
    if p == "nuc":
        return nuclear_norm(x, dim, keepdim, dtype)
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"norm: p={p!r} is not supported (use 'fro', 'nuc', a number or inf)")
        p = 2
    x_val = array_of(x)
    if dtype is not None:
        x_val = x_val.astype(dtype, copy=False)
    _require_float(x_val, "norm")
    out_dtype = x_val.dtype
    x_val = x_val.astype(accumulation_dtype(out_dtype), copy=False)  # float16: 300^2 alone overflows
    axes = _axes(dim, x_val.ndim, "norm")
    y = _p_norm(x_val, p, axes)
    x_shape, x_dtype = x_val.shape, array_of(x).dtype
    saved_x = x_val if p != 0 else None
    saved_y = y if p not in (0, 1) else None

    def norm_backward(grad_out):
        g = _unreduce(grad_out, axes, keepdim)
        if p == 0:
            return (np.zeros(x_shape, x_dtype),)
        if p == 2:
            grad = saved_x * _safe_divide(g, saved_y)
        elif p == 1:
            grad = signum(saved_x) * g
        elif abs(p) == math.inf:
            abs_x = np.abs(saved_x)
            mask = (abs_x == saved_y) | np.isnan(abs_x)
            grad = signum(saved_x) * ((g / np.add.reduce(mask, axis=axes, keepdims=True, dtype=saved_y.dtype)) * mask)
        elif p < 1:
            with np.errstate(divide="ignore", invalid="ignore"):
                scaled = np.where(saved_x == 0, 0, np.sign(saved_x) * np.abs(saved_x) ** (p - 1))
            grad = scaled * g * saved_y ** (1 - p)
        else:
            grad = np.sign(saved_x) * np.abs(saved_x) ** (p - 1) * _safe_divide(g, saved_y ** (p - 1))
        return (grad.astype(x_dtype, copy=False),)

    return record(norm, _squeeze(y, axes, keepdim).astype(out_dtype, copy=False), (x,), norm_backward,
                  saved=(x, OUTPUT))


def nuclear_norm(x, dim=None, keepdim=False, dtype=None):
    """y = the sum of the singular values of x (over the two dims `dim`, the last two of a 2-D x by default)

    dL/dx = g * U V^T  (x = U diag(s) V^T, the reduced SVD): PyTorch's svdvals gradient with every
    singular value's cotangent g, so zero singular values keep their U, V columns as PyTorch's do.
    Saves `u_vh` (U V^T, x's shape)."""
    x_val = array_of(x) if dtype is None else array_of(x).astype(dtype, copy=False)
    _require_float(x_val, "norm")
    if dim is None and x_val.ndim != 2 or dim is not None and len(tuple(dim)) != 2:
        got = " ".join(str(d) for d in (range(x_val.ndim) if dim is None else dim))
        raise RuntimeError(f"norm: p='nuc' needs dim to be a 2-tuple (a 2-D input by default). Got {got}")
    rows, cols = (-2, -1) if dim is None else (d % x_val.ndim for d in dim)
    matrices = np.moveaxis(x_val, (rows, cols), (-2, -1))  # (..., m, n)
    u, singular_values, vh = np.linalg.svd(matrices, full_matrices=False)
    y = singular_values.sum(axis=-1)  # (...)
    u_vh = np.moveaxis(u @ vh, (-2, -1), (rows, cols))  # x's shape
    axes = tuple(sorted((rows % x_val.ndim, cols % x_val.ndim)))

    def nuclear_norm_backward(grad_out):
        return (_unreduce(grad_out, axes, keepdim) * u_vh,)

    y = np.expand_dims(y, axes) if keepdim else y
    return record(nuclear_norm, y, (x,), nuclear_norm_backward, saved=(x,))


def _safe_divide(g, y):
    """g / y, with 0 where y == 0 (the norm's subgradient at the origin)."""
    return np.divide(g, y, out=np.zeros(np.broadcast_shapes(g.shape, y.shape), y.dtype), where=y != 0)


# ----- no gradient: indices, counts, logic ---------------------------------------------
def argmax(x, dim=None, keepdim=False):
    """Index of the largest entry (flattened when dim is None), int64; the first one among ties. No gradient."""
    return _arg(argmax, x, dim, keepdim, np.argmax)


def argmin(x, dim=None, keepdim=False):
    """Index of the smallest entry (flattened when dim is None), int64; the first one among ties. No gradient."""
    return _arg(argmin, x, dim, keepdim, np.argmin)


def _arg(op, x, dim, keepdim, pick):
    x_val = np.asarray(array_of(x))
    axes = None if dim is None else _one_axis(dim, x_val.ndim, op.__name__)
    if x_val.size == 0 and (axes is None or x_val.shape[axes[0]] == 0):
        raise IndexError(f"{op.__name__}(): Expected reduction dim to be specified for input.numel() == 0.")
    index = pick(x_val, axis=None if axes is None else axes[0], keepdims=keepdim)
    return record(op, np.asarray(index, dtype=_INT64), (), None)


def count_nonzero(x, dim=None):
    """Number of non-zero entries over `dim` (int64). No gradient."""
    x_val = np.asarray(array_of(x))
    axes = _axes(dim, x_val.ndim, "count_nonzero")
    return record(count_nonzero, np.asarray(np.count_nonzero(x_val, axis=axes), dtype=_INT64), (), None)


def all(x, dim=None, keepdim=False):
    """Whether every entry over `dim` is non-zero (bool; uint8 for uint8 input, as in PyTorch). No gradient."""
    return _logical(all, x, dim, keepdim, np.all)


def any(x, dim=None, keepdim=False):
    """Whether some entry over `dim` is non-zero (bool; uint8 for uint8 input, as in PyTorch). No gradient."""
    return _logical(any, x, dim, keepdim, np.any)


def _logical(op, x, dim, keepdim, reduce):
    x_val = np.asarray(array_of(x))
    axes = None if dim is None else normalize_dims(dim, x_val.ndim, op.__name__)  # dim=() reduces nothing
    if x_val.ndim == 0:
        axes = None
    y = np.asarray(reduce(x_val, axis=axes, keepdims=keepdim))
    return record(op, y.astype(np.uint8) if x_val.dtype == np.uint8 else y, (), None)
