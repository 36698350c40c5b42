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


# ----- a trace that teaches: names, whole formulas, fused-op derivations, a legend, values ------------------
def _two_layer_mlp():
    from collections import OrderedDict

    from retrograd import nn

    rg.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(6, 5), act=nn.Tanh(), fc2=nn.Linear(5, 3)))
    x = rg.randn(4, 6)
    loss = rg.nn.functional.cross_entropy(model(x), rg.tensor([0, 2, 1, 2]))
    return model, loss


def test_a_two_layer_mlp_trace_names_every_parameter_and_prints_every_formula_in_full():
    model, loss = _two_layer_mlp()
    steps = explain(loss, module=model)
    text = str(steps)
    leaves = [s["leaf_name"] for s in steps if s["name"] == "AccumulateGrad"]
    assert sorted(leaves) == sorted(name for name, _ in model.named_parameters())
    for name, param in model.named_parameters():
        assert f"added to .grad of {name} {tuple(param.shape)}" in text
        assert f"{tuple(param.shape)} to {name}" in text  # the op step says where each gradient goes
    assert "(3, 5) to fc2.weight, (3,) to fc2.bias" in text
    for step in steps:
        if step["op"] is not None:  # every line of the op's docstring, in order, nothing cut
            doc = [line for line in inspect.getdoc(step["op"]).splitlines() if line.strip()]
            assert step["formula"][:len(doc)] == doc
            assert "\n   ".join(doc) in text
    assert "dL/db = sum_N g" in text  # Linear's last formula line, cut by the old 4-line default
    assert "dL/dz = (softmax(z) - onehot(y)) / N." in text  # the a - y delta of softmax + cross-entropy


def test_max_formula_lines_still_shortens_the_formulas():
    _, loss = _two_layer_mlp()
    assert all(len(step["formula"]) <= 2 for step in explain(loss, max_formula_lines=2))
    assert "dL/db = sum_N g" not in str(explain(loss, max_formula_lines=2))


def test_the_legend_defines_every_symbol_the_trace_uses():
    _, loss = _two_layer_mlp()
    text = str(explain(loss))
    legend = text.split("\nlegend\n")[1]
    assert "g~ (loss)" in legend and "g / N for reduction='mean'" in legend  # g~ was never defined before
    for symbol in ("@", "^T", "onehot(y)", "softmax(z)", "1{c = y_i}", "Saves"):
        assert f"\n   {symbol} " in legend, symbol
    sum_text = str(explain((rg.randn(3, 2, requires_grad=True) * 2).sum()))
    assert "g~ (reduce)" in sum_text and "g~ (loss)" not in sum_text  # g~ means what its op's module says
    assert "softmax(z)" not in sum_text.split("\nlegend\n")[1]  # only symbols the trace uses


def test_conv_max_pool_and_lstm_print_their_derivations_not_a_pointer():
    from retrograd import nn

    rg.manual_seed(0)
    conv, lstm = nn.Conv2d(1, 2, 3), nn.LSTM(3, 4)
    text = str(explain(rg.nn.functional.max_pool2d(conv(rg.randn(1, 1, 6, 6)), 2).sum(), module=conv))
    assert "from the module docstring (retrograd/ops/conv.py):" in text
    assert "dL/dw = sum over n of g[n] @ cols[n]^T" in text and "dL/dx = col2im(w^T @ g)" in text
    assert "from the module docstring (retrograd/ops/pool.py):" in text and 'ties="split"' in text
    assert "im2col / col2im" in text.split("\nlegend\n")[1]
    assert "cell-candidate gate" not in text  # the legend's g has no LSTM meaning in a CNN's trace
    out, _ = lstm(rg.randn(5, 2, 3))
    text = str(explain(out.sum(), module=lstm))
    assert "(L3) c_t = f * c_{t-1} + i * g" in text and "dW_hh = sum_t da_t h_{t-1}^T" in text
    assert "(L2)-(L3), g is the cell-candidate gate" in text.split("\nlegend\n")[1]
    assert "(32, 4) to weight_hh_l0" not in text and "(16, 4) to weight_hh_l0" in text


def test_values_gives_each_gradient_and_its_norm_before_backward():
    model, loss = _two_layer_mlp()
    steps = explain(loss, module=model, values=True)
    loss.backward()
    for step in steps:
        if step["name"] == "AccumulateGrad":
            param = dict(model.named_parameters())[step["leaf_name"]]
            np.testing.assert_array_equal(step["grad_out_values"][0], param.grad.array)
            np.testing.assert_array_equal(step["value"], param.array)
    text = str(steps)
    fc1_weight = dict(model.named_parameters())["fc1.weight"]
    assert f"norm {float(np.linalg.norm(fc1_weight.grad.array)):.4g}" in text
    after = explain(loss, module=model, values=True)
    assert "no values: backward already ran" in str(after) and "grad_out_values" not in after[0]
    assert [s["name"] for s in after] == [s["name"] for s in steps]
    assert [s.get("leaf_name") for s in after] == [s.get("leaf_name") for s in steps]  # names survive backward
    assert [s["inputs"] for s in after] == [s["inputs"] for s in steps]  # and so do the edges to_dot draws


def test_params_name_any_leaf_and_a_bad_module_or_params_is_named():
    x = rg.randn(2, 3, requires_grad=True)
    assert "added to .grad of x (2, 3)" in str(explain((x * 3).sum(), params={"x": x}))
    with pytest.raises(TypeError, match="explain: module must be an nn.Module"):
        explain((x * 3).sum(), module={"x": x})
    with pytest.raises(TypeError, match=r"explain: params must be a dict \{name: tensor\}, got list"):
        explain((x * 3).sum(), params=[x])


# ----- the picture: DOT source, rendering -------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's parser calls pyparsing's old names
def test_to_dot_parses_and_names_every_parameter_of_a_two_layer_mlp():
    import pydot

    model, loss = _two_layer_mlp()
    source = explain(loss, module=model, values=True).to_dot(values=True, grads=True)
    (graph,) = pydot.graph_from_dot_data(source)
    labels = [node.get_label().strip('"') for node in graph.get_nodes() if node.get_label()]
    for name, param in model.named_parameters():
        label = next(label for label in labels if label.startswith(name + "\\n"))
        assert str(tuple(param.shape)) in label and "grad norm" in label and "value norm" in label
    assert sum(label.startswith("linear\\n") for label in labels) == 2
    assert any(label.startswith("cross_entropy\\n") for label in labels)
    assert len(graph.get_edges()) == 8  # 4 leaves -> 2 linears, tanh in between, cross_entropy, the output
    plain = explain(loss).to_dot()
    assert "grad norm" not in plain and "value norm" not in plain and "leaf\\n(5, 6)" in plain


def test_render_names_the_extra_and_the_missing_dot_program(tmp_path, monkeypatch):
    _, loss = _two_layer_mlp()
    trace = explain(loss)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if retrograd[graph] were not installed
    with pytest.raises(ImportError, match=r'pip install "retrograd\[graph\]"'):
        trace.render(tmp_path / "graph.png")
    monkeypatch.delitem(sys.modules, "graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program anywhere
    with pytest.raises(RuntimeError, match="Graphviz's `dot` program was not found"):
        trace.render(tmp_path / "graph.png")
    assert not (tmp_path / "graph.png").exists()


def test_render_hands_the_dot_source_to_graphviz_and_writes_its_image(tmp_path, monkeypatch):
    fake_dot = tmp_path / "dot"  # a stand-in for Graphviz's dot: echoes its format and the source it read
    fake_dot.write_text('#!/bin/sh\nfor a in "$@"; do echo "arg $a"; done\ncat\n')
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    model, loss = _two_layer_mlp()
    trace = explain(loss, module=model)
    assert trace.render(tmp_path / "graph.svg") == tmp_path / "graph.svg"
    written = (tmp_path / "graph.svg").read_text()
    assert "arg -Tsvg" in written and trace.to_dot() in written


# ----- retrograd explain ------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, names", [("mlp", ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]),
                                          ("cnn", ["conv.weight", "fc.bias"]),
                                          ("lstm", ["embed.weight", "lstm.weight_hh_l0", "head.weight"])])
def test_the_explain_command_shows_the_output_delta_in_the_trace(model, names, tmp_path, capsys):
    from retrograd import cli

    assert cli.main(["explain", "--model", model, "--dot", str(tmp_path / "graph.dot")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[3].startswith("1. CrossEntropyBackward")
    assert "dL/dz = (softmax(z) - onehot(y)) / N." in out
    difference = float(out.split("differs from (a - y) / N by at most ")[1].split()[0])
    assert difference < 1e-6  # float32 logits
    for name in names:
        assert f"added to .grad of {name} " in out
    assert "row 0, a - y: [" in out
    source = (tmp_path / "graph.dot").read_text()
    assert source.startswith("digraph backward {") and all(name in source for name in names)


def test_the_explain_command_refuses_an_unknown_model(capsys):
    from retrograd import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["explain", "--model", "vgg"])
    assert exit_info.value.code == 2 and "--model" in capsys.readouterr().err


def test_every_op_that_points_to_its_module_docstring_brings_its_formulas():
    import pkgutil

    import retrograd.ops
    from retrograd.explain import _formula

    pointing = []
    for info in pkgutil.iter_modules(retrograd.ops.__path__):
        module = __import__(f"retrograd.ops.{info.name}", fromlist=["_"])
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and "module docstring" in (inspect.getdoc(function) or ""):
                pointing.append(f"{info.name}.{name}")
                lines = _formula(function, None)
                header = f"from the module docstring (retrograd/ops/{info.name}.py):"
                assert header in lines, f"{info.name}.{name}"
                assert any("dL/" in line or "Legend" in line for line in lines[lines.index(header):]), name
    assert {"conv.conv2d", "pool.max_pool2d", "recurrent.lstm_sequence", "norm.batch_norm"} <= set(pointing)
    from retrograd.ops import norm, sort

    assert "      x_hat = (x - mean) * rstd,  rstd = 1 / sqrt(var + eps)" in _formula(norm.layer_norm, None)
    assert any(line.strip().startswith("Ties: every op here orders equal entries")
               for line in _formula(sort.sort, None))
