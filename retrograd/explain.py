"""explain: a step-by-step account of a backward pass.

    >>> loss = (rg.tanh(x @ w) * 2).sum()
    >>> print(rg.explain(loss))
    backward pass of SumBackward, 4 steps (reverse topological order)
    1. SumBackward     grad_out ()  -> grads (3, 2)
       y = sum of x over `dim` ;  dL/dx = g broadcast back over the summed axes
    ...

Each step names the op, the shapes of the gradient arriving at its output and leaving
towards its inputs, and the op's own docstring -- the same text that sits beside its VJP
in `retrograd/ops`, so every formula is written exactly once. Nothing accumulates into
`.grad` and the graph is kept (explaining twice, or explaining then calling backward, works).
"""
import inspect

import numpy as np

from .autograd.engine import AccumulateGrad, run_backward
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

    def observe(node, grads, input_grads):
        if isinstance(node, AccumulateGrad):
            steps.append({"op": None, "name": node.name, "grad_out": [np.shape(g) for g in grads],
                          "grad_inputs": [], "formula": [], "leaf": node.leaf.shape})
        elif input_grads is not None:
            steps.append({"op": node.op, "name": node.name,
                          "grad_out": [None if g is None else np.shape(g) for g in grads],
                          "grad_inputs": [None if g is None else np.shape(g) for g in input_grads],
                          "formula": _formula(node.op, max_formula_lines)})

    seeds = _seed_gradients([output], None if gradient is None else [gradient])
    run_backward([output], seeds, retain_graph=True, wrap=Tensor._from_array, observer=observe)
    return steps
