"""Elementwise arithmetic and math functions, each with its VJP.

Notation: y is the output, g = dL/dy the incoming gradient (`grad_out`).
Binary ops broadcast like NumPy/PyTorch; `unbroadcast` sums each input's
gradient back to the input's shape. Each op decides which inputs need a
gradient before it builds its VJP, so the closure keeps only the arrays its
docstring's "Saves" line names (never an input Tensor).
"""
import numpy as np

from .base import (
    OUTPUT, array_of, binary_operands, check_broadcast, half_with_number, needs_grad, number_opmath, record,
    to_float, unbroadcast,
)


def _shape(x):
    return x.shape if type(x) is np.ndarray else np.shape(x)  # np.shape costs more than the attribute


def _binary(op, a, b, compute):
    """Run a broadcasting forward, turning NumPy's shape error into one that names the op.

    A float16 array with a Python number is computed in float32 and rounded once (`number_opmath`)."""
    try:
        if half_with_number(a, b):
            return number_opmath(compute, a, b)
        return compute(a, b)
    except ValueError:
        check_broadcast(op.__name__, _shape(a), _shape(b))
        raise


# ----- arithmetic -------------------------------------------------------------
def add(a, b, alpha=1):
    """y = a + alpha * b

    dL/da = g ;  dL/db = alpha * g   (each summed over the axes it was broadcast along)
    Saves nothing (only the shapes of the inputs that need a gradient)."""
    a_val, b_val = binary_operands(a, b)
    a_shape = _shape(a_val) if needs_grad(a) else None  # None: no gradient for that input
    b_shape = _shape(b_val) if needs_grad(b) else None
    if alpha != 1:
        b_val = b_val * alpha

    def add_backward(grad_out):
        return (None if a_shape is None else unbroadcast(grad_out, a_shape),
                None if b_shape is None else unbroadcast(grad_out * alpha if alpha != 1 else grad_out, b_shape))

    return record(add, _binary(add, a_val, b_val, np.add), (a, b), add_backward)


def sub(a, b, alpha=1):
    """y = a - alpha * b

    dL/da = g ;  dL/db = -alpha * g.  Saves nothing (only the shapes of the inputs that need a gradient)."""
    a_val, b_val = binary_operands(a, b)
    a_shape = _shape(a_val) if needs_grad(a) else None  # None: no gradient for that input
    b_shape = _shape(b_val) if needs_grad(b) else None
    if alpha != 1:
        b_val = b_val * alpha

    def sub_backward(grad_out):
        return (None if a_shape is None else unbroadcast(grad_out, a_shape),
                None if b_shape is None else unbroadcast(-grad_out * alpha if alpha != 1 else -grad_out, b_shape))

    return record(sub, _binary(sub, a_val, b_val, np.subtract), (a, b), sub_backward)


def rsub(a, b):
    """y = b - a (Python's reflected subtraction)."""
    return sub(b, a)


def mul(a, b):
    """y = a * b

    dL/da = g * b ;  dL/db = g * a.
    Saves `saved_b` (b) when a needs a gradient, `saved_a` (a) when b does: x * 2 keeps nothing."""
    a_val, b_val = binary_operands(a, b)
    saved_b = b_val if needs_grad(a) else None
    saved_a = a_val if needs_grad(b) else None
    a_shape = _shape(a_val) if saved_b is not None else None  # np.shape of a number costs an array
    b_shape = _shape(b_val) if saved_a is not None else None
    in_float32 = half_with_number(a_val, b_val)  # float16 g times a number: in float32, as the forward

    def mul_backward(grad_out):
        grad_a = grad_b = None
        if saved_b is not None:
            grad_a = number_opmath(np.multiply, grad_out, saved_b) if in_float32 else grad_out * saved_b
            grad_a = unbroadcast(grad_a, a_shape)
        if saved_a is not None:
            grad_b = number_opmath(np.multiply, grad_out, saved_a) if in_float32 else grad_out * saved_a
            grad_b = unbroadcast(grad_b, b_shape)
        return grad_a, grad_b

    y = _binary(mul, a_val, b_val, np.multiply)
    saved = ()  # the operands the VJP reads, for the in-place check (x * 2 reads a number: nothing to check)
    if saved_b is not None and type(b_val) is np.ndarray:
        saved = (b,)
    if saved_a is not None and type(a_val) is np.ndarray:
        saved += (a,)
    return record(mul, y, (a, b), mul_backward, saved=saved)


def div(a, b, rounding_mode=None):
    """y = a / b  (true division: integer inputs give floats, as in PyTorch)

    dL/da = g / b ;  dL/db = -g * (a / b) / b  (PyTorch's formula and choice: y is not saved, so
    changing y in place is allowed).  rounding_mode 'trunc' or 'floor' gives a piecewise-constant
    result with zero gradient.
    Saves `b_val` (b), and `saved_a` (a) when b needs a gradient."""
    a_val, b_val = binary_operands(a, b)
    if rounding_mode is not None:
        rounded = _rounded_quotient(div, a_val, b_val, rounding_mode)
        return record(div, rounded, (a, b), _zero_gradient_pair(a_val, b_val))
    # a Python number stays one (a weak scalar): float16 / 2.0 is float16, not the default float
    a_val, b_val = (to_float(v) if isinstance(v, (np.ndarray, np.generic)) else float(v) for v in (a_val, b_val))
    a_needs, b_needs = needs_grad(a), needs_grad(b)
    a_shape = _shape(a_val) if a_needs else None  # np.shape of a number costs an array
    b_shape = _shape(b_val) if b_needs else None
    saved_a = a_val if b_needs else None
    in_float32 = half_with_number(a_val, b_val)  # float16 g divided by a number: in float32, as the forward

    def div_backward(grad_out):
        grad_a = grad_b = None
        if a_needs:
            grad_a = number_opmath(np.divide, grad_out, b_val) if in_float32 else grad_out / b_val
            grad_a = unbroadcast(grad_a, a_shape)
        if b_needs:
            grad_b = unbroadcast(-grad_out * ((saved_a / b_val) / b_val), b_shape)
        return grad_a, grad_b

    y = _binary(div, a_val, b_val, np.divide)
    return record(div, y, (a, b), div_backward, saved=(a if b_needs else None, b))


def _rounded_quotient(op, a_val, b_val, rounding_mode):
    """a / b rounded by `rounding_mode` ('trunc' or 'floor'), with PyTorch's dtype rules and errors."""
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    if _is_bool(a_val) and _is_bool(b_val):
        raise NotImplementedError(f'"div_{rounding_mode}_cpu" not implemented for \'Bool\'')
    return _binary(op, a_val, b_val, _ROUNDED_QUOTIENTS[rounding_mode])


def _integer_quotient(a_val, b_val, floor):
    """Integer division, exact (not through floats: 2^60 + 1 survives); a zero divisor raises, as in PyTorch."""
    if np.any(np.asarray(b_val) == 0):
        raise RuntimeError("div: ZeroDivisionError (an integer divisor is 0)")
    quotient = np.floor_divide(a_val, b_val)
    if floor:
        return quotient
    inexact = np.not_equal(np.remainder(a_val, b_val), 0)
    return quotient + (inexact & (np.less(a_val, 0) != np.less(b_val, 0)))  # floor -> toward zero


def _floor_quotient(a_val, b_val):
    """floor(a / b) as PyTorch computes it for floats: from fmod, as Python's float //, which np.floor_divide is
    (1.0 // 0.1 is 9, where floor(1.0 / 0.1) is 10; -5 // inf is -1)."""
    if _is_integer(a_val) and _is_integer(b_val):
        return _integer_quotient(a_val, b_val, floor=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf and nan, as PyTorch gives them
        return np.floor_divide(a_val, b_val)


def _trunc_quotient(a_val, b_val):
    """trunc(a / b): PyTorch's float kernel rounds the true quotient toward zero."""
    if _is_integer(a_val) and _is_integer(b_val):
        return _integer_quotient(a_val, b_val, floor=False)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.trunc(np.divide(a_val, b_val))


def _is_integer(value):
    return np.asarray(value).dtype.kind in "iub"


def _is_bool(value):
    return np.asarray(value).dtype.kind == "b"


_ROUNDED_QUOTIENTS = {"floor": _floor_quotient, "trunc": _trunc_quotient}


def floor_divide(input, other):
    """torch.floor_divide (the `//` operator): div's values with rounding_mode='floor' (PyTorch's since 1.13). Unlike
    div, PyTorch defines no derivative for it: a backward through it raises, as PyTorch's does.
    Saves nothing."""
    a_val, b_val = binary_operands(input, other)
    return record(floor_divide, _rounded_quotient(floor_divide, a_val, b_val, "floor"), (input, other),
                  _floor_divide_backward)


def _floor_divide_backward(grad_out):
    raise RuntimeError("derivative for aten::floor_divide is not implemented")


def rfloor_divide(input, other):
    """other // input, for Python's reflected `number // tensor`."""
    return floor_divide(other, input)


def _zero_gradient_pair(a_val, b_val):
    """The VJP of a piecewise-constant binary op: zeros shaped like each input (their shapes only are kept)."""
    a_shape, b_shape = np.shape(a_val), np.shape(b_val)

    def zero_gradient_backward(grad_out):
        return np.zeros(a_shape, grad_out.dtype), np.zeros(b_shape, grad_out.dtype)

    return zero_gradient_backward


def rdiv(a, b):
    """y = b / a (Python's reflected division), computed as PyTorch does: reciprocal(a) * b, so the
    same value, and the graph saves 1/a rather than a."""
    return mul(reciprocal(a), b)


def neg(x):
    """y = -x ;  dL/dx = -g.  Saves nothing."""
    return record(neg, -array_of(x), (x,), lambda grad_out: (-grad_out,))


def pow(base, exponent):
    """y = base ** exponent

    dL/dbase = g * exponent * base^(exponent - 1)
    dL/dexponent = g * y * log(base)   (PyTorch's convention: 0 where base == 0 and exponent >= 0)
    Saves `base_val` and `exp_val` (base and exponent), and `saved_y` (y) when the exponent needs a gradient."""
    base_val, exp_val = binary_operands(base, exponent)
    if isinstance(base_val, np.ndarray) and base_val.dtype.kind in "iu" and np.any(np.asarray(exp_val) < 0):
        raise RuntimeError("pow: integers to negative integer powers are not allowed")
    y = _binary(pow, base_val, exp_val, _power)
    base_needs, exp_needs = needs_grad(base), needs_grad(exponent)
    saved_y = y if exp_needs else None

    def pow_backward(grad_out):
        grad_base = grad_exp = None
        if base_needs:
            if isinstance(exp_val, (int, float)) and exp_val == 0:
                grad_base = np.zeros_like(grad_out)
            else:
                grad_base = grad_out * exp_val * _power(base_val, exp_val - 1)
                if isinstance(exp_val, np.ndarray):  # 0 where exponent == 0, even at base 0 (PyTorch's choice)
                    grad_base = np.where(exp_val == 0, 0.0, grad_base).astype(grad_out.dtype, copy=False)
                grad_base = unbroadcast(grad_base, _shape(base_val))
        if exp_needs:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_base = np.where((base_val == 0) & (exp_val >= 0), 0.0, np.log(base_val))
            grad_exp = unbroadcast(grad_out * saved_y * log_base.astype(saved_y.dtype), _shape(exp_val))
        return grad_base, grad_exp

    return record(pow, y, (base, exponent), pow_backward, saved=(base, exponent, OUTPUT if exp_needs else None))


def _power(base_val, exp_val):
    """base ** exponent as PyTorch computes it: a number exponent of 0.5 or -0.5 goes through sqrt, so
    (-0) ** -0.5 is -inf and (-inf) ** -0.5 is NaN, where np.power gives inf and 0 (x ** 0.5's gradient)."""
    if type(exp_val) is float and exp_val in (0.5, -0.5) and base_val.dtype.kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.sqrt(base_val)
            return root if exp_val == 0.5 else 1 / root
    return np.power(base_val, exp_val)


def rpow(exponent, base):
    """y = base ** exponent, for `number ** tensor`."""
    return pow(base, exponent)


def square(x):
    """y = x^2 ;  dL/dx = 2 g x.  Saves `x_val` (x)."""
    x_val = array_of(x)
    return record(square, x_val * x_val, (x,), lambda grad_out: (2 * grad_out * x_val,), saved=(x,))


# ----- unary math -------------------------------------------------------------
def signum(x_val):
    """sign(x) in {-1, 0, 1} as PyTorch computes it: sign(NaN) = 0 (NumPy's np.sign gives NaN there)."""
    if x_val.dtype.kind != "f":
        return np.sign(x_val)
    return np.subtract(x_val > 0, x_val < 0, dtype=x_val.dtype)


def abs(x):
    """y = |x|

    dL/dx = g * sign(x), with sign(0) = 0: the subgradient at the kink is 0, as in PyTorch; so is
    sign(NaN), so a NaN entry gets 0, not NaN (PyTorch's result).
    Saves `x_val` (x)."""
    x_val = array_of(x)
    return record(abs, np.abs(x_val), (x,), lambda grad_out: (grad_out * signum(x_val),), saved=(x,))


def sign(x):
    """y = sign(x) in {-1, 0, 1}, 0 for NaN (PyTorch's)

    dL/dx = 0 everywhere (also at 0, where PyTorch takes the zero subgradient).  Saves nothing."""
    x_val = array_of(x)
    return record(sign, signum(np.asarray(x_val)), (x,), lambda grad_out: (np.zeros_like(grad_out),))


def sqrt(x):
    """y = sqrt(x) ;  dL/dx = g / (2 y).  Saves `y` (cheaper than recomputing the root)."""
    y = np.sqrt(to_float(array_of(x)))
    return record(sqrt, y, (x,), lambda grad_out: (grad_out / (2 * y),), saved=(OUTPUT,))


def rsqrt(x):
    """y = 1 / sqrt(x) ;  dL/dx = -g y^3 / 2.  Saves `y`."""
    y = 1 / np.sqrt(to_float(array_of(x)))
    return record(rsqrt, y, (x,), lambda grad_out: (-0.5 * grad_out * y * y * y,), saved=(OUTPUT,))


def reciprocal(x):
    """y = 1 / x ;  dL/dx = -g y^2.  Saves `y`."""
    y = 1 / to_float(array_of(x))
    return record(reciprocal, y, (x,), lambda grad_out: (-grad_out * y * y,), saved=(OUTPUT,))


def exp(x):
    """y = e^x ;  dL/dx = g * y.  Saves `y`, not x: the derivative is the output itself."""
    y = np.exp(to_float(array_of(x)))
    return record(exp, y, (x,), lambda grad_out: (grad_out * y,), saved=(OUTPUT,))


def expm1(x):
    """y = e^x - 1 (accurate near 0) ;  dL/dx = g * (y + 1).  Saves `y`."""
    y = np.expm1(to_float(array_of(x)))
    return record(expm1, y, (x,), lambda grad_out: (grad_out * (y + 1),), saved=(OUTPUT,))


def log(x):
    """y = ln x ;  dL/dx = g / x.  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    return record(log, np.log(x_val), (x,), lambda grad_out: (grad_out / x_val,), saved=(x,))


def log2(x):
    """y = log2 x ;  dL/dx = g / (x ln 2).  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    return record(log2, np.log2(x_val), (x,), lambda grad_out: (grad_out / (x_val * np.log(2.0)),), saved=(x,))


def log1p(x):
    """y = ln(1 + x) (accurate near 0) ;  dL/dx = g / (1 + x).  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    return record(log1p, np.log1p(x_val), (x,), lambda grad_out: (grad_out / (1 + x_val),), saved=(x,))


def sin(x):
    """y = sin x ;  dL/dx = g cos x.  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    return record(sin, np.sin(x_val), (x,), lambda grad_out: (grad_out * np.cos(x_val),), saved=(x,))


def cos(x):
    """y = cos x ;  dL/dx = -g sin x.  Saves `x_val` (x)."""
    x_val = to_float(array_of(x))
    return record(cos, np.cos(x_val), (x,), lambda grad_out: (-grad_out * np.sin(x_val),), saved=(x,))


# ----- selection --------------------------------------------------------------
def _selection(op, a, b, compute, a_loses):
    """Record maximum/minimum with PyTorch's VJP: g, halved where a == b, and exactly 0 for the input
    that lost (`a_loses(a, b)`, and b loses where b < a for maximum) -- 0 even when g is inf or NaN.
    A NaN in either input is a tie for no one and a loss for no one, so both inputs get all of g there."""
    a_val, b_val = binary_operands(a, b)
    y = _binary(op, a_val, b_val, compute)
    a_shape = _shape(a_val) if needs_grad(a) else None  # None: no gradient for that input
    b_shape = _shape(b_val) if needs_grad(b) else None

    def selection_backward(grad_out):
        shared = np.where(a_val == b_val, grad_out / 2, grad_out)
        return (None if a_shape is None else unbroadcast(np.where(a_loses(a_val, b_val), 0, shared), a_shape),
                None if b_shape is None else unbroadcast(np.where(a_loses(b_val, a_val), 0, shared), b_shape))

    return record(op, y, (a, b), selection_backward, saved=(a, b))


def maximum(a, b):
    """y = max(a, b) elementwise

    dL/da = g where a > b, g/2 where a == b, 0 where a < b ; dL/db likewise.
    On ties the gradient is split evenly between the two inputs, PyTorch's choice.
    Saves `a_val` and `b_val` (both inputs: the comparison decides who gets g)."""
    return _selection(maximum, a, b, np.maximum, np.less)


def minimum(a, b):
    """y = min(a, b) elementwise

    dL/da = g where a < b, g/2 where a == b, 0 where a > b ; dL/db likewise (ties split evenly, as in PyTorch).
    Saves `a_val` and `b_val` (both inputs: the comparison decides who gets g)."""
    return _selection(minimum, a, b, np.minimum, np.greater)


def where(condition, a, b):
    """y = a where condition else b

    dL/da = g where condition, 0 elsewhere ; dL/db = g where not condition.
    The condition gets no gradient. Broadcasting applies to all three.  Saves `cond` (the bool condition)."""
    cond = np.asarray(array_of(condition), dtype=bool)
    a_val, b_val = binary_operands(a, b)
    try:
        y = np.where(cond, a_val, b_val)
    except ValueError:
        raise ValueError(f"where: condition {cond.shape}, input {_shape(a_val)} and other {_shape(b_val)} "
                         f"cannot be broadcast together") from None
    a_shape = _shape(a_val) if needs_grad(a) else None  # None: no gradient for that input
    b_shape = _shape(b_val) if needs_grad(b) else None

    def where_backward(grad_out):
        zero = np.zeros((), grad_out.dtype)
        return (None,
                None if a_shape is None else unbroadcast(np.where(cond, grad_out, zero), a_shape),
                None if b_shape is None else unbroadcast(np.where(cond, zero, grad_out), b_shape))

    return record(where, y, (condition, a, b), where_backward, saved=(condition,))


# ----- comparisons (no gradient: the result is boolean) ------------------------
def _comparison(name, ufunc):
    def compare(a, b):
        a_val, b_val = binary_operands(a, b)
        return record(compare, _binary(compare, a_val, b_val, ufunc), (), None)

    compare.__name__ = name
    compare.__doc__ = f"y = a {name} b elementwise, a bool tensor; not differentiable."
    return compare


eq = _comparison("eq", np.equal)
ne = _comparison("ne", np.not_equal)
lt = _comparison("lt", np.less)
le = _comparison("le", np.less_equal)
gt = _comparison("gt", np.greater)
ge = _comparison("ge", np.greater_equal)


def logical_not(x):
    """Boolean not; not differentiable."""
    return record(logical_not, np.logical_not(array_of(x)), (), None)


def isnan(x):
    return record(isnan, np.isnan(array_of(x)), (), None)


def isfinite(x):
    return record(isfinite, np.isfinite(array_of(x)), (), None)


def floor(x):
    """y = floor(x) ;  dL/dx = 0 (piecewise constant).  Saves nothing."""
    return record(floor, np.floor(array_of(x)), (x,), lambda grad_out: (np.zeros_like(grad_out),))


def round(x, decimals=0):
    """y = round(x) (half to even, as in PyTorch) ;  dL/dx = 0.  Saves nothing."""
    return record(round, np.round(array_of(x), decimals), (x,), lambda grad_out: (np.zeros_like(grad_out),))
