"""explain: a readable trace of a backward pass that changes nothing."""
import numpy as np

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
