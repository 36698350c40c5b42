"""The policy-gradient and gradient-free question pages (issues 13 and 14): their examples give the numbers the
pages claim.

Each example's main() runs once per session (tests/test_examples.py's `run`), shared with the docs build in
tests/test_docs_site.py. examples/cartpole_seed_agent.py's numbers are tested in tests/test_examples.py; its page
is checked here.
"""
import numpy as np
import pytest

from test_examples import EXAMPLES, load, run

TESTED_EXAMPLES = {"reinforce_gradient", "gradient_free_sizes", "gradients_vs_metaheuristics"}
PAGES = TESTED_EXAMPLES | {"cartpole_seed_agent"}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_runs_its_example(name):
    text = (EXAMPLES.parent / "docs" / "questions" / f"{name}.md").read_text(encoding="utf-8")
    assert f"<!-- run: examples/{name}.py -->" in text
    assert f"python examples/{name}.py" in text


@pytest.mark.parametrize("name, figure", [("cartpole_seed_agent", "lengths.png"),
                                          ("gradient_free_sizes", "curves.png")])
def test_the_pages_show_the_figures_their_examples_save(name, figure):
    text = (EXAMPLES.parent / "docs" / "questions" / f"{name}.md").read_text(encoding="utf-8")
    assert f"<!-- figure: examples/{name}.py {figure} -->" in text


def test_cartpole_seed_agent_draws_one_curve_per_variant(tmp_path, monkeypatch):
    monkeypatch.setenv("RETROGRAD_FIGURES", str(tmp_path))
    module = load("cartpole_seed_agent")
    curves = {"flat": np.full((2, 30), 20.0), "learns": np.tile(np.arange(30.0), (2, 1))}
    module.draw_lengths(curves)
    assert (tmp_path / "lengths.png").read_bytes().startswith(b"\x89PNG")


# ----- REINFORCE: the gradient of log_prob, the loss, the baseline ------------------------------------------
def test_log_prob_gradient_is_onehot_minus_p_as_in_pytorch():
    r = run("reinforce_gradient")
    assert r["log_prob_gradient_error"] < 1e-15   # d log pi(a)/dz = onehot(a) - softmax(z)
    assert r["torch_difference"] < 1e-15          # PyTorch's Categorical gives the same numbers
    assert r["loss_gradient_error"] < 1e-14       # dL/dz_t = -A_t (onehot(a_t) - p_t); 1.1e-16 measured


def test_the_formula_check_is_not_vacuous():
    """Without the -p term (as if log_prob were the raw logit) the gradient differs from retrograd's."""
    module = load("reinforce_gradient")
    ours, _, formula, probs = module.log_prob_gradient(np.array([1.0, -0.5, 0.2]), 2)
    assert np.abs(ours - (formula + probs)).max() > 0.5


def test_a_baseline_keeps_the_gradient_and_removes_most_of_its_noise():
    r = run("reinforce_gradient")
    exact = r["exact_gradient"]
    np.testing.assert_allclose(exact, [0.0, 2 / 3, -2 / 3], atol=1e-12)
    for estimate in (r["no_baseline"], r["baseline"]):  # both unbiased: within ~5 standard errors of 200,000
        assert np.abs(estimate["mean"] - exact).max() < 5 * estimate["spread"] / np.sqrt(200_000)
    assert r["spread_ratio"] > 5                       # 9.48 vs 1.09 measured
    best = r["best_arm_probability"]
    assert best[True].min() > 0.9                      # with the baseline every run finds the best arm (worst 0.95)
    assert (best[False] > 0.9).mean() < 0.9            # without it some lock onto a worse one (68% above 0.9)
    assert best[False].min() < 0.1


# ----- 10K parameters: which gradient-free method works at which size -----------------------------------------
def test_at_12_parameters_every_method_learns_and_some_beat_adam():
    runs = run("gradient_free_sizes")["runs"]
    assert {parameters for parameters, _ in runs} == {12, 90}
    start = runs[12, "adam"].best[0]
    for (parameters, method), result in runs.items():
        assert result.nfev[-1] <= 1000, method                           # the shared budget
        if parameters == 12:
            # every method learns (ES least: 0.55 from 0.69)
            assert result.val_accuracy > 0.9 and result.train_loss < 0.9 * start, method
    for method in ("powell", "cma", "nelder-mead"):                      # ... these to a lower loss than Adam's
        assert runs[12, method].train_loss < runs[12, "adam"].train_loss   # in fewer evaluations
        assert runs[12, method].nfev[-1] < 1000


def test_at_90_parameters_no_gradient_free_method_reaches_adams_loss():
    runs = run("gradient_free_sizes")["runs"]
    adam = runs[90, "adam"]
    for method in ("nelder-mead", "powell", "annealing", "metropolis", "cma", "ga", "es"):
        result = runs[90, method]
        assert result.train_loss > adam.train_loss, method
        assert 0 < result.adam_match < 200, method                       # Adam got there in 5 to 135 steps
    for method in ("nelder-mead", "annealing", "ga", "es"):               # these barely moved: 2.0-2.36 from ~2.4
        assert runs[90, method].train_loss > 2 * adam.train_loss, method


def test_the_page_shows_the_full_table_that_examples_readme_records():
    table = run("gradient_free_sizes")["recorded_table"]
    rows = [line.split("|")[1:-1] for line in table[2:]]
    assert table[0].startswith("| params | method")
    assert [int(row[0].replace(",", "")) for row in rows[::9]] == [12, 90, 972, 9985]   # four sizes, nine methods
    assert {row[1].strip() for row in rows} == {"sgd", "adam", "nelder-mead", "powell", "annealing", "metropolis",
                                                "cma", "ga", "es"}
    load("gradient_free_sizes").README.read_text(encoding="utf-8").index("\n".join(table))  # quoted verbatim


def test_a_readme_without_the_recorded_table_is_named_in_the_error(tmp_path, monkeypatch):
    module = load("gradient_free_sizes")
    (tmp_path / "README.md").write_text("# Examples\n\n| script | question |\n", encoding="utf-8")
    monkeypatch.setattr(module, "README", tmp_path / "README.md")
    with pytest.raises(ValueError, match=r"gradient_free_sizes: expected .*README\.md to have a section "
                                         r"'## Training without gradients\.\.\.'"):
        module.recorded_table()


# ----- why gradients: evaluations to a loss as n grows ------------------------------------------------------------
def test_a_gradient_costs_a_few_forward_passes():
    price = run("gradients_vs_metaheuristics")["gradient_price"]
    assert 1.2 < price < 6  # 2.1 measured (median of 15 back-to-back rounds)


def test_backprops_evaluations_stay_flat_and_the_others_grow_with_n():
    r = run("gradients_vs_metaheuristics")
    table, growth = r["evaluations"], r["growth"]
    assert sorted(table) == [10, 30, 100]
    assert all(row["backprop"] <= 10 for row in table.values())           # 5-6 steps at every n
    for n, row in table.items():                                          # finite differences: 2n + 1 a step
        assert (row["finite differences"] - 1) % (2 * n + 1) == 0 and row["finite differences"] >= 2 * n, n
        assert row["es"] > 10 * row["backprop"] and row["cma"] > 10 * row["backprop"], n
    assert growth["backprop"] < 2 and growth["finite differences"] > 5 and growth["cma"] > 3   # 0.8x, 7.6x, 6.2x
    assert table[100]["es"] > table[10]["es"]                              # 4,743 -> 6,375
    assert min(r["times_backprop"].values()) > 100                        # at n = 100: 161x, 510x, 1,275x
