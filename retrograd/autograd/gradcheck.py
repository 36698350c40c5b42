"""Gradient checking: analytical gradients against central differences.

`gradcheck(fn, inputs)` is PyTorch's: it builds the full Jacobian of every
output with respect to every input that requires grad, twice -- numerically,
by perturbing one input entry at a time by +-eps (central differences), and
analytically, one row per output entry, by backpropagating a unit cotangent
with `autograd.grad` -- and compares them entry by entry with
|analytical - numerical| <= atol + rtol * |numerical|. It also checks what the
Jacobian comparison cannot see (STYLE.md lesson 10):

- every VJP that feeds an input returns that input's exact shape and dtype;
- the backward is linear in the incoming gradient, VJP(2v) = 2 VJP(v) and
  VJP(u + v) = VJP(u) + VJP(v) for random u, v (a backward returning
  grad_out**2 * x passes every unit-vector test, since 1**2 = 1, and fails here);
- the backward is deterministic: VJP(v) twice agrees within `nondet_tol`.

A failure explains itself: which output, which input, the worst entries
(index, numerical, analytical) and, when small, both Jacobians.

`gradcheck_model(model, loss_fn, batch)` checks every parameter of a whole
model against central differences of its scalar loss, on a seeded sample of
entries per parameter, in float64, and returns a table (`GradcheckReport`).
"""
import warnings
from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor
from .engine import edge_of, walk
from .functional import grad as autograd_grad
from .grad_mode import enable_grad, no_grad

_SMALL_JACOBIAN = 36  # print whole Jacobians up to this many entries
_WORST_SHOWN = 5


class GradcheckError(RuntimeError):
    """Raised by `gradcheck` / `gradcheck_model` when analytical and numerical gradients disagree."""


# ----- gradcheck -------------------------------------------------------------------
def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0):
    """Check the gradients of `fn` at `inputs` against central differences, as `torch.autograd.gradcheck`.

    inputs: a Tensor or a tuple of arguments; tensors with requires_grad=True are checked (they
    should be float64: a warning says so otherwise, as in PyTorch), other arguments pass through.
    fn returns a Tensor or a tuple of Tensors; outputs that do not require grad must have a zero
    numerical Jacobian. Returns True, or raises `GradcheckError` explaining the first failure
    (returns False instead when raise_exception=False)."""
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    try:
        _gradcheck(fn, inputs, eps, atol, rtol, nondet_tol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _check_inputs(inputs):
    found = False
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        found = True
        if x.dtype != np.float64:
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. This check will "
                f"likely fail if all the inputs are not of double precision floating point "
                f"(got {x.dtype}; use x.double() for gradcheck).", stacklevel=3)
        if not x.array.flags.writeable:
            raise RuntimeError(f"gradcheck: input {i} is read-only (e.g. an expanded or broadcast view); numerical "
                               f"gradients perturb inputs in place, so pass a copy (x.clone()).")
    if not found:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")


def _outputs_of(result):
    outputs = _as_tuple(result)
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors; output {i} is "
                            f"{type(out).__name__}")
    return outputs


def _gradcheck(fn, inputs, eps, atol, rtol, nondet_tol):
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    with enable_grad():
        outputs = _outputs_of(fn(*inputs))
    numerical = _numerical_jacobians(fn, inputs, checked, outputs, eps)  # [output][input] (m, n)
    for o, out in enumerate(outputs):
        if not out.requires_grad:
            for k, i in enumerate(checked):
                if np.any(np.abs(numerical[o][k]) > atol):
                    raise GradcheckError(
                        f"Numerical gradient for output {o} (which does not require grad) with respect to input "
                        f"{i} is not zero: the output depends on the input but the op recorded no gradient.\n"
                        + _worst_entries(numerical[o][k], np.zeros_like(numerical[o][k]), out.shape,
                                         inputs[i].shape, atol, rtol))
            continue
        diff_inputs = [inputs[i] for i in checked]
        _check_vjp_attributes(out, o, inputs, checked)
        analytical = _analytical_jacobian(out, diff_inputs, checked)
        for k, i in enumerate(checked):
            _compare(numerical[o][k], analytical[k], o, i, out.shape, inputs[i], atol, rtol)
        _check_linearity(out, o, diff_inputs, checked, atol, rtol, nondet_tol)


def _numerical_jacobians(fn, inputs, checked, outputs, eps):
    """J[o][k][:, j] = (f_o(x + eps e_j) - f_o(x - eps e_j)) / (2 eps), perturbing input checked[k] in place."""
    jacobians = [[np.zeros((out.array.size, inputs[i].array.size)) for i in checked] for out in outputs]

    def evaluate():
        with no_grad():
            results = _outputs_of(fn(*inputs))
        if len(results) != len(outputs):
            raise GradcheckError(f"gradcheck: fn returned {len(results)} outputs when an input was perturbed, "
                                 f"{len(outputs)} before")
        values = []
        for o, (r, out) in enumerate(zip(results, outputs)):
            if r.shape != out.shape or r.dtype != out.dtype:
                raise GradcheckError(f"gradcheck: output {o} changed from {tuple(out.shape)} {out.dtype} to "
                                     f"{tuple(r.shape)} {r.dtype} when an input was perturbed by {eps}")
            values.append(np.array(r.array, dtype=np.float64).reshape(-1))  # a copy: r may alias an input
        return values

    for k, i in enumerate(checked):
        array = inputs[i].array
        for j, index in enumerate(np.ndindex(array.shape)):
            original = array[index].copy()
            try:
                array[index] = original + eps
                plus = evaluate()
                array[index] = original - eps
                minus = evaluate()
            finally:
                array[index] = original
            for o in range(len(outputs)):
                jacobians[o][k][:, j] = (plus[o] - minus[o]) / (2 * eps)
    return jacobians


def _unit_cotangents(out):
    """One unit cotangent per entry of `out` (a row of the Jacobian each)."""
    for j in range(out.array.size):
        unit = np.zeros(out.array.size, out.array.dtype)
        unit[j] = 1
        yield unit.reshape(out.array.shape)


def _analytical_jacobian(out, diff_inputs, checked):
    """J[k][j, :] = d out_j / d inputs[k], one backward pass per output entry j."""
    jacobians = [np.zeros((out.array.size, x.array.size)) for x in diff_inputs]
    for j, unit in enumerate(_unit_cotangents(out)):
        grads = autograd_grad(out, diff_inputs, grad_outputs=unit, retain_graph=True, allow_unused=True)
        for k, g in enumerate(grads):
            if g is None:
                continue
            if g.array.size != diff_inputs[k].array.size:
                raise GradcheckError(f"gradcheck: the gradient for input {checked[k]} has shape {tuple(g.shape)} "
                                     f"but the input has shape {tuple(diff_inputs[k].shape)}")
            jacobians[k][j, :] = g.array.reshape(-1)
    return jacobians


def _compare(numerical, analytical, o, i, out_shape, x, atol, rtol):
    bad = ~(np.abs(analytical - numerical) <= atol + rtol * np.abs(numerical))
    if not bad.any():
        return
    message = (f"Jacobian mismatch for output {o} with respect to input {i} "
               f"(output shape {tuple(out_shape)}, input shape {tuple(x.shape)}, {x.dtype}):\n"
               + _worst_entries(numerical, analytical, out_shape, x.shape, atol, rtol))
    if numerical.size <= _SMALL_JACOBIAN:
        message += ("\nnumerical Jacobian (row: output entry, column: input entry):\n"
                    + np.array2string(numerical, precision=6, suppress_small=True)
                    + "\nanalytical Jacobian:\n" + np.array2string(analytical + 0.0, precision=6, suppress_small=True))
    raise GradcheckError(message)


def _worst_entries(numerical, analytical, out_shape, in_shape, atol, rtol):
    error = np.abs(analytical - numerical)
    tolerance = atol + rtol * np.abs(numerical)
    excess = np.where(np.isnan(error), np.inf, error - tolerance)
    n_bad = int(np.sum(excess > 0))
    order = np.argsort(-excess, axis=None, kind="stable")[:min(_WORST_SHOWN, n_bad) or 1]
    lines = [f"  {n_bad} of {numerical.size} entries differ by more than atol + rtol * |numerical| "
             f"(atol={atol:g}, rtol={rtol:g}); worst first:"]
    for flat in order:
        row, col = np.unravel_index(flat, numerical.shape)
        out_index = np.unravel_index(row, tuple(out_shape)) if len(out_shape) else ()
        in_index = np.unravel_index(col, tuple(in_shape)) if len(in_shape) else ()
        lines.append(f"    output{_index_str(out_index)} / input{_index_str(in_index)}: numerical "
                     f"{numerical[row, col]:.8g}, analytical {analytical[row, col]:.8g}, "
                     f"|difference| {error[row, col]:.3g}")
    return "\n".join(lines)


def _index_str(index):
    return "[" + ", ".join(str(int(n)) for n in index) + "]"


def _check_vjp_attributes(out, o, inputs, checked):
    """Every VJP that sends a gradient straight to a checked input returns that input's shape and dtype."""
    edges = {edge_of(inputs[i]): i for i in checked}
    problems = []

    def check_step(node, input_grads):
        for edge, g in zip(node.next_edges, input_grads):
            i = edges.get(edge) if edge is not None else None
            if i is None or g is None:
                continue
            x = inputs[i].array
            shape, dtype = np.shape(g), np.asarray(g).dtype
            if shape != x.shape:
                problems.append(f"{node.name()} returned a gradient of shape {shape} for input {i} of shape {x.shape} "
                                f"(a VJP must return each input's exact shape; undo broadcasting with unbroadcast)")
            elif dtype != x.dtype:
                problems.append(f"{node.name()} returned a gradient of dtype {dtype} for input {i} of dtype {x.dtype} "
                                f"(a VJP must return each input's dtype)")

    cotangent = np.random.default_rng(0).standard_normal(out.array.shape).astype(out.array.dtype)
    try:
        for node, _, input_grads in walk([out], [cotangent], retain_graph=True, targets={n for n, _ in edges}):
            if input_grads is not None:
                check_step(node, input_grads)
    except RuntimeError:  # the engine refuses a wrong shape; check_step has already said which
        if not problems:
            raise
    if problems:
        raise GradcheckError(f"Backward of output {o} returns malformed gradients:\n  " + "\n  ".join(problems))


def _check_linearity(out, o, diff_inputs, checked, atol, rtol, nondet_tol):
    """VJP(2v) = 2 VJP(v), VJP(u + v) = VJP(u) + VJP(v), and VJP(v) is reproducible within nondet_tol."""
    rng = np.random.default_rng(1234)
    u = rng.standard_normal(out.array.shape).astype(out.array.dtype)
    v = rng.standard_normal(out.array.shape).astype(out.array.dtype)

    def vjp(cotangent):
        grads = autograd_grad(out, diff_inputs, grad_outputs=cotangent, retain_graph=True, allow_unused=True)
        return [np.zeros(x.array.shape) if g is None else g.array.astype(np.float64)
                for x, g in zip(diff_inputs, grads)]

    vjp_u, vjp_v = vjp(u), vjp(v)
    not_linear = (f"Backward of output {o} is not linear in the incoming gradient v: a VJP must be v times the "
                  f"Jacobian, so it may not square, take abs of, or otherwise transform grad_out, nor ignore it.")
    checks = [
        (not_linear, "VJP(2v) vs 2 VJP(v)", vjp(2 * v), [2 * g for g in vjp_v], atol, rtol),
        (not_linear, "VJP(u + v) vs VJP(u) + VJP(v)", vjp(u + v), [a + b for a, b in zip(vjp_u, vjp_v)], atol, rtol),
        (f"Backward of output {o} is not reentrant: running it twice on the same v gives different gradients "
         f"(nondet_tol={nondet_tol:g}).", "second VJP(v) vs first", vjp(v), vjp_v, nondet_tol, 0.0),
    ]
    for headline, what, got, expected, tol_abs, tol_rel in checks:
        for k, (g, e) in enumerate(zip(got, expected)):
            error = np.abs(g - e)
            if np.all(error <= tol_abs + tol_rel * np.abs(e)):
                continue
            error = np.where(np.isnan(error), np.inf, error)
            worst = np.unravel_index(int(np.argmax(error)), e.shape) if e.ndim else ()
            raise GradcheckError(f"{headline}\n  with respect to input {checked[k]}, random u and v: {what}: "
                                 f"worst at input{_index_str(worst)}: {g[worst]:.8g} vs {e[worst]:.8g} "
                                 f"(|difference| {error[worst]:.3g})")


# ----- gradcheck_model ----------------------------------------------------------------
@dataclass
class GradcheckRow:
    """One parameter's result: `checked` of `total` entries compared; the worst entry's index and values."""

    name: str
    shape: tuple
    checked: int
    total: int
    max_abs_err: float
    max_rel_err: float
    passed: bool
    worst_index: tuple = ()
    numerical: float = 0.0
    analytical: float = 0.0
    excess: float = 0.0  # max over entries of |a - n| / (atol + rtol |n|): > 1 fails


class GradcheckReport(list):
    """The rows of `gradcheck_model`, one per parameter, with `.passed`, `.worst` and a printable table."""

    def __init__(self, rows, eps, atol, rtol):
        super().__init__(rows)
        self.eps, self.atol, self.rtol = eps, atol, rtol

    @property
    def passed(self):
        return all(row.passed for row in self)

    @property
    def failed(self):
        return [row for row in self if not row.passed]

    @property
    def worst(self):
        """The row furthest past its tolerance (None for a model without parameters)."""
        return max(self, key=lambda row: row.excess, default=None)

    def __bool__(self):  # `if report:` reads as "did it pass", not "has rows"
        return self.passed

    def __str__(self):
        status = "passed" if self.passed else f"FAILED ({len(self.failed)} of {len(self)} parameters)"
        lines = [f"gradcheck_model {status}: float64, eps={self.eps:g}, tolerance |a - n| <= "
                 f"{self.atol:g} + {self.rtol:g} |n|"]
        width = max([len("parameter")] + [len(row.name) for row in self])
        shape_width = max([len("shape")] + [len(str(tuple(row.shape))) for row in self])
        lines.append(f"{'parameter':<{width}}  {'shape':<{shape_width}}  {'checked':>11}  {'max_abs_err':>11}  "
                     f"{'max_rel_err':>11}  status")
        for row in self:
            checked = f"{row.checked}/{row.total}"
            line = (f"{row.name:<{width}}  {str(tuple(row.shape)):<{shape_width}}  {checked:>11}  "
                    f"{row.max_abs_err:>11.2e}  {row.max_rel_err:>11.2e}  {'ok' if row.passed else 'FAIL'}")
            if not row.passed:
                line += (f"  worst at {_index_str(row.worst_index)}: numerical {row.numerical:.6g}, "
                         f"analytical {row.analytical:.6g}")
            lines.append(line)
        return "\n".join(lines)

    __repr__ = __str__


def gradcheck_model(model_or_fn, loss_fn=None, batch=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                    max_entries_per_param=20, seed=0, params=None, raise_exception=False):
    """Check the gradient of a scalar loss with respect to every parameter of a model.

    model_or_fn: an object with `.named_parameters()` (a Module) or a plain function; for a
    function pass `params`, a dict {name: tensor} or a list of tensors it reads.
    The loss is loss_fn(model(x), y) when loss_fn is given and batch is (x, y);
    loss_fn(model(batch)) when batch is anything else; model(batch) (or model() when batch is
    None) must itself return the scalar loss when loss_fn is None.

    Everything runs in float64: floating parameters, buffers and batch tensors are cast for the
    check and the original arrays (and dtypes) are put back afterwards, even on error. The
    analytical gradient comes from one backward pass (nothing accumulates into `.grad`); then,
    for at most `max_entries_per_param` entries of each parameter (a choice seeded by `seed`; all
    entries when there are that few), the central difference (L(p + eps) - L(p - eps)) / (2 eps)
    is compared with it: an entry passes when |analytical - numerical| <= atol + rtol |numerical|.
    Relative errors are |a - n| / max(|a|, |n|, atol). Parameters with requires_grad=False are
    skipped.

    The loss must be a deterministic function of the parameters: put a model with dropout (or
    any randomness) in eval mode, `model.eval()`, before calling this. Batch-norm buffers are
    restored afterwards, so the many forward passes leave no trace.

    Returns a GradcheckReport (print it for the table); raises GradcheckError with that table
    instead when raise_exception=True and some parameter fails."""
    named = _named_params(model_or_fn, params)
    named = [(name, p) for name, p in named if p.requires_grad]
    restore = []
    try:
        for _, tensor in named + _named_buffers(model_or_fn):  # every buffer gets a copy (counters too)
            restore.append((tensor, tensor.array))
            tensor.array = tensor.array.astype(np.float64 if tensor.array.dtype.kind == "f" else tensor.array.dtype)
        batch64 = _to_float64(batch)

        def loss_of():
            if loss_fn is not None:
                if isinstance(batch64, (tuple, list)) and len(batch64) == 2:
                    return loss_fn(model_or_fn(batch64[0]), batch64[1])
                return loss_fn(model_or_fn() if batch64 is None else model_or_fn(batch64))
            return model_or_fn() if batch64 is None else model_or_fn(batch64)

        with enable_grad():
            loss = loss_of()
            if not isinstance(loss, Tensor) or loss.array.size != 1:
                shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
                raise ValueError(f"gradcheck_model: the loss must be a scalar Tensor, got {shape}")
            grads = autograd_grad(loss, [p for _, p in named], allow_unused=True) if named else ()

        rng = np.random.default_rng(seed)
        rows = []
        for (name, p), g in zip(named, grads):
            analytical = np.zeros(p.array.shape) if g is None else g.array
            rows.append(_check_param(name, p, analytical, loss_of, rng, eps, atol, rtol, max_entries_per_param))
    finally:
        for tensor, array in restore:
            tensor.array = array
    report = GradcheckReport(rows, eps, atol, rtol)
    if raise_exception and not report.passed:
        raise GradcheckError(str(report))
    return report


def _named_params(model_or_fn, params):
    if hasattr(model_or_fn, "named_parameters"):
        return list(model_or_fn.named_parameters())
    if params is None:
        raise ValueError("gradcheck_model: pass params= (a dict {name: tensor} or a list of tensors) when checking "
                         "a function; a model with .named_parameters() needs none")
    items = list(params.items()) if isinstance(params, dict) else [(f"params[{i}]", p) for i, p in enumerate(params)]
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"gradcheck_model: parameter {name} is a {type(p).__name__}, not a Tensor")
    return items


def _named_buffers(model):
    return [(name, b) for name, b in model.named_buffers() if b is not None] if hasattr(model, "named_buffers") else []


def _to_float64(value):
    if isinstance(value, Tensor):
        return Tensor._from_array(value.array.astype(np.float64)) if value.array.dtype.kind == "f" else value
    if isinstance(value, tuple):
        return tuple(_to_float64(v) for v in value)
    if isinstance(value, list):
        return [_to_float64(v) for v in value]
    return value


def _check_param(name, p, analytical, loss_of, rng, eps, atol, rtol, max_entries):
    array = p.array
    total = array.size
    if total <= max_entries:
        flat_indices = np.arange(total)
    else:
        flat_indices = np.sort(rng.choice(total, size=max_entries, replace=False))
    numerical = np.empty(flat_indices.size)
    for n, flat in enumerate(flat_indices):
        index = np.unravel_index(flat, array.shape)
        original = array[index].copy()
        try:
            with no_grad():
                array[index] = original + eps
                plus = float(loss_of().array.reshape(()))
                array[index] = original - eps
                minus = float(loss_of().array.reshape(()))
        finally:
            array[index] = original
        numerical[n] = (plus - minus) / (2 * eps)
    chosen = analytical.reshape(-1)[flat_indices].astype(np.float64)
    error = np.abs(chosen - numerical)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(np.isfinite(error), error / (atol + rtol * np.abs(numerical)), np.inf)
        relative = error / np.maximum(np.maximum(np.abs(chosen), np.abs(numerical)), atol)
    excess = np.where(np.isnan(excess), 0.0, excess)  # 0 / 0: an exact match with zero tolerance
    if flat_indices.size == 0:
        return GradcheckRow(name, tuple(array.shape), 0, total, 0.0, 0.0, True)
    worst = int(np.argmax(excess))
    return GradcheckRow(
        name=name, shape=tuple(array.shape), checked=int(flat_indices.size), total=total,
        max_abs_err=float(np.max(np.where(np.isnan(error), np.inf, error))),
        max_rel_err=float(np.max(np.where(np.isnan(relative), np.inf, relative))),
        passed=bool(np.all(excess <= 1)),
        worst_index=tuple(int(i) for i in np.unravel_index(flat_indices[worst], array.shape)),
        numerical=float(numerical[worst]), analytical=float(chosen[worst]), excess=float(excess[worst]))
