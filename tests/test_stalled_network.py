"""examples/stalled_network.py (docs/questions/stalled-network.md): the hand-written 3-hidden-unit network whose
hidden delta goes back through the wrong weight matrix stalls; check_model sees nothing, compare_gradients names
the hidden layer, and the one-matrix fix trains on."""
import functools
import importlib.util
import pathlib

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "stalled_network.py"


@functools.lru_cache(maxsize=None)
def _result():
    spec = importlib.util.spec_from_file_location("retrograd_example_stalled_network", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main()


def test_the_buggy_network_stalls_and_the_fixed_one_does_not():
    r = _result()
    assert r["buggy_stalled"] and not r["fixed_stalled"]
    assert 2.5e-3 < r["buggy_final_loss"] < 3.5e-3
    assert r["fixed_final_loss"] < 1e-4 and r["buggy_final_loss"] / r["fixed_final_loss"] > 30


def test_check_model_finds_nothing_and_compare_gradients_names_the_hidden_layer():
    r = _result()
    assert r["check_model_healthy"]
    assert (r["first_layer"], r["first_parameter"]) == ("hidden", "hidden.weight")
    assert r["first_relative_error"] > 0.5
    assert r["differing"] == ["hidden.weight", "hidden.bias"]  # the output layer's gradient is right
    assert r["fixed_healthy"] and r["fixed_worst_relative_error"] < 1e-12


def test_the_figure_is_saved_only_when_asked(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("retrograd_example_stalled_network_figure", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv("RETROGRAD_FIGURES", raising=False)
    module.draw_losses([1.0, 0.5], [1.0, 0.1])
    monkeypatch.setenv("RETROGRAD_FIGURES", str(tmp_path))
    module.draw_losses([1.0, 0.5], [1.0, 0.1])
    assert [p.name for p in tmp_path.iterdir()] == ["stalled_network.png"]
