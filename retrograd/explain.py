"""explain: a step-by-step account of a backward pass.

    >>> x = rg.randn(4, 3, requires_grad=True)
    >>> w = rg.randn(3, 2, requires_grad=True)
    >>> loss = (rg.tanh(x @ w) * 2).sum()
    >>> loss.backward()
    >>> print(rg.explain(loss, params={"x": x, "w": w}))
    backward pass of SumBackward, 6 steps (reverse topological order)
    1. SumBackward        grad_out () -> grads (4, 2)
    y = sum of x over `dim` ;  dL/dx = g~ broadcast back over the summed axes.
    ...
    3. TanhBackward       grad_out (4, 2) -> grads (4, 2)
    y = tanh(x) ;  dL/dx = g * (1 - y^2).  Saves `y`: the derivative needs only the output.
    4. MatmulBackward     grad_out (4, 2) -> grads (4, 3) to x, (3, 2) to w
    y = a @ b, with NumPy/PyTorch rules for 1-D and batched operands.
    For matrices: dL/da = g @ b^T ;  dL/db = a^T @ g.
    ...
    5. AccumulateGrad  grad (3, 2) added to .grad of w (3, 2)
    6. AccumulateGrad  grad (4, 3) added to .grad of x (4, 3)
    legend
    ...
    g~ (reduce)        g with the reduced axes put back as size-1 axes, so that it broadcasts against x
    @                  matrix product (batched over leading axes)
    ...

Each step names the op, the shapes of the gradient arriving at its output and leaving
towards its inputs (and the leaf each reaches, by name), and the op's own docstring in
full -- the same text that sits beside its VJP in `retrograd/ops`, so every formula is
written exactly once; a fused op whose docstring points to its module's derivation (conv,
pooling, the recurrent layers, normalisation) brings that derivation along. A legend
defines every symbol the trace uses. Nothing accumulates into `.grad`.

    explain(loss, module=model)          leaves named by model.named_parameters(): fc1.weight
    explain(loss, params={"x": x})       leaves named by a dict, as torchviz's make_dot(params=...)
    explain(loss, values=True)           each gradient's norm and a preview (arrays in the steps)
    explain(loss, max_formula_lines=4)   formulas cut to 4 lines
    explain(loss).to_dot()               Graphviz DOT source of the graph (op names, shapes)
    explain(loss, values=True).render("graph.png", values=True, grads=True)   drawn, with norms

Before backward, explain runs the pass without touching the graph (explaining twice, or
explaining then calling backward, works); after backward, it reads the pass that ran from
what the engine keeps of a freed graph: each node's edges and the shapes of the gradients
that reached it (values are gone by then).
"""
import inspect
import re
import sys

import numpy as np

from .autograd.engine import AccumulateGrad, edge_of, topological_order, walk
from .autograd.functional import _seed_gradients
from .explain_legend import legend_for
from .tensor import Tensor

# what a formula paragraph of an op module's docstring looks like: the parts an op's own docstring points to
# with "see the module docstring" (conv, pooling's ties, the recurrent equations, normalisation)
_FORMULA_PARAGRAPH = re.compile(r"Legend|dL/|Forward|Backward|ties=|Ties:|\(L1\)|\(G1\)|\(R1\)")


class Explanation(list):
    """A list of steps, each a dict: op, name, grad_out shapes, input grad shapes, formula, and for a leaf
    its shape and name. `print()` it for the trace with its legend; `to_dot()` / `render(path)` draw it."""

    values = False  # set by explain(values=True): steps then carry the gradient arrays too
    note = None  # why values are missing, when they are

    def __str__(self):
        if not self:
            return "nothing to explain: the output does not depend on anything that requires grad"
        lines = [f"backward pass of {self[0]['name']}, {len(self)} steps (reverse topological order)"]
        if self.note:
            lines.append(f"({self.note})")
        for number, step in enumerate(self, 1):
            lines += self._step_lines(number, step)
        lines += ["", "legend"] + ["   " + line for line in legend_for(self)]
        return "\n".join(lines)

    def _step_lines(self, number, step):
        arrived = ", ".join(_shape(s) for s in step["grad_out"])
        if step["name"] == "AccumulateGrad":
            lines = [f"{number}. AccumulateGrad  grad {arrived} added to .grad of {_leaf_label(step)}"]
        else:
            sent = ", ".join(_shape(shape) + self._receiver(step, i) for i, shape in enumerate(step["grad_inputs"]))
            lines = [f"{number}. {step['name']:<18} grad_out {arrived} -> grads {sent}"]
            lines += ["   " + text for text in step["formula"]]
        if self.values and "grad_out_values" in step:
            lines += ["   " + text for text in _value_lines(step)]
        return lines

    def _receiver(self, step, position):
        """' to fc1.weight' where input `position` of a step is a named leaf."""
        target = step["inputs"][position] if position < len(step["inputs"]) else None
        if target is None or self[target]["name"] != "AccumulateGrad":
            return ""
        name = self[target].get("leaf_name")
        return f" to {name}" if name else ""

    def to_dot(self, values=False, grads=False):
        """The graph as Graphviz DOT source, drawn the way the forward pass ran (leaves at the top, the
        output at the bottom): one box per op with its output's shape, one ellipse per leaf with its name
        and shape; `values=True` adds each leaf's values and norm, `grads=True` each gradient's norm
        (both need `explain(..., values=True)` before backward)."""
        from .explain_dot import to_dot

        return to_dot(self, values, grads)

    def render(self, path, values=False, grads=False):
        """Draw the graph into `path` (its suffix picks the format: .png, .svg, .pdf) with Graphviz; returns
        the path. Needs the graphviz package (`pip install "retrograd[graph]"`) and Graphviz's `dot` program."""
        from .explain_dot import render

        return render(self.to_dot(values, grads), path)


def _shape(shape):
    return "-" if shape is None else str(tuple(shape))


def _leaf_label(step):
    name = step.get("leaf_name")
    return f"{name} {_shape(step['leaf'])}" if name else f"leaf {_shape(step['leaf'])}"


def _value_lines(step):
    """Norms and a short preview of the gradients a step received and sent (explain(values=True))."""
    lines = []
    if step["name"] == "AccumulateGrad":
        lines.append(f"value  {_preview(step['value'])}")
    for label, arrays in (("grad_out", step["grad_out_values"]), ("grads", step.get("grad_input_values", []))):
        for position, array in enumerate(arrays):
            where = f"{label}[{position}]" if len(arrays) > 1 else label
            lines.append(f"{where}  " + ("-" if array is None else _preview(array)))
    return lines


def _preview(array):
    array = np.asarray(array)
    text = np.array2string(array, precision=4, threshold=6, edgeitems=2, max_line_width=10_000).replace("\n", "")
    return f"norm {float(np.linalg.norm(array)):.4g}  {' '.join(text.split())}"


def _formula(op, max_lines):
    """The op's docstring and, where it points to its module's docstring, that docstring's formula paragraphs."""
    doc = inspect.getdoc(op) or ""
    lines = [line for line in doc.splitlines() if line.strip()]
    if "module docstring" in doc:
        module = sys.modules.get(op.__module__)
        chosen = _formula_paragraphs((inspect.getdoc(module) or "").split("\n\n")[1:])
        if chosen:
            lines.append(f"from the module docstring ({op.__module__.replace('.', '/')}.py):")
            lines += ["  " + line for p in chosen for line in p.splitlines() if line.strip()]
    return lines if max_lines is None else lines[:max_lines]


def _formula_paragraphs(paragraphs):
    """The paragraphs that state formulas: those naming a legend, a forward or backward pass or a derivative,
    and every indented block of equations together with the sentence that introduces it."""
    chosen = []
    for position, paragraph in enumerate(paragraphs):
        indented = paragraph.startswith(" ")
        if indented and position and paragraphs[position - 1].rstrip().endswith(":") \
                and paragraphs[position - 1] not in chosen:
            chosen.append(paragraphs[position - 1])
        if indented or _FORMULA_PARAGRAPH.search(paragraph):
            chosen.append(paragraph)
    return chosen


def explain(output, gradient=None, max_formula_lines=None, *, module=None, params=None, values=False):
    """Trace the backward pass from `output` (seeded with `gradient`, or 1 for a scalar) without
    accumulating anything; return an Explanation (print it for the readable form).

    module: an nn.Module whose `named_parameters()` name the leaves (`fc1.weight` rather than `(16,)`);
    params: a dict {name: tensor} naming leaves too (torchviz's `make_dot(params=...)`), e.g. the inputs;
    values: keep each gradient (norms and a preview in the trace, arrays in the steps), before backward only;
    max_formula_lines: cut each op's formula to this many lines (None: whole)."""
    if not isinstance(output, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(output).__name__}")
    names = _leaf_names(module, params)
    steps = Explanation()
    steps.values = bool(values)
    if not output.requires_grad:
        return steps
    root, _ = edge_of(output)
    if type(root) is not AccumulateGrad and root.backward_fn is None:  # backward already ran and freed it
        if values:
            steps.note = ("no values: backward already ran and freed them; call explain(..., values=True) before "
                          "backward to see them")
        return _replay_freed(root, steps, max_formula_lines, names)
    seeds = _seed_gradients([output], None if gradient is None else [gradient])
    nodes = []
    for node, grads, input_grads in walk([output], seeds, retain_graph=True):
        nodes.append(node)
        if type(node) is AccumulateGrad:
            step = _leaf_step(node, [np.shape(g) for g in grads], names)
        else:
            step = _step(node, [None if g is None else np.shape(g) for g in grads],
                         [None if g is None else np.shape(g) for g in input_grads], max_formula_lines)
        if values:
            step["grad_out_values"] = [None if g is None else np.array(g) for g in grads]
            if type(node) is AccumulateGrad:
                step["value"] = np.array(node.leaf.array)
            else:
                step["grad_input_values"] = [None if g is None else np.array(g) for g in input_grads]
        steps.append(step)
    return _link(steps, nodes)


def _leaf_names(module, params):
    """id(leaf tensor) -> its name, from a module's named_parameters() and a {name: tensor} dict."""
    names = {}
    if module is not None:
        if not hasattr(module, "named_parameters"):
            raise TypeError(f"explain: module must be an nn.Module (it names the leaves by its named_parameters()), "
                            f"got {type(module).__name__}")
        names.update((id(p), name) for name, p in module.named_parameters())
    if params is not None:
        if not isinstance(params, dict):
            raise TypeError(f"explain: params must be a dict {{name: tensor}}, got {type(params).__name__}")
        names.update((id(t), name) for name, t in params.items())
    return names


def _link(steps, nodes):
    """Give each step the positions (in `steps`) of the steps its gradients go to: the graph's edges."""
    position = {node: i for i, node in enumerate(nodes)}
    for step, node in zip(steps, nodes):
        step["inputs"] = [None if edge is None else position.get(edge[0]) for edge in node.next_edges]
    return steps


def _step(node, grad_out_shapes, grad_input_shapes, max_formula_lines):
    return {"op": node.op, "name": node.name(), "grad_out": grad_out_shapes, "grad_inputs": grad_input_shapes,
            "formula": _formula(node.op, max_formula_lines), "family": getattr(node.op, "__module__", None)}


def _leaf_step(node, grad_shapes, names):
    return {"op": None, "name": node.name(), "grad_out": grad_shapes, "grad_inputs": [], "formula": [],
            "family": None, "leaf": node.leaf.shape, "leaf_name": names.get(id(node.leaf))}


def _replay_freed(root, steps, max_formula_lines, names):
    """The steps of a backward pass that already ran from `root`, in the engine's order. Its VJPs are
    gone, but each node kept its edges and the shapes of the gradients that reached it; the gradient
    sent along an edge has the shape of the output it reaches."""
    nodes = []
    for node in topological_order([root]):
        if type(node) is AccumulateGrad:
            steps.append(_leaf_step(node, [node.leaf.shape], names))
        elif _grad_shapes(node) is not None:  # it ran: backward records them as it frees a node
            steps.append(_step(node, list(node.grad_shapes),
                               [None if edge is None else _output_shape(*edge) for edge in node.next_edges],
                               max_formula_lines))
        else:
            continue
        nodes.append(node)
    return _link(steps, nodes)


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
