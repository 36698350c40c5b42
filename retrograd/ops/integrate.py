"""Trapezoid-rule integrals, PyTorch's: trapezoid (and its old name trapz) and cumulative_trapezoid, composed
from sum, cumsum and elementwise ops with PyTorch's own formulas, so the values round as PyTorch's do and the
gradients are those ops':

    spacing dx (a number)     integral = (sum y - (y_0 + y_{n-1}) / 2) dx
    sample points x           integral = sum ((y_i + y_{i+1}) (x_{i+1} - x_i)) / 2
    cumulative, number dx     cumsum(dx / 2 (y_i + y_{i+1}))
    cumulative, points x      cumsum((y_i + y_{i+1}) (x_{i+1} - x_i)) / 2
"""
import numpy as np

from ..tensor import Tensor
from .base import normalize_dims
from .elementwise import add, div, mul, sub
from .indexing import getitem
from .reduce import cumsum
from .reduce import sum as reduce_sum
from .shape import narrow, reshape


def _axis(y, dim, op_name):
    if y.ndim == 0:
        raise IndexError(f"{op_name}: Dimension specified as {dim} but tensor has no dimensions")
    if y.dtype == np.bool_:
        raise RuntimeError(f"{op_name}: received a bool input for `y`, but bool is not supported")
    return normalize_dims(dim, y.ndim, op_name)[0]


def _spacing(y, x, axis, op_name):
    """x_{i+1} - x_i laid out to broadcast against y's pairs along `axis` (a 1-D x runs along it)."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise RuntimeError(f"{op_name}: There must be one `x` value for each sample point")
        x = reshape(x, tuple(x.shape[0] if d == axis else 1 for d in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = reshape(x, (1,) * (y.ndim - x.ndim) + tuple(x.shape))
    length = x.shape[axis]
    return sub(narrow(x, axis, 1, length - 1), narrow(x, axis, 0, length - 1))


def _pair_sums(y, axis):
    length = y.shape[axis]
    return add(narrow(y, axis, 0, length - 1), narrow(y, axis, 1, length - 1))


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of the samples y along `dim` by the trapezoid rule, at points x or with spacing dx
    (default 1); no samples integrate to 0."""
    axis = _axis(y, dim, "trapezoid")
    if y.shape[axis] == 0:
        return Tensor(np.zeros(y.shape[:axis] + y.shape[axis + 1:], y.dtype))
    if isinstance(x, Tensor):
        return div(reduce_sum(mul(_pair_sums(y, axis), _spacing(y, x, axis, "trapezoid")), axis), 2.0)
    spacing = 1 if dx is None and x is None else (dx if dx is not None else x)
    ends = add(getitem(y, (slice(None),) * axis + (0,)), getitem(y, (slice(None),) * axis + (-1,)))
    return mul(sub(reduce_sum(y, axis), mul(ends, 0.5)), float(spacing))


def trapz(y, x=None, *, dx=None, dim=-1):
    """trapezoid under its older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid-rule integrals along `dim`: one fewer entry than y there."""
    axis = _axis(y, dim, "cumulative_trapezoid")
    if y.shape[axis] == 0:
        return y
    if isinstance(x, Tensor):
        return div(cumsum(mul(_pair_sums(y, axis), _spacing(y, x, axis, "cumulative_trapezoid")), axis), 2.0)
    spacing = 1 if dx is None and x is None else (dx if dx is not None else x)
    return cumsum(mul(_pair_sums(y, axis), float(spacing) / 2.0), axis)
