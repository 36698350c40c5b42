"""Loss functions as fused ops: one forward, one hand-derived VJP each (PyTorch's signatures and numbers).

Notation: x = input, y = target, w = weight, g = dL/d(loss) (`grad_out`), l_i the
per-element (or per-sample) loss before reduction. `reduction` is 'mean'
(divide the sum by the element count N, or by the weights where stated),
'sum', or 'none' (l itself); g~_i is then g / N, g, or g_i. The deprecated
`size_average`/`reduce` flags are honoured as in PyTorch.

float16: the reduction sums in float32 and divides there (a float16 count of 70,000 is inf), and
cross_entropy computes its softmax in float32, each rounding its result to float16 once, as PyTorch.

Weights (`weight`, `pos_weight`) are constants: no gradient flows to them.
Targets receive the gradients PyTorch gives them (regression losses, BCE,
KL divergence, probability targets of cross_entropy); `target.detach()`
stops that flow.
"""
import math
import warnings

import numpy as np

from .base import (
    accumulation_dtype, array_of, binary_operands, check_broadcast, needs_grad, record, to_float, unbroadcast,
)

_REDUCTIONS = ("mean", "sum", "none")


# ----- shared helpers ----------------------------------------------------------------
def _reduction_mode(reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """The reduction string, translating PyTorch's deprecated size_average/reduce flags."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      f"instead.", stacklevel=3)
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction (expected one of {', '.join(allowed)})")
    return reduction


def _reduce(loss, reduction, denominator=None):
    """Apply the reduction to the unreduced loss array (denominator: the divisor of 'mean')."""
    if reduction == "none":
        return np.asarray(loss)  # 0-d NumPy arithmetic gives scalars; ops return arrays
    acc = accumulation_dtype(loss.dtype)
    total = np.asarray(loss.sum(dtype=acc))
    if reduction == "sum":
        return total.astype(loss.dtype, copy=False)
    denominator = np.asarray(loss.size if denominator is None else denominator, dtype=acc)
    if _plain_divisor(denominator):
        return np.asarray(total / denominator, dtype=loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty or fully ignored batch gives nan, like torch
        return np.asarray(total / denominator, dtype=loss.dtype)


def _plain_divisor(denominator):
    """Whether dividing by `denominator` (a 0-d array) cannot raise NumPy's divide or invalid flags: then
    the np.errstate that silences them (~0.7 us, twice a training step) is skipped."""
    return bool(denominator) and math.isfinite(denominator)


def _upstream(grad_out, reduction, denominator):
    """g~: the gradient reaching each unreduced loss entry (broadcastable against it); for 'mean' in the
    accumulation dtype (float32 for float16: 1/70,000 is below float16's normal range)."""
    if reduction == "mean":
        acc = accumulation_dtype(grad_out.dtype)
        denominator = np.asarray(denominator, dtype=acc)
        if _plain_divisor(denominator):
            return grad_out.astype(acc, copy=False) / denominator
        with np.errstate(invalid="ignore", divide="ignore"):
            return grad_out.astype(acc, copy=False) / denominator
    return grad_out


def _layout(x):
    """What the VJP needs to know of input x, decided before it is built: None when x needs no gradient,
    else (x's shape, its float dtype or None to keep the gradient's)."""
    if not needs_grad(x):
        return None
    x_val = array_of(x)
    return np.shape(x_val), (x_val.dtype if isinstance(x_val, np.ndarray) and x_val.dtype.kind == "f" else None)


def _grad_for(layout, grad):
    """`grad` summed back to the input's shape and cast to its dtype (`layout` from `_layout`)."""
    shape, dtype = layout
    grad = unbroadcast(np.asarray(grad), shape)
    return grad if dtype is None or grad.dtype == dtype else grad.astype(dtype)


def _constant(value, dtype, op_name, name):
    """A weight argument as an array of the loss's dtype (None stays None)."""
    if value is None:
        return None
    array = np.asarray(array_of(value))
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{op_name}: {name} must be a numeric tensor, got dtype {array.dtype}")
    return array if array.dtype == dtype else array.astype(dtype)


def _warn_if_sizes_differ(x_val, y_val):
    if np.shape(x_val) != np.shape(y_val):
        warnings.warn(f"Using a target size ({tuple(np.shape(y_val))}) that is different to the input size "
                      f"({tuple(np.shape(x_val))}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", stacklevel=3)


# ----- regression losses: l_i = f(d_i), d = x - y ------------------------------------------------
def _require_float_input(op_name, input):
    """PyTorch has no integer or bool kernel for the losses (NotImplementedError, a RuntimeError); NumPy
    would silently compute in float, so refuse the same inputs."""
    dtype = np.asarray(array_of(input)).dtype
    if dtype.kind not in "fc":
        raise NotImplementedError(f"{op_name}: not implemented for input of dtype {dtype}, as in PyTorch; "
                                  f"convert it with .float()")


def _pointwise(op, input, target, reduction, weight, value_and_slope, mean_divides_by_weight):
    """Shared body of the regression losses: f(d) and f'(d) come from `value_and_slope`.

    dL/dx = g~ * w * f'(d) ;  dL/dy = -dL/dx (each summed back over broadcast axes)."""
    name = op.__name__
    if name != "l1_loss" or reduction == "mean":  # PyTorch's integer l1_loss works, but not its mean
        _require_float_input(name, input)
    x_val, y_val = binary_operands(input, target)
    x_val, y_val = to_float(x_val), to_float(y_val)
    _warn_if_sizes_differ(array_of(input), array_of(target))
    check_broadcast(name, np.shape(x_val), np.shape(y_val))
    diff = x_val - y_val
    loss, slope = value_and_slope(diff)
    w = _constant(weight, diff.dtype, name, "weight")
    denominator = None
    if w is not None:
        if w.shape != np.shape(array_of(input)):
            raise ValueError(f"{name}: Weights and input must have the same size (weight {w.shape}, "
                             f"input {tuple(np.shape(array_of(input)))}).")
        loss = loss * w
        slope = slope * w
        if mean_divides_by_weight:
            denominator = w.sum(dtype=accumulation_dtype(w.dtype))
    count = loss.size if denominator is None else denominator
    input_to, target_to = _layout(input), _layout(target)

    def pointwise_backward(grad_out):
        grad = _upstream(grad_out, reduction, count) * slope
        return (None if input_to is None else _grad_for(input_to, grad),
                None if target_to is None else _grad_for(target_to, -grad))

    return record(op, _reduce(loss, reduction, denominator), (input, target), pointwise_backward,
                  saved=(input, target))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """l = w * (x - y)^2 ;  dL/dx = g~ * 2 w (x - y) ;  dL/dy = -dL/dx.

    'mean' divides by the element count, or by sum(w) when `weight` is given (PyTorch's rule).
    Saves `slope` (2 w (x - y))."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    return _pointwise(mse_loss, input, target, reduction, weight, lambda d: (d * d, 2 * d), True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """l = w * |x - y| ;  dL/dx = g~ * w * sign(x - y) ;  dL/dy = -dL/dx.

    At x = y the subgradient is 0 (sign(0) = 0, PyTorch's choice). 'mean' divides by sum(w) when
    `weight` is given. Saves `slope` (w sign(x - y))."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    return _pointwise(l1_loss, input, target, reduction, weight, lambda d: (np.abs(d), np.sign(d)), True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """l = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, with d = x - y.

    dL/dx = g~ * clip(d / beta, -1, 1) (= d / beta inside, sign(d) outside; continuous at |d| = beta);
    dL/dy = -dL/dx. beta = 0 is l1_loss (subgradient 0 at d = 0). Saves `slope` (clip(d / beta, -1, 1))."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss does not support negative values for beta (got {beta}).")
    if beta == 0:
        return _pointwise(smooth_l1_loss, input, target, reduction, None, lambda d: (np.abs(d), np.sign(d)), True)

    def value_and_slope(d):
        abs_d = np.abs(d)
        return np.where(abs_d < beta, (0.5 / beta) * d * d, abs_d - 0.5 * beta), np.clip(d / beta, -1, 1)

    return _pointwise(smooth_l1_loss, input, target, reduction, None, value_and_slope, True)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """l = w * (0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)), with d = x - y.

    dL/dx = g~ * w * clip(d, -delta, delta) ;  dL/dy = -dL/dx.  'mean' divides by the element
    count even with `weight` (PyTorch's rule, unlike mse_loss). Saves `slope` (w clip(d, -delta, delta))."""
    reduction = _reduction_mode(reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss does not support non-positive values for delta (got {delta}).")

    def value_and_slope(d):
        abs_d = np.abs(d)
        return np.where(abs_d < delta, 0.5 * d * d, delta * (abs_d - 0.5 * delta)), np.clip(d, -delta, delta)

    return _pointwise(huber_loss, input, target, reduction, weight, value_and_slope, False)


# ----- binary classification -------------------------------------------------------------------
def _same_size(op_name, x_val, y_val):
    if np.shape(x_val) != np.shape(y_val):
        raise ValueError(f"{op_name}: target size {tuple(np.shape(y_val))} must be the same as input size "
                         f"{tuple(np.shape(x_val))}")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """l = -w (y log x + (1 - y) log(1 - x)), each log clamped at -100 (PyTorch's rule: finite at x = 0, 1).

    dL/dx = g~ * w (x - y) / max(x (1 - x), 1e-12) ;  dL/dy = -g~ * w * logit(x) = g~ w log((1 - x) / x).
    Input must lie in [0, 1]. Prefer binary_cross_entropy_with_logits (stable, fused sigmoid).
    Saves `x_val` (x), `saved_y` (y) when x needs a gradient, and `w` (the weight)."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    _require_float_input("binary_cross_entropy", input)
    x_val = to_float(array_of(input))
    y_val = to_float(array_of(target))
    _same_size("binary_cross_entropy", x_val, y_val)
    if x_val.size and not (x_val.min() >= 0 and x_val.max() <= 1):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
    w = _constant(weight, x_val.dtype, "binary_cross_entropy", "weight")
    if w is not None:
        check_broadcast("binary_cross_entropy", w.shape, x_val.shape)
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x_val), -100)
        log_1mx = np.maximum(np.log1p(-x_val), -100)
    loss = (y_val - 1) * log_1mx - y_val * log_x
    if w is not None:
        loss = loss * w
    count, input_to, target_to = loss.size, _layout(input), _layout(target)
    saved_y = y_val if input_to is not None else None

    def binary_cross_entropy_backward(grad_out):
        g = _upstream(grad_out, reduction, count)
        if w is not None:
            g = g * w
        grad_x = grad_y = None
        if input_to is not None:
            grad_x = _grad_for(input_to, g * (x_val - saved_y) / np.maximum(x_val * (1 - x_val), 1e-12))
        if target_to is not None:
            with np.errstate(divide="ignore"):
                grad_y = _grad_for(target_to, -g * np.log(x_val / (1 - x_val)))
        return grad_x, grad_y

    return record(binary_cross_entropy, _reduce(loss, reduction), (input, target), binary_cross_entropy_backward,
                  saved=(input, target, weight))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """l = w ((1 - y) z + (1 + (p - 1) y) softplus(-z)), z = input logits, p = pos_weight (default 1).

    softplus(-z) = max(-z, 0) + log1p(e^-|z|): finite for any z (no exp overflow at z = +-1000);
    with p = 1 this is max(z, 0) - z y + log1p(e^-|z|).
    dL/dz = g~ * w ((1 + (p - 1) y) sigmoid(z) - p y)   (= g~ w (sigmoid(z) - y) when p = 1)
    dL/dy = g~ * w ((p - 1) softplus(-z) - z)           (= -g~ w z when p = 1)
    Saves `exp_neg_abs` (e^-|z|: gives both softplus and a stable sigmoid), `z`, `w` and `p`, and
    `saved_y` (y) when z needs a gradient, `saved_softplus` (softplus(-z)) when y does and p is given."""
    reduction = _reduction_mode(reduction, size_average, reduce)
    name = "binary_cross_entropy_with_logits"
    _require_float_input(name, input)
    z = to_float(array_of(input))
    y = to_float(array_of(target))
    _same_size(name, z, y)
    w = _constant(weight, z.dtype, name, "weight")
    p = _constant(pos_weight, z.dtype, name, "pos_weight")
    for extra in (w, p):
        if extra is not None:
            check_broadcast(name, extra.shape, z.shape)
    exp_neg_abs = np.exp(-np.abs(z))
    softplus_neg = np.maximum(-z, 0) + np.log1p(exp_neg_abs)       # -log sigmoid(z)
    log_weight = 1 if p is None else 1 + (p - 1) * y               # 1 + (p - 1) y
    loss = (1 - y) * z + log_weight * softplus_neg
    if w is not None:
        loss = loss * w
    count, input_to, target_to = loss.size, _layout(input), _layout(target)
    saved_y = y if input_to is not None else None
    saved_softplus = softplus_neg if target_to is not None and p is not None else None

    def binary_cross_entropy_with_logits_backward(grad_out):
        g = _upstream(grad_out, reduction, count)
        if w is not None:
            g = g * w
        grad_z = grad_y = None
        if input_to is not None:
            sig = np.where(z >= 0, 1, exp_neg_abs) / (1 + exp_neg_abs)   # sigmoid(z), no overflow
            if p is None:
                grad_z = g * (sig - saved_y)
            else:
                grad_z = g * ((1 + (p - 1) * saved_y) * sig - p * saved_y)   # log_weight, recomputed
            grad_z = _grad_for(input_to, grad_z)
        if target_to is not None:
            grad_y = _grad_for(target_to, -g * z if p is None else g * ((p - 1) * saved_softplus - z))
        return grad_z, grad_y

    return record(binary_cross_entropy_with_logits, _reduce(loss, reduction), (input, target),
                  binary_cross_entropy_with_logits_backward, saved=(input, target))


# ----- multi-class classification ------------------------------------------------------------------
# Legend: N batch, C classes, d1.. extra dims; M = N * d1 * ... rows once the class axis is moved last.
def _class_rows(op_name, x_val, target_shape=None):
    """x as an (M, C) array (class axis last), the shape of the unreduced loss, and a function that maps
    an (M, C) gradient back to x's layout. Checks that a class-index target's shape fits the input's."""
    if x_val.ndim == 0:
        raise ValueError(f"{op_name}: input must have a class dimension, got a 0-d tensor")
    class_axis = 0 if x_val.ndim == 1 else 1
    n_classes = x_val.shape[class_axis]
    sample_shape = x_val.shape[:class_axis] + x_val.shape[class_axis + 1:]   # (N, d1, ...) or ()
    if target_shape is not None and tuple(target_shape) != sample_shape:
        if x_val.ndim >= 2 and len(target_shape) >= 1 and target_shape[0] != x_val.shape[0]:
            raise ValueError(f"{op_name}: expected input batch_size ({x_val.shape[0]}) to match target "
                             f"batch_size ({target_shape[0]})")
        raise ValueError(f"{op_name}: expected a class-index target of shape {sample_shape} for input of shape "
                         f"{x_val.shape} (or a float target of the input's shape), got target shape "
                         f"{tuple(target_shape)}")
    if x_val.ndim <= 2:
        rows = x_val.reshape(-1, n_classes)
        x_shape = x_val.shape

        def restore(grad):
            return grad.reshape(x_shape)
    else:
        moved = np.moveaxis(x_val, 1, -1)                                  # (N, d1, .., C)
        rows = moved.reshape(-1, n_classes)                                # (M, C)
        moved_shape = moved.shape

        def restore(grad):
            return np.ascontiguousarray(np.moveaxis(grad.reshape(moved_shape), -1, 1))
    return rows, sample_shape, restore


def _class_weight(op_name, weight, n_classes, dtype):
    w = _constant(weight, dtype, op_name, "weight")
    if w is not None and w.shape != (n_classes,):
        raise ValueError(f"{op_name}: weight should have one entry per class ({n_classes}), got shape {w.shape}")
    return w


def _index_targets(op_name, y_val, n_classes, w, ignore_index, dtype):
    """Flat class indices safe to index with, and each row's target weight w[y_i] (0 where ignored).

    Returns (index, coef, kept): coef is None when every row counts with weight 1; kept is the
    0/1 float mask of non-ignored rows, or None when none is ignored."""
    if y_val.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: class-index targets must be integers, got dtype {y_val.dtype} "
                        f"(float targets must have the input's shape: class probabilities)")
    index = y_val.reshape(-1)
    kept = None
    if not index.size:
        return index, None if w is None else w[index], None
    low, high = index.min(), index.max()
    if low <= ignore_index <= high:  # a row may be ignored (the default -100 is below every class: no search)
        ignored = index == ignore_index
        if ignored.any():
            kept = (~ignored).astype(dtype)
            index = np.where(ignored, 0, index)
            low, high = index.min(), index.max()
    if low < 0 or high >= n_classes:
        bad = index[(index < 0) | (index >= n_classes)][0]
        raise IndexError(f"{op_name}: target class index {bad} is out of range for {n_classes} classes "
                         f"(expected 0 <= index < {n_classes}, or ignore_index={ignore_index})")
    coef = None if w is None else w[index]
    if kept is not None:
        coef = kept if coef is None else coef * kept
    return index, coef, kept


_SHIFT_LIMIT = {}   # (dtype, C) -> log of its largest finite value, less a margin, less log C


def _softmax_parts(z, at_target=None):
    """shifted = z - c, exps = e^shifted and their row sums (M,), for a per-row shift c.

    c is the target logit z[i, y_i] when that cannot overflow (shifted < log(max float / C)): a gather
    instead of a row max, several times cheaper for short rows, and the sums stay >= 1. Otherwise
    (probability targets, a target logit far below the row's largest, inf/nan) c is the row max, the
    classic always-safe shift. Softmax and loss are the same up to rounding either way."""
    n_rows, n_classes = z.shape
    ones = np.empty(n_classes, z.dtype)  # for the row sums as a GEMV: ~5x faster than .sum(1)
    ones.fill(1)  # (np.ones costs ~0.4 us more in Python)
    if at_target is not None and z.size:
        limit = _SHIFT_LIMIT.get((z.dtype, n_classes))
        if limit is None:
            limit = _SHIFT_LIMIT[z.dtype, n_classes] = float(np.log(np.finfo(z.dtype).max)) - 1 - np.log(n_classes)
        shifted = z - z.reshape(-1)[at_target][:, None]                      # (M, C) z - z[y]
        if shifted.max() < limit:                                            # False for nan
            exps = np.exp(shifted)
            return shifted, exps, exps @ ones
    shifted = z - z.max(axis=1, keepdims=True)                               # (M, C) z - max z
    exps = np.exp(shifted)
    return shifted, exps, exps @ ones


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Fused log_softmax + negative log-likelihood over the class axis (axis 1, or 0 for a 1-d input).

    Class-index target y (N,) / (N, d1, ..): l_i = -(1 - eps) w[y_i] log p_i[y_i] - (eps / C) sum_c w_c log p_ic,
      with p_i = softmax(z_i), eps = label_smoothing, w = weight (default 1), l_i = 0 where y_i = ignore_index;
      'mean' divides by sum of w[y_i] over non-ignored rows (the row count when unweighted: PyTorch's rule).
      Writing q_ic = (1 - eps) w[y_i] 1{c = y_i} + (eps / C) w_c (the row's target weights):
      dL/dz_i = g~_i * (sum_c q_ic * softmax(z_i) - q_i);  unweighted, no smoothing, mean:
      dL/dz = (softmax(z) - onehot(y)) / N.
    Probability target y (same shape as z): l_i = -sum_c w_c y'_ic log p_ic, y' = (1 - eps) y + eps / C;
      'mean' divides by the row count. dL/dz_i = g~_i (sum_c q_ic softmax(z_i) - q_i) with q = w y', and
      dL/dy_ic = -g~_i (1 - eps) w_c log p_ic: a target that requires grad receives -log_softmax(z)
      (as TensorFlow's softmax_cross_entropy_with_logits_v2 does); pass `target.detach()` to stop it.
    Saves `probs` (the softmax: exp(z - c) divided in place by its row sums, see _softmax_parts); with class
    indices `index` (a view of the target, or a copy with ignored rows at 0), `coef`, `kept` and `w` (row and
    class weights), no one-hot matrix; with probabilities `q` (the weighted target) and `saved_log_p` when the
    target needs a gradient."""
    op = "cross_entropy"
    reduction = _reduction_mode(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    _require_float_input(op, input)
    z_val = to_float(array_of(input))
    out_dtype = z_val.dtype
    z_val = z_val.astype(accumulation_dtype(out_dtype), copy=False)  # float16: the softmax runs in float32
    y_val = np.asarray(array_of(target))
    probabilities = y_val.dtype.kind == "f"
    if probabilities and y_val.shape != z_val.shape:
        raise ValueError(f"{op}: a float target holds class probabilities and must have the input's shape "
                         f"{z_val.shape}, got {y_val.shape} (class indices must be integers)")
    z, sample_shape, restore = _class_rows(op, z_val, None if probabilities else y_val.shape)
    w = _class_weight(op, weight, z.shape[1], z.dtype)
    eps = float(label_smoothing)
    if probabilities:
        y_rows, _, _ = _class_rows(op, y_val.astype(z.dtype, copy=False))   # (M, C)
        loss, denominator, backward = _probability_targets(z, y_rows, w, eps, reduction, restore, out_dtype,
                                                           needs_grad(input), _layout(target))
    else:
        index, coef, kept = _index_targets(op, y_val, z.shape[1], w, ignore_index, z.dtype)
        loss, denominator, backward = _index_targets_loss(z, index, coef, kept, w, eps, reduction, restore, out_dtype)
    # PyTorch's cross_entropy is log_softmax + nll_loss: the logits are not saved (their log-softmax is),
    # the target is
    loss = _reduce(loss.reshape(sample_shape), reduction, denominator)
    return record(cross_entropy, loss.astype(out_dtype, copy=False), (input, target), backward, saved=(target,))


def _probability_targets(z, y_rows, w, eps, reduction, restore, out_dtype, input_needs, target_to):
    """cross_entropy's unreduced loss (M,), its 'mean' denominator and its VJP for probability targets."""
    n_rows, n_classes = z.shape
    shifted, exps, sums = _softmax_parts(z)                                  # (M, C), (M, C), (M,)
    log_p = shifted - np.log(sums)[:, None]                                  # (M, C) log softmax
    q = y_rows if eps == 0 else y_rows * (1 - eps) + eps / n_classes          # (M, C) smoothed target
    if w is not None:
        q = q * w
    loss = -(q * log_p).sum(axis=1)                                          # (M,)
    saved_log_p = log_p if target_to is not None else None
    probs = exps
    probs /= sums[:, None]                                                   # (M, C) softmax, in place

    def cross_entropy_backward(grad_out):
        g = _upstream(grad_out, reduction, n_rows)                           # () or (M,)
        g_col = g.reshape(-1, 1) if reduction == "none" else g               # broadcasts over rows
        grad_z = grad_y = None
        if input_needs:
            grad_z = (probs * q.sum(axis=1)[:, None] - q) * g_col            # term 1 - term 2
            grad_z = restore(grad_z.astype(out_dtype, copy=False))
        if target_to is not None:
            grad_y = -(1 - eps) * g_col * (saved_log_p if w is None else saved_log_p * w)
            grad_y = _grad_for(target_to, restore(grad_y))
        return grad_z, grad_y

    return loss, n_rows, cross_entropy_backward


def _index_targets_loss(z, index, coef, kept, w, eps, reduction, restore, out_dtype):
    """cross_entropy's unreduced loss (M,), its 'mean' denominator and its VJP for class-index targets."""
    n_rows, n_classes = z.shape
    at_target = np.arange(0, n_rows * n_classes, n_classes) + index          # (M,) flat positions of z[i, y_i]
    shifted, exps, sums = _softmax_parts(z, at_target)                       # (M, C), (M, C), (M,)
    log_sums = np.log(sums)                                                  # (M,)
    loss = log_sums - shifted.reshape(-1)[at_target]                         # (M,) -log p[y]
    if coef is not None:
        loss = loss * coef
    denominator = n_rows if coef is None else coef.sum(dtype=accumulation_dtype(coef.dtype))
    w_sum = (n_classes if w is None else w.sum()) if eps else None
    if eps:
        smooth = log_sums * w_sum - (shifted.sum(axis=1) if w is None else shifted @ w)   # -sum_c w_c log p_c
        loss = loss * (1 - eps) + (eps / n_classes) * (smooth if kept is None else smooth * kept)
    probs = exps
    probs /= sums[:, None]                                                   # (M, C) softmax, in place: sums not kept

    def cross_entropy_backward(grad_out):
        g = _upstream(grad_out, reduction, denominator)                      # () or (M,)
        g_rows = g.reshape(-1) if reduction == "none" else g                 # broadcasts over rows
        if kept is not None:
            g_rows = np.where(kept > 0, g_rows, 0)      # ignored rows get 0, even when all are (0/0 mean)
        # row weight of the softmax term: sum_c q_ic = (1 - eps) coef_i + (eps / C) kept_i sum(w)
        target_part = (1 - eps) * (1 if coef is None else coef)              # () or (M,)
        row_total = target_part
        if eps:
            row_total = row_total + (eps / n_classes) * w_sum * (1 if kept is None else kept)
        scale = g_rows * row_total                                           # () or (M,)
        grad = probs * (scale if scale.ndim == 0 else scale[:, None])        # (M, C) term 1: softmax
        positions = np.arange(0, probs.size, probs.shape[1]) + index         # (M,) flat positions of z[i, y_i]
        grad.reshape(-1)[positions] -= g_rows * target_part                  # term 2: minus the target
        if eps:                                                              # term 3: smoothing's uniform part
            smooth_part = np.asarray((eps / n_classes) * g_rows * (1 if kept is None else kept))
            grad -= (smooth_part[:, None] if smooth_part.ndim else smooth_part) * (1 if w is None else w)
        return restore(grad.astype(out_dtype, copy=False)), None

    return loss, denominator, cross_entropy_backward


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """l_i = -w[y_i] x_i[y_i] for log-probabilities x (N, C) / (N, C, d1, ..) / (C,); 0 where y_i = ignore_index.

    'mean' divides by sum of w[y_i] over non-ignored rows. dL/dx_ic = -g~_i w[y_i] 1{c = y_i} (one entry
    per row; the rest 0). Saves `index` (the target indices), `coef` and `kept` (their weights)."""
    op = "nll_loss"
    reduction = _reduction_mode(reduction, size_average, reduce)
    _require_float_input(op, input)
    x_val = to_float(array_of(input))
    y_val = np.asarray(array_of(target))
    x, sample_shape, restore = _class_rows(op, x_val, y_val.shape)
    n_rows, n_classes = x.shape
    w = _class_weight(op, weight, n_classes, x.dtype)
    index, coef, kept = _index_targets(op, y_val, n_classes, w, ignore_index, x.dtype)
    rows = np.arange(n_rows)
    loss = -x[rows, index]                                                   # (M,)
    if coef is not None:
        loss = loss * coef
    denominator = n_rows if coef is None else coef.sum(dtype=accumulation_dtype(coef.dtype))
    rows_shape, x_dtype = x.shape, x.dtype

    def nll_loss_backward(grad_out):
        g = _upstream(grad_out, reduction, denominator)
        g_rows = g.reshape(-1) if reduction == "none" else g
        if kept is not None:
            g_rows = np.where(kept > 0, g_rows, 0)      # ignored rows get 0, even when all are (0/0 mean)
        grad = np.zeros(rows_shape, x_dtype)                                 # (M, C)
        grad[np.arange(rows_shape[0]), index] = -g_rows * (1 if coef is None else coef)
        return restore(grad), None

    return record(nll_loss, _reduce(loss.reshape(sample_shape), reduction, denominator), (input, target),
                  nll_loss_backward, saved=(input, target))


# ----- distributions -----------------------------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || model) with `input` = log q (log-probabilities), pointwise:

    log_target=False: l = y log y - y x  (0 where y = 0) ;  dL/dx = -g~ y ;  dL/dy = g~ (log y + 1 - x)
    log_target=True:  l = e^y (y - x)                  ;  dL/dx = -g~ e^y ;  dL/dy = g~ e^y (y - x + 1)
    Reductions: 'batchmean' = sum / N (the true KL divergence per sample; input.shape[0]), 'mean' =
    sum / element count (PyTorch warns that it is not the KL divergence), 'sum', 'none'.
    At y = 0 (log_target=False) dL/dy is nan, as in PyTorch (d(y log y)/dy does not exist there).
    Saves `exp_y` (e^y) with log_target, else `saved_y` (y); and when y needs a gradient `saved_x` (x),
    `saved_y` and, without log_target, `log_y`."""
    op = "kl_div"
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    reduction = _reduction_mode(reduction, size_average, reduce, _REDUCTIONS + ("batchmean",))
    _require_float_input(op, input)
    x_val, y_val = binary_operands(input, target)
    x_val, y_val = to_float(x_val), to_float(y_val)
    check_broadcast(op, np.shape(x_val), np.shape(y_val))
    if log_target:
        exp_y = np.exp(y_val)
        loss = exp_y * (y_val - x_val)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_y = np.log(y_val)
            loss = np.where(y_val == 0, 0, y_val * log_y) - y_val * x_val
    denominator = loss.size
    if reduction == "batchmean":
        reduction, denominator = "mean", (np.shape(x_val)[0] if np.ndim(x_val) else 1)
    input_to, target_to = _layout(input), _layout(target)
    saved_x = x_val if target_to is not None else None
    saved_y = y_val if target_to is not None or not log_target else None
    if not log_target:
        exp_y = None
        log_y = log_y if target_to is not None else None

    def kl_div_backward(grad_out):
        g = _upstream(grad_out, reduction, denominator)
        grad_x = grad_y = None
        if input_to is not None:
            grad_x = _grad_for(input_to, -g * (exp_y if log_target else saved_y))
        if target_to is not None:
            if log_target:
                grad_y = g * exp_y * (saved_y - saved_x + 1)
            else:
                with np.errstate(invalid="ignore"):
                    grad_y = g * np.where(saved_y == 0, np.nan, log_y + 1 - saved_x)
            grad_y = _grad_for(target_to, grad_y)
        return grad_x, grad_y

    return record(kl_div, _reduce(loss, reduction, denominator), (input, target), kl_div_backward,
                  saved=(input, target))
