"""Normalisation as fused ops: batch_norm and layer_norm with hand-derived backward passes.

Both normalise x over a set of axes R holding n entries per group:

    mean = sum_R x / n        var = sum_R (x - mean)^2 / n        (biased, as in the forward of both)
    x_hat = (x - mean) * rstd,  rstd = 1 / sqrt(var + eps)
    y = x_hat * weight + bias

Backward, with g = dL/dy and dx_hat = g * weight (llm.c's layernorm derivation):

    dL/dbias   = sum g              over every axis but the feature axes
    dL/dweight = sum g * x_hat      likewise
    dL/dx      = rstd / n * (n * dx_hat - sum_R dx_hat - x_hat * sum_R (dx_hat * x_hat))

The last line folds in the gradient through mean and var: term 1 is the direct
path, term 2 the path through the mean, term 3 the path through the variance.
"""
import numpy as np

from . import kernels, norm_kernels
from .base import array_of, needs_grad, record


def _normalize_backward(grad_x_hat, x_hat, rstd, axes, n, sum_across=None, owned=False):
    """dL/dx from dL/dx_hat for x_hat = (x - mean) * rstd normalised over `axes` (n entries per group).
    With `sum_across` (sync_batch_norm), the groups span processes: terms 2 and 3 sum over all of them.
    `owned`: grad_x_hat is the caller's temporary, free to become dL/dx in place. The line
    rstd / n * (n * dx_hat - term 2 - x_hat * term 3) is evaluated in place, in the same order: the same
    bits with two full-size arrays where the expression makes six."""
    term_mean = grad_x_hat.sum(axis=axes, keepdims=True)  # term 2: through the mean
    scratch = grad_x_hat * x_hat
    term_var = scratch.sum(axis=axes, keepdims=True)  # term 3: through the variance
    if sum_across is not None:
        term_mean, term_var = sum_across(term_mean, term_var)
    owned = owned and grad_x_hat.dtype == scratch.dtype  # else the expression would widen dx_hat first
    grad_x = np.multiply(grad_x_hat, n, out=grad_x_hat if owned else None, dtype=scratch.dtype)  # term 1: direct
    grad_x -= term_mean
    grad_x -= np.multiply(x_hat, term_var, out=scratch)
    grad_x *= rstd / n
    return grad_x


def _affine(x_hat, w_val, b_val, spare):
    """y = x_hat * weight + bias (each optional, shaped to broadcast) written into `spare`, a free array of
    x_hat's shape and dtype, where the dtypes allow; y is never x_hat itself (the backward reads x_hat)."""
    first = w_val if w_val is not None else b_val
    if first is None:
        np.copyto(spare, x_hat)
        return spare
    operation = np.multiply if w_val is not None else np.add
    y = operation(x_hat, first, out=spare if np.result_type(x_hat, first) == spare.dtype else None)
    if w_val is not None and b_val is not None:
        y += b_val
    return y


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over every axis but the channel axis 1: x is (N, C), (N, C, L) or (N, C, H, W).

    Training: normalise with the batch statistics (see the module docstring for the
    backward) and update the running statistics in place:
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)   (unbiased, as PyTorch)
    Evaluation: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, an affine map,
    so dL/dx = g * weight * rstd.
    With the `fast` extra, training runs one compiled pass per channel each way (norm_kernels.py, for
    float32/float64 C-contiguous arrays of one dtype and more than one channel), with the same bits.
    Saves `saved_x_hat` (x_hat, n entries) and `saved_rstd` (rstd, C entries) where the gradients asked for
    read them, and `saved_w` (the weight) when x needs a gradient; the compiled passes save, instead of x_hat,
    `x_planes` (x itself, which PyTorch saves too) and `saved_mean` (C entries), as PyTorch does."""
    x_val = array_of(x)
    if x_val.ndim < 2 and x_val.size == 0:  # PyTorch passes an empty 1-D input through, statistics untouched
        return record(batch_norm, x_val.copy(), (x,), _empty_batch_backward)
    if x_val.ndim < 2:
        raise ValueError(f"batch_norm: expected 2D or more input (N, C, ...), got shape {x_val.shape}")
    channels = x_val.shape[1]
    axes = (0,) + tuple(range(2, x_val.ndim))
    n = x_val.size // channels
    param_shape = (1, channels) + (1,) * (x_val.ndim - 2)  # broadcasts (C,) over (N, C, ...)
    w_val = None if weight is None else array_of(weight)
    b_val = None if bias is None else array_of(bias)
    _check_batch_norm_arguments(x_val, channels, n, training, w_val, b_val, running_mean)
    compiled = _compiled_batch_norm(x, running_mean, running_var, weight, bias, momentum, eps) if training else None
    if compiled is not None:
        return compiled
    if training:
        x_hat, rstd, spare = _batch_statistics(x_val, axes, eps, running_mean, running_var, momentum)
    else:
        if running_mean is None:
            raise ValueError("batch_norm: running_mean and running_var are required when training=False")
        mean = array_of(running_mean).reshape(param_shape)
        rstd = (1.0 / np.sqrt(array_of(running_var) + eps)).reshape(param_shape)
        x_hat = x_val - mean
        x_hat *= rstd
        spare = None
    x_hat = x_hat.astype(x_val.dtype, copy=False)
    rstd = rstd.astype(x_val.dtype, copy=False)
    y = _affine(x_hat, None if w_val is None else w_val.reshape(param_shape),
                None if b_val is None else b_val.reshape(param_shape), np.empty_like(x_hat) if spare is None else spare)

    x_needs, w_needs, b_needs = needs_grad(x), needs_grad(weight), needs_grad(bias)
    saved_x_hat = x_hat if (x_needs and training) or w_needs else None  # eval's dL/dx reads only rstd
    saved_rstd = rstd if x_needs else None
    saved_w = w_val.reshape(param_shape) if x_needs and w_val is not None else None

    def batch_norm_backward(grad_out):
        grad_x = grad_w = grad_b = None
        if x_needs:
            grad_x_hat = grad_out * saved_w if saved_w is not None else grad_out
            if training:
                grad_x = _normalize_backward(grad_x_hat, saved_x_hat, saved_rstd, axes, n, owned=saved_w is not None)
            else:
                grad_x = grad_x_hat * saved_rstd
        if w_needs:
            grad_w = (grad_out * saved_x_hat).sum(axis=axes)
        if b_needs:
            grad_b = grad_out.sum(axis=axes)
        return grad_x, None, None, grad_w, grad_b

    return record(batch_norm, y, (x, running_mean, running_var, weight, bias), batch_norm_backward,
                  saved=(x, weight))


def _compiled_batch_norm(x, running_mean, running_var, weight, bias, momentum, eps):
    """Training-mode batch_norm through its compiled passes (norm_kernels.py), or None where they do not apply
    (kernels off, a dtype they do not cover, an array that is not C-contiguous, parameters of another dtype, no
    entries, one channel: NumPy then sums the whole batch as one contiguous run, not plane by plane)."""
    x_val, w_val, b_val = array_of(x), None if weight is None else array_of(weight), None if bias is None else array_of(
        bias)
    applies = x_val.size > 0 and x_val.shape[1] > 1 and _rows_of_one_dtype(x_val, w_val, b_val)
    forward = kernels.compiled(norm_kernels.batch_norm_forward, x_val.dtype) if applies else None
    if forward is None:
        return None
    x_planes, x_shape, dtype = x_val.reshape(x_val.shape[0], x_val.shape[1], -1), x_val.shape, x_val.dtype  # (N, C, S)
    channels, n = x_planes.shape[1], x_val.size // x_planes.shape[1]
    y = np.empty_like(x_val)
    saved_mean, var, saved_rstd = np.empty(channels, dtype), np.empty(channels, dtype), np.empty(channels, dtype)
    forward(x_planes, w_val, b_val, dtype.type(eps), y.reshape(x_planes.shape), saved_mean, var, saved_rstd)
    if running_mean is not None:
        _update_running_statistics(running_mean, running_var, saved_mean, var, n, momentum)
    x_needs, w_needs, b_needs = needs_grad(x), needs_grad(weight), needs_grad(bias)
    saved_w = w_val if x_needs else None
    backward = kernels.compiled(norm_kernels.batch_norm_backward, dtype)  # compiles on its first call, if any

    def batch_norm_backward(grad_out):
        grad_x, grad_w, grad_b = np.empty_like(x_planes), np.empty(channels, dtype), np.empty(channels, dtype)
        g = np.ascontiguousarray(grad_out, dtype).reshape(x_planes.shape)  # C-contiguous, y's dtype (see layer_norm)
        backward(x_planes, saved_mean, saved_rstd, saved_w, g, grad_x, grad_w, grad_b)
        return (grad_x.reshape(x_shape) if x_needs else None, None, None, grad_w if w_needs else None,
                grad_b if b_needs else None)

    return record(batch_norm, y, (x, running_mean, running_var, weight, bias), batch_norm_backward,
                  saved=(x, weight))


def _empty_batch_backward(grad_out):
    """An empty batch's gradient: g itself, as empty as x."""
    return (grad_out,)


def _check_batch_norm_arguments(x_val, channels, n, training, w_val, b_val, running_mean):
    for name, param in (("weight", w_val), ("bias", b_val), ("running_mean", running_mean)):
        if param is not None and array_of(param).shape != (channels,):
            raise ValueError(f"batch_norm: {name} has shape {array_of(param).shape}, expected ({channels},) for "
                             f"input of shape {x_val.shape}")
    if training and n <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input size "
                         f"{x_val.shape}")


def _batch_statistics(x_val, axes, eps, running_mean, running_var, momentum):
    """Training-mode batch norm: x_hat and rstd from the batch's mean and (biased) variance over `axes`,
    and the running statistics updated in place (the variance unbiased, as in PyTorch); also the array that
    held the squares, free for the output."""
    channels, n = x_val.shape[1], x_val.size // x_val.shape[1]
    mean = x_val.mean(axis=axes, keepdims=True)  # (1, C, 1...)
    x_hat = x_val - mean  # centred; scaled in place below
    spare = x_hat * x_hat
    var = np.mean(spare, axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    if running_mean is not None:
        _update_running_statistics(running_mean, running_var, mean.reshape(channels), var.reshape(channels), n,
                                   momentum)
    x_hat *= rstd
    return x_hat, rstd, spare


def _update_running_statistics(running_mean, running_var, mean, var, n, momentum):
    """running <- (1 - momentum) running + momentum batch, in place; the variance unbiased (n / (n - 1)),
    as in PyTorch."""
    rm, rv = array_of(running_mean), array_of(running_var)
    rm *= 1 - momentum
    rm += momentum * mean
    rv *= 1 - momentum
    rv += momentum * var * (n / (n - 1))


def sync_batch_norm(x, running_mean, running_var, weight, bias, momentum, eps, sum_across):
    """Training-mode batch norm whose batch is spread over processes (SyncBatchNorm): each holds a part of
    it, and `sum_across(*arrays)` returns the arrays summed over all of them (an all-reduce). The statistics
    are the whole batch's, in two passes as batch_norm's (n = the entries per channel in all the parts):

        mean = sum_all x / n,   var = sum_all (x - mean)^2 / n,   running statistics as batch_norm

    Backward: batch_norm's, with the sums of terms 2 and 3 taken over all the parts (one all-reduce):
        dL/dx = rstd / n * (n * dx_hat - sum_all dx_hat - x_hat * sum_all (dx_hat * x_hat))
    dL/dweight and dL/dbias sum over this part only: DistributedDataParallel averages them across processes.
    Saves `saved_x_hat` and `saved_rstd` where the gradients asked for read them, and `saved_w` (the weight)
    when x needs a gradient; the closure keeps the function sum_across too (it holds no array)."""
    x_val = array_of(x)
    channels = x_val.shape[1]
    axes = (0,) + tuple(range(2, x_val.ndim))
    param_shape = (1, channels) + (1,) * (x_val.ndim - 2)
    w_val = None if weight is None else array_of(weight)
    count, total = sum_across(np.array([x_val.size // channels], x_val.dtype), x_val.sum(axis=axes, keepdims=True))
    n = int(count[0])
    _check_batch_norm_arguments(x_val, channels, n, True, w_val, None if bias is None else array_of(bias), running_mean)
    mean = total / n
    centered = x_val - mean
    var = sum_across(np.sum(centered * centered, axis=axes, keepdims=True))[0] / n
    rstd = 1.0 / np.sqrt(var + eps)
    if running_mean is not None:
        _update_running_statistics(running_mean, running_var, mean.reshape(channels), var.reshape(channels), n,
                                   momentum)
    x_hat = centered * rstd
    y = x_hat * w_val.reshape(param_shape) if w_val is not None else x_hat.copy()
    if bias is not None:
        y += array_of(bias).reshape(param_shape)

    x_needs, w_needs, b_needs = needs_grad(x), needs_grad(weight), needs_grad(bias)
    saved_x_hat = x_hat if x_needs or w_needs else None
    saved_rstd = rstd if x_needs else None
    saved_w = w_val.reshape(param_shape) if x_needs and w_val is not None else None

    def sync_batch_norm_backward(grad_out):
        grad_x = grad_w = grad_b = None
        if x_needs:
            grad_x_hat = grad_out * saved_w if saved_w is not None else grad_out
            grad_x = _normalize_backward(grad_x_hat, saved_x_hat, saved_rstd, axes, n, sum_across)
        if w_needs:
            grad_w = (grad_out * saved_x_hat).sum(axis=axes)
        if b_needs:
            grad_b = grad_out.sum(axis=axes)
        return grad_x, None, None, grad_w, grad_b

    return record(sync_batch_norm, y, (x, running_mean, running_var, weight, bias), sync_batch_norm_backward,
                  saved=(x, weight))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the trailing dims `normalized_shape`; weight and bias have that shape.

    Forward and backward as in the module docstring with R = the trailing axes;
    dL/dweight and dL/dbias sum over the leading (batch) axes. With the `fast` extra, one compiled pass each
    way (norm_kernels.py, for float32/float64 C-contiguous arrays of one dtype), with the same bits.
    Saves `x_hat` and `saved_rstd` (rstd, when x needs a gradient), and `saved_w` (the weight) when x needs one;
    the compiled passes save, instead of x_hat, `x_rows` (x itself, which PyTorch saves too), `saved_mean` and
    `saved_rstd` (one entry per row), as PyTorch does."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    if not normalized_shape:  # PyTorch's check and wording
        raise RuntimeError("layer_norm: expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                           "least one element, but got normalized_shape = []")
    x_val = array_of(x)
    k = len(normalized_shape)
    if x_val.shape[x_val.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {x_val.shape} does not end in normalized_shape "
                         f"{normalized_shape}")
    axes = tuple(range(x_val.ndim - k, x_val.ndim))
    lead_axes = tuple(range(x_val.ndim - k))
    n = int(np.prod(normalized_shape))
    w_val = None if weight is None else array_of(weight)
    b_val = None if bias is None else array_of(bias)
    compiled = _compiled_layer_norm(x, weight, bias, x_val, w_val, b_val, normalized_shape, eps)
    if compiled is not None:
        return compiled

    mean = x_val.mean(axis=axes, keepdims=True)
    x_hat = x_val - mean  # centred; scaled in place below
    spare = x_hat * x_hat  # the squares, then y's array
    rstd = 1.0 / np.sqrt(np.mean(spare, axis=axes, keepdims=True) + eps)
    x_hat *= rstd
    y = _affine(x_hat, w_val, b_val, spare)

    x_needs, w_needs, b_needs = needs_grad(x), needs_grad(weight), needs_grad(bias)
    saved_rstd = rstd if x_needs else None
    saved_w = w_val if x_needs and w_val is not None else None

    def layer_norm_backward(grad_out):
        grad_x = grad_w = grad_b = None
        if x_needs:
            grad_x_hat = grad_out * saved_w if saved_w is not None else grad_out
            grad_x = _normalize_backward(grad_x_hat, x_hat, saved_rstd, axes, n, owned=saved_w is not None)
        if w_needs:
            grad_w = (grad_out * x_hat).sum(axis=lead_axes)
        if b_needs:
            grad_b = grad_out.sum(axis=lead_axes)
        return grad_x, grad_w, grad_b

    return record(layer_norm, y, (x, weight, bias), layer_norm_backward, saved=(x, weight))


def _compiled_layer_norm(x, weight, bias, x_val, w_val, b_val, normalized_shape, eps):
    """layer_norm through its compiled passes (norm_kernels.py), or None where they do not apply (kernels off, a
    dtype they do not cover, an array that is not C-contiguous, a weight or bias of another dtype, no entries,
    rows of one entry: NumPy then sums dL/dweight's column as a contiguous run, pairwise, not row after row)."""
    n = int(np.prod(normalized_shape))
    applies = x_val.size > 0 and n > 1 and _rows_of_one_dtype(x_val, w_val, b_val)
    forward = kernels.compiled(norm_kernels.layer_norm_forward, x_val.dtype) if applies else None
    if forward is None:
        return None
    x_rows, x_shape, dtype = x_val.reshape(-1, n), x_val.shape, x_val.dtype  # the normalised axes flattened
    y = np.empty_like(x_val)
    saved_mean, saved_rstd = np.empty(len(x_rows), dtype), np.empty(len(x_rows), dtype)
    w_flat = None if w_val is None else w_val.reshape(n)
    forward(x_rows, w_flat, None if b_val is None else b_val.reshape(n), dtype.type(eps), y.reshape(x_rows.shape),
            saved_mean, saved_rstd)
    x_needs, w_needs, b_needs = needs_grad(x), needs_grad(weight), needs_grad(bias)
    saved_w = w_flat if x_needs else None
    backward = kernels.compiled(norm_kernels.layer_norm_backward, dtype)  # compiles on its first call, if any

    def layer_norm_backward(grad_out):
        grad_x, grad_w, grad_b = np.empty_like(x_rows), np.zeros(n, dtype), np.zeros(n, dtype)
        # C-contiguous, y's dtype (a .sum()'s g is a broadcast view: walked in place, 3x slower than this copy)
        g = np.ascontiguousarray(grad_out, dtype).reshape(x_rows.shape)
        backward(x_rows, saved_mean, saved_rstd, saved_w, g, grad_x, grad_w, grad_b)
        return (grad_x.reshape(x_shape) if x_needs else None, grad_w.reshape(normalized_shape) if w_needs else None,
                grad_b.reshape(normalized_shape) if b_needs else None)

    return record(layer_norm, y, (x, weight, bias), layer_norm_backward, saved=(x, weight))


def _rows_of_one_dtype(x_val, *params):
    """Whether the row kernels can take x_val and the parameters (each an array or None): C-contiguous ndarrays
    of one dtype."""
    arrays = [x_val] + [p for p in params if p is not None]
    return all(isinstance(a, np.ndarray) and a.flags.c_contiguous and a.dtype == x_val.dtype for a in arrays)
