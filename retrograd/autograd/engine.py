"""The tape: nodes recorded by ops, and the reverse walk that runs their VJPs.

A forward op that needs a gradient creates one `Node` holding

    op           the op's forward function (its docstring states the derivative)
    backward_fn  the VJP: maps the output gradient(s) to one gradient per input
    next_edges   for each input, (node, output_nr) to send its gradient to, or None
    saved        the version of each tensor the VJP reads, checked before it runs

Leaves that require grad get one `AccumulateGrad` node each (kept on the tensor),
so every edge has the same shape and the walk has no special case for leaves.

`walk` is the whole backward pass: put the seed gradients on the roots, visit the
nodes in `topological_order`, and at each node sum what arrived, run the VJP,
send its results along the edges. It yields every node it visits, and the three
consumers decide what a visit means: `autograd.backward` adds the gradients that
reach leaves into `.grad`, `autograd.grad` keeps the ones that reach its inputs,
`retrograd.explain` writes each step down. Unless `retain_graph` is set, a node's
VJP closure is dropped once it ran, which frees the arrays it saved; the node keeps
its edges (PyTorch's `next_functions` outlive backward too) and the shapes of the
gradients that reached it, so `explain` can still describe a pass that already ran.
"""
import sys

import numpy as np

from ..tensor import Tensor
from . import anomaly
from .node_hooks import HookHandle, NodeHooks, run_post_hooks, run_pre_hooks

RETAIN_GRAPH_HINT = (
    "Trying to backward through the graph a second time (or to reach saved values after they were freed): "
    "saved arrays are released when you call .backward() or autograd.grad(). Specify retain_graph=True "
    "on the first call if you need to backward through the same graph again."
)


class Node(NodeHooks):
    """One recorded op: a tensor's `grad_fn`, with PyTorch's Node API (`name()`, `next_functions`, and
    from NodeHooks `register_hook`, `register_prehook`, `metadata`). `name()` is `<Op>Backward`."""

    # grad_shapes: the shapes of the gradients that reached it, set only when backward frees it (unset
    # before, which costs the forward pass nothing), so that retrograd.explain can describe a freed graph
    __slots__ = ("op", "backward_fn", "next_edges", "output_meta", "hooks", "trace", "saved", "grad_shapes",
                 "__weakref__")

    def __init__(self, op, backward_fn, next_edges, output_meta=None):
        self.op = op
        self.backward_fn = backward_fn
        self.next_edges = next_edges
        self.output_meta = output_meta  # [(shape, dtype)] of each output, only for multi-output nodes
        self.hooks = None  # node_hooks.Hooks, made when a tensor hook, a Node hook or metadata is first asked for
        self.trace = None  # where the op was created, recorded under detect_anomaly
        self.saved = None  # [(version counter, its value when saved, saved array)]: see check_saved_versions

    def name(self):
        """PyTorch's `grad_fn.name()`: `<Op>Backward` (no `0` suffix: see the README's grad_fn section)."""
        return _camel(getattr(self.op, "__name__", str(self.op))) + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    @property
    def next_functions(self):
        """((node, output_nr), ...) per input, as in PyTorch: (None, 0) for an input that takes no gradient,
        a leaf's AccumulateGrad for a leaf."""
        return tuple((None, 0) if edge is None else edge for edge in self.next_edges)


class AccumulateGrad(Node):
    """The sink of a leaf tensor: adds the gradient that reaches it into `leaf.grad`."""

    __slots__ = ("leaf",)

    def __init__(self, leaf):
        super().__init__(None, None, ())
        self.leaf = leaf

    def name(self):
        return "AccumulateGrad"

    @property
    def variable(self):
        """The leaf tensor this node accumulates into (PyTorch's `AccumulateGrad.variable`)."""
        return self.leaf

    def accumulate(self, grad):
        """Run the leaf's hooks on `grad`, then add it into `.grad` (a fresh array the first time)."""
        leaf = self.leaf
        if leaf._hooks:
            grad = apply_hooks(leaf._hooks, grad)
        dtype = leaf.array.dtype
        if grad.dtype is not dtype and grad.dtype != dtype:  # NumPy's built-in dtypes are singletons
            grad = grad.astype(dtype)
        if leaf._grad is None:
            # Adopt the array only if the caller handed over its sole reference (PyTorch's AccumulateGrad
            # checks the use count the same way): a VJP may return one array for two inputs (add, the RNN
            # biases), and a root gradient or a hook's tensor belongs to the user. A shared array as
            # `.grad` would let an in-place edit of one gradient (clip_grad_norm_, mul_) change another.
            owned = (type(grad) is np.ndarray and grad.base is None and sys.getrefcount(grad) <= _SOLE_REFERENCE
                     and grad.flags.writeable)
            leaf._grad = Tensor._from_array(grad if owned else np.array(grad))
        else:
            leaf._grad.array = leaf._grad.array + grad
        if self.hooks is not None and self.hooks.post_accumulate:
            for hook in list(self.hooks.post_accumulate):
                hook(leaf)


def register_post_accumulate_grad_hook(tensor, hook):
    """PyTorch's `Tensor.register_post_accumulate_grad_hook`: call `hook(tensor)` each time backward has added
    a gradient into this leaf's `.grad` (not for autograd.grad, which accumulates nothing). DistributedDataParallel
    starts a bucket's all-reduce from these hooks. Returns a handle whose `remove()` takes the hook off."""
    if not tensor._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    hooks = edge_of(tensor)[0]._registered().post_accumulate
    hooks.append(hook)
    return HookHandle(hooks, hook)


def _references_to(array):
    return sys.getrefcount(array)


# what sys.getrefcount reports inside a function for an argument nobody else holds (the figure differs
# between CPython versions): AccumulateGrad.accumulate adopts a gradient array only at this count
_SOLE_REFERENCE = _references_to(np.empty(0))


def edge_of(tensor):
    """Where a gradient for `tensor` goes: (grad_fn, output_nr), or the leaf's (AccumulateGrad, 0)."""
    counter = tensor._version_counter
    if counter is not None and counter.stale_reason is not None:
        raise RuntimeError(counter.stale_reason)
    if tensor.grad_fn is not None:
        return (tensor.grad_fn, tensor._output_nr)
    if tensor._requires_grad:
        if tensor._accumulator is None:
            tensor._accumulator = AccumulateGrad(tensor)
        return (tensor._accumulator, 0)
    return (None, 0)


def check_saved_versions(node):
    """Refuse to run a VJP whose saved tensors were changed in place after the forward op saved them:
    the VJP would compute with values the forward never used (PyTorch's error, same wording)."""
    for counter, saved_version, array in node.saved:
        if counter.value != saved_version:
            where = f" The forward op ran at {node.trace}." if node.trace else ""
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{array.dtype} tensor of shape {list(array.shape)}], saved by {node.name()}, is at "
                f"version {counter.value}; expected version {saved_version} instead. Hint: an in-place op "
                f"(mul_, add_, x[i] = v, an optimizer step, ...) changed it after the forward pass used it; "
                f"use the out-of-place op or clone() it first (detect_anomaly() names the forward op)." + where
            )


def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.strip("_").split("_"))


def apply_hooks(hooks, grad):
    """Run tensor hooks on a gradient array; a hook may return a replacement of the same shape."""
    for hook in hooks:
        result = hook(Tensor._from_array(grad))
        if result is not None:
            replacement = np.asarray(result.array if isinstance(result, Tensor) else result)
            if replacement.shape != grad.shape:  # PyTorch's check: broadcasting it would be a wrong gradient
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the size of value: "
                                   f"it returned shape {list(replacement.shape)} for a gradient of shape "
                                   f"{list(grad.shape)}")
            grad = replacement
    return grad


# ----- the walk ----------------------------------------------------------------------------------------
def count_consumers(root_nodes):
    """For every node reachable from the roots, how many edges lead to it (the count dict is also the
    visited set: a node is pushed when the first edge reaches it)."""
    consumers = {}
    roots = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        for edge in stack.pop().next_edges:
            if edge is not None:
                child = edge[0]
                if child in consumers:
                    consumers[child] += 1
                else:
                    consumers[child] = 1
                    if child not in roots:
                        stack.append(child)
    return consumers


def topological_order(root_nodes):
    """Every node reachable from the roots, each after all the nodes that send it a gradient: Kahn's
    algorithm on consumer counts (no recursion, so a 20,000-op chain is fine). `walk` visits the nodes
    in this order, computing it as it goes."""
    consumers = count_consumers(root_nodes)
    order = []
    ready = [node for node in root_nodes if node not in consumers]
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node.next_edges:
            if edge is not None:
                consumers[edge[0]] -= 1
                if consumers[edge[0]] == 0:
                    ready.append(edge[0])
    return order


def walk(roots, root_grads, retain_graph=False, targets=None):
    """Run the backward pass from `roots` (tensors) seeded with `root_grads` (arrays).

    Yields (node, grads, input_grads) for each node a gradient reached, in `topological_order`: `grads`
    holds the summed gradient of each of its outputs, after tensor hooks; `input_grads` what its VJP
    returned (None for a leaf's AccumulateGrad, which the consumer runs or not). With `targets` (a set
    of nodes), only VJPs on a path to one of them run."""
    buffers, root_nodes = _seeded(roots, root_grads)  # node -> [summed gradient per output]
    consumers = count_consumers(root_nodes)
    needed = None if targets is None else _leading_to(topological_order(root_nodes), targets)
    check_anomaly = anomaly.is_enabled()

    ready = [node for node in root_nodes if node not in consumers]
    while ready:
        node = ready.pop()
        grads = buffers.pop(node, None)
        input_grads = None
        if grads is not None and (needed is None or node in needed):
            hooks = node.hooks
            if hooks is not None:  # tensor hooks, then PyTorch's Node pre-hooks
                _run_tensor_hooks(hooks.output, grads)
                run_pre_hooks(node, grads)
            if type(node) is AccumulateGrad:
                arrived = list(grads) if hooks is not None and hooks.post else None  # the consumer pops grads
                yield node, grads, None
                if arrived is not None:  # after the consumer accumulated: PyTorch's order
                    run_post_hooks(node, (), arrived)
                continue
            backward_fn = node.backward_fn
            if backward_fn is None:
                raise RuntimeError(f"{node.name()}: {RETAIN_GRAPH_HINT}")
            if node.saved is not None:
                for counter, version, _ in node.saved:
                    if counter.value != version:
                        check_saved_versions(node)  # raises, naming the tensor
            single = node.output_meta is None
            input_grads = backward_fn(grads[0] if single else _zeros_where_missing(grads, node))
            backward_fn = None  # the node's slot is then the closure's last reference: freeing it frees the arrays
            if check_anomaly:
                anomaly.check_backward(node, input_grads)
            if hooks is not None and hooks.post:
                input_grads = run_post_hooks(node, input_grads, grads)
            yield node, grads, input_grads
            if not retain_graph:
                node.backward_fn = node.saved = None  # frees the arrays the VJP closed over
                node.grad_shapes = ((grads[0].shape,) if single  # for explain, after backward
                                    else tuple(None if grad is None else grad.shape for grad in grads))

        if input_grads is None:  # nothing to send (no gradient reached the node, or autograd.grad skips it)
            for edge in node.next_edges:
                if edge is not None:
                    _count_down(consumers, ready, edge[0])
            continue
        edges = node.next_edges
        if len(input_grads) < len(edges):
            raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients (expected "
                               f"{len(edges)}, got {len(input_grads)})")
        for i, edge in enumerate(edges):  # send each input its gradient; Kahn's count goes down
            if edge is None:
                continue
            child, output_nr = edge
            grad = input_grads[i]
            if grad is not None:
                meta = child.output_meta
                if meta is not None:  # a multi-output node: one buffer slot per output
                    if grad.shape != meta[output_nr][0]:
                        _raise_wrong_shape(node, i, grad, meta[output_nr][0])
                    _add_to_buffer(buffers, child, output_nr, grad)
                else:
                    if type(child) is AccumulateGrad and grad.shape != child.leaf.array.shape:
                        _raise_wrong_shape(node, i, grad, child.leaf.array.shape)  # the engine knows a leaf's shape
                    if child in buffers:
                        _add_to_buffer(buffers, child, output_nr, grad)
                    else:
                        buffers[child] = [grad]  # the usual case, without a call: the first gradient for a node
            count = consumers[child]  # _count_down, inline: the child is ready when its last consumer has run
            if count == 1:
                ready.append(child)
            else:
                consumers[child] = count - 1
        input_grads = grad = None  # let go of the VJP's arrays before its leaves run: they count references


def _count_down(consumers, ready, child):
    """One consumer of `child` has run: Kahn's count goes down, and `child` is ready at the last one."""
    count = consumers[child]
    if count == 1:
        ready.append(child)
    else:
        consumers[child] = count - 1


def _seeded(roots, root_grads):
    """The gradient buffers holding the seeds, and the roots' nodes (each once)."""
    buffers, root_nodes = {}, []
    for position, (tensor, grad) in enumerate(zip(roots, root_grads)):
        node, output_nr = edge_of(tensor)
        if node is None:
            raise RuntimeError(f"element {position} of tensors does not require grad and does not have a "
                               f"grad_fn: nothing to differentiate (did you forget requires_grad=True, or run "
                               f"under no_grad?)")
        _add_to_buffer(buffers, node, output_nr, grad)
        if node not in root_nodes:
            root_nodes.append(node)
    return buffers, root_nodes


def _run_tensor_hooks(output_hooks, grads):
    for output_nr, hooks in output_hooks.items():
        if grads[output_nr] is not None:
            grads[output_nr] = apply_hooks(hooks, grads[output_nr])


def _leading_to(order, targets):
    """The nodes on a path to a target (autograd.grad runs only those). A freed node counts, so that
    running it raises the retain_graph error instead of skipping it."""
    needed = set()
    for node in reversed(order):
        freed = node.backward_fn is None and type(node) is not AccumulateGrad
        if node in targets or freed or any(edge is not None and edge[0] in needed for edge in node.next_edges):
            needed.add(node)
    return needed


def _raise_wrong_shape(node, index, grad, expected):
    """A VJP must return each input's gradient in that input's shape (PyTorch's check and wording)."""
    raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {index} - got "
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


def _zeros_where_missing(grads, node):
    """Multi-output VJPs receive zeros for outputs that got no gradient (PyTorch materializes them too)."""
    return [g if g is not None else np.zeros(shape, dtype) for g, (shape, dtype) in zip(grads, node.output_meta)]
