"""Diagnostics: is backprop healthy in this model?

    report = retrograd.diagnostics.check_model(model, loss_fn, (x, y))
    print(report)

- `gradient_flow`: per-parameter gradient norms and their ratio to the weights' norms, with
  vanishing / exploding / missing gradients flagged;
- `activation_health`: dead ReLU units (never active on the batch) and saturated sigmoid/tanh
  units (where the derivative is ~0, so the gradient through them vanishes);
- `symmetric_units`: hidden units with identical incoming weights, which receive identical
  gradients and can never become different (the equal-initialisation trap);
- `training_stalled`: a loss history that has stopped improving (the slope of a line through a window);
- `compare_gradients`: a hand-written backward pass against autograd, parameter by parameter, naming
  the first layer whose gradient differs;
- `recurrent_gradient_norms`: ||dL/dh_t|| of a recurrent layer at every time step (the vanishing-
  gradient picture), and `plot_recurrent_gradient_norms`.
"""
import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .compare import GradientComparison, compare_gradients  # noqa: F401
from .recurrent import plot_recurrent_gradient_norms, recurrent_gradient_norms  # noqa: F401
from .report import Report

VANISHING, EXPLODING = 1e-7, 1e3


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


def training_stalled(losses, window=None, rel_tol=1e-3):
    """(stalled, reason): whether the loss has stopped falling.

    Fits a least-squares line to the last `window` losses (default: the last half of the history, at
    least 10) and measures the fall it predicts across the window relative to the mean loss there:
    stalled when that relative fall is below `rel_tol` (0.1% by default) or within two standard
    errors of the fitted slope (noise, not progress), or the loss rises. A line fitted over many
    steps sees a slow steady fall through noisy steps (1.5% per 500 steps is still training), which
    comparing two short windows' means does not. `reason` says what was measured."""
    losses = [float(v) for v in losses]
    if any(not np.isfinite(v) for v in losses):
        return True, "the loss became NaN or Inf"
    if window is None:
        if len(losses) < 20:
            return False, f"too few values to judge ({len(losses)} < 20)"
        window = len(losses) // 2
    if not (isinstance(window, int) and window >= 3):
        raise ValueError(f"training_stalled: window must be an integer >= 3, got {window!r}")
    if len(losses) < window:
        return False, f"too few values to judge ({len(losses)} < window {window})"
    recent = np.asarray(losses[-window:])
    steps = np.arange(window, dtype=np.float64) - (window - 1) / 2
    slope = float(steps @ (recent - recent.mean()) / (steps @ steps))  # least squares: loss per step
    residual = recent - recent.mean() - slope * steps
    slope_error = float(np.sqrt(residual @ residual / (window - 2) / (steps @ steps)))  # its standard error
    scale = max(float(np.mean(np.abs(recent))), 1e-12)
    fall, noise = -slope * (window - 1) / scale, 2 * slope_error * (window - 1) / scale
    measured = (f"a least-squares line through the last {window} losses {'falls' if fall >= 0 else 'rises'} "
                f"{abs(fall) * 100:.3g}% (+- {noise * 100:.2g}%, two standard errors) of their mean ({scale:.4g}) "
                f"across them; a fall below {rel_tol:.2%} or within the noise is a stall")
    if fall < max(rel_tol, noise):
        return True, ("the loss is rising: " if fall <= -max(rel_tol, noise) else "stalled: ") + measured
    return False, "still improving: " + measured


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
