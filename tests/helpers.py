"""Shared test machinery: PyTorch parity and numerical gradient checks.

Both use a random cotangent (llm.c's "fakeloss"): the loss is
sum(output * dout) with dout random, never a plain `.sum()`, whose all-ones
cotangent hides transposition bugs.
"""
import re

import numpy as np
import torch

import retrograd as rg
from retrograd.bench.graph_memory import captured

torch.set_num_threads(1)


def to_torch(value, requires_grad=False):
    if isinstance(value, np.ndarray):
        t = torch.from_numpy(value.copy())
        if requires_grad and t.is_floating_point():
            t.requires_grad_(True)
        return t
    return value


def to_rg(value, requires_grad=False):
    if isinstance(value, np.ndarray):
        return rg.tensor(value.copy(), requires_grad=requires_grad and value.dtype.kind == "f")
    return value


def _outputs(result):
    """Flatten an op's or layer's result (tensors, tuples of them, nested like (out, (h, c))) to a list."""
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in _outputs(item)]
    return [result]


def assert_parity(rg_fn, torch_fn, *arrays, grad=True, rtol=1e-7, atol=1e-9, seed=0):
    """Forward values and all input gradients of rg_fn and torch_fn agree on the same inputs.

    `arrays` are NumPy arrays (float ones become differentiable inputs) or other
    arguments passed through unchanged. Float64 inputs are expected for tight tolerances."""
    rg_inputs = [to_rg(a, grad) for a in arrays]
    torch_inputs = [to_torch(a, grad) for a in arrays]
    rg_out = _outputs(rg_fn(*rg_inputs))
    torch_out = _outputs(torch_fn(*torch_inputs))
    assert len(rg_out) == len(torch_out), f"{len(rg_out)} outputs vs PyTorch's {len(torch_out)}"
    for i, (r, t) in enumerate(zip(rg_out, torch_out)):
        t_np = t.detach().numpy()
        assert r.shape == tuple(t_np.shape), f"output {i}: shape {r.shape} vs PyTorch's {tuple(t_np.shape)}"
        assert r.dtype == t_np.dtype, f"output {i}: dtype {r.dtype} vs PyTorch's {t_np.dtype}"
        np.testing.assert_allclose(r.array, t_np, rtol=rtol, atol=atol, err_msg=f"output {i} forward")
    if not grad:
        return rg_out
    rng = np.random.default_rng(seed)
    rg_loss, torch_loss = 0, 0
    for r, t in zip(rg_out, torch_out):
        if not t.requires_grad:
            continue
        dout = rng.standard_normal(t.shape).astype(t.detach().numpy().dtype)
        rg_loss = rg_loss + (r * rg.tensor(dout)).sum()
        torch_loss = torch_loss + (t * torch.from_numpy(dout)).sum()
    if isinstance(torch_loss, int):
        return rg_out
    torch_loss.backward()
    rg_loss.backward()
    for i, (r, t) in enumerate(zip(rg_inputs, torch_inputs)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert r.grad is None or np.all(r.grad.array == 0), f"input {i}: PyTorch gives no gradient"
                continue
            assert r.grad is not None, f"input {i}: no gradient, PyTorch has one"
            np.testing.assert_allclose(r.grad.array, t.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
    return rg_out


def assert_outputs_and_gradients_match(ours_out, theirs_out, ours_params, theirs_params, rng, label, rtol, atol):
    """Each of ours_out equals PyTorch's theirs_out (shape, and values within rtol/atol); then, with the same random
    cotangent per output that carries a gradient in PyTorch, the gradients of sum(output * cotangent) with respect
    to the parameters agree within rtol 1e-10, atol 1e-12 (a distribution's log_prob, entropy, moments...)."""
    loss_ours, loss_theirs = 0, 0
    for index, (o, t) in enumerate(zip(ours_out, theirs_out)):
        assert o.shape == tuple(t.shape), f"{label} output {index}: {o.shape} vs {tuple(t.shape)}"
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{label} output {index}")
        if t.requires_grad:
            cotangent = rng.normal(size=t.shape)
            loss_ours = loss_ours + (o * rg.tensor(cotangent)).sum()
            loss_theirs = loss_theirs + (t * torch.tensor(cotangent)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    for o, t in zip(ours_params, theirs_params):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=label)


def numerical_check(fn, *arrays, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Analytical input gradients of fn equal central differences (float64 inputs required).

    Independent of retrograd.autograd.gradcheck so that the tool itself can be tested."""
    rng = np.random.default_rng(seed)
    inputs = [to_rg(a, True) for a in arrays]
    out = fn(*inputs)
    out = out[0] if isinstance(out, (tuple, list)) else out
    dout = rng.standard_normal(out.shape)
    (out * rg.tensor(dout)).sum().backward()
    for i, a in enumerate(arrays):
        if not (isinstance(a, np.ndarray) and a.dtype == np.float64):
            continue
        numeric = np.zeros_like(a)
        flat = a.reshape(-1)
        for j in range(flat.size):
            plus, minus = [x.copy() if isinstance(x, np.ndarray) else x for x in arrays], \
                [x.copy() if isinstance(x, np.ndarray) else x for x in arrays]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            with rg.no_grad():
                f_plus = _first(fn(*[to_rg(x) for x in plus])).array
                f_minus = _first(fn(*[to_rg(x) for x in minus])).array
            numeric.reshape(-1)[j] = np.sum((f_plus - f_minus) * dout) / (2 * eps)
        analytic = inputs[i].grad.array if inputs[i].grad is not None else np.zeros_like(a)
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol, err_msg=f"input {i}")


def _first(result):
    return result[0] if isinstance(result, (tuple, list)) else result


def copy_torch_weights(rg_module, torch_module):
    """Load a PyTorch module's state_dict (as arrays) into a retrograd module: the layouts must agree."""
    rg_module.load_state_dict({k: v.detach().numpy().copy() for k, v in torch_module.state_dict().items()})
    return rg_module


def assert_module_parity(rg_module, torch_module, *arrays, rtol=1e-7, atol=1e-9, seed=0, copy_weights=True):
    """A layer with PyTorch's weights gives PyTorch's outputs, input gradients and parameter gradients.

    Parameter names and order must match PyTorch's named_parameters(). Float64 modules expected."""
    assert [n for n, _ in rg_module.named_parameters()] == [n for n, _ in torch_module.named_parameters()]
    if copy_weights:
        copy_torch_weights(rg_module, torch_module)
    rg_module.zero_grad()
    torch_module.zero_grad()
    outputs = assert_parity(rg_module, torch_module, *arrays, rtol=rtol, atol=atol, seed=seed)
    torch_params = dict(torch_module.named_parameters())
    for name, param in rg_module.named_parameters():
        expected = torch_params[name].grad
        if expected is None:
            assert param.grad is None or not np.any(param.grad.array), f"{name}: PyTorch has no gradient"
            continue
        assert param.grad is not None, f"{name}: no gradient, PyTorch has one"
        np.testing.assert_allclose(param.grad.array, expected.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of parameter {name}")
    return outputs


# ----- what a VJP keeps (the memory tests) ----------------------------------------------------------------
def closure_arrays(fn):
    """{name: array} of the arrays a VJP closure keeps (`graph_memory.captured` reads its cells, recursing into
    captured functions and a cache's fields). A captured Tensor fails: it would keep its whole graph alive."""
    arrays, tensors = captured(fn)
    assert not tensors, f"{fn.__name__} captures the Tensor(s) {tensors}"
    for name, group in arrays.items():
        assert len(group) == 1, f"{fn.__name__} keeps {len(group)} arrays under `{name}`: name each in the Saves line"
    return {name: group[0] for name, group in arrays.items()}


def saves_names(op):
    """The backticked names of the docstring's "Saves" sentence, and the sentence: from the word 'Saves' (at a
    line's start or after a sentence) to the end of its paragraph. No names for 'Saves nothing.'"""
    doc = op.__doc__ or ""
    starts = [m.start(1) for m in re.finditer(r"(?:^|\n\s*|[.;:]\s+)(Saves\b)", doc)]
    assert len(starts) == 1, f"{op.__name__}: expected one 'Saves' sentence in the docstring, found {len(starts)}"
    sentence = re.split(r"\n\s*\n", doc[starts[0]:])[0]
    return set(re.findall(r"`([A-Za-z_][A-Za-z_0-9]*)`", sentence)), " ".join(sentence.split())


# ----- the optimizers' test problem -----------------------------------------------------------------------
OPTIMIZER_SHAPES = [(3, 4), (4,), (2, 3)]


def optimizer_problem(seed=0, dtype=np.float64):
    """(initial parameters, coefficients, shifts) of the separable problem both libraries' optimizers run on."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in OPTIMIZER_SHAPES]
    coef = [rng.uniform(0.2, 2.0, s).astype(dtype) for s in OPTIMIZER_SHAPES]
    shift = [rng.standard_normal(s).astype(dtype) for s in OPTIMIZER_SHAPES]
    return init, coef, shift


def optimizer_gradient(p, c, d):
    """The problem's gradient at p: c p + d + 0.1 p^3 (nonlinear, so the optimizers' paths differ)."""
    return c * p + d + 0.1 * p ** 3


def assert_optimizer_states_match(ours, theirs, rtol=1e-12):
    """Two optimizers (retrograd's, PyTorch's) hold the same state_dict: groups, state keys, values."""
    ours, theirs = ours.state_dict(), theirs.state_dict()
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in theirs["param_groups"]]
    for g_ours, g_theirs in zip(ours["param_groups"], theirs["param_groups"]):
        assert all(g_theirs[k] == v for k, v in g_ours.items()), (g_ours, g_theirs)
    assert ours["state"].keys() == theirs["state"].keys()
    for index, state in ours["state"].items():
        assert state.keys() == theirs["state"][index].keys()
        for key, value in state.items():
            expected = theirs["state"][index][key]
            if key == "step":  # a number here; PyTorch keeps a 0-d float tensor
                assert isinstance(value, int) and value == expected.item()
            else:
                assert isinstance(value, rg.Tensor) and value.shape == tuple(expected.shape), key
                np.testing.assert_allclose(value.array, expected.numpy(), rtol=rtol, atol=1e-15, err_msg=key)


def assert_refused_as_torch_refuses(call):
    """call(lib, tensor) raises in PyTorch; retrograd must raise the same exception type with the same message."""
    try:
        call(torch, torch.tensor)
    except Exception as error:  # noqa: BLE001  (PyTorch's type and message are the expectation)
        expected_type, expected = type(error), str(error)
    else:
        raise AssertionError("PyTorch accepted it")
    try:
        call(rg, rg.tensor)
    except expected_type as error:
        assert str(error) == expected, f"retrograd says {str(error)!r}, PyTorch {expected!r}"
    else:
        raise AssertionError(f"retrograd accepted it; PyTorch raises {expected_type.__name__}: {expected}")


def bits(array):
    """The array's bit patterns as unsigned integers (float16/32/64): equal bits, not equal values (-0.0, NaN)."""
    array = np.ascontiguousarray(array)
    return array.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[array.dtype.itemsize])
