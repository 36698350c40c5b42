"""The command's jobs end to end: the demos (MNIST, spirals), MNIST training with LeNet, bit-identical resume, the
char-LSTM job."""
import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import retrograd as rg
from retrograd import cli
from retrograd.jobs import charlm, mnist, spirals

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_quick_runs_gradcheck_trains_and_saves(tmp_path, capsys):
    status = cli.main(["demo", "--quick", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "gradient check: PASSED" in out and "held-out accuracy" in out
    assert (tmp_path / "checkpoint.safetensors").is_file()
    # a plot where the plot extra is installed (.ci/run also runs this test with it blocked)
    assert (tmp_path / "history.png").is_file() == (importlib.util.find_spec("matplotlib") is not None)
    accuracy = float(out.split("held-out accuracy: ")[1].split("%")[0])
    assert accuracy > 70  # 2 epochs on 2,000 images


def test_python_m_retrograd_demo_spirals_quick():
    done = subprocess.run([sys.executable, "-m", "retrograd", "demo", "--spirals", "--quick"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "gradcheck (float64" in done.stdout and ": passed" in done.stdout
    assert "final accuracy" in done.stdout and "loss" in done.stdout


def test_spirals_job_reports_a_failed_gradcheck_in_its_exit_status(monkeypatch, capsys):
    monkeypatch.setattr(spirals, "check_gradients", lambda x, one_hot: (False, "gradcheck: FAILED"))
    assert spirals.run(steps=2) == 1
    assert "gradcheck: FAILED" in capsys.readouterr().out


def _small_config(tmp_path, **overrides):
    settings = dict(epochs=3, train_size=600, val_size=200, batch_size=50, gradcheck=False, progress=False,
                    out_dir=str(tmp_path))
    settings.update(overrides)
    return mnist.MnistConfig(**settings)


def test_killed_and_resumed_run_matches_the_uninterrupted_one(tmp_path):
    full = mnist.run(_small_config(tmp_path / "full"), log=lambda *a: None)
    full_state = rg.load(full["checkpoint"])["model"]

    def kill_during_epoch_2(message):
        if message.startswith("epoch 2:"):  # before epoch 2's checkpoint is written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mnist.run(_small_config(tmp_path / "part"), log=kill_during_epoch_2)
    assert rg.load(tmp_path / "part" / "checkpoint.safetensors")["epoch"] == 1
    resumed = mnist.run(_small_config(tmp_path / "resumed", resume=str(tmp_path / "part" / "checkpoint.safetensors")),
                        log=lambda *a: None)
    resumed_state = rg.load(resumed["checkpoint"])["model"]
    assert len(resumed["history"]) == 3
    for key, value in full_state.items():
        np.testing.assert_array_equal(resumed_state[key].array, value.array, err_msg=key)
    assert resumed["accuracy"] == full["accuracy"]


def test_resuming_with_more_epochs_anneals_the_cosine_schedule_to_the_new_total(tmp_path):
    """2 epochs (T_max 2), then --epochs 4: epochs 3 and 4 follow the cosine of T_max 4 (the restored T_max 2 would
    run them at lr 0 and 0.025, the bottom of the old cycle and its climb back)."""
    first = mnist.run(_small_config(tmp_path / "first", epochs=2, train_size=200, val_size=100), log=lambda *a: None)
    messages = []
    resumed = mnist.run(_small_config(tmp_path / "more", epochs=4, train_size=200, val_size=100,
                                      resume=first["checkpoint"]), log=messages.append)
    lr = 0.05  # MnistConfig's
    assert resumed["history"]["lr"][:2] == first["history"]["lr"] == [lr, lr / 2]
    assert resumed["history"]["lr"][2:] == pytest.approx([lr * (1 + math.cos(math.pi * t / 4)) / 2 for t in (2, 3)],
                                                         rel=1e-12, abs=0)
    assert [m for m in messages if m.startswith("cosine schedule:")] == [
        "cosine schedule: annealing over 4 epochs in all, not the checkpoint's 2: lr 0.025 for epoch 3"]
    assert rg.load(resumed["checkpoint"])["scheduler"]["T_max"] == 4


def test_resuming_with_fewer_epochs_than_done_trains_nothing_and_keeps_the_schedule(tmp_path):
    first = mnist.run(_small_config(tmp_path / "first", epochs=2, train_size=200, val_size=100), log=lambda *a: None)
    saved = rg.load(first["checkpoint"])
    messages = []
    again = mnist.run(_small_config(tmp_path / "fewer", epochs=1, train_size=200, val_size=100,
                                    resume=first["checkpoint"]), log=messages.append)
    assert again["history"]["lr"] == first["history"]["lr"] and again["accuracy"] == first["accuracy"]
    assert not any(m.startswith("cosine schedule:") for m in messages)
    assert not os.path.exists(tmp_path / "fewer" / "checkpoint.safetensors")  # no epoch ended: nothing saved
    assert saved["scheduler"]["T_max"] == 2


def test_lenet_trains_on_images(tmp_path):
    result = mnist.run(_small_config(tmp_path, model="lenet", epochs=2, train_size=1000, batch_size=32),
                       log=lambda *a: None)
    assert result["accuracy"] > 0.3
    assert rg.load(result["checkpoint"])["model"]["features.0.weight"].shape == (6, 1, 5, 5)


def test_unknown_model_and_bad_data_are_clear_errors(tmp_path):
    with pytest.raises(SystemExit, match="--model vgg does not apply to MNIST"):
        cli.main(["train", "--model", "vgg", "--out", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="expected 'mnist'"):
        mnist.run(_small_config(tmp_path, data="/nonexistent/path"), log=lambda *a: None)


def test_char_lstm_job_trains_samples_and_resumes(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 200)
    config = charlm.CharConfig(file=str(text), hidden=32, embed=8, batch_size=4, k1=10, epochs=1, lr=1e-2,
                               sample_length=40, out_dir=str(tmp_path / "run"), progress=False)
    first = charlm.run(config, log=lambda *a: None)
    assert first["val_nats"] < np.log(len(set(text.read_text())))  # better than uniform guessing
    assert len(first["sample"]) == 40 and set(first["sample"]) <= set(text.read_text())
    config.resume, config.epochs = first["checkpoint"], 2  # epochs counts all epochs, the checkpoint's included
    second = charlm.run(config, log=lambda *a: None)
    assert len(second["history"]) == 2 and second["val_nats"] < first["val_nats"]


def test_char_job_on_the_embedded_corpus_via_the_command(tmp_path, capsys):
    status = cli.main(["train", "--data", "text", "--model", "gru", "--hidden", "16", "--k1", "20",
                       "--minutes", "0.02", "--sample-length", "20", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0 and "nats/char" in out and "embedded tinyshakespeare excerpt" in out
    assert os.path.isfile(tmp_path / "checkpoint.safetensors")


def test_char_job_trains_with_k1_greater_than_k2_via_the_command(tmp_path, capsys):
    """`--k1 50 --k2 10` (Theano's truncation: each update's loss covers 50 steps, its gradient the last 10)."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 100)
    status = cli.main(["train", "--data", "text", "--file", str(corpus), "--hidden", "16", "--k1", "50", "--k2", "10",
                       "--batch-size", "4", "--lr", "0.01", "--sample-length", "20", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0 and "TBPTT(k1=50, k2=10)" in out
    validation = float(out.split("validation ")[1].split()[0])
    assert validation < np.log(len(set(corpus.read_text())))  # it learned: better than uniform guessing
