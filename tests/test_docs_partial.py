"""The documentation pages for the questions issue 14 lists as "answered only in part", and the pages
wrapping the earlier examples: each page's example runs and says what its page claims.

Each example is imported from examples/ by path and its main() run once (its printed text is captured
by pytest); the assertions are the claims of its docstring and page. The page tests check the docs
contract: a page per example, a `<!-- run: examples/<slug>.py -->` line naming a script that exists, a
`<!-- figure: ... -->` line only for a figure its script saves, and balanced code fences.
"""
import contextlib
import functools
import importlib.util
import io
import math
import pathlib
import re

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
QUESTIONS = REPO / "docs" / "questions"

NEW_EXAMPLES = ("lstm_gate_gradients", "bptt_derivation", "numpy_rnn_vs_nn_rnn", "conv_backprop_as_convolution",
                "hidden_layer_error", "bias_column_trick", "learning_rate_and_batch_mean",
                "softmax_cross_entropy_v2", "maxpool_ties", "tbptt_truncation_length")
WRAPPED_EXAMPLES = ("output_delta", "coursera_gradcheck", "reduction_scaling", "symmetry", "resnet_gradients",
                    "rnn_vs_lstm_gradients", "exploding", "theano_scan_bptt")
FIGURES = {"maxpool_ties": "maxpool_ties.png", "bptt_derivation": "bptt_residual_norms.png",
           "tbptt_truncation_length": "tbptt_truncation.png", "rnn_vs_lstm_gradients": "state_gradients.png",
           "resnet_gradients": "layer_gradients.png"}


@functools.lru_cache(maxsize=None)
def load(name):
    spec = importlib.util.spec_from_file_location(f"retrograd_docs_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def run(name):
    """main()'s result, computed once per test session."""
    with contextlib.redirect_stdout(io.StringIO()):
        return load(name).main()


# ----- the pages ---------------------------------------------------------------------------------------------
RUN_LINE = re.compile(r"^<!-- run: (examples/\S+\.py) -->$", re.MULTILINE)
FIGURE_LINE = re.compile(r"^<!-- figure: (examples/\S+\.py) (\S+\.png) -->$", re.MULTILINE)


@pytest.mark.parametrize("name", NEW_EXAMPLES + WRAPPED_EXAMPLES)
def test_page_runs_its_example_and_follows_the_contract(name):
    text = (QUESTIONS / f"{name}.md").read_text(encoding="utf-8")
    assert text.startswith("# "), "a page starts with its question as the title"
    assert RUN_LINE.findall(text) == [f"examples/{name}.py"]
    assert f"python examples/{name}.py" in text  # the command a reader runs
    assert text.count("```") % 2 == 0, "unbalanced code fences"
    assert "## How it works" in text
    figures = FIGURE_LINE.findall(text)
    assert figures == ([(f"examples/{name}.py", FIGURES[name])] if name in FIGURES else [])
    if name in FIGURES:  # the script saves the figure under the name its page asks for
        assert f'"{FIGURES[name]}"' in (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
    for marker in re.findall(r"<!--.*?-->", text, re.DOTALL):  # a misspelt marker would silently stay a comment
        assert RUN_LINE.fullmatch(marker) or FIGURE_LINE.fullmatch(marker), marker


@pytest.mark.parametrize("name", NEW_EXAMPLES)
def test_new_example_is_listed_in_the_examples_readme(name):
    assert f"python examples/{name}.py" in (EXAMPLES / "README.md").read_text(encoding="utf-8")


def test_figures_are_saved_only_when_the_docs_build_asks(tmp_path, monkeypatch):
    module = load("bptt_derivation")
    monkeypatch.delenv("RETROGRAD_FIGURES", raising=False)
    monkeypatch.chdir(tmp_path)
    module.draw_norms({"residual": [1.0] * len(module.LENGTHS)})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("RETROGRAD_FIGURES", str(tmp_path))
    module.draw_norms({"residual": [1.0, 2.0, 4.0, 8.0, 16.0]})
    assert (tmp_path / "bptt_residual_norms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_wrapped_examples_save_the_figures_their_pages_show(tmp_path, monkeypatch):
    """The figure-only additions to two earlier examples (their numbers are tested in test_examples.py)."""
    monkeypatch.setenv("RETROGRAD_FIGURES", str(tmp_path))
    norms = {"a": np.array([1.0, 0.1, 0.01])}
    load("rnn_vs_lstm_gradients").draw_state_gradients(norms)
    load("resnet_gradients").draw_layer_gradients(norms)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([FIGURES["resnet_gradients"],
                                                                 FIGURES["rnn_vs_lstm_gradients"]])


NORMS = {"a": np.array([1.0, 0.1, 0.01, 0.001, 1e-4])}
FIGURE_CONTENT = [  # example, its drawing call, what the figure shows: file, title, x/y labels and scales, curves
    ("bptt_derivation", lambda m: m.draw_norms({"tanh RNN": [1.0] * 5, "residual": [1.0] * 5}),
     ("bptt_residual_norms.png", "gradient reaching the first state", "sequence length T", "||dL/dh_0||", "log",
      "log", ["tanh RNN", "residual"])),
    ("maxpool_ties", lambda m: m.draw_losses({"first": [1.0, 0.5], "split": [1.0, 0.4]}),
     ("maxpool_ties.png", "max-pool tie policies, quantised activations", "SGD step", "training loss", "linear", "log",
      ['ties="first"', 'ties="split"'])),
    ("resnet_gradients", lambda m: m.draw_layer_gradients(NORMS),
     ("layer_gradients.png", "30-layer tanh MLP", "layer", "||dL/dW_layer||", "linear", "log", ["a"])),
    ("rnn_vs_lstm_gradients", lambda m: m.draw_state_gradients(NORMS),
     ("state_gradients.png", "loss at the last step", "time step t", "||dL/dh_t|| / ||dL/dh_99||", "linear", "log",
      ["a"])),
    ("stalled_network", lambda m: m.draw_losses([1.0, 0.5], [1.0, 0.1]),
     ("stalled_network.png", "3-hidden-unit network", "step", "mean squared error", "linear", "log",
      ["hidden delta through W_hidden (bug)", "hidden delta through W_out (fixed)"])),
    ("tbptt_truncation_length", lambda m: m.draw_losses({2: [1.0] * 20, 8: [0.5] * 20}),
     ("tbptt_truncation.png", "TBPTT(k, k) on an echo of 5 steps", "update", "training loss (10-update mean)",
      "linear", "linear", ["k = 2", "k = 8"])),
]


def drawn_figure(name, draw_call, monkeypatch):
    """(file name, axes, size) of the figure the example hands retrograd.diagnostics.figures.save_figure."""
    from matplotlib.figure import Figure

    module = load(name)
    calls = []
    monkeypatch.setattr(module, "save_figure", lambda file, draw, size: calls.append((file, draw, size)))
    draw_call(module)
    [(file, draw, size)] = calls
    figure = Figure()
    draw(figure)
    [axes] = figure.axes
    return file, axes, size


@pytest.mark.parametrize("name, draw_call, expected", FIGURE_CONTENT, ids=[row[0] for row in FIGURE_CONTENT])
def test_figures_drawn_through_the_library_helper_keep_their_content(name, draw_call, expected, monkeypatch):
    """Each example hands the library's save_figure its own draw(figure): the file name, title, axis labels, log
    scales and curves are the ones its page shows, on a 6 x 3.5 inch figure."""
    file, axes, size = drawn_figure(name, draw_call, monkeypatch)
    assert (file, axes.get_title(), axes.get_xlabel(), axes.get_ylabel(), axes.get_xscale(), axes.get_yscale(),
            [line.get_label() for line in axes.get_lines()]) == expected
    assert size == (6, 3.5)


def test_gradient_norm_figures_number_layers_from_1_and_divide_by_the_last_step(monkeypatch):
    _, axes, _ = drawn_figure("resnet_gradients", lambda m: m.draw_layer_gradients(NORMS), monkeypatch)
    assert axes.get_lines()[0].get_xdata().tolist() == [1, 2, 3, 4, 5]
    assert axes.get_lines()[0].get_ydata().tolist() == NORMS["a"].tolist()
    _, axes, _ = drawn_figure("rnn_vs_lstm_gradients", lambda m: m.draw_state_gradients(NORMS), monkeypatch)
    assert axes.get_lines()[0].get_xdata().tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(axes.get_lines()[0].get_ydata(), [1e4, 1e3, 1e2, 10, 1], rtol=1e-12)


@pytest.mark.parametrize("name", ["hidden_layer_error", "bias_column_trick", "conv_backprop_as_convolution",
                                  "lstm_gate_gradients", "softmax_cross_entropy_v2"])
def test_example_leaves_numpy_print_options_as_they_were(name):
    """These examples print arrays with fewer digits: only while they print (a test session shares the process)."""
    before = np.get_printoptions()
    with contextlib.redirect_stdout(io.StringIO()):
        load(name).main()
    assert np.get_printoptions() == before


# ----- 1. LSTM gates ---------------------------------------------------------------------------------------------
def test_lstm_gate_gradients_agree_three_ways():
    r = run("lstm_gate_gradients")
    for name, error in r["errors"].items():
        assert error < 1e-14, name
    assert "LstmSequenceBackward" in r["trace_names"]  # one fused node for the whole sequence
    gates = r["gates"]
    assert np.allclose(r["dc_prev"], r["dc"] * gates["f"], rtol=0, atol=1e-15)  # dc_{t-1} = dc_t * f
    assert np.all(np.abs(r["da"]) > 1e-4)  # every gate receives an error (none is trivially zero)


# ----- 2. BPTT derivation, residual recurrence --------------------------------------------------------------------
def test_bptt_derivation_matches_retrograd():
    r = run("bptt_derivation")
    assert set(r["errors"]) == {"U", "W", "b", "V", "c"}
    assert max(r["errors"].values()) < 1e-14


def test_residual_recurrence_explodes_and_the_antisymmetric_form_does_not():
    norms = run("bptt_derivation")["norms"]
    residual, tanh_rnn, fixed = norms["residual"], norms["tanh RNN"], norms["antisym., eps 0.1"]
    assert residual == sorted(residual) and residual[-1] > 100 * residual[0]  # grows with T (T = 5 .. 100)
    assert tanh_rnn[-1] < 1e-20  # vanishes
    assert norms["antisym., eps 1"][-1] > 30 * norms["antisym., eps 1"][0]  # a large step explodes again (~57x)
    assert max(fixed) / min(fixed) < 2  # the same order over T = 5 .. 100
    assert 1 < fixed[-1] < 10


# ----- 3. NumPy RNN vs nn.RNN --------------------------------------------------------------------------------
def test_numpy_rnn_cell_matches_retrograd_and_torch():
    r = run("numpy_rnn_vs_nn_rnn")
    for library in ("retrograd", "torch"):  # torch is in the test extra: its comparison runs in CI
        assert set(r[library]) == {"output", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
        assert max(r[library].values()) < 1e-14, library
    assert r["torch_same_init"] is True
    assert r["h_n_is_last_output"] is True


# ----- 4. convolution backprop as convolutions -------------------------------------------------------------------
def test_conv_gradients_are_convolutions():
    r = run("conv_backprop_as_convolution")
    assert max(r["errors"].values()) < 1e-13
    assert max(r["strided_errors"].values()) < 1e-13
    analytic, numeric = r["finite_difference"]
    assert analytic == pytest.approx(numeric, rel=1e-7)


def test_conv_formula_is_not_vacuous():
    """Without the kernel flip the input gradient is wrong: the comparison can fail."""
    module = load("conv_backprop_as_convolution")
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(module.C, 5, 5)), rng.normal(size=(module.O, module.C, 3, 3))
    g = rng.normal(size=(module.O, 3, 3))
    _, grad_x, _ = module.gradients_as_convolutions(x, w, g)
    padded = np.pad(g, ((0, 0), (2, 2), (2, 2)))
    unflipped = sum(module.corr_valid(padded[o], w[o, 0]) for o in range(module.O))
    assert np.max(np.abs(unflipped - grad_x[0])) > 0.1


# ----- 5. hidden layer's error ----------------------------------------------------------------------------------
def test_hidden_delta_formula_matches_the_tape():
    r = run("hidden_layer_error")
    assert max(r["errors"].values()) < 1e-15
    hand = r["hand"]
    assert np.allclose(hand["delta_out"].sum(), 0, atol=1e-15)  # softmax - onehot sums to 0
    assert r["transpose_error"] is not None  # W2 (2, 4) @ delta_out (2,) does not multiply
    assert r["mistakes"]["without_slope_min_overstatement"] >= 4.0  # sigmoid' <= 1/4


# ----- 6. bias column ------------------------------------------------------------------------------------------
def test_bias_column_gives_the_same_gradients():
    r = run("bias_column_trick")
    assert r["theta_shape"] == (3, 5)
    for key in ("logits_difference", "bias_difference", "weight_difference", "bias_is_delta_sum"):
        assert r[key] < 1e-15, key


# ----- 7. learning rate and 1/m -----------------------------------------------------------------------------------
def test_mean_loss_lr_is_sum_loss_lr_over_m():
    r = run("learning_rate_and_batch_mean")
    assert sorted(r) == [2, 10, 100, 1000, 10000]
    for m, row in r.items():
        assert row["weight_gap"] < 1e-14, m  # lr on the mean == lr / m on the sum
        assert row["sum_scaled"] == pytest.approx(row["mean"], rel=1e-10), m
        assert row["mean"] < 0.05, m  # the mean trains at every m with the same lr
    assert r[2]["sum"] < 0.05  # the summed loss with lr works for a tiny batch ...
    for m in (10, 100, 1000, 10000):
        assert not (r[m]["sum"] < 1e3), m  # ... and diverges (huge, inf or nan) from m = 10 on
        assert r[m]["critical_lr_sum"] < 0.1  # lr = 0.1 is past 1 / lambda_max(X^T X)
    critical = [r[m]["critical_lr_sum"] for m in sorted(r)]
    assert critical == sorted(critical, reverse=True)


# ----- 8. TensorFlow's _v2: labels with a gradient ---------------------------------------------------------------
def test_soft_labels_receive_minus_log_softmax():
    r = run("softmax_cross_entropy_v2")
    assert r["label_grad_error"] < 1e-15
    assert r["teacher_grad_norm_v2"] > 0.01
    assert r["teacher_grad_v1"] is None  # detach: the teacher gets nothing
    assert r["student_grad_difference"] == 0.0
    assert r["torch_teacher_difference"] < 1e-15


# ----- 9. max-pool ties ------------------------------------------------------------------------------------------
def test_tie_policies_route_the_gradient_as_documented():
    grads = run("maxpool_ties")["window_grads"]
    np.testing.assert_array_equal(grads["first"], [[0, 1], [0, 0]])
    np.testing.assert_array_equal(grads["split"], [[0, 0.5], [0.5, 0]])
    np.testing.assert_array_equal(grads["pytorch"], grads["first"])  # PyTorch's choice is the first maximum
    assert grads["random"].sum() == 1 and sorted(grads["random"].ravel()) == [0, 0, 0, 1]
    assert grads["random"][0, 0] == 0 and grads["random"][1, 1] == 0  # only a tied maximum can get it


def test_tie_policies_matter_only_where_tied_entries_carry_different_gradients():
    r = run("maxpool_ties")
    assert r["tie_fraction"] > 0.5 and r["positive_tie_fraction"] > 0.2 and r["quantised_positive_tie_fraction"] > 0.2
    for order in ("ReLU then pool", "pool then ReLU"):
        losses = r["final_losses"][order]
        assert losses["first"] == losses["split"] == losses["random"], order  # bit-for-bit
    quantised = r["final_losses"]["ReLU, quantise, pool"]
    assert quantised["spread"] > 0.05
    assert max(quantised[t] for t in ("first", "split", "random")) < 0.5 * r["first_loss"]  # all of them train
    assert len(set(r["quantised_winners"])) > 1  # no policy wins for every initialisation


# ----- 10. truncated BPTT -------------------------------------------------------------------------------------------
def test_truncation_shorter_than_the_dependency_cannot_learn_it():
    r = run("tbptt_truncation_length")
    for k in (2, 4):  # k <= D = 5
        assert r[k]["final_loss"] > 0.9 * math.log(2), k
        assert r[k]["accuracy"] < 0.65, k
        assert r[k]["updates_to_0.1"] is None, k
    for k in (8, 16, 32):
        assert r[k]["final_loss"] < 0.05, k
        assert r[k]["accuracy"] > 0.99, k
    assert r[8]["updates_to_0.1"] > r[32]["updates_to_0.1"]  # longer windows learn it in fewer updates
