"""Diagnostics flag the classic backprop failures and stay quiet on a healthy model."""
import numpy as np

import retrograd as rg
from retrograd import diagnostics, nn


def _batch():
    rng = np.random.default_rng(0)
    return rg.tensor(rng.standard_normal((32, 8)).astype(np.float32)), rg.tensor(rng.integers(0, 3, 32))


def test_healthy_model_has_no_problems():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    report = diagnostics.check_model(model, nn.CrossEntropyLoss(), _batch())
    assert report.healthy, str(report)
    assert [row["parameter"] for row in report.rows] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_symmetric_initialisation_is_flagged():
    model = nn.Sequential(nn.Linear(8, 4), nn.Sigmoid(), nn.Linear(4, 3))
    nn.init.constant_(model[0].weight, 0.3)
    report = diagnostics.check_model(model, nn.CrossEntropyLoss(), _batch())
    assert any("identical weights" in p and "0.weight" in p for p in report.problems)
    assert diagnostics.symmetric_units(model[0].weight) == [[0, 1, 2, 3]]


def test_dead_relus_and_saturated_sigmoids_are_flagged():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 3))
    nn.init.constant_(model[0].bias, -100.0)  # every ReLU unit is off
    nn.init.constant_(model[2].bias, 50.0)  # every sigmoid is saturated
    x, _ = _batch()
    health = diagnostics.activation_health(model, x)
    assert health.rows[0]["dead"] == 1.0 and health.rows[1]["saturated"] == 1.0
    assert len(health.problems) == 2


def test_activation_subclasses_are_checked_by_what_they_are_not_by_their_names():
    class ClippedReLU(nn.ReLU):  # a user's subclass: a ReLU, so its dead units count
        pass

    model = nn.Sequential(nn.Linear(8, 16), ClippedReLU(), nn.Linear(16, 3))
    nn.init.constant_(model[0].bias, -100.0)
    x, _ = _batch()
    health = diagnostics.activation_health(model, x)
    assert health.rows == [{"module": "1", "kind": "ClippedReLU", "dead": 1.0, "saturated": "-"}]
    assert len(health.problems) == 1 and "1: 100% of the ReLU units are dead" in health.problems[0]


def test_gradient_flow_flags_vanishing_exploding_and_missing():
    a, b, c = (nn.Parameter(rg.ones(3)) for _ in range(3))
    a.grad, b.grad = rg.full((3,), 1e-12), rg.full((3,), 1e6)
    report = diagnostics.gradient_flow({"a": a, "b": b, "c": c})
    assert [row["flag"] for row in report.rows] == ["vanishing", "exploding", "no gradient"]
    assert "clip" in report.problems[1]


def test_training_stalled():
    assert diagnostics.training_stalled([1.0] * 30)[0]
    assert not diagnostics.training_stalled(list(np.linspace(2, 1, 30)))[0]
    assert diagnostics.training_stalled([1.0, float("nan")])[0]


# ----- training_stalled: the slope of a line through a window, against the loss scale ----------------------
def _noisy(values, noise, seed=0):
    return list(np.asarray(values) * (1 + noise * np.random.default_rng(seed).standard_normal(len(values))))


def test_a_loss_still_falling_one_and_a_half_percent_per_500_steps_is_not_stalled():
    steps = np.arange(2000)
    losses = _noisy(0.8 * 0.985 ** (steps / 500), noise=0.01)  # 1.5% per 500 steps, 1% noise per step
    stalled, reason = diagnostics.training_stalled(losses)  # the default window: the last 1,000 steps
    assert not stalled, reason
    fall = float(reason.split(" falls ")[1].split("%")[0])
    assert 2.5 < fall < 3.5  # it measured ~3% across 1,000 steps, and says so
    assert "last 1000 losses" in reason
    stalled, reason = diagnostics.training_stalled(losses, window=500)
    assert not stalled and 1.0 < float(reason.split(" falls ")[1].split("%")[0]) < 2.0, reason


def test_a_flat_noisy_loss_is_stalled_and_a_rising_one_says_so():
    stalled, reason = diagnostics.training_stalled(_noisy(np.full(2000, 0.5), noise=0.01))
    assert stalled and reason.startswith("stalled: "), reason
    stalled, reason = diagnostics.training_stalled(list(np.linspace(1.0, 1.2, 100)))
    assert stalled and reason.startswith("the loss is rising: ") and "rises" in reason, reason
    assert diagnostics.training_stalled([1.0] * 10)[1] == "too few values to judge (10 < 20)"
    assert diagnostics.training_stalled([1.0] * 10, window=20)[1] == "too few values to judge (10 < window 20)"


def test_training_stalled_rejects_a_bad_window():
    import pytest

    with pytest.raises(ValueError, match="window must be an integer >= 3, got 2"):
        diagnostics.training_stalled([1.0] * 30, window=2)


# ----- compare_gradients: a hand-written backward against autograd --------------------------------------
class _TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        # registered output-first, so that forward order (hidden, output) differs from registration order
        self.output, self.hidden, self.act = nn.Linear(4, 2), nn.Linear(3, 4), nn.Tanh()

    def forward(self, x):
        return self.output(self.act(self.hidden(x)))


def _hand_written(params, x, y, bug=None):
    """MSELoss (mean) of output(tanh(hidden(x))), by hand; `bug` names a mistake to make."""
    h = np.tanh(x @ params["hidden.weight"].T + params["hidden.bias"])
    out = h @ params["output.weight"].T + params["output.bias"]
    d_out = 2 * (out - y) / y.size
    d_h = (d_out @ params["output.weight"]) * (1 - h ** 2)
    grads = {"hidden.weight": d_h.T @ x, "hidden.bias": d_h.sum(axis=0), "output.weight": d_out.T @ h,
             "output.bias": d_out.sum(axis=0)}
    if bug == "output":  # forgot the 2 of the squared error: every layer's gradient is off by 2
        grads = {name: g / 2 for name, g in grads.items()}
    elif bug == "hidden":
        grads["hidden.weight"] = grads["hidden.weight"] * 1.01
    return grads


def _problem():
    rg.manual_seed(0)
    rng = np.random.default_rng(1)
    return _TwoLayer(), rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 2))


def test_compare_gradients_agrees_with_a_correct_backward_in_forward_order():
    model, x, y = _problem()
    before = {name: p.array.copy() for name, p in model.named_parameters()}
    report = diagnostics.compare_gradients(_hand_written, model, nn.MSELoss(), (x, y))
    assert report.healthy and report.first_difference is None, str(report)
    assert [row["parameter"] for row in report.rows] == ["hidden.weight", "hidden.bias", "output.weight",
                                                         "output.bias"]
    assert all(row["relative_error"] < 1e-12 for row in report.rows)
    for name, p in model.named_parameters():  # the model is left as it was: float32, same values, no .grad
        assert p.dtype == rg.float32 and p.grad is None
        np.testing.assert_array_equal(p.array, before[name])


def test_compare_gradients_names_the_first_layer_that_differs_with_its_relative_error():
    model, x, y = _problem()
    report = diagnostics.compare_gradients(lambda p, x, y: _hand_written(p, x, y, bug="hidden"), model,
                                           nn.MSELoss(), (x, y))
    first = report.first_difference
    assert (first["layer"], first["parameter"]) == ("hidden", "hidden.weight")
    assert abs(first["relative_error"] - 0.01 / 2.01) < 1e-9  # ||0.01 g|| / (||1.01 g|| + ||g||)
    assert len(report.problems) == 1 and "layer 'hidden'" in report.problems[0] and "4.98e-03" in report.problems[0]
    everywhere = diagnostics.compare_gradients(lambda p, x, y: _hand_written(p, x, y, bug="output"), model,
                                               nn.MSELoss(), (x, y))
    assert everywhere.first_difference["parameter"] == "hidden.weight"
    assert abs(everywhere.first_difference["relative_error"] - 1 / 3) < 1e-9  # ||g/2 - g|| / (||g/2|| + ||g||)
    assert "hidden.weight, hidden.bias, output.weight, output.bias" in everywhere.problems[0]


def test_compare_gradients_accepts_a_list_and_names_wrong_shapes_and_names():
    import pytest

    model, x, y = _problem()
    names = [name for name, _ in model.named_parameters()]  # output.*, hidden.*: registration order

    def as_list(params, x, y):
        grads = _hand_written(params, x, y)
        return [grads[name] for name in names]

    assert diagnostics.compare_gradients(as_list, model, nn.MSELoss(), (x, y)).healthy

    def transposed(params, x, y):
        grads = _hand_written(params, x, y)
        grads["hidden.weight"] = grads["hidden.weight"].T
        return grads

    report = diagnostics.compare_gradients(transposed, model, nn.MSELoss(), (x, y))
    assert report.first_difference["verdict"] == "shape (3, 4), expected (4, 3)"
    with pytest.raises(KeyError, match=r"missing \['output.bias'\], unknown \['out.bias'\]"):
        diagnostics.compare_gradients(
            lambda p, x, y: {("out.bias" if k == "output.bias" else k): v for k, v in _hand_written(p, x, y).items()},
            model, nn.MSELoss(), (x, y))
    with pytest.raises(ValueError, match="returned 3 gradients; expected 4"):
        diagnostics.compare_gradients(lambda p, x, y: as_list(p, x, y)[:3], model, nn.MSELoss(), (x, y))
    with pytest.raises(TypeError, match="batch must be \\(inputs, targets\\), got tuple of length 3"):
        diagnostics.compare_gradients(_hand_written, model, nn.MSELoss(), (x, y, y))


def test_check_model_says_nothing_while_compare_gradients_finds_the_stalled_networks_bug():
    """The seed's 3-hidden-unit network, whose hidden delta goes back through the wrong weight matrix."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "stalled_network.py"
    spec = importlib.util.spec_from_file_location("retrograd_example_stalled_network_diag", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    x, y = example.make_data()
    params, _ = example.train(example.buggy_backward, x, y, steps=2000)
    model = example.twin(params)
    health = diagnostics.check_model(model, nn.MSELoss(), (rg.tensor(x), rg.tensor(y)))
    assert health.healthy and str(health).endswith("no problems found")
    report = diagnostics.compare_gradients(example.buggy_backward, model, nn.MSELoss(), (x, y))
    assert report.first_difference["layer"] == "hidden" and report.first_difference["relative_error"] > 0.1
    assert [row["verdict"] for row in report.rows] == ["differs", "differs", "ok", "ok"]
    assert diagnostics.compare_gradients(example.fixed_backward, model, nn.MSELoss(), (x, y)).healthy


# ----- recurrent_gradient_norms: ||dL/dh_t|| against an unrolled reference -------------------------------
def _torch_unrolled_norms(cell, rnn, x, readout):
    """||dL/dh_t|| from PyTorch's cell unrolled by hand, h_t.retain_grad() at every step (time-major x)."""
    import torch

    cells = {"RNN": torch.nn.RNNCell, "LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell}
    step = cells[cell](x.shape[2], rnn.hidden_size).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(step, name).copy_(torch.from_numpy(getattr(rnn, name + "_l0").array))
    h = torch.zeros(x.shape[1], rnn.hidden_size, dtype=torch.float64)
    c = torch.zeros_like(h)
    hs = []
    for t in range(x.shape[0]):
        if cell == "LSTM":
            h, c = step(torch.from_numpy(x[t]), (h, c))
        else:
            h = step(torch.from_numpy(x[t]), h)
        h.retain_grad()
        hs.append(h)
    (torch.stack(hs) * torch.from_numpy(readout)).sum().backward()
    return np.array([float(h.grad.norm()) for h in hs])


def test_recurrent_gradient_norms_match_an_unrolled_pytorch_reference():
    rng = np.random.default_rng(3)
    x, readout = rng.standard_normal((9, 2, 3)), rng.standard_normal((9, 2, 5))
    for cell in ("RNN", "LSTM", "GRU"):
        rg.manual_seed(0)
        rnn = getattr(nn, cell)(3, 5).double()
        norms = diagnostics.recurrent_gradient_norms(rnn, rg.tensor(x), lambda out: (out * rg.tensor(readout)).sum())
        np.testing.assert_allclose(norms, _torch_unrolled_norms(cell, rnn, x, readout), rtol=1e-10, err_msg=cell)
        assert all(p.grad is None for p in rnn.parameters())  # nothing accumulates


def test_recurrent_gradient_norms_vanish_backwards_from_a_last_step_loss_batch_first():
    rg.manual_seed(0)
    rnn = nn.RNN(4, 8, batch_first=True).double()
    x = rg.tensor(np.random.default_rng(0).standard_normal((2, 30, 4)))
    norms = diagnostics.recurrent_gradient_norms(rnn, x, lambda out: out[:, -1].sum())
    assert norms.shape == (30,) and norms[-1] == np.sqrt(2 * 8)  # dL/dh_T is all ones
    assert norms[0] < 1e-3 * norms[-1]  # the vanishing gradient: a tanh RNN at default init


def test_recurrent_gradient_norms_name_what_they_cannot_take():
    import pytest

    with pytest.raises(TypeError, match="expected an nn.RNN, nn.LSTM or nn.GRU, got Linear"):
        diagnostics.recurrent_gradient_norms(nn.Linear(2, 2), rg.zeros(3, 1, 2), lambda out: out.sum())
    with pytest.raises(ValueError, match="bidirectional"):
        diagnostics.recurrent_gradient_norms(nn.RNN(2, 2, bidirectional=True), rg.zeros(3, 1, 2), lambda o: o.sum())


def test_plot_recurrent_gradient_norms_saves_a_png(tmp_path):
    path = diagnostics.plot_recurrent_gradient_norms([np.geomspace(1, 1e-6, 20), np.geomspace(1, 0.1, 20)],
                                                     tmp_path / "norms.png", labels=["RNN", "LSTM"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_recurrent_gradient_norms_names_the_plot_extra_when_matplotlib_is_missing(tmp_path, monkeypatch):
    import sys

    import pytest

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r'pip install "retrograd\[plot\]"'):
        diagnostics.plot_recurrent_gradient_norms(np.ones(3), tmp_path / "norms.png")
    assert not (tmp_path / "norms.png").exists()


def test_recurrent_gradient_norms_of_a_two_layer_lstm_are_the_top_layers():
    import torch

    rng = np.random.default_rng(4)
    x, readout = rng.standard_normal((2, 7, 3)), rng.standard_normal((2, 7, 4))  # batch-first
    rg.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True).double()
    norms = diagnostics.recurrent_gradient_norms(lstm, rg.tensor(x), lambda out: (out * rg.tensor(readout)).sum())
    cells = [torch.nn.LSTMCell(3, 4).double(), torch.nn.LSTMCell(4, 4).double()]
    with torch.no_grad():
        for layer, cell in enumerate(cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(torch.from_numpy(getattr(lstm, f"{name}_l{layer}").array))
    states = [(torch.zeros(2, 4, dtype=torch.float64),) * 2 for _ in cells]
    tops = []
    for t in range(7):
        h = torch.from_numpy(x[:, t])
        for layer, cell in enumerate(cells):
            states[layer] = cell(h, states[layer])
            h = states[layer][0]
        h.retain_grad()
        tops.append(h)
    (torch.stack(tops, dim=1) * torch.from_numpy(readout)).sum().backward()
    np.testing.assert_allclose(norms, [float(h.grad.norm()) for h in tops], rtol=1e-10)
