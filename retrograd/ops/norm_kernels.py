"""Compiled twins of layer_norm's forward and backward passes in norm.py (the `fast` extra; see kernels.py).

One pass over the rows (the trailing normalised axes flattened: x is (rows, n), C-contiguous), where the NumPy
code makes 7 passes forward and 12 backward over the whole array: a row is read from memory once and stays
in the cache for its second and third loops. The loop bodies are norm.py's equations in its order of
operations, and the row sums are NumPy's pairwise sums (reduce_kernels.py), so the results are the NumPy
code's bits (tests/test_norm_kernels.py). The forward keeps mean and rstd per row, as PyTorch does, instead
of x_hat: the backward recomputes x_hat = (x - mean) * rstd, the forward's very operations, so the same bits.
Constants take the arrays' dtype (n, eps): a bare Python number would make Numba compute a float32 row in
float64. `weight` and `bias` may be None (Numba compiles that case without the term).
"""
import numpy as np

from .reduce_kernels import pairwise_sum, sum_plan


def layer_norm_forward(x, weight, bias, eps, y, mean, rstd):
    """Per row: mean = sum x / n ;  var = sum (x - mean)^2 / n ;  rstd = 1 / sqrt(var + eps)
    x_hat = (x - mean) * rstd ;  y = x_hat * weight + bias.  Writes y (rows, n), mean and rstd (rows,)."""
    rows, n = x.shape
    one, count = x.dtype.type(1), x.dtype.type(n)
    plan, sums = sum_plan(n, x)
    centered, squares = np.empty(n, x.dtype), np.empty(n, x.dtype)
    for r in range(rows):
        row_mean = pairwise_sum(x[r], plan, sums) / count
        for j in range(n):
            centered[j] = x[r, j] - row_mean
            squares[j] = centered[j] * centered[j]
        row_rstd = one / np.sqrt(pairwise_sum(squares, plan, sums) / count + eps)
        for j in range(n):
            value = centered[j] * row_rstd  # x_hat
            if weight is not None:
                value = value * weight[j]
            if bias is not None:
                value = value + bias[j]
            y[r, j] = value
        mean[r], rstd[r] = row_mean, row_rstd


def layer_norm_backward(x, mean, rstd, weight, grad_out, grad_x, grad_w, grad_b):
    """Per row, with g = grad_out, dx_hat = g * weight and x_hat recomputed from mean and rstd:
        dL/dx = rstd / n * (n * dx_hat - sum dx_hat - x_hat * sum (dx_hat * x_hat))   (term 1, 2, 3)
    and over the rows dL/dweight += g * x_hat, dL/dbias += g (grad_w and grad_b come in zeroed)."""
    rows, n = x.shape
    count = x.dtype.type(n)
    plan, sums = sum_plan(n, x)
    x_hat, grad_x_hat, products = np.empty(n, x.dtype), np.empty(n, x.dtype), np.empty(n, x.dtype)
    for r in range(rows):
        for j in range(n):
            x_hat[j] = (x[r, j] - mean[r]) * rstd[r]
            g = grad_out[r, j]
            grad_x_hat[j] = g * weight[j] if weight is not None else g
            products[j] = grad_x_hat[j] * x_hat[j]
            grad_w[j] += g * x_hat[j]
            grad_b[j] += g
        term_mean = pairwise_sum(grad_x_hat, plan, sums)  # term 2: through the mean
        term_var = pairwise_sum(products, plan, sums)  # term 3: through the variance
        scale = rstd[r] / count
        for j in range(n):
            grad_x[r, j] = ((count * grad_x_hat[j] - term_mean) - x_hat[j] * term_var) * scale  # term 1: direct
