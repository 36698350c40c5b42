"""The constraints that the distributions check their parameters and values against (PyTorch's names and
reprs, so a failed check reads as PyTorch's does: `... to satisfy the constraint Simplex(), ...`).

`check(value)` takes a Tensor and returns a NumPy bool array: True where the value is valid, one entry per
element (per row for the event constraints, whose last axis is one event).
"""
import numpy as np

from ..tensor import Tensor


def _array(bound):
    """A bound as NumPy sees it: a Tensor bound (Uniform's low and high) compares by its array."""
    return bound.array if isinstance(bound, Tensor) else bound


class Constraint:
    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    """The extended real line: anything but NaN."""

    def check(self, value):
        values = value.array
        return values == values


class _GreaterThan(Constraint):
    """(lower_bound, inf]."""

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _array(self.lower_bound) < value.array

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(Constraint):
    """[lower_bound, inf]."""

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _array(self.lower_bound) <= value.array

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    """[-inf, upper_bound)."""

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value.array < _array(self.upper_bound)

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    """[lower_bound, upper_bound]."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (_array(self.lower_bound) <= value.array) & (value.array <= _array(self.upper_bound))

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerInterval(_Interval):
    """The integers in [lower_bound, upper_bound]."""
    is_discrete = True

    def check(self, value):
        return (value.array % 1 == 0) & super().check(value)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Boolean(Constraint):
    """{0, 1}."""
    is_discrete = True

    def check(self, value):
        return (value.array == 0) | (value.array == 1)


class _Simplex(Constraint):
    """Non-negative entries summing to 1 (within 1e-6) along the last axis."""
    event_dim = 1

    def check(self, value):
        values = value.array
        return np.all(values >= 0, axis=-1) & (np.abs(values.sum(-1) - 1) < 1e-6)


class _OneHot(Constraint):
    """Vectors of 0s and 1s with a single 1 along the last axis."""
    is_discrete = True
    event_dim = 1

    def check(self, value):
        values = value.array
        return np.all((values == 0) | (values == 1), axis=-1) & (values.sum(-1) == 1)


class _Independent(Constraint):
    """`base` holding for every element of the last `reinterpreted_batch_ndims` axes."""

    def __init__(self, base, reinterpreted_batch_ndims):
        if not isinstance(base, Constraint):
            raise TypeError(f"independent: expected base_constraint to be a Constraint, got {type(base).__name__}")
        if not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise ValueError(f"independent: expected reinterpreted_batch_ndims to be a non-negative int, got "
                             f"{reinterpreted_batch_ndims!r}")
        self.is_discrete = base.is_discrete
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        valid = self.base.check(value)
        return valid.reshape(valid.shape[:valid.ndim - self.reinterpreted_batch_ndims] + (-1,)).all(-1)

    def __repr__(self):
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


class _LowerCholesky(Constraint):
    """Lower triangular square matrices with a positive diagonal (the last two axes)."""
    event_dim = 2

    def check(self, value):
        values = value.array
        lower = np.all((np.tril(values) == values).reshape(values.shape[:-2] + (-1,)), axis=-1)
        return lower & np.all(np.diagonal(values, axis1=-2, axis2=-1) > 0, axis=-1)


class _PositiveDefinite(Constraint):
    """Symmetric (to atol 1e-6) positive-definite matrices: those whose Cholesky factorization succeeds."""
    event_dim = 2

    def check(self, value):
        values = value.array
        symmetric = np.all(np.isclose(values, np.swapaxes(values, -1, -2), rtol=1e-5, atol=1e-6), axis=(-2, -1))
        if not np.all(symmetric):
            return symmetric
        if _factorizes(values):  # the whole batch at once; matrix by matrix only to say which one fails
            return np.ones(values.shape[:-2], dtype=bool)
        matrices = values.reshape((-1,) + values.shape[-2:])
        return np.array([_factorizes(matrix) for matrix in matrices], dtype=bool).reshape(values.shape[:-2])


def _factorizes(matrices):
    try:
        return bool(np.all(np.isfinite(np.linalg.cholesky(matrices))))
    except np.linalg.LinAlgError:
        return False


real = _Real()
real_vector = _Independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
boolean = _Boolean()
one_hot = _OneHot()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
integer_interval = _IntegerInterval
interval = _Interval
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
independent = _Independent
