"""explain: a step-by-step account of a backward pass.

    >>> x = rg.randn(4, 3, requires_grad=True)
    >>> w = rg.randn(3, 2, requires_grad=True)
    >>> loss = (rg.tanh(x @ w) * 2).sum()
    >>> loss.backward()
    >>> print(rg.explain(loss))
    backward pass of SumBackward, 6 steps (reverse topological order)
    1. SumBackward        grad_out () -> grads (4, 2)
    ...
    3. TanhBackward       grad_out (4, 2) -> grads (4, 2)
    y = tanh(x) ;  dL/dx = g * (1 - y^2).  Saves `y`: the derivative needs only the output.
    4. MatmulBackward     grad_out (4, 2) -> grads (4, 3), (3, 2)
    ...
    5. AccumulateGrad  grad (3, 2) added to .grad of leaf (3, 2)
    6. AccumulateGrad  grad (4, 3) added to .grad of leaf (4, 3)

Each step names the op, the shapes of the gradient arriving at its output and leaving
towards its inputs, and the op's own docstring -- the same text that sits beside its VJP
in `retrograd/ops`, so every formula is written exactly once. Nothing accumulates into
`.grad`. Before backward, explain runs the pass without touching the graph (explaining
twice, or explaining then calling backward, works); after backward, it reads the pass that
ran from what the engine keeps of a freed graph: each node's edges and the shapes of the
gradients that reached it.
"""
import inspect

import numpy as np

from .autograd.engine import AccumulateGrad, edge_of, topological_order, walk
from .autograd.functional import _seed_gradients
from .tensor import Tensor


class Explanation(list):
    """A list of steps, each a dict: op, name, grad_out shapes, input grad shapes, formula."""

    def __str__(self):
        if not self:
            return "nothing to explain: the output does not depend on anything that requires grad"
        lines = [f"backward pass of {self[0]['name']}, {len(self)} steps (reverse topological order)"]
        for number, step in enumerate(self, 1):
            arrived = ", ".join(_shape(s) for s in step["grad_out"])
            if step["name"] == "AccumulateGrad":
                lines.append(f"{number}. AccumulateGrad  grad {arrived} added to .grad of leaf {_shape(step['leaf'])}")
                continue
            sent = ", ".join(_shape(s) for s in step["grad_inputs"])
            lines.append(f"{number}. {step['name']:<18} grad_out {arrived} -> grads {sent}")
            for text in step["formula"]:
                lines.append("   " + text)
        return "\n".join(lines)


def _shape(shape):
    return "-" if shape is None else str(tuple(shape))


def _formula(op, max_lines):
    doc = inspect.getdoc(op) or ""
    lines = [line for line in doc.splitlines() if line.strip()]
    return lines[:max_lines]


def explain(output, gradient=None, max_formula_lines=4):
    """Trace the backward pass from `output` (seeded with `gradient`, or 1 for a scalar) without
    accumulating anything; return an Explanation (print it for the readable form)."""
    if not isinstance(output, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(output).__name__}")
    steps = Explanation()
    if not output.requires_grad:
        return steps
    root, _ = edge_of(output)
    if type(root) is not AccumulateGrad and root.backward_fn is None:  # backward already ran and freed it
        return _replay_freed(root, steps, max_formula_lines)
    seeds = _seed_gradients([output], None if gradient is None else [gradient])
    for node, grads, input_grads in walk([output], seeds, retain_graph=True):
        if type(node) is AccumulateGrad:
            steps.append(_leaf_step(node, [np.shape(g) for g in grads]))
        else:
            steps.append(_step(node, [None if g is None else np.shape(g) for g in grads],
                               [None if g is None else np.shape(g) for g in input_grads], max_formula_lines))
    return steps


def _step(node, grad_out_shapes, grad_input_shapes, max_formula_lines):
    return {"op": node.op, "name": node.name(), "grad_out": grad_out_shapes, "grad_inputs": grad_input_shapes,
            "formula": _formula(node.op, max_formula_lines)}


def _leaf_step(node, grad_shapes):
    return {"op": None, "name": node.name(), "grad_out": grad_shapes, "grad_inputs": [], "formula": [],
            "leaf": node.leaf.shape}


def _replay_freed(root, steps, max_formula_lines):
    """The steps of a backward pass that already ran from `root`, in the engine's order. Its VJPs are
    gone, but each node kept its edges and the shapes of the gradients that reached it; the gradient
    sent along an edge has the shape of the output it reaches."""
    for node in topological_order([root]):
        if type(node) is AccumulateGrad:
            steps.append(_leaf_step(node, [node.leaf.shape]))
        elif _grad_shapes(node) is not None:  # it ran: backward records them as it frees a node
            steps.append(_step(node, list(node.grad_shapes),
                               [None if edge is None else _output_shape(*edge) for edge in node.next_edges],
                               max_formula_lines))
    return steps


def _output_shape(node, output_nr):
    """The shape of output `output_nr` of `node`, and so of a gradient sent to it (None: it never ran)."""
    if type(node) is AccumulateGrad:
        return tuple(node.leaf.shape)
    if node.output_meta is not None:
        return tuple(node.output_meta[output_nr][0])
    shapes = _grad_shapes(node)
    return None if shapes is None else shapes[output_nr]


def _grad_shapes(node):
    """The shapes of the gradients that reached `node` in the backward pass that freed it; None if none did."""
    return getattr(node, "grad_shapes", None)  # the slot is set only when the node is freed
