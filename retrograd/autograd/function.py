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
(None for inputs that need no gradient).
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
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
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

        n_inputs = len(args)

        def function_backward(grads):
            grads = grads if isinstance(grads, list) else [grads]
            with no_grad():
                returned = cls.backward(ctx, *(Tensor._from_array(g) for g in grads))
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

        edges = [edge_of(t) if isinstance(t, Tensor) and t.requires_grad else None for t in args]
        meta = None if single else [(o.array.shape, o.array.dtype) for o in outputs]
        backward_fn = function_backward
        node = Node(cls, backward_fn, edges, output_meta=meta)
        wrapped = []
        for nr, out in enumerate(outputs):
            if out.grad_fn is not None or out._requires_grad or any(out is a for a in args):
                out = Tensor._from_array(out.array)
            out.grad_fn = node
            out._output_nr = nr
            out._requires_grad = out.array.dtype.kind in "fc"
            wrapped.append(out)
        return wrapped[0] if single else tuple(wrapped)
