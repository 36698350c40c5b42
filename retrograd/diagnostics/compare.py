"""compare_gradients: check a hand-written backward pass against retrograd's, parameter by parameter.

The calling convention is the one people use when they write backprop by hand in NumPy:

    def my_backward(params, x, y):
        # params: {name: float64 ndarray}, named and laid out as model.named_parameters()
        #         (PyTorch's layouts: a Linear's "weight" is (out, in), its "bias" (out,))
        # x, y:   the batch as NumPy arrays (floating arrays in float64)
        ...
        return {"hidden.weight": dW1, "hidden.bias": db1, ...}   # or a list in named_parameters() order

    report = compare_gradients(my_backward, model, loss_fn, (x, y))
    print(report)   # one row per parameter; names the first layer (in forward order) whose gradient differs

The hand-written gradient must be that of `loss_fn(model(x), y)` exactly as written (a mean loss
divides by the batch size, and so must the hand-written one). Both sides run in float64 on copies:
the model, its parameters and their `.grad` are left as they were.
"""
import copy

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .report import Report

RELATIVE_TOLERANCE = 1e-6  # float64 on both sides: a correct hand-written gradient agrees to ~1e-12


class GradientComparison(Report):
    """A Report with one row per parameter; `first_difference` is the first differing row (forward order)
    as a dict (parameter, layer, relative_error, ...), or None when every gradient agrees."""

    first_difference = None


def compare_gradients(my_backward, model, loss_fn, batch, rtol=RELATIVE_TOLERANCE):
    """Run `my_backward(params, x, y)` and retrograd's backward of `loss_fn(model(x), y)` on `batch` = (x, y),
    compare each parameter's gradient by the relative error ||mine - autograd|| / (||mine|| + ||autograd||)
    and report the first layer, in the order the forward pass uses them, whose error exceeds `rtol`."""
    inputs, targets = _arrays(batch)
    reference = copy.deepcopy(model).double()
    names = [name for name, _ in reference.named_parameters()]
    expected = _autograd_gradients(reference, loss_fn, inputs, targets)
    params = {name: np.array(p.array, dtype=np.float64) for name, p in reference.named_parameters()}
    mine = _as_named(my_backward(params, inputs.copy(), targets.copy()), names)

    report = GradientComparison(title="hand-written backward vs retrograd's autograd (float64, forward order)")
    owners = _owning_layers(reference)
    for name in _forward_order(reference, inputs, names):
        row = _compare(name, owners[name] or "(model)", mine[name], expected[name], rtol)
        report.rows.append(row)
        if row["verdict"] != "ok" and report.first_difference is None:
            report.first_difference = row
    if report.first_difference is not None:
        first = report.first_difference
        wrong = [row["parameter"] for row in report.rows if row["verdict"] != "ok"]
        report.problems.append(
            f"layer {first['layer']!r}: the hand-written gradient of {first['parameter']} differs from autograd's "
            f"({first['verdict']}, relative error {first['relative_error']:.2e} > {rtol:.0e}); it is the first "
            f"layer in forward order that differs. Differing: {', '.join(wrong)}. The backward pass runs from the "
            f"loss towards the input, so the bug sits in the step that produces the gradient of the last of these "
            f"(or in what it sends back)")
    return report


def _arrays(batch):
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(f"compare_gradients: batch must be (inputs, targets), got {type(batch).__name__}"
                        f"{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}")
    arrays = []
    for value in batch:
        array = np.asarray(value.array if isinstance(value, Tensor) else value)
        arrays.append(array.astype(np.float64) if np.issubdtype(array.dtype, np.floating) else array)
    return arrays


def _autograd_gradients(model, loss_fn, inputs, targets):
    model.zero_grad()
    loss = loss_fn(model(Tensor._from_array(inputs)), Tensor._from_array(targets))
    loss.backward()
    return {name: (np.zeros(p.shape) if p.grad is None else p.grad.array)
            for name, p in model.named_parameters()}


def _as_named(result, names):
    """The hand-written gradients as {name: float64 array}, from a dict or a list in named_parameters order."""
    if isinstance(result, dict):
        missing = [name for name in names if name not in result]
        unknown = [name for name in result if name not in names]
        if missing or unknown:
            raise KeyError(f"compare_gradients: my_backward returned gradients for {sorted(result)}; expected the "
                           f"model's parameter names {names} (missing {missing}, unknown {unknown})")
        return {name: np.asarray(result[name], dtype=np.float64) for name in names}
    if isinstance(result, (list, tuple)):
        if len(result) != len(names):
            raise ValueError(f"compare_gradients: my_backward returned {len(result)} gradients; expected "
                             f"{len(names)}, one per parameter in named_parameters() order: {names}")
        return {name: np.asarray(grad, dtype=np.float64) for name, grad in zip(names, result)}
    raise TypeError(f"compare_gradients: my_backward must return a dict {{name: array}} or a list of arrays, got "
                    f"{type(result).__name__}")


def _owning_layers(model):
    """Parameter name -> the name of the module that holds it ("hidden" for "hidden.weight", "" for the model)."""
    owners = {}
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            owners[f"{module_name}.{param_name}" if module_name else param_name] = module_name
    return owners


def _forward_order(model, inputs, names):
    """The parameter names in the order their modules first run in a forward pass (registration order within
    a module; parameters of modules that never ran come last, in named_parameters order)."""
    called, handles = [], []
    for module_name, module in model.named_modules():
        if any(True for _ in module.named_parameters(recurse=False)):
            def record(mod, args, output, module_name=module_name):
                if module_name not in called:
                    called.append(module_name)
            handles.append(module.register_forward_hook(record))
    try:
        with no_grad():
            model(Tensor._from_array(inputs))
    finally:
        for handle in handles:
            handle.remove()
    owners = _owning_layers(model)
    rank = {module_name: position for position, module_name in enumerate(called)}
    return sorted(names, key=lambda name: rank.get(owners[name], len(rank)))


def _compare(name, layer, mine, expected, rtol):
    row = {"parameter": name, "layer": layer, "shape": tuple(expected.shape)}
    if mine.shape != expected.shape:
        return {**row, "relative_error": float("inf"), "max_abs_diff": "-",
                "verdict": f"shape {tuple(mine.shape)}, expected {tuple(expected.shape)}"}
    scale = float(np.linalg.norm(mine) + np.linalg.norm(expected))
    difference = float(np.linalg.norm(mine - expected))
    relative = difference / scale if scale > 0 else 0.0
    if not np.isfinite(relative):
        verdict = "non-finite"
    else:
        verdict = "ok" if relative <= rtol else "differs"
    return {**row, "relative_error": relative, "max_abs_diff": float(np.max(np.abs(mine - expected), initial=0.0)),
            "verdict": verdict}
