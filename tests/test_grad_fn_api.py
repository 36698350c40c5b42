"""PyTorch's grad_fn (Node) API: name(), next_functions, AccumulateGrad.variable, metadata, and node hooks
(register_prehook / register_hook) with their replacement rules and error messages, against PyTorch."""
import pytest
import torch

import retrograd as rg


def _libs():
    return [(rg, rg.tensor), (torch, torch.tensor)]


def _without_overload_suffix(name):
    """PyTorch names its built-in nodes MulBackward0 (the overload number); retrograd's are MulBackward."""
    return name.rstrip("0123456789")


@pytest.mark.parametrize("build", [lambda m, x: x * 2.0, lambda m, x: x + x, lambda m, x: m.tanh(x),
                                   lambda m, x: m.exp(x), lambda m, x: x.sum(), lambda m, x: x.mean()])
def test_name_is_pytorchs_without_the_overload_number(build):
    ours = build(rg, rg.tensor([1.0, 2.0], requires_grad=True)).grad_fn.name()
    theirs = build(torch, torch.tensor([1.0, 2.0], requires_grad=True)).grad_fn.name()
    assert ours == _without_overload_suffix(theirs)


def test_next_functions_have_pytorchs_shape():
    shapes = []
    for m, make in _libs():
        x, w = make([1.0, 2.0], requires_grad=True), make([3.0, 4.0])
        y = x * w
        z = y * 2.0
        (acc, acc_nr), (none, none_nr) = y.grad_fn.next_functions
        assert acc.variable is x and acc.name().endswith("AccumulateGrad") and acc.next_functions == ()
        assert (none, none_nr, acc_nr) == (None, 0, 0)
        assert z.grad_fn.next_functions[0] == (y.grad_fn, 0)
        twice = (x + x).grad_fn.next_functions
        assert twice[0][0] is twice[1][0] is acc
        first, second = x.split(1)
        assert (second * 2.0).grad_fn.next_functions[0] == (second.grad_fn, 1) and first.grad_fn is second.grad_fn
        shapes.append(len(y.grad_fn.next_functions))
    assert shapes[0] == shapes[1]


def test_repr_and_metadata():
    y = rg.tensor([1.0], requires_grad=True) * 2.0
    y.grad_fn.metadata["step"] = 3
    assert y.grad_fn.metadata == {"step": 3} and repr(y.grad_fn) == "<MulBackward>"
    assert "grad_fn=<MulBackward>" in repr(y)


def _hooked_gradient(m, make):
    """A pre-hook adds 1 to the node's incoming gradient, a hook multiplies what its VJP returns by 10."""
    x = make([1.0, 2.0], requires_grad=True)
    y = x * make([3.0, 4.0])
    calls = []

    def pre(grad_outputs):
        calls.append(("pre", [g.tolist() for g in grad_outputs]))
        return (grad_outputs[0] + 1,)

    def post(grad_inputs, grad_outputs):
        calls.append(("post", [None if g is None else g.tolist() for g in grad_inputs],
                      [g.tolist() for g in grad_outputs]))
        return (grad_inputs[0] * 10, None)

    y.grad_fn.register_prehook(pre)
    handle = y.grad_fn.register_hook(post)
    (y * 2.0).sum().backward(retain_graph=True)
    first = (x.grad.tolist(), calls[:])
    handle.remove()
    x.grad = None
    (y * 2.0).sum().backward()
    return first, x.grad.tolist()


def test_node_hooks_match_pytorch():
    ours, theirs = _hooked_gradient(*_libs()[0]), _hooked_gradient(*_libs()[1])
    assert ours == theirs
    assert ours[0][0] == [90.0, 120.0] and ours[1] == [9.0, 12.0]  # removed: only the pre-hook left


def test_accumulate_grad_hooks_match_pytorch():
    seen = []
    for m, make in _libs():
        x = make([1.0, 2.0], requires_grad=True)
        acc = (x * 1.0).grad_fn.next_functions[0][0]
        calls = []
        acc.register_prehook(lambda grad_outputs: (calls.append(("pre", grad_outputs[0].tolist())),
                                                   (grad_outputs[0] * 2,))[1])
        acc.register_hook(lambda grad_inputs, grad_outputs: calls.append(
            ("post", grad_inputs, grad_outputs[0].tolist(), x.grad.tolist())))
        (x * 3.0).sum().backward()
        seen.append((calls, x.grad.tolist()))
    assert seen[0] == seen[1] == ([("pre", [3.0, 3.0]), ("post", (), [6.0, 6.0], [6.0, 6.0])], [6.0, 6.0])


@pytest.mark.parametrize("register,returned,error,message", [
    ("hook", lambda gi, go: (gi[0],) * 3, RuntimeError, "hook '<lambda>' has returned an incorrect number of values"),
    ("hook", lambda gi, go: (gi[0], gi[0][:1]), RuntimeError, "can't replace a None gradient with a non-None value"),
    ("prehook", lambda go: (go[0][:1],), RuntimeError, "hook '<lambda>' has changed the size of value"),
    ("hook", lambda gi, go: 5, TypeError, "expected tuple, but hook returned 'int'"),
])
def test_bad_hook_results_raise_pytorchs_errors(register, returned, error, message):
    for m, make in _libs():
        x = make([1.0, 2.0], requires_grad=True)
        y = x * make([3.0, 4.0])
        if register == "hook":
            y.grad_fn.register_hook(returned)
        else:
            y.grad_fn.register_prehook(returned)
        with pytest.raises(error) as raised:
            y.sum().backward()
        assert str(raised.value).startswith(message), (m.__name__, raised.value)
