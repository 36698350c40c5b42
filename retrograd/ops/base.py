"""What every op shares: recording on the tape, undoing broadcasting, dtypes.

An op is written as

    def tanh(x):
        '''y = tanh(x);  dL/dx = dL/dy * (1 - y^2).  Saves y: cheaper than x.'''
        y = np.tanh(array_of(x))
        def tanh_backward(grad_out):
            return (grad_out * (1 - y * y),)
        return record(tanh, y, (x,), tanh_backward)

The VJP returns one gradient per entry of `inputs` (None where no gradient is
needed or the input is not a tensor). `record` wraps the array in a Tensor and,
if grad mode is on and some input requires grad, attaches a tape Node.

`saved=` names the tensors whose values the VJP reads: inputs, or `OUTPUT` for
the result (the docstring's "Saves" line, in code). The node remembers their
version counters, and backward refuses to run the VJP if one of them was
changed in place since (PyTorch's check). A tensor the VJP does not read is not
listed, so changing it in place is allowed, as in PyTorch: `a * w` saves `a`
only if `w` needs a gradient.
"""
import numpy as np

from ..autograd import anomaly
from ..autograd.anomaly import user_frame_summary
from ..autograd.engine import Node, edge_of
from ..autograd.grad_mode import _state as _grad_state
from ..dtypes import _default_dtype
from ..tensor import Tensor, VersionCounter

_anomaly_state = anomaly._state

OUTPUT = "output"  # in `saved=`: the VJP reads the op's result (exp, tanh, relu, ...)


def record(op, data, inputs, backward_fn, saved=()):
    """The op's result as a Tensor, on the tape when a gradient can flow.

    `saved`: the inputs (and `OUTPUT`) whose values `backward_fn` reads; None entries are skipped.
    Every op runs this, so the engine's `edge_of` and `_saved_versions` are written out inline here."""
    if type(data) is not np.ndarray:  # NumPy returns scalars for 0-d results; tensors hold arrays
        data = np.asarray(data)
    out = Tensor._from_array(data)
    if data.base is not None:
        _share_counter_if_view(out, data, inputs)
    if _grad_state[0]:
        edges = None
        for i, t in enumerate(inputs):
            if isinstance(t, Tensor) and t._requires_grad:
                if edges is None:
                    edges = [None] * len(inputs)
                counter = t._version_counter  # edge_of(t), inline
                if counter is not None and counter.stale_reason is not None:
                    raise RuntimeError(counter.stale_reason)
                node = t.grad_fn
                edges[i] = (node, t._output_nr) if node is not None else (t._accumulator or edge_of(t)[0], 0)
        if edges is not None:
            node = Node(op, backward_fn, edges)
            if saved:
                entries = []  # _saved_versions(saved, out), inline
                for t in saved:
                    if t is OUTPUT:
                        t = out
                    elif not isinstance(t, Tensor):  # None, or a number: nothing can change it in place
                        continue
                    counter = t._version_counter
                    if counter is None:
                        counter = t._version_counter = VersionCounter()
                    entries.append((counter, counter.value, t.array))
                if entries:
                    node.saved = entries
            out.grad_fn = node
            out._requires_grad = True
            if _anomaly_state[0]:
                _trace(op, node, data)
                return out
    if _anomaly_state[0]:  # ops off the tape are checked too: the first NaN is the one to name
        anomaly.check_forward(op.__name__, data, user_frame_summary())
    return out


def record_multi(op, arrays, inputs, backward_fn, saved=()):
    """Like `record` for an op with several differentiable outputs (e.g. a whole-sequence LSTM).

    The VJP receives a list with one gradient per output (zeros where none arrived). `OUTPUT` in
    `saved` means all the outputs."""
    outs = [Tensor._from_array(a) for a in arrays]
    for out, a in zip(outs, arrays):
        if a.base is not None:
            _share_counter_if_view(out, a, inputs)
    if _grad_state[0]:
        edges = [edge_of(t) if isinstance(t, Tensor) and t._requires_grad else None for t in inputs]
        if any(e is not None for e in edges):
            node = Node(op, backward_fn, edges, output_meta=[(a.shape, a.dtype) for a in arrays])
            if saved:
                node.saved = _saved_versions([out for t in saved for out in (outs if t is OUTPUT else (t,))], None)
            for output_nr, out in enumerate(outs):
                out.grad_fn = node
                out._output_nr = output_nr
                out._requires_grad = True
            if _anomaly_state[0]:
                for a in arrays:
                    _trace(op, node, a)
    return outs


def _share_counter_if_view(out, data, inputs):
    """A result that views an input's memory shares that input's version counter, as PyTorch's views
    do: an in-place change through either is a change of both. NumPy collapses a view of a view onto
    the array that owns the memory, so one identity test per input finds it."""
    owner = data.base
    if type(owner) is not np.ndarray:  # as_strided wraps its base in a DummyArray
        owner = getattr(owner, "base", owner)
    for t in inputs:
        if isinstance(t, Tensor):
            array = t.array
            if array is owner or array.base is owner:
                t._share_counter_with(out)
                return


def _saved_versions(saved, output):
    """[(counter, current version, array)] of each saved tensor (`OUTPUT` is `output`), for the engine's
    check (`autograd.engine.check_saved_versions`). `record` builds the same entries inline."""
    entries = []
    for t in saved:
        if t is OUTPUT:
            t = output
        elif not isinstance(t, Tensor):  # None, or a number the VJP reads: nothing can change it in place
            continue
        counter = t._version_counter
        if counter is None:
            counter = t._version_counter = VersionCounter()
        entries.append((counter, counter.value, t.array))
    return entries or None


def _trace(op, node, data):
    where = user_frame_summary()
    node.trace = where
    anomaly.check_forward(op.__name__, data, where)


def needs_grad(x):
    """Whether input `x` of an op wants a gradient (read inside VJPs to skip work)."""
    return isinstance(x, Tensor) and x._requires_grad


def array_of(x):
    """The ndarray behind an op's input: a Tensor's array, or a number/array as NumPy."""
    if isinstance(x, Tensor):
        return x.array
    if isinstance(x, (int, float, bool, np.ndarray, np.generic)):
        return x
    if isinstance(x, (list, tuple)):
        return np.asarray(x)
    raise TypeError(f"expected a Tensor, a number or an array, got {type(x).__name__}: {x!r:.80}")


def pass_where(grad_out, mask, out=None):
    """grad_out where the bool `mask` holds, else +0.0 (written into `out` if given): the VJP of ops that pass
    or block their gradient (relu, hardtanh, threshold, clamp, max-pooling's choice of entry). `mask` broadcasts
    to grad_out's shape.

    PyTorch's backward of these ops is a select, where(mask, g, 0): a passed entry keeps g's bits (-0.0 and NaN
    included) and a blocked one is +0.0 even where g is negative, inf or NaN. The select here multiplies g's bits,
    as an unsigned integer, by the mask's 0 or 1: the same bits, without a data-dependent branch, faster than
    g * mask (which gives -0.0 for a negative g and NaN for an infinite one), and 7-20x faster than np.where."""
    grad_out = grad_out if isinstance(grad_out, np.ndarray) else np.asarray(grad_out)
    if not (isinstance(mask, np.ndarray) and mask.dtype == bool):
        mask = np.asarray(mask, dtype=bool)
    grad_bits = uint_view(grad_out)
    if grad_bits is None:  # float128, complex: a masked copy makes the same select
        grad = np.empty(grad_out.shape, grad_out.dtype) if out is None else out
        grad[...] = 0
        np.copyto(grad, grad_out, where=mask)
        return grad
    if out is None:
        return np.multiply(grad_bits, mask.view(np.uint8)).view(grad_out.dtype)  # a bool's byte is 0 or 1
    np.multiply(grad_bits, mask.view(np.uint8), out=uint_view(out))
    return out


def uint_view(array):
    """`array`'s bits as unsigned integers of its width (a view), or None for a dtype no integer is as wide as."""
    bits = _SAME_WIDTH_UINT.get(array.dtype)
    return None if bits is None else array.view(bits)


_SAME_WIDTH_UINT = {np.dtype(np.float16): np.uint16, np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing NumPy broadcasting (the one place it is undone).

    Broadcasting copies an input along new leading axes and along axes of size 1;
    the adjoint of a copy is a sum over the copies."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    kept_ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if kept_ones:
        grad = grad.sum(axis=kept_ones, keepdims=True)
    return np.asarray(grad)  # a full sum gives a NumPy scalar; gradients are always arrays


def default_float():
    return _default_dtype[0]


def to_float(array):
    """Integer and bool inputs to float ops become the default float dtype, as in PyTorch."""
    if isinstance(array, np.ndarray) and array.dtype.kind in "fc":
        return array
    if isinstance(array, np.generic) and array.dtype.kind in "fc":
        return array
    return np.asarray(array, dtype=default_float())


_FLOAT16, _FLOAT32 = np.dtype(np.float16), np.dtype(np.float32)


def accumulation_dtype(dtype):
    """The dtype to reduce in: float32 for float16 data, else the dtype itself.

    PyTorch accumulates float16 sums, means, variances, norms and softmaxes in float32 on the CPU and
    rounds the result to float16 once; in float16 itself a running sum of 0.1s stalls near 256, a
    sum of squares overflows at 65,504, and so does a count such as 70,000."""
    return _FLOAT32 if dtype == _FLOAT16 else dtype


def half_with_number(a, b):
    """Whether a binary op pairs a float16 array with a Python number (see `number_opmath`).

    On every binary op's path, so `type(...) is` and the dtype's identity (NumPy's native dtypes are
    singletons) rather than isinstance and ==."""
    if type(a) is np.ndarray:
        return a.dtype is _FLOAT16 and type(b) is not np.ndarray
    return type(b) is np.ndarray and b.dtype is _FLOAT16


def number_opmath(compute, a, b):
    """compute(a, b) for a float16 array and a Python number, as PyTorch computes it: in float32, rounded
    to float16 once. NumPy would round the number to float16 first (70000 becomes inf, 1e-8 becomes 0)."""
    a = a.astype(_FLOAT32) if isinstance(a, np.ndarray) else a
    b = b.astype(_FLOAT32) if isinstance(b, np.ndarray) else b
    with np.errstate(over="ignore"):  # a float32 result beyond float16's range rounds to inf, as in PyTorch
        return np.asarray(compute(a, b)).astype(_FLOAT16)


def _category(dtype):
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[dtype.kind]


def _scalar_category(value):
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    if isinstance(value, complex):
        return 3
    return 2


def result_dtype(a, b):
    """PyTorch's type promotion for a binary op on `a` and `b` (arrays or Python numbers).

    Python numbers and 0-dim tensors only raise the category (bool < int <
    float), never the width within it: float32 tensor * 2.5 stays float32, an
    int tensor * 2.5 becomes the default float dtype."""
    a_is_array = isinstance(a, np.ndarray)
    b_is_array = isinstance(b, np.ndarray)
    if a_is_array and b_is_array:
        if a.dtype == b.dtype:
            return a.dtype
        # 0-dim operands count like scalars against dimensioned ones
        a_dim, b_dim = a.ndim > 0, b.ndim > 0
        if a_dim != b_dim:
            dimmed, scalar = (a, b) if a_dim else (b, a)
            if _category(scalar.dtype) <= _category(dimmed.dtype):
                return dimmed.dtype
            return scalar.dtype  # a 0-dim tensor of a higher category keeps its own dtype (int64 + float64 0-d -> float64)
        ca, cb = _category(a.dtype), _category(b.dtype)
        if ca != cb:
            return a.dtype if ca > cb else b.dtype
        return np.result_type(a.dtype, b.dtype)
    array, scalar = (a, b) if a_is_array else (b, a)
    if not isinstance(array, np.ndarray):
        return np.result_type(a, b)
    if _scalar_category(scalar) <= _category(array.dtype):
        return array.dtype
    return default_float() if _scalar_category(scalar) == 2 else np.dtype(np.int64)


def binary_operands(a, b):
    """The arrays (or numbers) a binary op computes with, cast to PyTorch's result dtype."""
    a_val = a.array if isinstance(a, Tensor) else a
    b_val = b.array if isinstance(b, Tensor) else b
    if type(a_val) is np.ndarray and a_val.dtype.kind == "f":  # the common cases first, with few tests:
        if type(b_val) is float or (type(b_val) is np.ndarray and b_val.dtype == a_val.dtype):
            return a_val, b_val  # float tensor with a Python float, or two tensors of one float dtype
    elif type(a_val) is float and type(b_val) is np.ndarray and b_val.dtype.kind == "f":
        return a_val, b_val
    if isinstance(a, np.generic):  # a user's NumPy scalar promotes like a Python number, as in PyTorch
        a = a.item()
    if isinstance(b, np.generic):
        b = b.item()
    a, b = array_of(a), array_of(b)
    if type(b) is float and isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return a, b  # the common fast path: float tensor with a Python float
    if type(a) is float and isinstance(b, np.ndarray) and b.dtype.kind == "f":
        return a, b
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype:
        return a, b
    dtype = result_dtype(a, b)
    if isinstance(a, np.ndarray) and a.dtype != dtype:
        a = a.astype(dtype)
    if isinstance(b, np.ndarray) and b.dtype != dtype:
        b = b.astype(dtype)
    return a, b


def check_broadcast(op_name, a_shape, b_shape):
    """Raise a ValueError naming the op and both shapes when they do not broadcast."""
    try:
        return np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        raise ValueError(
            f"{op_name}: shapes {tuple(a_shape)} and {tuple(b_shape)} cannot be broadcast together "
            f"(each trailing dimension must be equal or 1)"
        ) from None


def normalize_dims(dim, ndim, op_name="op"):
    """A `dim` argument (None, int or tuple, negative allowed) as a sorted tuple of axes, or None."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = []
    for d in dims:
        d = int(d)
        rank = max(ndim, 1)
        if not -rank <= d < rank:
            raise IndexError(f"{op_name}: dimension out of range (expected to be in range of "
                             f"[{-rank}, {rank - 1}], but got {d})")
        axes.append(d % rank if ndim else 0)
    return tuple(sorted(axes))
