"""A clean first run: `pip install retrograd` without extras has all the demo needs, and the demo finishes
without the plot extra (.ci/run also runs it, and the checkpoint tests, with every optional package blocked)."""
import importlib.metadata
import re
import sys

from retrograd import cli


def _requirement_names(requirements):
    return {re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower() for requirement in requirements}


def test_the_checkpoint_format_is_a_core_dependency():
    requires = importlib.metadata.requires("retrograd")
    core = _requirement_names(r for r in requires if "extra ==" not in r)
    assert {"numpy", "tqdm", "safetensors"} <= core  # the demo and the jobs save safetensors checkpoints
    assert "matplotlib" not in core and "torch" not in core
    extras = importlib.metadata.metadata("retrograd").get_all("Provides-Extra")
    assert {"plot", "checkpoints", "all", "test"} <= set(extras)  # "checkpoints" stays, for old install lines


def test_demo_without_the_plot_extra_finishes_and_says_how_to_get_plots(tmp_path, capsys, monkeypatch):
    for name in [name for name in sys.modules if name.partition(".")[0] == "matplotlib"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails, as when it is not installed
    status = cli.main(["demo", "--quick", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0 and "held-out accuracy" in out
    assert (tmp_path / "checkpoint.safetensors").is_file() and not (tmp_path / "history.png").exists()
    assert [line for line in out.splitlines() if "matplotlib" in line or line.startswith("plot")] == [
        '(no plot: History.plot needs matplotlib: pip install "retrograd[plot]")']
