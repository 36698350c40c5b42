"""Tensor: an ndarray plus what autograd needs; creation functions.

A Tensor holds its values in `.array` (a NumPy ndarray, retrograd's name for
the storage). `.data` is, as in PyTorch, a Tensor sharing that storage but
detached from the tape. This module holds no calculus and imports nothing of
retrograd but the dtypes: the autograd engine and the ops are built on Tensor.
So its math methods and operators (`x.exp()`, `x + y`, `x.add_(y)`, `x[i] = v`,
`x.backward()`) are the ops of the same name, bound to Tensor in one table:
`retrograd/ops/methods.py`.
"""
import numbers
import weakref

import numpy as np

from ._tensor_str import tensor_repr
from .device import CPU, check_device, device as _device_type
from .dtypes import _default_dtype, as_dtype, bool_, float16, float32, float64, int32, int64


def _infer_array(data, dtype=None):
    """Convert user data to an ndarray with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        array = data.array
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
            data = _nested_arrays(data)
        try:
            array = np.asarray(data)
        except ValueError as error:
            raise ValueError(f"tensor: could not build a tensor from nested data ({error})") from None
        if array.dtype == object or array.dtype.kind in "USV":
            raise TypeError(
                f"tensor: expected numbers, nested lists of numbers or an array, got {type(data).__name__}"
            )
        if dtype is None:  # an explicit dtype converts from full precision, not via the default
            if array.dtype.kind == "f":
                array = array.astype(_default_dtype[0])
            elif array.dtype.kind in "iu":
                array = array.astype(np.int64)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def _flat(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flat(item)
        else:
            yield item


def _nested_arrays(items):
    return [_nested_arrays(x) if isinstance(x, (list, tuple)) else (x.array if isinstance(x, Tensor) else x)
            for x in items]


class VersionCounter:
    """How many times a tensor's values were changed in place, shared by the tensor, its views and
    `.detach()` (PyTorch's semantics; `.data` gets a counter of its own).

    An op that saves a tensor for its backward records the count; backward refuses the saved
    tensor if the count moved (`autograd.engine.check_saved_versions`). `shared` says a view or a
    detached alias holds this counter too; `stale_reason` is set when such an alias can no longer
    see the tensor's values (see `ops.inplace.hold_result`), so using it raises instead of computing
    with old values."""

    # Class attributes are the starting values: making a counter runs no Python code, and most
    # counters (one per tensor an op saves) are never bumped.
    value = 0
    shared = False
    stale_reason = None


class Tensor:
    """An n-dimensional array that records the ops applied to it for reverse-mode autodiff."""

    __slots__ = ("array", "grad_fn", "_requires_grad", "_output_nr", "_grad", "_hooks", "_accumulator",
                 "_retains_grad", "_version_counter", "__weakref__", "__dict__")

    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, dtype=None, requires_grad=False):
        self.array = _infer_array(data, as_dtype(dtype))
        self.grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        self._grad = None
        self._hooks = None
        self._accumulator = None
        self._retains_grad = False
        self._version_counter = None
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _from_array(array, _new=object.__new__):
        """Wrap an op's result without copying or inferring (the hot path: a static method, with
        object.__new__ bound at definition, is the cheapest call here)."""
        t = _new(Tensor)
        t.array = array
        t.grad_fn = None
        t._requires_grad = False
        t._output_nr = 0
        t._grad = None
        t._hooks = None
        t._accumulator = None
        t._retains_grad = False
        t._version_counter = None  # made on first need: most tensors are never saved, viewed or modified
        return t

    # ----- version counter: in-place changes ---------------------------------
    def _counter(self):
        """This tensor's VersionCounter (created on first use)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = VersionCounter()
        return counter

    def _share_counter_with(self, alias):
        """Make `alias` (a view of this tensor's memory, or its detach()) count the same changes."""
        counter = self._counter()
        counter.shared = True
        alias._version_counter = counter

    def _bump_version(self):
        """Record one in-place change of the values (every in-place op and optimizer step calls this)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = VersionCounter()
        elif counter.stale_reason is not None:
            raise RuntimeError(counter.stale_reason)
        counter.value += 1

    @property
    def _version(self):
        """How many in-place changes this tensor's values (through it or an alias) have seen."""
        counter = self._version_counter
        return 0 if counter is None else counter.value

    # ----- autograd state -------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if value and self.array.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got {self.dtype}")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
        if value is not None and value.shape != self.shape:
            raise RuntimeError(f"assigned grad has data of a different size: {value.shape} vs {self.shape}")
        self._grad = value

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            self.grad_fn.register_output_hook(self._output_nr, hook)
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
        return _RemovableHandle(self, hook)

    def retain_grad(self):
        """Keep `.grad` on a non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:  # PyTorch's error: there will never be a gradient to keep
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        ref = weakref.ref(self)

        def store_grad(grad):
            tensor = ref()
            if tensor is not None:
                if tensor._grad is None:
                    tensor._grad = Tensor._from_array(np.array(grad.array))
                else:
                    tensor._grad.array = tensor._grad.array + grad.array

        self.grad_fn.register_output_hook(self._output_nr, store_grad)

    @property
    def retains_grad(self):
        return self._retains_grad

    def detach(self):
        """The same storage, cut from the tape; in-place changes through it bump this tensor's version."""
        detached = Tensor._from_array(self.array)
        self._share_counter_with(detached)
        return detached

    def detach_(self):
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        """The same storage, cut from the tape, with a version counter of its own: changes made
        through `.data` are invisible to autograd (PyTorch's escape hatch; prefer `detach()`)."""
        return Tensor._from_array(self.array)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else np.asarray(value)

    # ----- array facts ----------------------------------------------------
    @property
    def shape(self):
        return Size(self.array.shape)

    def size(self, dim=None):
        return Size(self.array.shape) if dim is None else self.array.shape[dim]

    @property
    def ndim(self):
        return self.array.ndim

    def dim(self):
        return self.array.ndim

    def numel(self):
        return self.array.size

    nelement = numel

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self):
        """Where the values live: always `retrograd.device('cpu')`."""
        return CPU

    @property
    def is_cuda(self):
        return False

    def is_floating_point(self):
        return self.array.dtype.kind == "f"

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def numpy(self, force=False):
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self.array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted to Scalar")
        return self.array.item()

    def tolist(self):
        return self.array.tolist()

    def __format__(self, format_spec):
        """f"{loss:.4f}": a 0-d tensor formats as its Python number (so f"{loss}" prints 0.25, not
        tensor(0.2500)); any other tensor, and a subclass such as Parameter, only with an empty spec,
        as its str(). PyTorch's rule, to the letter, so a format that works there works here."""
        if self.array.ndim == 0 and type(self) is Tensor:
            return self.array.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.array.size} values is ambiguous")
        return bool(self.array.item())

    def __hash__(self):
        return id(self)

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.array)))

    def __repr__(self):
        """PyTorch's text, character for character: see `retrograd/_tensor_str.py`. A subclass prints
        under its class name, `MyTensor([1., 2.])`, as in PyTorch."""
        return self._repr_as("tensor(" if type(self) is Tensor else type(self).__name__ + "(")

    def _repr_as(self, prefix):
        grad_fn_name = None if self.grad_fn is None else self.grad_fn.name()
        return tensor_repr(self.array, grad_fn_name, self._requires_grad, prefix)

    # ----- conversions ----------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
        """PyTorch's three forms: `to(dtype)`, `to(device, dtype=None)`, `to(other)` (other's dtype).

        A device must be the CPU (a device object, 'cpu', 'cpu:0'); CUDA and the others raise.
        Returns `self` when nothing changes, unless `copy=True`."""
        args = list(args)
        if args and isinstance(args[0], Tensor):
            dtype = args.pop(0).dtype
        elif args and (args[0] is None or _names_device(args[0])):
            device = args.pop(0)
        if args and not isinstance(args[0], bool):
            dtype = args.pop(0)
        if args:
            args.pop(0)  # non_blocking: a CPU copy is synchronous anyway
        if args:
            copy = args.pop(0)
        check_device(device, "Tensor.to")
        if dtype is not None and as_dtype(dtype) != self.array.dtype:
            return self.type(dtype)
        return self.clone() if copy else self

    def float(self):
        return self.type(float32)

    def double(self):
        return self.type(float64)

    def half(self):
        return self.type(float16)

    def long(self):
        return self.type(int64)

    def int(self):
        return self.type(int32)

    def bool(self):
        return self.type(bool_)

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        """Refused with a clear error: retrograd runs on the CPU only."""
        check_device("cuda" if device is None else device, "Tensor.cuda")
        return self

    def contiguous(self):
        return self

    def new_tensor(self, data, dtype=None, requires_grad=False, device=None):
        check_device(device, "Tensor.new_tensor")
        return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        check_device(device, "Tensor.new_zeros")
        return zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        check_device(device, "Tensor.new_ones")
        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        check_device(device, "Tensor.new_empty")
        return empty(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
        check_device(device, "Tensor.new_full")
        return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def _names_device(value):
    """Whether a positional argument of `Tensor.to` is a device ('cpu', 'cuda:0', a device, an ordinal)."""
    return isinstance(value, (str, _device_type)) or (isinstance(value, numbers.Integral)
                                                       and not isinstance(value, bool))


class Size(tuple):
    """A tensor's shape: a tuple, printed like PyTorch's torch.Size."""

    def __repr__(self):
        return f"retrograd.Size({list(self)})"

    def numel(self):
        return int(np.prod(self, dtype=np.int64))


class _RemovableHandle:
    def __init__(self, tensor, hook):
        self.tensor, self.hook = tensor, hook

    def remove(self):
        t = self.tensor
        hooks = t._hooks if t.grad_fn is None else t.grad_fn.hooks and t.grad_fn.hooks.output.get(t._output_nr)
        if hooks and self.hook in hooks:
            hooks.remove(self.hook)


def is_tensor(obj):
    return isinstance(obj, Tensor)


# ----- creation functions ---------------------------------------------------
# Every factory takes PyTorch's `device=`: the CPU (or None) is accepted, any other device
# raises through `check_device` before anything is allocated.
def tensor(data, dtype=None, requires_grad=False, device=None, pin_memory=False):
    """A new leaf tensor holding a copy of `data` (PyTorch's dtype inference: floats -> float32)."""
    check_device(device, "tensor")
    array = _infer_array(data, as_dtype(dtype))
    if isinstance(data, (np.ndarray, Tensor)) and array is (data.array if isinstance(data, Tensor) else data):
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like `tensor` but shares memory with an ndarray of the right dtype."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(_infer_array(data, as_dtype(dtype)))


def from_numpy(array):
    """A tensor sharing memory with `array`, keeping its dtype."""
    return Tensor._from_array(np.asarray(array))


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if not isinstance(n, (numbers.Integral,)) or n < 0:
            raise ValueError(f"sizes must be non-negative integers, got {size}")
    return tuple(int(n) for n in size)


def _factory(array, requires_grad):
    t = Tensor._from_array(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _factory_size(name, size, size_kw):
    """The size given as positional ints, one tuple, or PyTorch's size= keyword."""
    unknown = set(size_kw) - {"size"}
    if unknown:
        raise TypeError(f"{name}() got unexpected keyword argument(s) {sorted(unknown)}")
    size_keyword = size_kw.get("size")
    if size_keyword is not None:
        if size:
            raise TypeError(f"{name}: got the size both positionally {size} and as size={size_keyword}")
        size = (size_keyword,)
    return _size(size)


def zeros(*size, dtype=None, device=None, requires_grad=False, **size_kw):
    check_device(device, "zeros")
    shape = _factory_size("zeros", size, size_kw)  # zeros(2, 3), zeros((2, 3)), zeros(size=(2, 3))
    return _factory(np.zeros(shape, as_dtype(dtype) or _default_dtype[0]), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, **size_kw):
    check_device(device, "ones")
    shape = _factory_size("ones", size, size_kw)  # ones(2, 3), ones((2, 3)), ones(size=(2, 3))
    return _factory(np.ones(shape, as_dtype(dtype) or _default_dtype[0]), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, **size_kw):
    check_device(device, "empty")
    shape = _factory_size("empty", size, size_kw)  # empty(2, 3), empty((2, 3)), empty(size=(2, 3))
    return _factory(np.empty(shape, as_dtype(dtype) or _default_dtype[0]), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    check_device(device, "full")
    if dtype is None:
        dtype = _infer_array(fill_value).dtype
    return _factory(np.full(_size((size,)), fill_value, dtype=as_dtype(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    check_device(device, "zeros_like")
    return zeros(*np.shape(t), dtype=dtype or _dtype_of(t), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    check_device(device, "ones_like")
    return ones(*np.shape(t), dtype=dtype or _dtype_of(t), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    check_device(device, "full_like")
    return full(tuple(np.shape(t)), fill_value, dtype=dtype or _dtype_of(t), requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    check_device(device, "empty_like")
    return empty(*np.shape(t), dtype=dtype or _dtype_of(t), requires_grad=requires_grad)


def _dtype_of(t):
    return t.dtype if isinstance(t, Tensor) else np.asarray(t).dtype


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    check_device(device, "eye")
    return _factory(np.eye(n, m, dtype=as_dtype(dtype) or _default_dtype[0]), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Like torch.arange: integer arguments give int64, any float gives the default float dtype."""
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError(f"arange: step must be nonzero (got start={start}, end={end}, step={step})")
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = int64 if is_int else _default_dtype[0]
    return _factory(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    check_device(device, "linspace")
    # a 0-d tensor bound is read as its number, so the points are computed in float64 and rounded once to the
    # result's dtype (as PyTorch does), not in the bound's own dtype
    start, end = (np.asarray(bound.array if isinstance(bound, Tensor) else bound).item() for bound in (start, end))
    return _factory(np.linspace(start, end, steps).astype(as_dtype(dtype) or _default_dtype[0]), requires_grad)
