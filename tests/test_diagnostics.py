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
