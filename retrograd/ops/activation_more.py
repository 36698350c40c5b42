"""More of PyTorch's activations: SELU, CELU, Mish, Hardswish, Hardsigmoid, GLU, Softsign, Softshrink,
Hardshrink, Tanhshrink, Softmax2d's softmax, PReLU and RReLU.

Most are composed from existing ops (elu, softplus, tanh, sigmoid, where, ...), which gives them their
gradients. The piecewise-linear ones whose kinks PyTorch fixes by a test of its own are ops here, so
that each kink's gradient is written once and matches PyTorch's:

    hardsigmoid  dL/dx = g / 6 where -3 < x < 3, else 0            (0 at both kinks)
    hardswish    dL/dx = g * (x / 3 + 1/2) where -3 < x < 3, 0 where x <= -3, g where x >= 3
                 (the outer pieces' slopes at the kinks: 0 at x = -3, 1 at x = 3)
    softshrink   dL/dx = g where |x| > lambd, else 0              (0 at x = +-lambd)
    hardshrink   the same mask as softshrink

celu is an op too: PyTorch's backward takes 1/alpha from alpha rounded to float32, which a composition
from elu would not reproduce to the last bit.
"""
import numpy as np

from ..random import _generator
from .activation import _float_input, elu, leaky_relu, sigmoid, softmax, softplus, tanh
from .base import array_of, pass_where, record
from .elementwise import abs as elementwise_abs
from .elementwise import add, div, mul, sub, where
from .inplace import hold_result
from .shape import chunk, reshape

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_ONE_SIXTH_FLOAT32 = float(np.float32(1.0) / np.float32(6.0))


def _maybe_inplace(x, out, inplace, op_name):
    return hold_result(x, out, op_name) if inplace else out


def selu(input, inplace=False):
    """y = scale * elu(x, alpha) with PyTorch's constants alpha = 1.6733, scale = 1.0507 (Klambauer et al.).
    Composed: dL/dx = scale * g where x > 0, else scale * alpha * e^x * g (elu's side at x = 0)."""
    return _maybe_inplace(input, mul(elu(input, SELU_ALPHA), SELU_SCALE), inplace, "selu_")


def celu(input, alpha=1.0, inplace=False):
    """y = max(0, x) + min(0, alpha * (e^(x / alpha) - 1)) ;  dL/dx = g where x > 0, else g * e^(x * s) with
    s = 1 / alpha (1 at x = 0, as PyTorch). PyTorch's backward rounds alpha to float32 before taking s
    (derivatives.yaml: 1.0 / alpha.toFloat()), so this op does too: the same gradient to the last bit.
    Saves `x_val` (x)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    x_val = _float_input(input, "celu")
    y = np.where(x_val > 0, x_val, alpha * np.expm1(np.minimum(x_val, 0) / alpha)).astype(x_val.dtype, copy=False)
    input_scale = 1.0 / float(np.float32(alpha))

    def celu_backward(grad_out):
        with np.errstate(over="ignore"):  # e^x overflows only on the side where g passes
            slope = input_scale * alpha * np.exp(x_val * input_scale)
        return (np.where(x_val <= 0, grad_out * slope, grad_out).astype(x_val.dtype, copy=False),)
    return _maybe_inplace(input, record(celu, y, (input,), celu_backward, saved=(input,)), inplace, "celu_")


def mish(input, inplace=False):
    """y = x * tanh(softplus(x)) (Misra). Composed: dL/dx = g * (tanh(sp) + x * sigmoid(x) * (1 - tanh(sp)^2))."""
    _float_input(input, "mish")
    return _maybe_inplace(input, mul(input, tanh(softplus(input))), inplace, "mish_")


def softsign(input):
    """y = x / (1 + |x|). Composed: dL/dx = g / (1 + |x|)^2."""
    return div(input, add(elementwise_abs(input), 1))


def tanhshrink(input):
    """y = x - tanh(x). Composed: dL/dx = g * tanh(x)^2."""
    return sub(input, tanh(input))


def glu(input, dim=-1):
    """y = a * sigmoid(b), where a and b are the two halves of x along `dim` (gated linear unit).
    Composed: dL/da = g * sigmoid(b), dL/db = g * a * sigmoid(b) * (1 - sigmoid(b))."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim % input.ndim] if -input.ndim <= dim < input.ndim else None
    if size is not None and size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {size}")
    first, second = chunk(input, 2, dim)
    return mul(first, sigmoid(second))


def hardsigmoid(input, inplace=False):
    """y = relu6(x + 3) / 6 ;  dL/dx = g / 6 where -3 < x < 3, else 0 (0 at both kinks, PyTorch's test).
    The 1/6 of the gradient is float32's, as in PyTorch's kernel (1.0f / 6.0f), in every dtype.
    Saves `x_val` (x)."""
    x_val = _float_input(input, "hardsigmoid")
    y = np.clip(x_val + 3, 0, 6) / 6

    def hardsigmoid_backward(grad_out):
        return (pass_where(grad_out * _ONE_SIXTH_FLOAT32, (x_val > -3) & (x_val < 3)),)
    return _maybe_inplace(input, record(hardsigmoid, y.astype(x_val.dtype, copy=False), (input,),
                                        hardsigmoid_backward, saved=(input,)), inplace, "hardsigmoid_")


def hardswish(input, inplace=False):
    """y = x * relu6(x + 3) / 6 ;  dL/dx = 0 where x <= -3, g * (x / 3 + 1/2) where -3 < x < 3, g where x >= 3.
    The kinks take the outer pieces' slopes, as PyTorch 2.13's: 0 at x = -3 and 1 at x = 3 (and g at NaN).
    Saves `x_val` (x)."""
    x_val = _float_input(input, "hardswish")
    y = x_val * np.clip(x_val + 3, 0, 6) / 6

    def hardswish_backward(grad_out):
        slope = np.where(x_val <= -3, 0, np.where(x_val < 3, x_val / 3 + 0.5, 1)).astype(x_val.dtype, copy=False)
        return (grad_out * slope,)
    return _maybe_inplace(input, record(hardswish, y.astype(x_val.dtype, copy=False), (input,),
                                        hardswish_backward, saved=(input,)), inplace, "hardswish_")


def softshrink(input, lambd=0.5):
    """y = x - lambd where x > lambd, x + lambd where x < -lambd, else 0 ;  dL/dx = g where |x| > lambd,
    else 0 (0 at x = +-lambd, PyTorch's test). Saves `outside` (the mask |x| > lambd, NaN included)."""
    x_val = _float_input(input, "softshrink")
    _check_lambd("softshrink", lambd, x_val.dtype)
    # x * 0 in the middle, as PyTorch's kernel: -0.0 for negative x, NaN for NaN
    y = np.where(x_val > lambd, x_val - lambd, np.where(x_val < -lambd, x_val + lambd, x_val * 0)).astype(x_val.dtype)
    outside = (x_val > lambd) | (x_val < -lambd) | np.isnan(x_val)
    return record(softshrink, y, (input,), _shrink_backward(outside))


def hardshrink(input, lambd=0.5):
    """y = x where |x| > lambd, else 0 ;  dL/dx = g where |x| > lambd, else 0 (0 at x = +-lambd).
    Saves `outside` (the mask |x| > lambd, NaN included)."""
    x_val = _float_input(input, "hardshrink")
    outside = (x_val > lambd) | (x_val < -lambd) | np.isnan(x_val)
    return record(hardshrink, np.where(outside, x_val, 0).astype(x_val.dtype), (input,), _shrink_backward(outside))


def _shrink_backward(outside):
    def shrink_backward(grad_out):
        return (pass_where(grad_out, outside),)
    return shrink_backward


def _check_lambd(op_name, lambd, dtype):
    if not lambd >= 0:
        raise RuntimeError(f"{op_name}: lambda must be in range [0, {np.finfo(dtype).max:g}] for input dtype "
                           f"{dtype}, but found {lambd:g}")


def softmax2d(input):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input (dim -3): nn.Softmax2d's function."""
    if input.ndim not in (3, 4):
        raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
    return softmax(input, -3)


def prelu(input, weight):
    """y = x where x > 0, else w * x, with one learnt slope per channel (dim 1) or one for all.
    Composed from `where`: dL/dx = g where x > 0, else w * g (w at x = 0); dL/dw = sum of g * x where x <= 0."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    w_count = int(np.prod(weight.shape))
    channels = input.shape[1] if input.ndim >= 2 else 1
    if w_count not in (1, channels):
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{w_count} and channel size = {channels}.")
    if w_count > 1 and input.ndim >= 2:
        weight = reshape(weight, (channels,) + (1,) * (input.ndim - 2))
    elif input.ndim == 0:
        weight = reshape(weight, ())
    return where(array_of(input) > 0, input, mul(weight, input))


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU: y = x where x > 0, else a * x. Training: a ~ U(lower, upper), one draw per entry
    x <= 0 in memory order (PyTorch's CPU kernel and stream: one 53-bit uniform each); otherwise
    a = (lower + upper) / 2 (leaky_relu). dL/dx = g * a where x <= 0, else g (the draw's slope at x = 0)."""
    x_val = _float_input(input, "rrelu")
    if not training:
        return _maybe_inplace(input, leaky_relu(input, (lower + upper) / 2), inplace, "rrelu_")
    negative = ~(x_val > 0)
    slopes = np.ones(x_val.shape, x_val.dtype)
    slopes[negative] = _rrelu_slopes(int(negative.sum()), lower, upper, x_val.dtype)
    return _maybe_inplace(input, mul(input, slopes), inplace, "rrelu_")


def _rrelu_slopes(count, lower, upper, dtype):
    """PyTorch's draws: u * (upper - lower) + lower in float64, without a fused multiply-add, u a 53-bit
    uniform, the bounds first rounded to the input's dtype (its kernel holds them in that type)."""
    lower, upper = float(dtype.type(lower)), float(dtype.type(upper))
    unit = (_generator(None).random64(count) & np.uint64(2**53 - 1)).astype(np.float64) * 2.0**-53
    return (unit * (upper - lower) + lower).astype(dtype)
