"""The tape: nodes recorded by ops, and the reverse walk that runs their VJPs.

A forward op that needs a gradient creates one `Node` holding

    op           the op's forward function (its docstring states the derivative)
    backward_fn  the VJP: maps the output gradient(s) to one gradient per input
    next_edges   for each input, (node, output_nr) to send its gradient to, or None

Leaves that require grad get one `AccumulateGrad` node each (kept on the
tensor), so every edge has the same shape and the walk below has no special
case for leaves.

`run_backward` orders the reachable nodes with Kahn's algorithm on consumer
counts (no recursion, so a 20,000-op chain is fine), sums each node's incoming
gradients in a buffer that is popped as soon as the node runs, and drops each
node's VJP closure after calling it unless `retain_graph` is set, which frees
the arrays it saved. The node keeps its edges (as PyTorch's `next_functions`
outlive backward) and the shapes of the gradients that reached it, so
`retrograd.explain` can still describe a pass that already ran.
"""
import sys

import numpy as np

from . import anomaly

RETAIN_GRAPH_HINT = (
    "Trying to backward through the graph a second time (or to reach saved values after they were freed): "
    "saved arrays are released when you call .backward() or autograd.grad(). Specify retain_graph=True "
    "on the first call if you need to backward through the same graph again."
)


class Node:
    """One recorded op. `name` is what PyTorch calls its grad_fn, e.g. TanhBackward."""

    # grad_shapes: the shapes of the gradients that reached it, set only when backward frees it (unset
    # before, which costs the forward pass nothing), so that retrograd.explain can describe a freed graph
    __slots__ = ("op", "backward_fn", "next_edges", "output_meta", "output_hooks", "trace", "saved", "grad_shapes",
                 "__weakref__")

    def __init__(self, op, backward_fn, next_edges, output_meta=None):
        self.op = op
        self.backward_fn = backward_fn
        self.next_edges = next_edges
        self.output_meta = output_meta  # [(shape, dtype)] of each output, only for multi-output nodes
        self.output_hooks = None  # {output_nr: [hook, ...]} from Tensor.register_hook
        self.trace = None  # where the op was created, recorded under detect_anomaly
        self.saved = None  # ((version counter, its value when saved, saved array), ...): see raise_modified_in_place

    @property
    def name(self):
        return _camel(getattr(self.op, "__name__", str(self.op))) + "Backward"

    @property
    def n_outputs(self):
        return 1 if self.output_meta is None else len(self.output_meta)

    def __repr__(self):
        return f"<{self.name}>"

    def register_hook(self, output_nr, hook):
        if self.output_hooks is None:
            self.output_hooks = {}
        self.output_hooks.setdefault(output_nr, []).append(hook)


class AccumulateGrad(Node):
    """The sink of a leaf tensor: adds the gradient that reaches it into `leaf.grad`."""

    __slots__ = ("leaf",)

    def __init__(self, leaf):
        super().__init__(None, None, ())
        self.leaf = leaf

    @property
    def name(self):
        return "AccumulateGrad"


def raise_modified_in_place(node):
    """Refuse to run a VJP whose saved tensors were changed in place after the forward op saved them:
    the VJP would compute with values the forward never used (PyTorch's error, same wording).
    `node.saved` holds (version counter, its value when saved, saved array) per saved tensor."""
    for counter, saved_version, array in node.saved:
        if counter.value != saved_version:
            where = f" The forward op ran at {node.trace}." if node.trace else ""
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{array.dtype} tensor of shape {list(array.shape)}], saved by {node.name}, is at "
                f"version {counter.value}; expected version {saved_version} instead. Hint: an in-place op "
                f"(mul_, add_, x[i] = v, an optimizer step, ...) changed it after the forward pass used it; "
                f"use the out-of-place op or clone() it first (detect_anomaly() names the forward op)." + where
            )


def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.strip("_").split("_"))


def _apply_hooks(hooks, grad, wrap):
    """Run tensor hooks on a gradient array; a hook may return a replacement of the same shape."""
    for hook in hooks:
        result = hook(wrap(grad))
        if result is not None:
            replacement = np.asarray(result.array if hasattr(result, "array") else result)
            if replacement.shape != grad.shape:  # PyTorch's check: broadcasting it would be a wrong gradient
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the size of value: "
                                   f"it returned shape {list(replacement.shape)} for a gradient of shape "
                                   f"{list(grad.shape)}")
            grad = replacement
    return grad


def _reachable_counts(root_nodes):
    """For every node reachable from the roots, how many edges point at it (a node is pushed the first
    time an edge reaches it, so the count dict is also the visited set)."""
    consumers = {}
    roots = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            count = consumers.get(child)
            if count is None:
                consumers[child] = 1
                if child not in roots:
                    stack.append(child)
            else:
                consumers[child] = count + 1
    return consumers


def _needed_nodes(root_nodes, consumers, targets):
    """Nodes that lead to a target (autograd.grad prunes everything else)."""
    pending = dict(consumers)
    order = []
    ready = [n for n in root_nodes if pending.get(n, 0) == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node.next_edges:
            if edge is not None:
                pending[edge[0]] -= 1
                if pending[edge[0]] == 0:
                    ready.append(edge[0])
    needed = set()
    for node in reversed(order):
        freed = node.backward_fn is None and type(node) is not AccumulateGrad  # freed: run it, so it raises
        if node in targets or freed or any(edge is not None and edge[0] in needed for edge in node.next_edges):
            needed.add(node)
    return needed


def run_backward(roots, root_grads, retain_graph=False, capture=None, wrap=None, observer=None):
    """Propagate `root_grads` (arrays) from `roots` (tensors) back through the tape.

    Without `capture`, gradients accumulate into the `.grad` of reached leaves.
    With `capture` ({(node, output_nr): slot}), nothing accumulates; the gradient
    arriving at each captured (node, output) is returned in a list by slot.
    `wrap` turns an array into a Tensor for hooks. `observer(node, grads, input_grads)`,
    if given, sees every step (retrograd.explain uses it); leaves then accumulate nothing.
    """
    buffers = {}
    root_nodes = []
    for position, (tensor, grad) in enumerate(zip(roots, root_grads)):
        node, output_nr = tensor._edge()
        if node is None:
            raise RuntimeError(
                f"element {position} of tensors does not require grad and does not have a grad_fn: "
                "nothing to differentiate (did you forget requires_grad=True, or run under no_grad?)"
            )
        _add_to_buffer(buffers, node, output_nr, grad)
        if node not in root_nodes:
            root_nodes.append(node)

    consumers = _reachable_counts(root_nodes)
    captured = None
    needed = None
    if capture is not None:
        captured = [None] * (max(capture.values()) + 1 if capture else 0)
        capture_nodes = {node for node, _ in capture}
        needed = _needed_nodes(root_nodes, consumers, capture_nodes)

    ready = [n for n in root_nodes if consumers.get(n, 0) == 0]
    check_anomaly = anomaly.is_enabled()
    while ready:
        node = ready.pop()
        grads = buffers.pop(node, None)
        if grads is not None and node.output_hooks:
            for output_nr, hooks in node.output_hooks.items():
                if grads[output_nr] is not None:
                    grads[output_nr] = _apply_hooks(hooks, grads[output_nr], wrap)

        if capture is not None and grads is not None:
            for output_nr, grad in enumerate(grads):
                slot = capture.get((node, output_nr))
                if slot is not None:
                    captured[slot] = grad

        runs = grads is not None and (needed is None or node in needed)
        if observer is not None and runs:
            observer(node, grads, None)
        if type(node) is AccumulateGrad:
            if runs and capture is None and observer is None:
                node.leaf._accumulate(grads.pop(), wrap)  # popped: the leaf may adopt an array only it holds
            continue

        input_grads = None
        if runs:
            backward_fn = node.backward_fn
            if backward_fn is None:
                raise RuntimeError(f"{node.name}: {RETAIN_GRAPH_HINT}")
            saved = node.saved
            if saved is not None:
                for counter, version, _ in saved:
                    if counter.value != version:
                        raise_modified_in_place(node)
            if node.output_meta is None:
                input_grads = backward_fn(grads[0])
            else:
                input_grads = backward_fn(_fill_missing(grads, node.output_meta))
            if check_anomaly:
                anomaly.check_backward(node, input_grads)
            if observer is not None:
                observer(node, grads, input_grads)

        for i, edge in enumerate(node.next_edges):
            if edge is None:
                continue
            child, output_nr = edge
            if input_grads is not None and input_grads[i] is not None:
                grad = input_grads[i]
                if type(child) is AccumulateGrad:  # a leaf: the engine knows the shape its gradient must have
                    if grad.shape != child.leaf.array.shape:
                        _raise_wrong_shape(node, i, grad, child.leaf.array.shape)
                elif child.output_meta is not None and grad.shape != child.output_meta[output_nr][0]:
                    _raise_wrong_shape(node, i, grad, child.output_meta[output_nr][0])
                if child.output_meta is None and child not in buffers:
                    buffers[child] = [grad]  # the usual case, without a call: the first gradient for a node
                else:
                    _add_to_buffer(buffers, child, output_nr, grad)
            remaining = consumers[child] - 1
            consumers[child] = remaining
            if remaining == 0:
                ready.append(child)
        input_grads = grad = None  # let go of the VJP's arrays before its leaves run: they count references
        if runs and not retain_graph:
            node.backward_fn = None  # frees the arrays the VJP closed over
            node.saved = None
            node.grad_shapes = ((grads[0].shape,) if node.output_meta is None  # so that retrograd.explain
                                else tuple(None if g is None else g.shape for g in grads))  # can describe it
    return captured


def _raise_wrong_shape(node, index, grad, expected):
    """A VJP must return each input's gradient in that input's shape (PyTorch's check and wording)."""
    raise RuntimeError(f"Function {node.name} returned an invalid gradient at index {index} - got "
                       f"{list(np.shape(grad))} but expected shape compatible with {list(expected)}")


def _add_to_buffer(buffers, node, output_nr, grad):
    grads = buffers.get(node)
    if grads is None:
        grads = buffers[node] = [None] * (1 if node.output_meta is None else len(node.output_meta))
    if grads[output_nr] is None:
        grads[output_nr] = grad
    else:
        # a fresh array: the first gradient may be a view or owned by someone else
        grads[output_nr] = grads[output_nr] + grad


def _fill_missing(grads, output_meta):
    """Multi-output VJPs receive zeros for outputs that got no gradient (PyTorch materializes them too)."""
    return [g if g is not None else np.zeros(shape, dtype) for g, (shape, dtype) in zip(grads, output_meta)]


def user_frame_summary():
    """'file:line in function' of the innermost caller outside the retrograd package."""
    package_dir = __file__.rsplit("/autograd/", 1)[0]
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package_dir):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
