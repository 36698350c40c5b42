"""In-place changes and version counters: every case raises in retrograd exactly where it raises in PyTorch.

Each scenario is one function of the library (`rg` or `torch`) that builds a graph, changes something in
place and runs backward; it returns the gradients. The test runs it with both libraries: either both raise
PyTorch's "modified by an inplace operation" error, or both pass with the same gradients.
"""
import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn as rnn

INPLACE_ERROR = "modified by an inplace operation"
A = [0.5, -1.5, 2.0, 0.25]
B = [1.0, 2.0, -3.0, 0.5]


def leaf(lib, values=A, grad=True):
    return lib.tensor(values, dtype=lib.float64, requires_grad=grad)


def outcome(scenario, lib):
    """('raise', None) or ('pass', the gradients as arrays)."""
    try:
        grads = scenario(lib)
    except RuntimeError as error:
        if INPLACE_ERROR not in str(error):
            raise
        return "raise", None
    return "pass", [np.asarray(g.detach().numpy() if lib is torch else g.array) for g in grads]


def assert_same_as_torch(scenario):
    ours, expected = outcome(scenario, rg), outcome(scenario, torch)
    assert ours[0] == expected[0], f"retrograd: {ours[0]}, PyTorch: {expected[0]}"
    if ours[0] == "pass":
        for mine, theirs in zip(ours[1], expected[1]):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)
    return ours[0]


# ----- every in-place method, on a tensor the graph saved and on one it did not ---------------------
IN_PLACE_CALLS = {
    "mul_": lambda t, lib: t.mul_(10),
    "add_": lambda t, lib: t.add_(1),
    "sub_": lambda t, lib: t.sub_(lib.tensor(B, dtype=lib.float64)),
    "div_": lambda t, lib: t.div_(4),
    "pow_": lambda t, lib: t.pow_(2),
    "neg_": lambda t, lib: t.neg_(),
    "abs_": lambda t, lib: t.abs_(),
    "exp_": lambda t, lib: t.exp_(),
    "sigmoid_": lambda t, lib: t.sigmoid_(),
    "tanh_": lambda t, lib: t.tanh_(),
    "relu_": lambda t, lib: t.relu_(),
    "clamp_": lambda t, lib: t.clamp_(0, 1),
    "clip_": lambda t, lib: t.clip_(-1, 1),
    "zero_": lambda t, lib: t.zero_(),
    "fill_": lambda t, lib: t.fill_(2.5),
    "copy_": lambda t, lib: t.copy_(lib.tensor(B, dtype=lib.float64)),
    "masked_fill_": lambda t, lib: t.masked_fill_(lib.tensor([True, False, True, False]), 7.0),
    "index_put_": lambda t, lib: t.index_put_((lib.tensor([0, 2]),), lib.tensor([1.0, 2.0], dtype=lib.float64)),
    "scatter_add_": lambda t, lib: t.scatter_add_(0, lib.tensor([1, 1]), lib.tensor([1.0, 2.0], dtype=lib.float64)),
    "iadd": lambda t, lib: t.__iadd__(3),
    "imul": lambda t, lib: t.__imul__(lib.tensor(B, dtype=lib.float64)),
    "setitem index": lambda t, lib: t.__setitem__(0, 5.0),
    "setitem slice": lambda t, lib: t.__setitem__(slice(1, 3), lib.tensor([8.0, 9.0], dtype=lib.float64)),
    "setitem mask": lambda t, lib: t.__setitem__(t > 0, 0.0),
    "setitem tensor index": lambda t, lib: t.__setitem__(lib.tensor([3, 0]), 1.0),
}


def change_a_then_backward(name, loss_of):
    """The scenario: a plain tensor a and a leaf w build loss_of(a, w); a changes in place; backward."""
    def scenario(lib):
        a, w = leaf(lib, grad=False), leaf(lib, B)
        y = loss_of(a, w)
        IN_PLACE_CALLS[name](a, lib)
        y.backward()
        return [w.grad]

    return scenario


@pytest.mark.parametrize("name", IN_PLACE_CALLS)
def test_changing_an_input_that_mul_saved_raises(name):
    """a * w saves a for dL/dw: changing a afterwards must raise (the issue's first example), also when
    a is saved further down a graph whose other parts save nothing about it."""
    assert assert_same_as_torch(change_a_then_backward(name, lambda a, w: (a * w).sum())) == "raise"
    both = change_a_then_backward(name, lambda a, w: (a + w).sum() + (a * w * w).sum())
    assert assert_same_as_torch(both) == "raise"  # a * (w * w) saves a


@pytest.mark.parametrize("name", IN_PLACE_CALLS)
def test_changing_an_input_nothing_saved_passes(name):
    """a + w saves nothing about a, so a may change before backward."""
    assert assert_same_as_torch(change_a_then_backward(name, lambda a, w: (a + w).sum())) == "pass"


@pytest.mark.parametrize("name", IN_PLACE_CALLS)
def test_in_place_on_a_non_leaf_whose_producer_saved_its_output(name):
    """exp saves its output: changing it in place (recorded, since it requires grad) must raise."""
    def scenario(lib):
        x = leaf(lib)
        y = x.exp()
        IN_PLACE_CALLS[name](y, lib)
        (y * lib.tensor(B, dtype=lib.float64)).sum().backward()
        return [x.grad]

    assert_same_as_torch(scenario)


@pytest.mark.parametrize("name", IN_PLACE_CALLS)
def test_in_place_on_a_non_leaf_nobody_saved(name):
    """x * 2 saves no tensor: an in-place op on its result is recorded and the gradient is PyTorch's."""
    def scenario(lib):
        x = leaf(lib)
        y = x * 2
        IN_PLACE_CALLS[name](y, lib)
        (y * lib.tensor(B, dtype=lib.float64)).sum().backward()
        return [x.grad]

    assert assert_same_as_torch(scenario) == "pass"


# ----- which ops save what: inputs, outputs, both --------------------------------------------------
UNARY_OPS = {
    "exp": lambda lib, x: x.exp(), "tanh": lambda lib, x: x.tanh(), "sigmoid": lambda lib, x: x.sigmoid(),
    "relu": lambda lib, x: x.relu(), "sqrt": lambda lib, x: x.abs().sqrt(), "log": lambda lib, x: x.abs().log(),
    "sin": lambda lib, x: x.sin(), "square": lambda lib, x: x * x, "pow": lambda lib, x: x ** 3,
    "abs": lambda lib, x: x.abs(), "neg": lambda lib, x: -x, "sum": lambda lib, x: x.sum(0, keepdim=True),
    "mean": lambda lib, x: x.mean(), "reshape then exp": lambda lib, x: x.reshape(2, 2).exp(),
    "softmax": lambda lib, x: lib.softmax(x, 0), "log_softmax": lambda lib, x: lib.log_softmax(x, 0),
    "amax": lambda lib, x: x.amax(), "clamp": lambda lib, x: x.clamp(-1, 1),
    "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x, 0.1),
    "gelu": lambda lib, x: lib.nn.functional.gelu(x), "div by x": lambda lib, x: 1.0 / x,
}


@pytest.mark.parametrize("op", UNARY_OPS)
@pytest.mark.parametrize("changed", ["input", "output"])
def test_saved_input_or_output_per_op(op, changed):
    """Change the op's (non-leaf) input or its output in place after the op: raises iff PyTorch saved it."""
    def scenario(lib):
        x = leaf(lib)
        h = x * 1.5
        y = UNARY_OPS[op](lib, h)
        (h if changed == "input" else y).mul_(2)
        y.sum().backward()
        return [x.grad]

    assert_same_as_torch(scenario)


def test_binary_ops_save_only_what_the_other_gradient_needs():
    for make in (lambda a, w: a * w, lambda a, w: a / w, lambda a, w: w / a, lambda a, w: a @ w,
                 lambda a, w: a.maximum(w) if hasattr(a, "maximum") else a, lambda a, w: a ** w):
        for target in ("a", "w"):
            def scenario(lib, make=make, target=target):
                a, w = leaf(lib, grad=False), leaf(lib, B)
                y = make(a, w).sum()
                with lib.no_grad():
                    (a if target == "a" else w).mul_(2)
                y.backward()
                return [w.grad]

            assert_same_as_torch(scenario)


# ----- aliases: views and detach share the counter, .data does not --------------------------------
def test_changes_through_views_and_detach_are_seen():
    views = {
        "slice": lambda t: t[1:], "view": lambda t: t.view(2, 2), "reshape": lambda t: t.reshape(4, 1),
        "unsqueeze": lambda t: t.unsqueeze(0), "transpose": lambda t: t.view(2, 2).t(),
        "detach": lambda t: t.detach(), "detach of a view": lambda t: t[:2].detach(),
        "narrow": lambda t: t.narrow(0, 1, 2), "split": lambda t: t.split(2)[1],
    }
    for name, make_view in views.items():
        def changed_after(lib, make_view=make_view):
            a, w = leaf(lib, grad=False), leaf(lib, B)
            y = (a * w).sum()
            make_view(a).mul_(3)
            y.backward()
            return [w.grad]

        def view_saved_base_changed(lib, make_view=make_view, name=name):
            a, w = leaf(lib, grad=False), leaf(lib, B)
            v = make_view(a)
            y = (v * (w[:v.shape[0]] if "detach" in name else make_view(w))).sum()
            a.add_(1)
            y.backward()
            return [w.grad]

        assert assert_same_as_torch(changed_after) == "raise", name
        assert assert_same_as_torch(view_saved_base_changed) == "raise", name


def test_changes_through_data_are_invisible_as_in_torch():
    def scenario(lib):
        x = leaf(lib)
        y = x.exp()
        y.data.mul_(2)  # the escape hatch: not counted, so backward uses the changed values
        y.sum().backward()
        return [x.grad]

    assert assert_same_as_torch(scenario) == "pass"


def test_version_numbers_count_like_torch():
    versions = {}
    for lib in (rg, torch):
        a = lib.zeros(4, dtype=lib.float64)
        seen = [a._version]
        a.add_(1)
        seen.append(a._version)
        a[0] = 3.0
        seen.append(a._version)
        a.zero_()
        seen.append(a._version)
        a.detach().fill_(2.0)
        seen.append(a._version)
        a.data.fill_(2.0)
        seen.append(a._version)
        a[1:].mul_(2)
        seen.append(a._version)
        x = leaf(lib)
        y = x * 2
        y.add_(1)
        y.relu_()
        seen.append(y._version)
        versions[lib.__name__] = seen
    assert versions["retrograd"] == versions["torch"]


# ----- the issue's examples: a weight updated between forward and backward -------------------------
@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_optimizer_step_between_forward_and_backward_raises(optimizer):
    def scenario(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3)).double()
        opt = getattr(lib.optim, optimizer)(model.parameters(), lr=0.1)
        x = lib.tensor(np.linspace(-1, 1, 8).reshape(2, 4), dtype=lib.float64)
        h = model(x)
        (h ** 2).sum().backward(retain_graph=True)
        opt.step()
        (h * 3).sum().backward()
        return [p.grad for p in model.parameters()]

    assert assert_same_as_torch(scenario) == "raise"


def test_the_issue_example_raises_with_torchs_message():
    a = rg.tensor([1., 2., 3.])
    w = rg.ones(3, requires_grad=True)
    y = (a * w).sum()
    a.mul_(10)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: .* is at version 1; "
                                           r"expected version 0 instead"):
        y.backward()
    assert w.grad is None  # nothing accumulated


def test_load_state_dict_between_forward_and_backward_raises():
    def scenario(lib):
        layer = lib.nn.Linear(4, 2).double()
        x = leaf(lib, [A, B])
        y = layer(x).sum()
        layer.load_state_dict({k: v * 2 for k, v in layer.state_dict().items()})
        y.backward()
        return [x.grad]

    assert assert_same_as_torch(scenario) == "raise"


# ----- recorded in-place ops that must keep working -------------------------------------------------
def test_relu_on_a_non_leaf_and_chains_of_in_place_ops_match_torch():
    def scenario(lib):
        x, w = leaf(lib, [A, B]), leaf(lib, [[0.5, -1.0], [2.0, 0.1], [0.3, 0.3], [-1.0, 1.0]])
        h = x @ w
        h.mul_(0.5).add_(0.1)
        h[0, 1] = 0.5
        h.relu_()
        out = lib.tanh(h)
        out.sum().backward()
        return [x.grad, w.grad]

    assert assert_same_as_torch(scenario) == "pass"


def test_functional_inplace_relu_and_modules_match_torch():
    def scenario(lib):
        lib.manual_seed(0)
        x = leaf(lib, [A, B])
        h = x * 3 - 1
        h = lib.nn.functional.relu(h, inplace=True)
        h = lib.nn.functional.leaky_relu(h - 2, 0.2, inplace=True)
        h.sum().backward()
        return [x.grad]

    assert assert_same_as_torch(scenario) == "pass"


def test_y_mul_y_in_place_raises_like_torch():
    def scenario(lib):
        x = leaf(lib)
        y = x * 2
        y.mul_(y)
        y.sum().backward()
        return [x.grad]

    assert assert_same_as_torch(scenario) == "raise"


def test_in_place_on_a_leaf_that_requires_grad_raises_at_once():
    for name, call in IN_PLACE_CALLS.items():
        for lib in (rg, torch):
            w = leaf(lib)
            with pytest.raises(RuntimeError, match="leaf"):
                call(w, lib)
            with lib.no_grad():
                call(leaf(lib), lib)  # allowed under no_grad, as optimizers do


def test_custom_function_refuses_a_changed_saved_tensor():
    class Cube(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad_output

    x = leaf(rg)
    y = Cube.apply(x)
    with rg.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        y.sum().backward()


# ----- the one place retrograd differs: aliases of a tensor changed by a recorded in-place op --------
def test_a_view_of_a_tensor_changed_by_a_recorded_in_place_op_refuses_to_be_used():
    """PyTorch writes a recorded in-place op through to the tensor's views; retrograd gives the tensor a new
    array, so its views keep the old values. Using such a stale view raises a clear error instead of computing
    with values PyTorch would not have (documented in `ops.inplace._rebind`)."""
    x = leaf(rg)
    h = x * 2
    view = h[:2]
    h.mul_(3)
    with pytest.raises(RuntimeError, match="aliases keep the old values"):
        view.sum()
    base = x * 2
    part = base[:2]
    part.mul_(3)  # the view changes; the base cannot see it
    with pytest.raises(RuntimeError, match="aliases keep the old values"):
        base.sum()
    part.sum().backward()  # the changed view itself is fine, as in PyTorch
    np.testing.assert_array_equal(x.grad.array, [6.0, 6.0, 0.0, 0.0])


def test_module_in_place_layers_train_as_before():
    rg.manual_seed(0)
    model = rnn.Sequential(rnn.Linear(4, 8), rnn.ReLU(inplace=True), rnn.Linear(8, 2))
    opt = rg.optim.SGD(model.parameters(), lr=0.1)
    x = rg.randn(16, 4)
    for _ in range(3):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
    assert all(p.grad is not None for p in model.parameters())
