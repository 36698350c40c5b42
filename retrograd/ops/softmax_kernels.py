"""Compiled twins of the row passes of softmax and log_softmax in activation.py (the `fast` extra; see kernels.py).

For softmax along the last axis of a C-contiguous (rows, n) array. exp stays with NumPy: Numba's exp is a
scalar libm call that keeps a loop from vectorising, measured 5x slower than NumPy's SIMD np.exp (7.2 against
1.4 ms for 4M float32 values), so a kernel with exp inside would lose. The kernels fuse the passes around it:
the row maximum and the shift in one pass (NumPy makes two), softmax's row sum and division in one (two), its
backward in one (four), and log_softmax's backward in one after NumPy's exp (three). log_softmax's forward
keeps NumPy's exp, sum and log after the shift. The loop bodies are activation.py's equations in its order
of operations, with NumPy's pairwise row sums (reduce_kernels.py), so the results are the NumPy code's bits
(tests/test_softmax_kernels.py); a row holding NaN gives NaN as there (its sign may differ when the row holds
NaNs of both signs: which one np.max returns is its own affair).
"""
import numpy as np

from . import kernels
from .reduce_kernels import pairwise_sum, sum_plan


@kernels.helper
def row_max(row):
    """max(row) as np.max(row, initial=-inf) takes it: NaN if the row holds one. The maximum does not depend on
    the order, so 8 interleaved chains (independent compares: several times faster than one chain)."""
    n = row.size
    end = n - n % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = row.dtype.type(-np.inf)
    for i in range(0, end, 8):
        m0 = _larger(m0, row[i])
        m1 = _larger(m1, row[i + 1])
        m2 = _larger(m2, row[i + 2])
        m3 = _larger(m3, row[i + 3])
        m4 = _larger(m4, row[i + 4])
        m5 = _larger(m5, row[i + 5])
        m6 = _larger(m6, row[i + 6])
        m7 = _larger(m7, row[i + 7])
    for i in range(end, n):
        m0 = _larger(m0, row[i])
    return _larger(_larger(_larger(m0, m1), _larger(m2, m3)), _larger(_larger(m4, m5), _larger(m6, m7)))


@kernels.helper
def _larger(best, value):
    """value if it is larger than best or NaN, else best: once NaN, the maximum stays NaN."""
    return value if (value > best) | (value != value) else best


def softmax_shift(x, shifted):
    """Per row: shifted = x - m, m = max x (np.exp of it comes next, NumPy's)."""
    rows, n = x.shape
    for r in range(rows):
        m = row_max(x[r])
        for j in range(n):
            shifted[r, j] = x[r, j] - m


def softmax_normalize(y):
    """Per row, in place on y = e^(x - m): y = y / sum y."""
    rows, n = y.shape
    plan, sums = sum_plan(n, y)
    for r in range(rows):
        total = pairwise_sum(y[r], plan, sums)
        for j in range(n):
            y[r, j] = y[r, j] / total


def softmax_backward(y, grad_out, grad):
    """Per row, with g = grad_out: gy = g * y ;  dL/dx = gy - y * sum gy."""
    rows, n = y.shape
    plan, sums = sum_plan(n, y)
    for r in range(rows):
        for j in range(n):
            grad[r, j] = grad_out[r, j] * y[r, j]  # gy
        total = pairwise_sum(grad[r], plan, sums)
        for j in range(n):
            grad[r, j] = grad[r, j] - y[r, j] * total


def log_softmax_backward(grad_out, grad):
    """Per row, in place on grad = e^y = softmax(x) (NumPy's np.exp of the output): dL/dx = g - e^y * sum g."""
    rows, n = grad.shape
    plan, sums = sum_plan(n, grad)
    for r in range(rows):
        total = pairwise_sum(grad_out[r], plan, sums)
        for j in range(n):
            grad[r, j] = grad_out[r, j] - grad[r, j] * total
