"""explain: a readable trace of a backward pass that changes nothing."""
import inspect
import sys

import numpy as np
import pytest

import retrograd as rg
from retrograd.explain import explain


def test_explain_lists_each_step_with_shapes_and_the_ops_own_formula():
    x = rg.randn(4, 3, requires_grad=True)
    w = rg.randn(3, 2, requires_grad=True)
    loss = (rg.tanh(x @ w) * 2).mean()
    steps = explain(loss)
    names = [s["name"] for s in steps]
    assert names[:4] == ["MeanBackward", "MulBackward", "TanhBackward", "MatmulBackward"]
    assert names.count("AccumulateGrad") == 2
    matmul = steps[3]
    assert matmul["grad_out"] == [(4, 2)] and matmul["grad_inputs"] == [(4, 3), (3, 2)]
    text = str(steps)
    assert "dL/dx = g * (1 - y^2)" in text  # tanh's docstring, written once beside its VJP
    assert "dL/da = g @ b^T" in text


def test_explain_accumulates_nothing_and_keeps_the_graph():
    x = rg.randn(5, requires_grad=True)
    y = (x * x).sum()
    explain(y)
    assert x.grad is None
    y.backward()  # the graph is still there
    np.testing.assert_allclose(x.grad.array, 2 * x.array)


def test_explain_of_constant_output_says_so():
    assert "nothing to explain" in str(explain(rg.ones(2) * 3))


def _graph_with_shared_leaf_and_multi_output_op():
    rg.manual_seed(0)
    x = rg.randn(4, 3, requires_grad=True)
    w = rg.randn(3, 2, requires_grad=True)
    halves = rg.split(x @ w, 1, dim=1)  # one node, two outputs
    return x, w, (rg.tanh(halves[0]) * 2 + halves[1] * w.sum()).mean()


def test_explain_after_backward_reports_the_pass_that_ran():
    # README's "A taste": backward frees the saved arrays, yet explain still has every step
    x, w, loss = _graph_with_shared_leaf_and_multi_output_op()
    before = explain(loss)
    loss.backward()
    grads = x.grad.array.copy(), w.grad.array.copy()
    after = explain(loss)
    assert [s["name"] for s in before][:2] == ["MeanBackward", "AddBackward"] and len(before) == 10
    assert after == before  # same steps, same order, same shapes, same formulas
    assert str(after) == str(before)
    np.testing.assert_array_equal(x.grad.array, grads[0])  # and still accumulates nothing
    np.testing.assert_array_equal(w.grad.array, grads[1])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()  # the saved arrays are gone all the same


def test_explain_after_backward_skips_steps_no_gradient_reached():
    x = rg.randn(3, requires_grad=True)
    first, second = rg.split(x * 2, [1, 2])  # only `first` is used: split's node runs, the unused branch never does
    loss = first.sum()
    before = explain(loss)
    loss.backward()
    assert explain(loss) == before
    assert [s["name"] for s in before] == ["SumBackward", "SplitBackward", "MulBackward", "AccumulateGrad"]
    assert before[1]["grad_out"] == [(1,), None] and before[1]["grad_inputs"] == [(3,)]


def test_module_docstring_example_is_what_explain_prints(capsys):
    doc = inspect.getdoc(sys.modules["retrograd.explain"])  # the module: rg.explain is the function
    session = [line.strip() for line in doc.split("\n\n")[1].splitlines()]
    code = [line[4:] for line in session if line.startswith(">>> ")]
    expected = [line for line in session if not line.startswith(">>>")]
    exec("\n".join(code), {"rg": rg})
    printed = [line.strip() for line in capsys.readouterr().out.splitlines()]
    shown = iter(printed)  # every line the docstring shows, in order; "..." stands for lines left out
    for line in expected:
        assert line == "..." or line in shown, f"{line!r} is not printed (in this order) by the example"
