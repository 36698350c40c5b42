"""The examples answer their questions with numbers: run each example's main() once and check them.

Each example is imported from examples/ by path (it is a script, not a package module) and its
main() returns the key numbers. The assertions are the claims the example's text makes.
"""
import ast
import contextlib
import functools
import importlib.util
import io
import math
import os
import pathlib
import tempfile
from unittest import mock

import numpy as np
import pytest

import retrograd as rg
from retrograd import autograd

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@functools.lru_cache(maxsize=None)
def load(name):
    spec = importlib.util.spec_from_file_location(f"retrograd_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FIGURES = tempfile.TemporaryDirectory(prefix="retrograd-example-figures-")  # removed when the session ends


@functools.lru_cache(maxsize=None)
def run_printing(name):
    """(main()'s result, what it printed, the folder of the figures it saved), computed once per test session.

    main() runs as the docs build runs the script: RETROGRAD_FIGURES names an empty folder of its own, so
    tests/test_docs_site.py builds the site from these runs instead of running every example again."""
    figures = pathlib.Path(_FIGURES.name) / name
    figures.mkdir()
    printed = io.StringIO()
    with mock.patch.dict(os.environ, {"RETROGRAD_FIGURES": str(figures)}), contextlib.redirect_stdout(printed):
        result = load(name).main()
    return result, printed.getvalue(), figures


def run(name):
    """main()'s result, computed once per test session."""
    return run_printing(name)[0]


def gradcheck_fails(fn, inputs):
    """True when autograd.gradcheck rejects fn's gradient (by returning False or raising, as PyTorch does)."""
    try:
        return not autograd.gradcheck(fn, inputs)
    except Exception as error:  # PyTorch's default raise_exception=True
        assert "gradient" in str(error).lower() or "jacobian" in str(error).lower(), error
        return True


def examples_tested_elsewhere():
    """The examples of the documentation pages: each tests/test_docs_*.py names the ones it tests in TESTED_EXAMPLES."""
    names = set()
    for path in sorted(pathlib.Path(__file__).parent.glob("test_docs_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "TESTED_EXAMPLES" for t in node.targets):
                names |= ast.literal_eval(node.value)
    return names


def test_every_example_is_tested_and_listed_in_the_readme():
    scripts = sorted(p.stem for p in EXAMPLES.glob("*.py"))
    tested = {"output_delta", "coursera_gradcheck", "reduction_scaling", "symmetry", "resnet_gradients",
              "rnn_vs_lstm_gradients", "exploding", "theano_scan_bptt", "cartpole_seed_agent",
              "transformer_reverse",
              "stalled_network", "gradient_free"}  # stalled_network: tests/test_stalled_network.py
    tested |= {"lstm_gate_gradients", "bptt_derivation", "numpy_rnn_vs_nn_rnn", "conv_backprop_as_convolution",
               "hidden_layer_error", "bias_column_trick", "learning_rate_and_batch_mean", "softmax_cross_entropy_v2",
               "maxpool_ties", "tbptt_truncation_length"}  # their tests: tests/test_docs_partial.py
    assert set(scripts) == tested | examples_tested_elsewhere()
    readme = (EXAMPLES / "README.md").read_text()
    for name in scripts:
        assert f"python examples/{name}.py" in readme, name


# ----- 1. output delta ------------------------------------------------------------------------
def test_output_delta_formulas_hold_and_gradcheck_confirms_them():
    r = run("output_delta")
    assert r["sigmoid_ce_formula_error"] < 1e-12  # dL/dz = a - y
    assert r["sigmoid_se_formula_error"] < 1e-12  # dL/dz = (a - y) a (1 - a)
    assert r["gradcheck_ce_formula"] and r["gradcheck_se_formula"]
    assert r["softmax_ce_formula_error"] < 1e-12  # softmax(z) - onehot(y)
    assert r["softmax_ce_mean_formula_error"] < 1e-12  # ... / N with reduction='mean'
    assert r["gradcheck_softmax_ce"]


def test_output_delta_gradcheck_rejects_the_wrong_formula():
    """The confirmation is not vacuous: squared error with cross-entropy's delta (sigma' dropped) fails."""
    module = load("output_delta")

    class DroppedDerivative(module.SigmoidSquaredError):
        backward = module.SigmoidCrossEntropy.backward

    y = rg.tensor([1.0, 0.0, 1.0], dtype=rg.float64)
    z = module.as_input([0.3, -1.2, 2.0])
    assert gradcheck_fails(lambda z: DroppedDerivative.apply(z, y), (z,))


def test_output_delta_saturated_wrong_output_learns_slowly_under_squared_error():
    r = run("output_delta")
    saturated = r["saturated"]
    assert saturated[0.0]["ratio"] == pytest.approx(4.0, rel=1e-12)  # sigma'(0) = 1/4
    assert saturated[-10.0]["ce"] > 0.9999  # |a - y| ~ 1
    assert saturated[-10.0]["se"] < 5e-5  # ~ sigma'(-10) = 4.5e-5
    assert saturated[-10.0]["ratio"] > 2e4
    ratios = [saturated[z]["ratio"] for z in (0.0, -2.0, -5.0, -10.0)]
    assert ratios == sorted(ratios)  # the more saturated, the bigger the gap
    outputs = r["neuron_output_after_30_steps"]
    assert outputs["ce"] < 0.3 and outputs["se"] > 0.97  # Nielsen's neuron: 0.20 vs 0.979
    assert r["softmax_saturated_ce_norm"] == pytest.approx(math.sqrt(2), rel=1e-3)  # ~(1, 0, -1)
    assert r["softmax_saturated_se_norm"] < 1e-3


# ----- 2. Coursera gradient check ------------------------------------------------------------------
def test_coursera_gradcheck_passes_then_names_the_buggy_parameter():
    r = run("coursera_gradcheck")
    assert r["correct_passed"] is True
    assert r["buggy_passed"] is False
    assert r["buggy_failing"] == ["output.weight"]
    names = [row[0] for row in r["correct_rows"]]
    assert names == ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]


def test_coursera_cost_matches_the_closed_form():
    """The cost really is Coursera's J: data term averaged over m, biases not regularised."""
    module = load("coursera_gradcheck")
    model, x, y = module.make_problem(m=20)
    lam = 3.0
    with rg.no_grad():
        h = model(x).numpy()
        cost = float(module.coursera_cost(model, lam)(model(x), y).item())
    y_np = y.numpy()
    data = -np.sum(y_np * np.log(h) + (1 - y_np) * np.log(1 - h)) / 20
    weights = (model.hidden.weight.detach().numpy(), model.output.weight.detach().numpy())
    penalty = lam / 40 * sum(np.sum(w ** 2) for w in weights)
    assert cost == pytest.approx(data + penalty, rel=1e-12)


# ----- 3. reduction scaling -----------------------------------------------------------------------
def test_sum_vs_mean_gradients_differ_by_the_number_of_averaged_terms():
    r = run("reduction_scaling")
    assert set(r["cross_entropy"]) == {1, 3, 8, 32, 100}
    for n, (low, high) in r["cross_entropy"].items():
        assert low == pytest.approx(n, rel=1e-12) and high == pytest.approx(n, rel=1e-12)
    for n, (low, high) in r["mse"].items():
        assert low == pytest.approx(3 * n, rel=1e-12) and high == pytest.approx(3 * n, rel=1e-12)
    assert r["same_step_max_difference"] < 1e-14


# ----- 4. symmetry ----------------------------------------------------------------------------------
def test_equal_initialisation_never_breaks_symmetry():
    r = run("symmetry")
    assert r["equal"]["unit_spread"] == 0.0  # bit-for-bit identical after 50 steps
    assert r["equal"]["symmetric_groups"] == [list(range(8))]


def test_random_initialisation_learns_and_units_differ():
    r = run("symmetry")
    assert r["random"]["symmetric_groups"] == []
    assert r["random"]["unit_spread"] > 0.5
    assert r["random"]["final_loss"] < 0.8 * r["random"]["first_loss"]
    assert r["random"]["final_loss"] < 0.8 * r["equal"]["final_loss"]
    assert r["random"]["accuracy"] > r["equal"]["accuracy"]


# ----- 5. residual networks ----------------------------------------------------------------------------
def test_residual_connections_keep_the_first_layers_gradient():
    r = run("resnet_gradients")
    assert r["ratio_plain"] < 1e-4  # ~5e-7 measured
    assert 0.5 < r["ratio_residual"] < 10  # ~2 measured
    assert r["gap"] > 1e4
    plain = np.array(r["norms_plain"])
    assert plain[0] < plain[9] < plain[19] < plain[29]  # decays going back through the layers


def test_resnet_example_runs_the_conv_resnet():
    r = run("resnet_gradients")
    assert r["resnet_logits_shape"] == (8, 10)
    norms = r["resnet_weight_grad_norms"]
    assert "layer2.0.downsample.0.weight" in norms and "layer1.0.downsample.0.weight" not in norms
    assert all(np.isfinite(v) and v > 0 for v in norms.values())


# ----- 6. RNN vs LSTM, exploding gradients --------------------------------------------------------------
def test_rnn_gradient_vanishes_much_faster_than_lstm_with_forget_bias():
    r = run("rnn_vs_lstm_gradients")
    rnn, lstm, lstm_fb = r["rnn"], r["lstm"], r["lstm_forget_bias_1"]
    assert rnn["ratio_first_last"] < 1e-15
    assert rnn["per_step_factor"] < 0.7
    assert lstm_fb["ratio_first_last"] > 1e6 * rnn["ratio_first_last"]
    assert lstm_fb["per_step_factor"] > 0.75
    assert lstm["ratio_first_last"] < 1e-10  # the default init's forget gate (~0.5) vanishes too
    assert len(r["norms"]["rnn"]) == 100


def test_exploding_gradient_and_clipping():
    r = run("exploding")
    norms = r["norm_at_init"]
    gains = sorted(norms)
    assert [norms[g] for g in gains] == sorted(norms[g] for g in gains)  # grows with the gain
    assert norms[3.0] > 1e4 * norms[1.0]
    unclipped, clipped = r["no_clip"], r["clip"]
    assert (not unclipped["all_finite"]) or unclipped["max_loss"] > 1e6 * unclipped["first_loss"]
    assert clipped["all_finite"]
    assert clipped["final_loss"] < 0.1 * clipped["first_loss"]
    assert clipped["max_grad_norm"] > 1.0  # clipping was active


# ----- 7. BPTT three ways and truncation --------------------------------------------------------------
def test_tape_fused_op_and_numpy_bptt_agree():
    r = run("theano_scan_bptt")
    assert r["tape_vs_numpy"] < 1e-12
    assert r["fused_vs_numpy"] < 1e-12
    assert r["tape_vs_fused"] < 1e-12


def test_truncation_keeps_exactly_the_last_k_steps_contributions():
    r = run("theano_scan_bptt")
    rows = r["truncated"]
    for k, row in rows.items():
        assert row["tape_vs_numpy"] < 1e-12, k
        assert row["fused_vs_numpy"] < 1e-12, k
        assert row["x_last_k_vs_full"] < 1e-12, k
        assert row["x_before_max_abs"] == 0.0, k
        assert row["w_hh_vs_last_k_terms"] < 1e-12, k
    assert rows[20]["relative_difference"] < 1e-12  # k = T is full BPTT
    differences = [rows[k]["relative_difference"] for k in sorted(rows, reverse=True)]
    assert all(a < b for a, b in zip(differences, differences[1:]))  # grows as k shrinks
    assert rows[1]["relative_difference"] > 0.3


# ----- the seed's CartPole agent ---------------------------------------------------------------------
def test_cartpole_seed_agent_barely_learns_and_the_learning_rate_and_a_baseline_fix_it():
    """The script's default run (one seed, 100 episodes per variant; the seed's agent 400), shared with the docs page."""
    r = run("cartpole_seed_agent")
    seed = r["seed_agent"]
    assert abs(seed["last"] - seed["first"]) < 3 and seed["last"] < 30  # measured 19.8 -> 19.9
    assert seed["update_ratio"] < 1e-4 and seed["weight_change"] < 0.01  # 1.3e-5; the weights moved 0.1%
    rows = list(r["variants"].values())
    (_, seed_last), (lr_first, lr_last), (_, hidden_last), (_, baseline_last), (job_first, job_last) = rows
    assert lr_last > 2 * lr_first and lr_last > 3 * seed_last          # lr 1e-2: 62.8 -> 127.5
    assert hidden_last < 40                                             # a hidden layer alone: 24.4
    assert baseline_last > 2 * hidden_last                              # ... with a baseline: 89.3
    assert job_last > 2 * job_first                                     # the job's recipe: 39.2 -> 91.7


# ----- 8. the Transformer's causal mask ------------------------------------------------------------------
def test_transformer_learns_to_reverse_only_with_the_causal_mask():
    r = run("transformer_reverse")
    causal, no_mask = r["causal_mask"], r["no_mask"]
    assert len(causal["losses"]) == len(no_mask["losses"]) == 100
    for result in (causal, no_mask):
        assert result["first_loss"] > 2.0  # ~ln(10) at the start
        assert result["final_loss"] < 0.05  # both fit the teacher-forced training task (0.015 and 0.013 measured)
    for step in (20, 40):  # peeking at the answer makes the loss fall faster (0.36 vs 0.77 at step 40)
        assert no_mask["losses"][step] < causal["losses"][step], step
    assert causal["greedy_accuracy"] > 0.9  # 100% measured: it really reverses unseen sequences
    assert no_mask["greedy_accuracy"] < 0.1  # 0% measured: it learnt to copy its next input


# ----- gradient-free training -------------------------------------------------------------------------
def test_gradient_free_methods_fall_behind_backprop_at_a_thousand_parameters():
    runs = load("gradient_free").main(size=1000, budget=100, methods=("adam", "nelder-mead", "ga"))
    start = runs["adam"].best[0]
    assert runs["adam"].parameters == 972 and start > 2.3
    assert runs["adam"].train_loss < 0.3 and runs["adam"].val_accuracy > 0.8           # 100 backprop steps learn
    assert runs["nelder-mead"].best[-1] > 0.99 * start and runs["nelder-mead"].nfev[-1] == 100  # still on its simplex
    assert runs["adam"].train_loss < runs["ga"].train_loss < start                      # the GA moves, slowly
