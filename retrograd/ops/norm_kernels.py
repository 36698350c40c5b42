"""Compiled twins of layer_norm's and training-mode batch_norm's passes in norm.py (the `fast` extra; see kernels.py).

layer_norm: one pass over the rows (the trailing normalised axes flattened: x is (rows, n), C-contiguous),
where the NumPy code makes 7 passes forward and 12 backward over the whole array: a row is read from memory
once and stays in the cache for its second and third loops. batch_norm: the same per channel, over x as
(N, C, S) (S the spatial entries), a channel's planes visited three times where NumPy makes 7 and 12 passes.
The loop bodies are norm.py's equations in its order of operations, and the sums are NumPy's pairwise sums
(reduce_kernels.py; batch norm's, plane after plane, as NumPy sums axes 0, 2, 3), so the results are the NumPy
code's bits (tests/test_norm_kernels.py). The forward keeps mean and rstd, as PyTorch does, instead of x_hat:
the backward recomputes x_hat = (x - mean) * rstd, the forward's very operations, so the same bits.
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


def batch_norm_forward(x, weight, bias, eps, y, mean, var, rstd):
    """Training-mode batch norm over x (N, C, S), S the spatial entries (1 for (N, C) input), per channel c:
        mean = sum_{n,s} x / (N S) ;  var = sum_{n,s} (x - mean)^2 / (N S) ;  rstd = 1 / sqrt(var + eps)
        y = (x - mean) * rstd * weight + bias.  Writes y, and mean, var and rstd (C,).
    NumPy sums a channel plane by plane, each plane pairwise, the planes in order: so do these loops."""
    batch, channels, size = x.shape
    one, count = x.dtype.type(1), x.dtype.type(batch * size)
    plan, sums = sum_plan(size, x)
    squares = np.empty(size, x.dtype)
    for c in range(channels):
        total = x.dtype.type(0)
        for n in range(batch):
            total += pairwise_sum(x[n, c], plan, sums)
        channel_mean = total / count
        total = x.dtype.type(0)
        for n in range(batch):
            for s in range(size):
                centered = x[n, c, s] - channel_mean
                squares[s] = centered * centered
            total += pairwise_sum(squares, plan, sums)
        channel_var = total / count
        channel_rstd = one / np.sqrt(channel_var + eps)
        for n in range(batch):
            for s in range(size):
                value = (x[n, c, s] - channel_mean) * channel_rstd  # x_hat
                if weight is not None:
                    value = value * weight[c]
                if bias is not None:
                    value = value + bias[c]
                y[n, c, s] = value
        mean[c], var[c], rstd[c] = channel_mean, channel_var, channel_rstd


def batch_norm_backward(x, mean, rstd, weight, grad_out, grad_x, grad_w, grad_b):
    """Training-mode batch norm's backward over (N, C, S), per channel, x_hat recomputed from mean and rstd:
        dL/dx = rstd / (N S) * (N S dx_hat - sum dx_hat - x_hat * sum (dx_hat * x_hat)),  dx_hat = g * weight
        dL/dweight = sum g * x_hat ;  dL/dbias = sum g      (sums over n and s, plane by plane as NumPy)"""
    batch, channels, size = x.shape
    count = x.dtype.type(batch * size)
    plan, sums = sum_plan(size, x)
    grad_x_hat, products, grads = np.empty(size, x.dtype), np.empty(size, x.dtype), np.empty(size, x.dtype)
    for c in range(channels):
        scale = weight[c] if weight is not None else x.dtype.type(1)
        term_mean = term_var = sum_gx = sum_g = x.dtype.type(0)
        for n in range(batch):
            for s in range(size):
                x_hat = (x[n, c, s] - mean[c]) * rstd[c]
                g = grad_out[n, c, s]
                grad_x_hat[s] = g * scale if weight is not None else g
                products[s] = grad_x_hat[s] * x_hat
                grads[s] = g * x_hat
            term_mean += pairwise_sum(grad_x_hat, plan, sums)  # term 2: through the mean
            term_var += pairwise_sum(products, plan, sums)  # term 3: through the variance
            sum_gx += pairwise_sum(grads, plan, sums)
            sum_g += pairwise_sum(grad_out[n, c], plan, sums)
        grad_w[c], grad_b[c] = sum_gx, sum_g
        factor = rstd[c] / count
        for n in range(batch):
            for s in range(size):
                x_hat = (x[n, c, s] - mean[c]) * rstd[c]
                g = grad_out[n, c, s]
                dx_hat = g * scale if weight is not None else g
                grad_x[n, c, s] = ((count * dx_hat - term_mean) - x_hat * term_var) * factor  # term 1: direct
