"""`Function`: write your own forward and backward, exactly as in PyTorch.

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * grad_output

    y = Cube.apply(x)

forward runs with recording off and receives the tensors as passed; backward
receives one gradient Tensor per output and returns one per forward input
(None for inputs that need no gradient). As in PyTorch, an output that received no
gradient reaches backward as zeros, or as None after `ctx.set_materialize_grads(False)`;
outputs named in `ctx.mark_non_differentiable` do not require grad.
"""
from ..tensor import Tensor
from .engine import RETAIN_GRAPH_HINT, Node, edge_of
from .grad_mode import _state as _grad_state
from .grad_mode import no_grad


class FunctionCtx:
    """The `ctx` passed to forward and backward."""

    def __init__(self, inputs):
        self.needs_input_grad = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
        self._saved = None
        self._released = False
        self.materialize_grads = True
        self._non_differentiable = ()

    def save_for_backward(self, *tensors):
        """Keep `tensors` for backward; changing one in place before then makes `saved_tensors` raise."""
        self._saved = tensors
        self._saved_versions = [(t._counter(), t._counter().value) if isinstance(t, Tensor) else None
                                for t in tensors]

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(RETAIN_GRAPH_HINT)
        if self._saved is None:
            return ()
        for t, entry in zip(self._saved, self._saved_versions):
            if entry is not None and entry[0].value != entry[1]:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{t.dtype} tensor of shape {list(t.shape)}], saved with ctx.save_for_backward, "
                    f"is at version {entry[0].value}; expected version {entry[1]} instead."
                )
        return self._saved

    def mark_non_differentiable(self, *tensors):
        """Outputs (call it in forward) that get requires_grad=False, as PyTorch's integer indices of a sort
        do; backward still receives a gradient slot for each (zeros, or None without materialized grads)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        """False: backward receives None, not zeros, for an output that got no gradient (call it in forward)."""
        self.materialize_grads = value


class Function:
    """Base class for user-defined ops; subclasses define static `forward(ctx, ...)` and `backward(ctx, ...)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx(args)
        with no_grad():
            result = cls.forward(ctx, *args)
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        for out in outputs:
            if not isinstance(out, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, "
                                f"got {type(out).__name__}")
        if not (_grad_state[0] and any(ctx.needs_input_grad)):
            return result

        marked = ctx._non_differentiable
        ctx._non_differentiable = ()  # ctx lives as long as the graph: it must not hold the outputs
        # integer outputs are off the tape too (PyTorch: their grad_fn is None), marked or not
        differentiable = [out.array.dtype.kind in "fc" and not any(out is t for t in marked) for out in outputs]
        if not any(differentiable):
            return _detached(outputs, args, single)
        arrived = None if ctx.materialize_grads or single else set()  # outputs whose gradient reached the node
        backward_fn = _function_backward(cls, ctx, args, arrived)
        edges = [edge_of(t) if isinstance(t, Tensor) and t.requires_grad else None for t in args]
        meta = None if single else [(o.array.shape, o.array.dtype) for o in outputs]
        node = Node(cls, backward_fn, edges, output_meta=meta)
        wrapped = []
        for nr, (out, on_tape) in enumerate(zip(outputs, differentiable)):
            if out.grad_fn is not None or out._requires_grad or any(out is a for a in args):
                out = Tensor._from_array(out.array)
            if on_tape:
                out.grad_fn = node
                out._output_nr = nr
                out._requires_grad = True
                if arrived is not None:
                    node.register_output_hook(nr, _note_arrival(arrived, nr))
            wrapped.append(out)
        return wrapped[0] if single else tuple(wrapped)


def _function_backward(cls, ctx, args, arrived):
    """The node's VJP: call `cls.backward` with one gradient per output (None for the outputs missing from
    `arrived` when it is a set) and check that it returns one gradient per input, each of its input's shape."""
    n_inputs = len(args)

    def function_backward(grads):
        grads = grads if isinstance(grads, list) else [grads]
        if arrived is not None:  # set_materialize_grads(False): no zeros for an output that got no gradient
            grads = [g if nr in arrived else None for nr, g in enumerate(grads)]
            arrived.clear()
        with no_grad():
            returned = cls.backward(ctx, *(None if g is None else Tensor._from_array(g) for g in grads))
        returned = returned if isinstance(returned, tuple) else (returned,)
        if len(returned) < n_inputs:
            returned = returned + (None,) * (n_inputs - len(returned))
        if len(returned) != n_inputs:
            raise RuntimeError(f"{cls.__name__}.backward returned {len(returned)} gradients, "
                               f"but forward took {n_inputs} inputs")
        arrays = []
        for i, (arg, g) in enumerate(zip(args, returned)):
            if g is None or not ctx.needs_input_grad[i]:
                arrays.append(None)
                continue
            g_array = g.array if isinstance(g, Tensor) else g
            if g_array.shape != arg.array.shape:
                raise RuntimeError(f"{cls.__name__}.backward returned a gradient of shape {g_array.shape} "
                                   f"for input {i} of shape {tuple(arg.shape)}")
            arrays.append(g_array)
        return arrays

    return function_backward


def _note_arrival(arrived, output_nr):
    """A hook on one output: the engine runs it when a gradient reaches that output, before the node's VJP."""
    def note(grad):
        arrived.add(output_nr)
    return note


def _detached(outputs, args, single):
    """Outputs that are all non-differentiable: off the tape, never the input tensors themselves (as PyTorch)."""
    fresh = tuple(Tensor._from_array(out.array) if out.grad_fn is not None or out._requires_grad
                  or any(out is a for a in args) else out for out in outputs)
    return fresh[0] if single else fresh
