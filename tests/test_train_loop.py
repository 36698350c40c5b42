"""retrograd.train.fit's scheduler dispatch and History.plot, which must not touch matplotlib's global state."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn, optim
from retrograd.optim.lr_scheduler import ReduceLROnPlateau
from retrograd.train import History, fit


class LoggedPlateau(ReduceLROnPlateau):
    """A user's subclass: fit must still step it with the monitored loss (its class name is another)."""

    def __init__(self, *args, **kwargs):
        self.metrics = []
        super().__init__(*args, **kwargs)

    def step(self, metrics, epoch=None):
        self.metrics.append(metrics)
        super().step(metrics)


def test_fit_steps_a_plateau_scheduler_subclass_with_the_validation_loss():
    rg.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = LoggedPlateau(optimizer, patience=0)
    data = np.random.default_rng(0)
    batches = [(rg.tensor(data.standard_normal((8, 3)).astype(np.float32)),
                rg.tensor(data.standard_normal((8, 1)).astype(np.float32)))]
    history = fit(model, nn.MSELoss(), optimizer, batches, val_loader=batches, epochs=3, scheduler=scheduler,
                  progress=False, log=None)
    assert scheduler.metrics == history["val_loss"]


PLOT_KEEPS_THE_BACKEND = """
import sys
import matplotlib
from retrograd.train import History
history = History()
for epoch in range(3):
    history.append(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + 0.1 * epoch, "val_loss": 1.2 / (epoch + 1),
                           "val_accuracy": 0.4 + 0.1 * epoch})
history.plot(sys.argv[1])
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="the plot extra is not installed")
def test_history_plot_writes_a_png_and_leaves_the_backend_and_pyplot_alone(tmp_path):
    path = tmp_path / "history.png"
    env = dict(os.environ, MPLBACKEND="svg")  # the user's choice, which plotting must keep
    done = subprocess.run([sys.executable, "-c", PLOT_KEEPS_THE_BACKEND, str(path)], env=env, capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["svg", "False"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "retrograd\[plot\]"'):
        History([{"epoch": 1, "loss": 1.0}]).plot(tmp_path / "h.png")
