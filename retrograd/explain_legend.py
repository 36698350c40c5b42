"""The legend under an `explain` trace: every symbol its formulas use, defined once.

The op docstrings share a notation (each op module's docstring states it: `ops/elementwise.py`,
`ops/reduce.py`, `ops/loss.py`); a trace mixes ops from several modules, so the legend collects the
definitions of the symbols that actually appear in it. `g~` means one thing among the reductions and
another among the losses, so its entry depends on the modules of the steps that use it.
"""
import re

GENERAL = [
    ("L", "the scalar the backward pass differentiates (the output explain starts from)"),
    ("g", "dL/dy: the gradient arriving at an op's output (grad_out)"),
    ("x, a, b, y", "an op's input(s) and its output (w, b: a layer's weight and bias)"),
    ("dL/dx", "the gradient an op sends to its input x (to a, b, w, ... likewise): the 'grads' of its step"),
    ("grad_out -> grads", "the shapes of the gradient arriving at the op's output and of those it sends to its "
                          "inputs ('-': an input that takes no gradient)"),
    ("AccumulateGrad", "the end of a path: a leaf (a parameter or an input with requires_grad) adding the "
                       "gradient into its .grad"),
]

# (pattern in the formulas, symbol, definition): listed when the pattern appears in the trace
SYMBOLS = [
    (r"@", "@", "matrix product (batched over leading axes)"),
    (r"\^T", "^T", "transpose (of the last two axes)"),
    (r" \* |\w\*\w", "*", "elementwise product (broadcasting)"),
    (r"unbroadcast", "unbroadcast", "sums a gradient over the axes broadcasting added, back to the input's shape"),
    (r"\bsign\(", "sign(x)", "-1, 0 or 1 as x is negative, zero or positive"),
    (r"\bsum_", "sum_c, sum_t, sum_R, ...", "a sum over the named index or set of axes"),
    (r"1\{c = ", "1{c = y_i}", "1 where the condition holds, else 0 (an indicator)"),
    (r"\bonehot\b", "onehot(y)", "a row of zeros with a 1 at class y"),
    (r"\bsoftmax\b", "softmax(z)", "exp(z_c) / sum_k exp(z_k) along the class axis"),
    (r"\bsigma\b|\bsigmoid\b", "sigma, sigmoid", "the logistic function 1 / (1 + exp(-x))"),
    (r"\bim2col\b|\bcol2im\b", "im2col / col2im", "im2col gathers every output pixel's input window into a "
                                                  "column; col2im adds columns back onto the pixels they came "
                                                  "from (ops/window.py)"),
    (r"\bx_hat\b", "x_hat", "the normalised input (x - mean) * rstd"),
    (r"\brstd\b", "rstd", "1 / sqrt(var + eps)"),
    (r"\bSaves\b", "Saves", "the arrays the op's VJP keeps from the forward pass until backward frees them"),
]

G_TILDE = {
    "retrograd.ops.reduce": "g with the reduced axes put back as size-1 axes, so that it broadcasts against x",
    "retrograd.ops.loss": "the gradient reaching each unreduced loss entry l_i: g / N for reduction='mean' (N "
                          "entries averaged, or the sum of the weights), g for 'sum', g_i for 'none'",
}
G_TILDE_OTHER = "g brought back to the shape of the op's input (see the op's module docstring)"


def legend_for(steps):
    """The legend lines for a list of explain steps: the general terms, then each symbol the formulas use."""
    text = "\n".join(line for step in steps for line in step["formula"])
    entries = list(GENERAL)
    if "(L2)" in text:  # the LSTM's equations name a gate g too
        entries[1] = ("g", GENERAL[1][1] + "; in the LSTM's equations (L2)-(L3), g is the cell-candidate gate")
    for family in sorted({step["family"] for step in steps if "g~" in "\n".join(step["formula"])}):
        where = family.rsplit(".", 1)[-1]
        entries.append((f"g~ ({where})", G_TILDE.get(family, G_TILDE_OTHER)))
    entries += [(symbol, meaning) for pattern, symbol, meaning in SYMBOLS if re.search(pattern, text)]
    width = max(len(symbol) for symbol, _ in entries)
    return [f"{symbol:<{width}}  {meaning}" for symbol, meaning in entries]
