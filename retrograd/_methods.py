"""Tensor methods and operators, bound to the ops in one table.

Everything here is delegation: `x.tanh()` is `ops.activation.tanh(x)`. In-place
variants (`add_`, `x += y`, ...) follow PyTorch's rules:

- under `no_grad`, or when nothing involved requires grad, the values are
  written into the existing array, so tensors sharing it (`.data`, views made
  with `from_numpy`) see the change -- this is how optimizers update weights;
- with grad recording on, a leaf that requires grad may not be modified
  (PyTorch's error); a non-leaf takes the result's values and `grad_fn` (the
  result is computed out of place, so the op's own VJP keeps the old values,
  as PyTorch's in-place ops keep a copy of the original when they need it).

Either way the tensor's version goes up by one, and a backward that needs a
value saved before the change raises (see `ops.base.record`'s `saved=`).
"""
import numpy as np

from .autograd.grad_mode import _state as _grad_state
from .ops import activation, elementwise, linalg, reduce, shape
from .tensor import Tensor


def _inplace(self, result, op_name, self_is_also_an_operand=False):
    """Make `self` hold `result` (the out-of-place op's value), PyTorch-style."""
    if _grad_state[0] and (self._requires_grad or result._requires_grad):
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{op_name}: a leaf Variable that requires grad is being used in an in-place operation. "
                f"Wrap the update in `with retrograd.no_grad():` or use the out-of-place op."
            )
        if result.array.shape != self.array.shape:
            raise RuntimeError(f"{op_name}: output with shape {tuple(self.shape)} doesn't match the broadcast "
                               f"shape {tuple(result.shape)}")
        _rebind(self, result, op_name, self_is_also_an_operand)
        return self
    try:
        np.copyto(self.array, result.array, casting="same_kind")
    except TypeError:
        raise RuntimeError(f"{op_name}: result type {result.dtype} can't be cast to the desired output type "
                           f"{self.dtype}") from None
    except ValueError:
        raise RuntimeError(f"{op_name}: output with shape {tuple(self.shape)} doesn't match the broadcast shape "
                           f"{tuple(result.shape)}") from None
    self._bump_version()
    return self


def _rebind(self, result, op_name, self_is_also_an_operand):
    """The recorded in-place op: `self` takes the result's new array, node and version counter.

    Ops recorded earlier that saved `self` see its old counter move on and raise in backward, as in
    PyTorch. This op's own node may have saved self's old array (as PyTorch saves a copy of the
    original): nothing can change that array now but an alias of it, so that entry is dropped --
    unless self was also passed as the other operand (`y.mul_(y)`), which PyTorch saves as itself
    and so refuses in backward. Aliases (views of self, or self a view) hold the old array, which no
    longer shows self's values: they are marked stale and refuse to be used (PyTorch would write
    through them; retrograd cannot)."""
    old_counter = self._counter()
    self._bump_version()
    new_counter = result._counter()
    new_counter.value = old_counter.value  # x._version keeps counting up, as in PyTorch
    node = result.grad_fn
    if node is not None and node.saved is not None:
        node.saved = tuple((counter, new_counter.value if counter is new_counter else version, array)
                           for counter, version, array in node.saved
                           if counter is not old_counter or self_is_also_an_operand) or None
    if old_counter.shared:
        old_counter.stale_reason = (
            f"a view (or detach()) of a tensor that {op_name} changed in place while recording gradients, "
            f"or the base of such a view, was used afterwards: retrograd's recorded in-place ops give the "
            f"tensor a new array, so its aliases keep the old values. Make the change out of place "
            f"(y = y.{op_name.strip('_')}(...)) or under no_grad()."
        )
    self.array = result.array.astype(self.array.dtype, copy=False)
    self.grad_fn = node
    self._output_nr = result._output_nr
    self._requires_grad = result._requires_grad
    self._version_counter = new_counter


def _make_inplace(fn, name):
    def method(self, *args, **kwargs):
        return _inplace(self, fn(self, *args, **kwargs), name, any(arg is self for arg in args))

    method.__name__ = name
    method.__doc__ = f"In-place version of {fn.__name__} (see `_methods` for the rules)."
    return method


def _reflected(fn):
    def method(self, other):
        return fn(other, self)

    return method


def _check_leaf(self, op_name):
    if self.grad_fn is None and self._requires_grad and _grad_state[0]:
        raise RuntimeError(f"{op_name}: a leaf Variable that requires grad is being used in an in-place "
                           f"operation. Wrap the update in `with retrograd.no_grad():` or use the out-of-place op.")


def _records(self, other=None):
    """Whether an in-place op on `self` (with `other`) must be recorded on the tape."""
    return _grad_state[0] and (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad))


def _zero_(self):
    return _fill_(self, 0)


def _fill_(self, value):
    """self = value everywhere; recorded, self's old graph gets gradient 0 (and value the sum of g)."""
    name = "zero_" if isinstance(value, int) and value == 0 else "fill_"
    _check_leaf(self, name)
    if _records(self, value):
        return _inplace(self, shape.masked_fill(self, np.True_, value), name)
    self._bump_version()
    self.array[...] = value.item() if isinstance(value, Tensor) else value
    return self


def _copy_(self, src):
    """self = src (broadcast, cast to self's dtype); recorded, src gets g and self's old graph 0."""
    _check_leaf(self, "copy_")
    if _records(self, src):
        # where(True, src, self): src's gradient is g, and self's old graph still runs, with 0 (as in PyTorch)
        source = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
        return _inplace(self, elementwise.where(np.True_, shape.cast(source, self.dtype), self), "copy_")
    source = np.broadcast_to(np.asarray(src.array if isinstance(src, Tensor) else src), self.array.shape)
    self._bump_version()
    np.copyto(self.array, source, casting="unsafe")
    return self


def _normal_(self, mean=0.0, std=1.0, generator=None):
    from .tensor import default_generator

    rng = generator or default_generator()
    _check_leaf(self, "normal_")
    self._bump_version()
    self.array[...] = rng.normal(mean, std, self.array.shape)
    return self


def _uniform_(self, a=0.0, b=1.0, generator=None):
    from .tensor import default_generator

    rng = generator or default_generator()
    _check_leaf(self, "uniform_")
    self._bump_version()
    self.array[...] = rng.uniform(a, b, self.array.shape)
    return self


def _view(self, *size):
    return shape.reshape(self, *size)


def _getitem(self, index):
    return shape.getitem(self, index)


def _setitem(self, index, value):
    result = shape.index_put(self, index, value)
    _inplace(self, result, "__setitem__")


def _T(self):
    return shape.permute(self, *reversed(range(self.ndim)))


def _mT(self):
    return shape.transpose(self, -2, -1)


def _eq(self, other):
    return elementwise.eq(self, other)


def _ne(self, other):
    return elementwise.ne(self, other)


METHODS = {
    # operators
    "__add__": elementwise.add, "__radd__": elementwise.add,
    "__sub__": elementwise.sub, "__rsub__": elementwise.rsub,
    "__mul__": elementwise.mul, "__rmul__": elementwise.mul,
    "__truediv__": elementwise.div, "__rtruediv__": elementwise.rdiv,
    "__pow__": elementwise.pow, "__rpow__": elementwise.rpow,
    "__matmul__": linalg.matmul, "__rmatmul__": linalg.rmatmul,
    "__neg__": elementwise.neg, "__abs__": elementwise.abs,
    "__lt__": elementwise.lt, "__le__": elementwise.le, "__gt__": elementwise.gt, "__ge__": elementwise.ge,
    "__eq__": _eq, "__ne__": _ne,
    "__invert__": elementwise.logical_not,
    "__getitem__": _getitem, "__setitem__": _setitem,
    # elementwise
    "add": elementwise.add, "sub": elementwise.sub, "mul": elementwise.mul, "div": elementwise.div,
    "subtract": elementwise.sub, "multiply": elementwise.mul, "divide": elementwise.div,
    "true_divide": elementwise.div, "neg": elementwise.neg, "negative": elementwise.neg,
    "pow": elementwise.pow, "square": elementwise.square, "abs": elementwise.abs, "sign": elementwise.sign,
    "sqrt": elementwise.sqrt, "rsqrt": elementwise.rsqrt, "reciprocal": elementwise.reciprocal,
    "exp": elementwise.exp, "expm1": elementwise.expm1, "log": elementwise.log, "log2": elementwise.log2,
    "log1p": elementwise.log1p, "sin": elementwise.sin, "cos": elementwise.cos,
    "maximum": elementwise.maximum, "minimum": elementwise.minimum,
    "eq": elementwise.eq, "ne": elementwise.ne, "lt": elementwise.lt, "le": elementwise.le,
    "gt": elementwise.gt, "ge": elementwise.ge, "isnan": elementwise.isnan, "isfinite": elementwise.isfinite,
    "logical_not": elementwise.logical_not, "floor": elementwise.floor, "round": elementwise.round,
    "matmul": linalg.matmul, "mm": linalg.matmul, "bmm": linalg.matmul, "mv": linalg.matmul,
    "dot": linalg.matmul,
    # activations
    "sigmoid": activation.sigmoid, "tanh": activation.tanh, "relu": activation.relu,
    "clamp": activation.clamp, "clip": activation.clamp,
    "softmax": activation.softmax, "log_softmax": activation.log_softmax, "softmin": activation.softmin,
    "logsigmoid": activation.logsigmoid, "silu": activation.silu,
    # reductions
    "sum": reduce.sum, "mean": reduce.mean, "prod": reduce.prod, "var": reduce.var, "std": reduce.std,
    "max": reduce.max, "min": reduce.min, "amax": reduce.amax, "amin": reduce.amin,
    "logsumexp": reduce.logsumexp, "norm": reduce.norm, "argmax": reduce.argmax, "argmin": reduce.argmin,
    "cumsum": reduce.cumsum, "count_nonzero": reduce.count_nonzero, "all": reduce.all, "any": reduce.any,
    # shape
    "reshape": shape.reshape, "view": _view, "flatten": shape.flatten, "squeeze": shape.squeeze,
    "unsqueeze": shape.unsqueeze, "transpose": shape.transpose, "permute": shape.permute,
    "expand": shape.expand, "repeat": shape.repeat, "split": shape.split, "chunk": shape.chunk,
    "gather": shape.gather, "index_select": shape.index_select, "masked_fill": shape.masked_fill,
    "unbind": shape.unbind, "expand_as": shape.expand_as, "reshape_as": shape.reshape_as,
    "view_as": shape.reshape_as, "t": shape.t, "swapaxes": shape.transpose,
    "flip": shape.flip, "roll": shape.roll, "narrow": shape.narrow, "movedim": shape.movedim,
    "moveaxis": shape.movedim, "tril": shape.tril, "triu": shape.triu, "scatter_add": shape.scatter_add,
    "index_put": shape.index_put,
    # in-place
    "zero_": _zero_, "fill_": _fill_, "copy_": _copy_, "normal_": _normal_, "uniform_": _uniform_,
}

INPLACE = {
    "add_": elementwise.add, "sub_": elementwise.sub, "mul_": elementwise.mul, "div_": elementwise.div,
    "pow_": elementwise.pow, "neg_": elementwise.neg, "abs_": elementwise.abs, "sqrt_": elementwise.sqrt,
    "exp_": elementwise.exp, "log_": elementwise.log, "clamp_": activation.clamp, "clip_": activation.clamp,
    "sigmoid_": activation.sigmoid, "tanh_": activation.tanh, "relu_": activation.relu,
    "leaky_relu_": activation.leaky_relu, "elu_": activation.elu, "hardtanh_": activation.hardtanh,
    "relu6_": activation.relu6, "silu_": activation.silu,
    "masked_fill_": shape.masked_fill, "tril_": shape.tril, "triu_": shape.triu,
    "scatter_add_": shape.scatter_add, "index_put_": shape.index_put,
    "__iadd__": elementwise.add, "__isub__": elementwise.sub, "__imul__": elementwise.mul,
    "__itruediv__": elementwise.div, "__ipow__": elementwise.pow,
}


def bind():
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    for name, fn in INPLACE.items():
        setattr(Tensor, name, _make_inplace(fn, name))
    Tensor.T = property(_T)
    Tensor.mT = property(_mT)
    Tensor.__hash__ = lambda self: id(self)


bind()
