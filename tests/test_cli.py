"""The `retrograd` command: every bad option is refused at parse time (one line naming it, exit status 2,
no traceback); options given are used as given (0 is a value, not "use the default"); errors while
running print one line unless --debug; --version; --epochs counts all epochs for every job."""
import os
import subprocess
import sys

import pytest

import retrograd
from retrograd import cli
from retrograd.jobs import charlm, mnist

# (the invocation, the option its one-line error must name)
BAD_INVOCATIONS = [
    ("train --epochs 0", "--epochs"),
    ("train --epochs -1", "--epochs"),
    ("train --epochs abc", "--epochs"),
    ("train --epochs 1.5", "--epochs"),
    ("train --lr 0", "--lr"),
    ("train --lr -0.1", "--lr"),
    ("train --lr nan", "--lr"),
    ("train --lr inf", "--lr"),
    ("train --lr abc", "--lr"),
    ("train --batch-size 0", "--batch-size"),
    ("train --batch-size -5", "--batch-size"),
    ("train --momentum -1", "--momentum"),
    ("train --momentum nan", "--momentum"),
    ("train --weight-decay -1", "--weight-decay"),
    ("train --hidden 32,,16", "--hidden"),
    ("train --hidden abc", "--hidden"),
    ("train --hidden -4", "--hidden"),
    ("train --hidden 32,0", "--hidden"),
    ("train --train-size 0", "--train-size"),
    ("train --train-size -1", "--train-size"),
    ("train --val-size 0", "--val-size"),
    ("train --data text --layers 0", "--layers"),
    ("train --data text --k1 0", "--k1"),
    ("train --data text --k2 0", "--k2"),
    ("train --data text --clip -1", "--clip"),
    ("train --data text --clip 0", "--clip"),
    ("train --data text --clip nan", "--clip"),
    ("train --data text --minutes -1", "--minutes"),
    ("train --data text --minutes 0", "--minutes"),
    ("train --data text --temperature -1", "--temperature"),
    ("train --data text --temperature 0", "--temperature"),
    ("train --data text --sample-length -1", "--sample-length"),
    ("train --seed -1", "--seed"),
    ("train --seed abc", "--seed"),
    ("train --model vgg", "--model"),
    ("train --data text --model mlp", "--model"),
    ("train --data /nonexistent/mnist", "--data"),
    ("train --data /nonexistent/images,/nonexistent/labels", "--data"),
    ("train --data text --file /nonexistent/corpus.txt", "--file"),
    ("train --resume /nonexistent/checkpoint.safetensors", "--resume"),
    ("train --resume /", "--resume"),
    ("train --optimizer lbfgs", "--optimizer"),
    ("train --activation gelu", "--activation"),
    ("train --data text --hidden 32,16", "--hidden"),
    ("train --data text --hidden 0", "--hidden"),
    ("train --model lenet --hidden 32", "--hidden"),
    ("train --no-such-option", "--no-such-option"),
    ("train --data text --optimizer sgd", "--optimizer"),
    ("train --data text --no-gradcheck", "--no-gradcheck"),
    ("train --k1 20", "--k1"),
    ("train --minutes 1", "--minutes"),
    ("demo --epochs 0", "--epochs"),
    ("demo --epochs -3", "--epochs"),
    ("bench --threads 0", "--threads"),
    ("bench --steps 0", "--steps"),
    ("bench --rounds 0", "--rounds"),
    ("bench --rounds abc", "--rounds"),
    ("bench --warmup -1", "--warmup"),
    ("bench --dtype float16", "--dtype"),
    ("bench --workload nope", "nope"),
    ("bench --torch-ref /nonexistent/torch_ref.py", "--torch-ref"),
    ("nosuchcommand", "nosuchcommand"),
    ("--nosuchflag", "--nosuchflag"),
]


@pytest.mark.parametrize("invocation, option", BAD_INVOCATIONS, ids=[case[0] for case in BAD_INVOCATIONS])
def test_bad_invocation_is_one_line_naming_the_option_and_exit_status_2(invocation, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(invocation.split())
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert option in err and "error" in err and "Traceback" not in err


def _configs(monkeypatch, argv):
    """The job config the command builds for argv (the job itself is replaced by a recorder)."""
    seen = []
    monkeypatch.setattr(mnist, "run", lambda config: seen.append(config) or {"gradcheck": None})
    monkeypatch.setattr(charlm, "run", lambda config: seen.append(config) or {})
    assert cli.main(argv) == 0
    (config,) = seen
    return config


def test_options_are_used_as_given_not_replaced_by_defaults(monkeypatch):
    config = _configs(monkeypatch, ["train", "--epochs", "1", "--lr", "0.3", "--batch-size", "1", "--hidden", "0",
                                    "--momentum", "0", "--weight-decay", "0"])
    assert (config.epochs, config.lr, config.batch_size, config.hidden) == (1, 0.3, 1, ())
    assert (config.momentum, config.weight_decay) == (0.0, 0.0)
    assert _configs(monkeypatch, ["train", "--hidden", ""]).hidden == ()
    defaults = _configs(monkeypatch, ["train"])
    assert (defaults.epochs, defaults.lr, defaults.batch_size, defaults.hidden) == (15, 0.05, 64, (256, 128))
    assert (defaults.optimizer, defaults.momentum, defaults.weight_decay, defaults.train_size) == ("sgd", 0.9, 5e-4,
                                                                                                   8000)
    text = _configs(monkeypatch, ["train", "--data", "text", "--hidden", "8", "--k1", "5", "--epochs", "3",
                                  "--lr", "0.01", "--batch-size", "2", "--temperature", "0.5"])
    assert (text.hidden, text.k1, text.k2, text.epochs, text.lr, text.batch_size) == (8, 5, 5, 3, 0.01, 2)
    assert (text.temperature, text.clip, text.layers, text.sample_length) == (0.5, 5.0, 1, 300)
    truncated = _configs(monkeypatch, ["train", "--data", "text", "--k1", "50", "--k2", "10"])
    assert (truncated.k1, truncated.k2) == (50, 10)  # k2 < k1 is Theano's truncation, no longer refused


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"retrograd {retrograd.__version__}"


def test_an_error_while_running_is_one_line_unless_debug(monkeypatch, capsys):
    def fails(config):
        raise ValueError("MNIST job: something went wrong\nsecond line")

    monkeypatch.setattr(mnist, "run", fails)
    assert cli.main(["train"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "retrograd: error: MNIST job: something went wrong (run with --debug for the traceback)"
    for argv in (["--debug", "train"], ["train", "--debug"]):
        assert cli.main(argv) == 1
        err = capsys.readouterr().err
        assert "Traceback" in err and "ValueError: MNIST job: something went wrong" in err


def test_too_many_images_is_a_one_line_error(tmp_path, capsys):
    status = cli.main(["train", "--train-size", "9000", "--val-size", "2000", "--quiet", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "retrograd: error: MNIST job: 9000 + 2000 images" in err


_TINY_MNIST = ["--train-size", "300", "--val-size", "100", "--batch-size", "50", "--no-augment", "--quiet"]


def test_no_hidden_layer_mnist_classifier_trains(tmp_path, capsys):
    status = cli.main(["train", "--hidden", "0", "--epochs", "2", *_TINY_MNIST, "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0 and "gradient check: PASSED" in out
    assert "model: mlp, 7,850 parameters" in out  # 784 * 10 + 10: one Linear layer
    assert float(out.split("held-out accuracy: ")[1].split("%")[0]) > 50


def test_resume_with_another_optimizer_is_refused(tmp_path, capsys):
    first = ["train", "--epochs", "1", "--no-gradcheck", *_TINY_MNIST, "--out", str(tmp_path / "a")]
    assert cli.main(first) == 0
    checkpoint = str(tmp_path / "a" / "checkpoint.safetensors")
    capsys.readouterr()
    status = cli.main(["train", "--epochs", "2", "--no-gradcheck", *_TINY_MNIST, "--out", str(tmp_path / "b"),
                       "--resume", checkpoint, "--optimizer", "adam"])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1
    assert "trained with --optimizer sgd" in err and "asks for --optimizer adam" in err


def test_epochs_counts_the_checkpoints_epochs_for_the_text_job_too(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcabcabd " * 60)
    config = charlm.CharConfig(file=str(corpus), hidden=8, embed=4, batch_size=2, k1=10, epochs=1, sample_length=5,
                               out_dir=str(tmp_path / "run"), progress=False)
    first = charlm.run(config, log=lambda *a: None)
    config.resume = first["checkpoint"]
    messages = []
    again = charlm.run(config, log=messages.append)  # epochs=1 in all: the checkpoint has it already
    assert len(again["history"]) == 1 and any("nothing more to train" in m for m in messages)


def test_python_m_retrograd_bad_option_end_to_end():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(cli.__file__))))
    done = subprocess.run([sys.executable, "-m", "retrograd", "train", "--lr", "0"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("retrograd train: error: argument --lr: must be a positive finite number, "
                                   "got '0' (see 'retrograd train --help')")
