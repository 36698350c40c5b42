"""The policy-gradient and gradient-free question pages (issues 13 and 14): their examples give the numbers the
pages claim.

Each example's main() runs once per session (tests/test_examples.py's `run`), shared with the docs build in
tests/test_docs_site.py. examples/cartpole_seed_agent.py's numbers are tested in tests/test_examples.py; its page
is checked here.
"""
import numpy as np
import pytest

from test_examples import EXAMPLES, load, run

TESTED_EXAMPLES = {"reinforce_gradient"}
PAGES = TESTED_EXAMPLES | {"cartpole_seed_agent"}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_runs_its_example(name):
    text = (EXAMPLES.parent / "docs" / "questions" / f"{name}.md").read_text(encoding="utf-8")
    assert f"<!-- run: examples/{name}.py -->" in text
    assert f"python examples/{name}.py" in text


def test_cartpole_page_shows_the_figure_the_example_saves():
    text = (EXAMPLES.parent / "docs" / "questions" / "cartpole_seed_agent.md").read_text(encoding="utf-8")
    assert "<!-- figure: examples/cartpole_seed_agent.py lengths.png -->" in text


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
