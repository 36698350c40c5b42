"""An explain trace as a picture: Graphviz DOT source, and rendering it with the `graphviz` package.

Like micrograd's `draw_dot`, but for tensors: the graph is drawn the way the forward pass ran, leaves
(named by the module's parameter names when explain was given one) at the top, one box per op with
the shape of its output, and the output explain started from at the bottom. The DOT text needs
nothing; drawing it needs the graphviz package (`pip install "retrograd[graph]"`) and Graphviz's
`dot` program.
"""
import os

import numpy as np


def to_dot(steps, values=False, grads=False):
    """DOT source for a list of explain steps (see Explanation.to_dot)."""
    lines = ["digraph backward {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    for index, step in enumerate(steps):
        lines.append(f"  s{index} [{_node_attributes(step, values, grads)}];")
    for index, step in enumerate(steps):
        for target in step["inputs"]:
            if target is not None:  # data flowed from the input to this op in the forward pass
                lines.append(f"  s{target} -> s{index};")
    if steps:
        output_label = f"output {_shape(steps[0]['grad_out'][0])}"
        lines.append(f'  output [label="{_escape(output_label)}", shape=plaintext];')
        lines.append("  s0 -> output;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_attributes(step, values, grads):
    if step["name"] == "AccumulateGrad":
        label = [step.get("leaf_name") or "leaf", _shape(step["leaf"])]
        if values and "value" in step:
            label.append(f"value norm {np.linalg.norm(step['value']):.4g}")
        if grads and "grad_out_values" in step:
            label.append(f"grad norm {_norm(step['grad_out_values'][0])}")
        style = 'shape=ellipse, style=filled, fillcolor="#dbe9f6"'
    else:
        op_name = getattr(step["op"], "__name__", step["name"])  # the forward op: linear, cross_entropy, ...
        label = [op_name, "out " + ", ".join(_shape(s) for s in step["grad_out"])]
        if grads and "grad_out_values" in step:
            label.append("grad norm " + ", ".join(_norm(g) for g in step["grad_out_values"]))
        style = "shape=box"
    return f'label="{_escape(chr(10).join(label))}", {style}'


def _shape(shape):
    return "-" if shape is None else str(tuple(shape))


def _norm(array):
    return "-" if array is None else f"{float(np.linalg.norm(array)):.4g}"


def _escape(text):
    """A DOT string's body: backslashes and quotes escaped, newlines as DOT's centred line break."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(dot_source, path):
    """Draw `dot_source` into `path` with Graphviz, in the format its suffix names (.png by default)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError('Explanation.render needs the graphviz package: pip install "retrograd[graph]" '
                          "(and Graphviz's dot program; to_dot() needs neither)") from None
    file_format = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    try:
        image = graphviz.Source(dot_source).pipe(format=file_format)
    except graphviz.ExecutableNotFound:
        raise RuntimeError("Explanation.render: Graphviz's `dot` program was not found on PATH; the graphviz "
                           "Python package only drives it. Install Graphviz (apt install graphviz, brew install "
                           "graphviz or conda install graphviz), or write to_dot() to a .dot file") from None
    with open(path, "wb") as file:
        file.write(image)
    return path
