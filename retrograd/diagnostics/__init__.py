"""Diagnostics: is backprop healthy in this model?

    report = retrograd.diagnostics.check_model(model, loss_fn, (x, y))
    print(report)

- `gradient_flow`: per-parameter gradient norms and their ratio to the weights' norms, with
  vanishing / exploding / missing gradients flagged;
- `activation_health`: dead ReLU units (never active on the batch) and saturated sigmoid/tanh
  units (where the derivative is ~0, so the gradient through them vanishes);
- `symmetric_units`: hidden units with identical incoming weights, which receive identical
  gradients and can never become different (the equal-initialisation trap);
- `training_stalled`: a loss history that has stopped improving.
"""
from dataclasses import dataclass, field

import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh

VANISHING, EXPLODING = 1e-7, 1e3


@dataclass
class Report:
    """Rows of findings with a list of human-readable problems; `print(report)` shows both."""

    rows: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    title: str = "diagnostics"
    sections: dict = field(default_factory=dict)  # sub-reports by name (check_model fills it)

    @property
    def healthy(self):
        return not self.problems

    def __str__(self):
        lines = [self.title]
        if self.rows:
            keys = list(self.rows[0])
            widths = {k: max(len(k), *(len(_fmt(r.get(k))) for r in self.rows)) for k in keys}
            lines.append("  ".join(k.ljust(widths[k]) for k in keys))
            for row in self.rows:
                lines.append("  ".join(_fmt(row.get(k)).ljust(widths[k]) for k in keys))
        lines += [f"problem: {p}" for p in self.problems] or ["no problems found"]
        return "\n".join(lines)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3e}"
    return str(value)


def _named_parameters(model):
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, dict):
        return list(model.items())
    return [(f"param{i}", p) for i, p in enumerate(model)]


def gradient_flow(model, vanishing=VANISHING, exploding=EXPLODING):
    """Gradient norm per parameter (after a backward pass), its ratio to the parameter's norm, and flags."""
    report = Report(title="gradient flow (after backward)")
    for name, param in _named_parameters(model):
        weight_norm = float(np.linalg.norm(param.array))
        if param.grad is None:
            report.rows.append({"parameter": name, "shape": tuple(param.shape), "grad_norm": "none",
                                "grad/weight": "-", "flag": "no gradient"})
            report.problems.append(f"{name} received no gradient: is it used in the forward pass, or detached?")
            continue
        grad_norm = float(np.linalg.norm(param.grad.array))
        flag = ""
        if not np.isfinite(grad_norm):
            flag = "non-finite"
            report.problems.append(f"{name}: the gradient contains NaN or Inf (try autograd.detect_anomaly())")
        elif grad_norm < vanishing:
            flag = "vanishing"
            report.problems.append(f"{name}: gradient norm {grad_norm:.2e} < {vanishing:.0e} (vanishing)")
        elif grad_norm > exploding:
            flag = "exploding"
            report.problems.append(f"{name}: gradient norm {grad_norm:.2e} > {exploding:.0e} (exploding: clip "
                                   f"with nn.utils.clip_grad_norm_ or lower the learning rate)")
        report.rows.append({"parameter": name, "shape": tuple(param.shape), "grad_norm": grad_norm,
                            "grad/weight": grad_norm / weight_norm if weight_norm else float("inf"), "flag": flag})
    return report


def symmetric_units(weight, atol=0.0):
    """Groups of output units (rows of a (out, in) weight) whose incoming weights are identical.

    Such units compute the same function, receive the same gradient and stay identical forever."""
    rows = np.asarray(weight.array if hasattr(weight, "array") else weight)
    rows = rows.reshape(rows.shape[0], -1)
    groups, assigned = [], np.zeros(len(rows), bool)
    for i in range(len(rows)):
        if assigned[i]:
            continue
        same = np.nonzero(np.all(np.abs(rows - rows[i]) <= atol, axis=1))[0]
        if len(same) > 1:
            groups.append(same.tolist())
            assigned[same] = True
    return groups


def activation_health(model, inputs, dead_threshold=0.0, saturation=0.99):
    """Run `model(inputs)` and report, per ReLU/LeakyReLU/Sigmoid/Tanh module (subclasses included), the
    fraction of dead or saturated units."""
    records = []
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, (ReLU, LeakyReLU, Sigmoid, Tanh)):
            def hook(mod, args, output, name=name):
                records.append((name, mod, np.asarray(output.array)))
            handles.append(module.register_forward_hook(hook))
    try:
        with no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    report = Report(title="activation health")
    for name, module, out in records:
        kind = type(module).__name__
        units = out.reshape(out.shape[0], -1)
        if isinstance(module, (ReLU, LeakyReLU)):
            dead = float(np.mean(np.all(units <= dead_threshold, axis=0)))
            report.rows.append({"module": name, "kind": kind, "dead": dead, "saturated": "-"})
            if dead > 0.5:
                report.problems.append(f"{name}: {dead:.0%} of the ReLU units are dead (never active on this batch); "
                                       f"lower the learning rate or check the initialisation")
        else:
            level = np.abs(2 * units - 1) if isinstance(module, Sigmoid) else np.abs(units)
            saturated = float(np.mean(level > saturation))
            report.rows.append({"module": name, "kind": kind, "dead": "-", "saturated": saturated})
            if saturated > 0.5:
                report.problems.append(f"{name}: {saturated:.0%} of the {kind} outputs are saturated (derivative "
                                       f"~0): inputs or weights are too large")
    return report


def training_stalled(losses, window=10, rel_tol=1e-3):
    """(stalled, reason): whether the mean loss of the last `window` values improved by less than
    `rel_tol` (relative) on the `window` before it."""
    losses = [float(v) for v in losses]
    if any(not np.isfinite(v) for v in losses):
        return True, "the loss became NaN or Inf"
    if len(losses) < 2 * window:
        return False, f"too few values to judge ({len(losses)} < {2 * window})"
    before, recent = np.mean(losses[-2 * window:-window]), np.mean(losses[-window:])
    improvement = (before - recent) / max(abs(before), 1e-12)
    if improvement < rel_tol:
        return True, f"the loss improved by {improvement:.2%} over the last {window} steps (threshold {rel_tol:.2%})"
    return False, f"the loss is still improving ({improvement:.2%} over the last {window} steps)"


def check_model(model, loss_fn, batch):
    """One forward/backward on `batch` = (inputs, targets), then gradient flow, activation health and
    symmetric units of every 2-D weight, in one report. Gradients are left in `.grad`."""
    inputs, targets = batch
    model.zero_grad()
    loss_fn(model(inputs), targets).backward()
    flow = gradient_flow(model)
    health = activation_health(model, inputs)
    report = Report(rows=flow.rows, problems=flow.problems + health.problems, title="model check")
    for name, param in model.named_parameters():
        if param.ndim >= 2:
            groups = symmetric_units(param)
            if groups:
                report.problems.append(f"{name}: units {groups[0]}{' and more' if len(groups) > 1 else ''} have "
                                       f"identical weights and will stay identical (break the symmetry with random "
                                       f"initialisation)")
    report.sections = {"gradient_flow": flow, "activation_health": health}
    return report
