"""`backward` and `grad`: the user-facing entry points to the engine."""
import numpy as np

from ..tensor import Tensor
from .engine import AccumulateGrad, edge_of, walk


def _seed_gradients(outputs, grad_outputs):
    """The arrays that start the walk: ones for a scalar output, else what the user passed."""
    seeds = []
    for i, out in enumerate(outputs):
        given = None if grad_outputs is None else grad_outputs[i]
        if given is None:
            if out.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: output {i} has shape "
                    f"{tuple(out.shape)}. Pass gradient= (for .backward) or grad_outputs= (for autograd.grad) "
                    f"with a tensor of that shape holding dL/d(output), e.g. ones_like(output) for a plain sum."
                )
            seed = np.empty(out.array.shape, out.array.dtype)  # np.ones, without its Python-level overhead
            seed.fill(1)
            seeds.append(seed)
        else:
            seed = np.asarray(given.array if isinstance(given, Tensor) else given, dtype=out.array.dtype)
            if seed.shape != out.array.shape:
                raise RuntimeError(f"backward: gradient has shape {seed.shape} but the output has shape "
                                   f"{tuple(out.shape)}; they must match")
            seeds.append(seed)
    return seeds


def _as_list(value):
    if value is None:
        return None
    return list(value) if isinstance(value, (list, tuple)) else [value]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of `tensors` into the `.grad` of the leaves they depend on."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported: "
                                  "retrograd's VJPs compute on arrays, not on recorded tensors")
    tensors = _as_list(tensors)
    seeds = _seed_gradients(tensors, _as_list(grad_tensors))
    if inputs is not None:
        inputs = _as_list(inputs)
        grads = grad(tensors, inputs, seeds, retain_graph=retain_graph, allow_unused=True)
        for leaf, leaf_grad in zip(inputs, grads):
            if leaf_grad is not None:
                edge_of(leaf)[0].accumulate(leaf_grad.array)
        return
    for node, grads, _ in walk(tensors, seeds, bool(retain_graph)):
        if type(node) is AccumulateGrad:
            node.accumulate(grads.pop())  # popped: the leaf may adopt an array that only it holds


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, returned as a tuple (nothing accumulates)."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported")
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    seeds = _seed_gradients(outputs, _as_list(grad_outputs))
    slots = {}  # (node, output_nr) -> the positions in `inputs` whose gradient arrives there
    for position, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"grad: input {position} does not require grad; only tensors with "
                               f"requires_grad=True can be differentiated with respect to")
        slots.setdefault(edge_of(t), []).append(position)
    captured = [None] * len(inputs)
    for node, grads, _ in walk(outputs, seeds, bool(retain_graph), targets={node for node, _ in slots}):
        for output_nr, arrived in enumerate(grads):
            for position in slots.get((node, output_nr), ()):
                captured[position] = arrived
    results = []
    for position, (t, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if materialize_grads:
                g = np.zeros_like(t.array)
            elif not allow_unused:
                raise RuntimeError(f"grad: input {position} (shape {tuple(t.shape)}) was not used to compute "
                                   f"the outputs; pass allow_unused=True to get None for it")
        results.append(None if g is None else Tensor._from_array(np.asarray(g, dtype=t.array.dtype)))
    return tuple(results)
