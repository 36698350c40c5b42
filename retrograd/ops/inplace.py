"""In-place ops (`add_`, `x += y`, `x[i] = v`, `zero_`, `relu(x, inplace=True)`, ...) with PyTorch's rules.

An in-place op computes the out-of-place op, then `hold_result` makes the tensor hold the result:

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

from ..autograd.grad_mode import _state as _grad_state
from ..random import _generator, bernoulli_draws, exponential_draws
from ..tensor import Tensor
from .elementwise import where
from .indexing import index_put
from .indexing import masked_fill
from .shape import cast


def hold_result(self, result, op_name, self_is_also_an_operand=False):
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


def in_place_method(fn, name):
    def method(self, *args, **kwargs):
        return hold_result(self, fn(self, *args, **kwargs), name, any(arg is self for arg in args))

    method.__name__ = name
    method.__doc__ = f"In-place version of {fn.__name__} (see `retrograd.ops.inplace` for the rules)."
    return method


def _check_leaf(self, op_name):
    if self.grad_fn is None and self._requires_grad and _grad_state[0]:
        raise RuntimeError(f"{op_name}: a leaf Variable that requires grad is being used in an in-place "
                           f"operation. Wrap the update in `with retrograd.no_grad():` or use the out-of-place op.")


def _records(self, other=None):
    """Whether an in-place op on `self` (with `other`) must be recorded on the tape."""
    return _grad_state[0] and (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad))


def zero_(self):
    return fill_(self, 0)


def fill_(self, value):
    """self = value everywhere; recorded, self's old graph gets gradient 0 (and value the sum of g)."""
    name = "zero_" if isinstance(value, int) and value == 0 else "fill_"
    _check_leaf(self, name)
    if _records(self, value):
        return hold_result(self, masked_fill(self, np.True_, value), name)
    self._bump_version()
    self.array[...] = value.item() if isinstance(value, Tensor) else value
    return self


def copy_(self, src):
    """self = src (broadcast, cast to self's dtype); recorded, src gets g and self's old graph 0."""
    _check_leaf(self, "copy_")
    if _records(self, src):
        # where(True, src, self): src's gradient is g, and self's old graph still runs, with 0 (as in PyTorch)
        source = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
        return hold_result(self, where(np.True_, cast(source, self.dtype), self), "copy_")
    source = np.broadcast_to(np.asarray(src.array if isinstance(src, Tensor) else src), self.array.shape)
    self._bump_version()
    np.copyto(self.array, source, casting="unsafe")
    return self


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """self = draws from N(mean, std^2), PyTorch's Box-Muller on its stream (see retrograd.random)."""
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    return _fill_with_draws(self, "normal_", lambda rng, shape: rng.normal(shape, self.dtype, mean, std), generator)


def uniform_(self, a=0.0, b=1.0, *, generator=None, **bounds):
    """self = draws from U(a, b) (PyTorch's from=/to= keywords too), bit-identical to PyTorch."""
    a, b = bounds.pop("from", a), bounds.pop("to", b)
    if bounds:
        raise TypeError(f"uniform_() got unexpected keyword argument(s) {sorted(bounds)}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    return _fill_with_draws(self, "uniform_", lambda rng, shape: rng.uniform(shape, self.dtype, a, b), generator)


def bernoulli_(self, p=0.5, *, generator=None):
    """self = 0/1 draws, 1 with probability p (a float, or a tensor broadcast to self's shape)."""
    probabilities = p.array if isinstance(p, Tensor) else p
    return _fill_with_draws(self, "bernoulli_", lambda rng, shape: bernoulli_draws(probabilities, shape, rng),
                            generator)


def exponential_(self, lambd=1.0, *, generator=None):
    """self = draws from Exp(lambd): -1 / lambd * log1p(-u)."""
    return _fill_with_draws(self, "exponential_",
                            lambda rng, shape: exponential_draws(shape, self.dtype, lambd, rng), generator)


def random_(self, low=None, high=None, *, generator=None, **bounds):
    """random_(to), random_(from, to) (also as from=/to=): integers in [from, to); random_() over
    [0, 2^mantissa] for floats and [0, max] for integers (PyTorch's ranges)."""
    low, high = bounds.pop("from", low), bounds.pop("to", high)
    if bounds:
        raise TypeError(f"random_() got unexpected keyword argument(s) {sorted(bounds)}")
    if high is None and low is not None:
        low, high = 0, low
    if high is not None and not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _fill_with_draws(self, "random_", lambda rng, shape: _random_integers(rng, shape, self.dtype, low, high),
                            generator)


def _random_integers(rng, shape, dtype, low, high):
    if high is not None:
        return rng.integers_from_to(shape, low, high)
    if dtype == np.bool_:
        return rng.random32(int(np.prod(shape))).reshape(shape) & np.uint64(1)
    wide = dtype in (np.int64, np.float64)
    words = rng.random64(int(np.prod(shape))) if wide else rng.random32(int(np.prod(shape)))
    span = 2**np.finfo(dtype).nmant * 2 + 1 if dtype.kind == "f" else int(np.iinfo(dtype).max) + 1
    return (words % np.uint64(span)).reshape(shape)


def _fill_with_draws(self, op_name, draw, generator):
    _check_leaf(self, op_name)
    values = draw(_generator(generator), self.array.shape)  # drawn before anything changes (an error loses nothing)
    self._bump_version()
    np.copyto(self.array, values, casting="unsafe")
    return self


def setitem(self, index, value):
    result = index_put(self, index, value)
    hold_result(self, result, "__setitem__")
