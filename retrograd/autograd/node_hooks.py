"""PyTorch's hooks on a grad_fn node (`Node.register_prehook`, `Node.register_hook`).

A pre-hook sees the gradients that reached the node, `fn(grad_outputs)`, before its VJP runs; a hook
sees what the VJP returned as well, `fn(grad_inputs, grad_outputs)`, before it is sent on. Either may
return a tuple of the same length to replace its first argument. Hooks get Tensors (None where no
gradient exists) and their replacements are checked as PyTorch checks them, with its messages: a wrong
count or size would send a gradient to the wrong input or broadcast it into a wrong one.
"""
import numpy as np

from ..tensor import Tensor


class HookHandle:
    """What `register_hook` returns: `handle.remove()` takes the hook off the node."""

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


class Hooks:
    """Everything registered on one node, made on the first registration (most nodes never get one, and
    the backward walk tests a single slot): tensor hooks per output, pre-hooks, hooks, metadata."""

    __slots__ = ("output", "pre", "post", "metadata", "post_accumulate")

    def __init__(self):
        self.output = {}  # {output_nr: [hook(grad), ...]} from Tensor.register_hook
        self.pre = []
        self.post = []
        self.metadata = {}
        self.post_accumulate = []  # a leaf's AccumulateGrad only: [hook(leaf), ...] after `.grad` was updated


class NodeHooks:
    """The hook and metadata half of PyTorch's Node API, for engine.Node (its `hooks` slot holds them)."""

    __slots__ = ()

    def _registered(self):
        if self.hooks is None:
            self.hooks = Hooks()
        return self.hooks

    @property
    def metadata(self):
        """A dict the user may fill (PyTorch's `grad_fn.metadata`)."""
        return self._registered().metadata

    def register_output_hook(self, output_nr, hook):
        """A tensor hook (`Tensor.register_hook`) on output `output_nr`: `hook(grad)` before the pre-hooks."""
        self._registered().output.setdefault(output_nr, []).append(hook)

    def register_hook(self, hook):
        """Call `hook(grad_inputs, grad_outputs)` after the VJP runs; a returned tuple replaces grad_inputs."""
        post = self._registered().post
        post.append(hook)
        return HookHandle(post, hook)

    def register_prehook(self, hook):
        """Call `hook(grad_outputs)` before the VJP runs; a returned tuple replaces grad_outputs."""
        pre = self._registered().pre
        pre.append(hook)
        return HookHandle(pre, hook)


def _as_tensors(arrays):
    return tuple(None if a is None else Tensor._from_array(a) for a in arrays)


def _replaced(hook, returned, arrays):
    """The arrays a hook's returned tuple stands for, checked against the ones it replaces."""
    if not isinstance(returned, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(returned).__name__}'")
    name = getattr(hook, "__name__", repr(hook))
    if len(returned) != len(arrays):
        raise RuntimeError(f"hook '{name}' has returned an incorrect number of values (got {len(returned)}, "
                           f"but expected {len(arrays)})")
    replaced = []
    for new, old in zip(returned, arrays):
        if new is None:
            replaced.append(None)
            continue
        if old is None:
            raise RuntimeError("can't replace a None gradient with a non-None value")
        new = np.asarray(new.array if isinstance(new, Tensor) else new)
        if new.shape != old.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value: it returned shape "
                               f"{list(new.shape)} for a gradient of shape {list(old.shape)}")
        replaced.append(new)
    return replaced


def run_pre_hooks(node, grads):
    """Run the node's pre-hooks on `grads` (its summed output gradients, a list changed in place)."""
    for hook in list(node.hooks.pre):
        returned = hook(_as_tensors(grads))
        if returned is not None:
            grads[:] = _replaced(hook, returned, grads)


def run_post_hooks(node, input_grads, grads):
    """Run the node's hooks on what its VJP returned; the (possibly replaced) input gradients.

    An input that takes no gradient (no edge) shows as None, as in PyTorch."""
    input_grads = [None if edge is None else g for g, edge in zip(input_grads, node.next_edges)]
    for hook in list(node.hooks.post):
        returned = hook(_as_tensors(input_grads), _as_tensors(grads))
        if returned is not None:
            input_grads = _replaced(hook, returned, input_grads)
    return input_grads
