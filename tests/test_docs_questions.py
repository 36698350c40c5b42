"""The question pages' examples (docs/questions/<slug>.md, examples/<slug>.py) answer with the numbers their pages claim.

Each example's main() runs once per session (see tests/test_examples.py's `run`); the assertions are the claims
the page and the example's printed text make.
"""
import math

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd.diagnostics.figures import save_figure
from test_examples import EXAMPLES, load, run

TESTED_EXAMPLES = {"tanh_sin_fit", "mnist_sigmoid_stuck", "minibatch_size", "activations", "minimum_hessian",
                   "initial_loss_divergence", "keras_users"}


def test_every_question_example_has_its_page_with_a_run_marker():
    pages = EXAMPLES.parent / "docs" / "questions"
    for name in TESTED_EXAMPLES:
        text = (pages / f"{name}.md").read_text(encoding="utf-8")
        assert f"<!-- run: examples/{name}.py -->" in text, name
        assert f"python examples/{name}.py" in text, name


# ----- the figures helper ------------------------------------------------------------------------------
def test_save_figure_writes_only_when_the_docs_build_asks(tmp_path, monkeypatch):
    monkeypatch.delenv("RETROGRAD_FIGURES", raising=False)
    drawn = []
    assert save_figure("a.png", drawn.append) is None and drawn == []  # unset: nothing drawn, no file
    monkeypatch.setenv("RETROGRAD_FIGURES", str(tmp_path))
    path = save_figure("a.png", lambda figure: figure.subplots().plot([0, 1], [1, 0]))
    assert path == str(tmp_path / "a.png") and (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("name", ["../a.png", "a.svg", "sub/a.png"])
def test_save_figure_rejects_a_name_that_is_not_a_png_file_name(name, tmp_path, monkeypatch):
    monkeypatch.setenv("RETROGRAD_FIGURES", str(tmp_path))
    with pytest.raises(ValueError, match=r"save_figure: name must be a file name ending in \.png, got"):
        save_figure(name, lambda figure: None)


def test_save_figure_without_matplotlib_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RETROGRAD_FIGURES", str(tmp_path))
    monkeypatch.setitem(__import__("sys").modules, "matplotlib.figure", None)  # import fails as if not installed
    assert save_figure("a.png", lambda figure: None) is None
    assert capsys.readouterr().out == '(no figure a.png: pip install "retrograd[plot]")\n'
    assert not list(tmp_path.iterdir())


# ----- 1. tanh network and sin(x) ---------------------------------------------------------------------
def test_tanh_sin_fit_the_askers_network_fails_and_the_fix_fits():
    r = run("tanh_sin_fit")
    mse = r["final_mse"]
    asker, fixed = mse["asker's: tanh(x) input, no biases"], mse["input scaled to [-1, 1], biases"]
    assert asker > 0.1 and fixed < 2e-3 and asker > 100 * fixed
    assert mse["input scaled to [-1, 1], no biases"] < 0.1 * asker  # scaling the input is most of the fix
    assert fixed < mse["input scaled to [-1, 1], no biases"] < mse["tanh(x) input, biases"] < asker
    assert r["max_error_asker"] > 0.5 and r["max_error_fixed"] < 0.1
    assert r["fixed_at_1000"] < 0.1 * r["asker_plateau"][-1]  # the fix at step 1,000 beats the asker's at 4,000


def test_tanh_sin_fit_the_diagnostics_name_the_saturated_input_layer():
    r = run("tanh_sin_fit")
    assert r["input_saturated_fraction"] == pytest.approx(0.58, abs=0.01)  # x > atanh(0.99) = 2.65 on [0, 2 pi]
    assert r["health_problems"] and r["health_problems"][0].startswith("0: 58% of the Tanh outputs are saturated")
    assert r["check_model_problems"] == r["health_problems"]
    assert r["fixed_health_problems"] == []


# ----- 2. MNIST with sigmoid + cross-entropy -----------------------------------------------------------------
def test_mnist_sigmoid_stuck_at_chance_and_the_fix_learns():
    r = run("mnist_sigmoid_stuck")["results"]
    asker = r["asker's: raw pixels, randn W, sigmoid + CE"]
    assert asker["test_accuracy"] < 0.25  # ~chance after 2 epochs
    assert r["pixels / 255, randn W, sigmoid + CE"]["test_accuracy"] < 0.25  # scaling alone: randn W saturates too
    fixed = r["pixels / 255, default init, logits + CE"]
    assert fixed["test_accuracy"] > 0.85 and fixed["final_batch_loss"] < 0.6
    capped = r["pixels / 255, default init, sigmoid + CE"]
    assert 0.6 < capped["test_accuracy"] < fixed["test_accuracy"]
    assert capped["final_batch_loss"] > run("mnist_sigmoid_stuck")["sigmoid_ce_floor"]  # cannot go below 1.46


def test_mnist_sigmoid_stuck_check_model_reports_saturation():
    r = run("mnist_sigmoid_stuck")
    assert r["sigmoid_ce_floor"] == pytest.approx(-math.log(math.e / (math.e + 9)))
    assert r["median_abs_preactivation"] > 500
    assert r["saturated_fraction"] > 0.9
    assert any("100% of the Sigmoid outputs are saturated" in p for p in r["check_model_problems"])


# ----- 3. minibatch size ----------------------------------------------------------------------------------
def test_gradient_noise_falls_as_one_over_the_batch_size():
    r = run("minibatch_size")
    noise = r["noise"]
    for b, (measured, predicted) in noise.items():
        assert measured == pytest.approx(predicted, rel=0.35), b  # 20 draws: a sampling error of ~30%
    sizes = sorted(noise)
    assert all(noise[a][0] > noise[b][0] for a, b in zip(sizes, sizes[1:]))
    assert noise[1][0] / noise[256][0] > 100
    assert noise[64][0] < 2 * r["full_norm2"] < noise[16][0]  # noise ~ signal from B ~ 64 (the page says so)


def test_smaller_batches_make_more_progress_per_epoch():
    epochs = run("minibatch_size")["epochs"]
    losses = [epochs[b][1] for b in sorted(epochs)]
    assert losses[0] < 0.5 and losses[-1] > 2.0
    assert all(a < b for a, b in zip(losses[1:], losses[2:]))  # from B = 4 on, strictly worse per epoch
    assert all(seconds > 0 for seconds, _ in epochs.values())


def test_gradient_noise_formula_against_a_direct_computation():
    """tr(Sigma)/B (N-B)/(N-1) is the exact mean of ||g_B - g||^2 over all batches: check it on a tiny problem."""
    module = load("minibatch_size")
    rng = np.random.default_rng(0)
    per_example = rng.standard_normal((6, 3))
    full = per_example.mean(0)
    trace_sigma = np.mean(np.sum((per_example - full) ** 2, axis=1))
    from itertools import combinations
    exact = np.mean([np.sum((per_example[list(c)].mean(0) - full) ** 2) for c in combinations(range(6), 2)])
    assert exact == pytest.approx(trace_sigma / 2 * (6 - 2) / (6 - 1), rel=1e-12)
    assert module.DRAWS >= 20


# ----- 4. activations ---------------------------------------------------------------------------------------
def test_positive_activations_give_same_sign_weight_gradients():
    same_sign = run("activations")["same_sign"]
    assert same_sign["sigmoid"] == 1.0 and same_sign["relu"] == 1.0
    assert same_sign["tanh"] < 0.05


def test_sigmoid_gradients_vanish_with_depth_and_tanh_relu_keep_them():
    r = run("activations")
    ratios = r["first_last_ratio"]
    assert ratios["sigmoid"] < 1e-4
    assert 0.1 < ratios["tanh"] < 10 and 0.1 < ratios["relu"] < 10
    sigmoid = r["norms"]["sigmoid"]
    assert all(a < b for a, b in zip(sigmoid, sigmoid[1:]))  # shrinks at every layer going back
    for a, b in zip(sigmoid, sigmoid[1:]):
        assert a < 0.6 * b  # each sigmoid layer going back divides it by ~2 or more (sigma' <= 1/4)


def test_tanh_trains_faster_than_sigmoid():
    curves = run("activations")["curves"]
    assert curves["tanh"][-1] < 0.6 < 2.2 < curves["sigmoid"][-1]
    assert all(t < s for t, s in zip(curves["tanh"], curves["sigmoid"]))


# ----- 5. minimum or saddle: the Hessian -----------------------------------------------------------------------
def test_normal_equations_and_gradient_descent_agree_on_a_linear_model():
    r = run("minimum_hessian")
    np.testing.assert_allclose(r["descended"], r["closed_form"], rtol=1e-6)
    assert r["copies"] == 48


def test_the_trained_network_sits_at_a_minimum():
    r = run("minimum_hessian")
    assert r["grad_norm"] < 1e-4
    assert r["eigenvalues"][0] > 0  # positive definite
    assert r["eigenvalues"][-1] > 1


def test_the_finite_difference_hessian_matches_pytorchs_exact_hessian():
    """At the trained weights, torch.autograd.functional.hessian of the same 1-3-1 network and loss."""
    module = load("minimum_hessian")
    r = run("minimum_hessian")
    x, y = module.make_data()
    model = module.make_net()
    ours, _ = module.hessian(model, r["weights"], x, y)
    xt, yt = torch.tensor(x.numpy()), torch.tensor(y.numpy())
    hidden = module.HIDDEN

    def loss(w):  # layout of parameters_to_vector: w1 (H, 1), b1 (H), w2 (1, H), b2 (1)
        w1, b1 = w[:hidden].reshape(hidden, 1), w[hidden:2 * hidden]
        w2, b2 = w[2 * hidden:3 * hidden].reshape(1, hidden), w[3 * hidden:]
        return torch.mean((torch.tanh(xt @ w1.T + b1) @ w2.T + b2 - yt) ** 2)
    exact = torch.autograd.functional.hessian(loss, torch.tensor(r["weights"])).numpy()
    np.testing.assert_allclose(ours, exact, atol=1e-8)
    np.testing.assert_allclose(np.linalg.eigvalsh(exact), r["eigenvalues"], atol=1e-8)


def test_zero_weights_are_a_saddle_that_only_a_nudge_escapes():
    r = run("minimum_hessian")
    assert r["saddle_grad_norm"] == 0.0
    eigenvalues = r["saddle_eigenvalues"]
    assert eigenvalues[0] < -0.5 and eigenvalues[-1] > 0.5  # both signs
    exact_start, nudged = r["escapes"]["exactly at w = 0"], r["escapes"]["at w = 0 + 1e-3 noise"]
    assert exact_start == r["saddle_start_loss"]  # never moves
    assert nudged < 0.1 * exact_start


def test_double_backward_is_still_missing_as_the_page_says():
    """The page computes the Hessian by finite differences because create_graph is unsupported; if that
    changes, the page (and this test) should switch to the exact Hessian."""
    x = rg.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph"):
        (x * x).sum().backward(create_graph=True)


# ----- 6. the initial loss and divergence ------------------------------------------------------------------------
def test_the_first_loss_is_about_ln_c():
    r = run("initial_loss_divergence")
    for classes, (loss, variance) in r["initial_by_classes"].items():
        assert abs(loss - math.log(classes)) < 0.2, classes
        assert loss == pytest.approx(math.log(classes) + (1 - 1 / classes) * variance / 2, abs=0.04), classes
    assert r["initial_mlp"][1.0] == pytest.approx(math.log(10), abs=0.05)
    assert r["initial_mlp"][10.0] > 9 > 3 * math.log(10)  # "above 9", the page says


def test_the_learning_rate_sweep_finds_the_working_range_and_divergence():
    r = run("initial_loss_divergence")
    verdicts, curves = r["verdicts"], r["curves"]
    assert verdicts[0.1] == verdicts[0.5] == "trains"
    assert verdicts[0.01] == verdicts[2.0] == "barely learns"
    assert verdicts[20.0].startswith("diverged") and verdicts[1000.0].startswith("diverged")
    assert max(curves[1000.0]) > 1e6 * curves[1000.0][0]
    assert curves[0.5][-1] < curves[0.1][-1] < curves[0.01][-1]
    firsts = {curve[0] for curve in curves.values()}
    assert len(firsts) == 1  # measured before the first update


# ----- 7. Keras users --------------------------------------------------------------------------------------------
def test_the_custom_lstm_cell_reproduces_nn_lstm_and_takes_relu():
    r = run("keras_users")
    assert r["custom_cell_output_diff"] < 1e-12 and r["custom_cell_grad_diff"] < 1e-12
    assert r["relu_max"] > 1.0  # relu's cell output is not bounded by 1


def test_linear_is_time_distributed_and_masking_tools_do_what_the_page_says():
    r = run("keras_users")
    assert r["time_distributed_shape"] == (3, 7, 2) and r["time_distributed_diff"] < 1e-12
    m = r["masking"]
    assert m["padded_state_gap"] > 0.01  # padding_idx alone: the LSTM ran over the padding
    assert m["packed_state_gap"] < 1e-12
    assert m["ignore_index_loss"] == pytest.approx(m["real_tokens_loss"], rel=1e-12)
    assert m["padding_row_grad"] == 0.0


def test_stateful_layout_carries_the_state_and_chunks_in_one_batch_do_not():
    r = run("keras_users")
    assert r["seed_updates_per_epoch"] == 78_760  # ceil(125973 / 64) x 40, as the stateful_batches docstring says
    assert r["scaled_batches"] == r["scaled_expected"] == 12
    assert r["stateful_gap"] < 1e-12
    assert r["chunks_in_one_batch_gap"] > 0.01
