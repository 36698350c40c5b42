"""The `retrograd` command (also `python -m retrograd`).

    retrograd demo [--quick]          the main job: gradient-check, then train an MLP on embedded MNIST
    retrograd demo --spirals [--quick]  instead: a net written in raw tensor ops, trained on two spirals
    retrograd train --data mnist|DIR|text --model mlp|lenet|resnet|lstm|gru|rnn ...
    retrograd train --env cartpole    REINFORCE with a baseline on gymnasium's CartPole-v1 (the rl extra)
    retrograd bench [--workload NAME ...] [--rounds 5] [--threads 2] [--torch-ref PATH] [--kernels both|numba|numpy]
                    [--json] [--list] [--memory]
    retrograd compare-optimizers [--sizes 10,100,1000,10000] [--budget 5000] [--time-limit 60] [--methods ...]
    retrograd --version

A bad option ends in one line naming it and exit status 2; an error while running, in one line
`retrograd: error: ...` and exit status 1 (`--debug`, before or after the command, shows the traceback).
"""
import argparse
import math
import os
import sys
import traceback

# ----- the parser: every option checked as it is read ------------------------------------------------------
# Each `type=` function below turns the option's text into its value or raises ArgumentTypeError; argparse
# then names the option, so a bad invocation ends in one line such as
#     retrograd train: error: argument --epochs: must be a positive integer, got '0'
# and exit status 2, before any data is loaded or any model is built.


class UsageError(SystemExit):
    """A bad command line: exit status 2, and `str()` gives the message (printed already, on one line)."""

    def __init__(self, message):
        super().__init__(2)
        self.message = message

    def __str__(self):
        return self.message


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block) that point to --help."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise UsageError(message)


def _integer(text, minimum):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text):
    return _integer(text, 1)


def non_negative_int(text):
    return _integer(text, 0)


def _number(text, allow_zero):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        what = "a finite number >= 0" if allow_zero else "a positive finite number"
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_float(text):
    return _number(text, allow_zero=False)


def non_negative_float(text):
    return _number(text, allow_zero=True)


def hidden_sizes(text):
    """'256,128' -> (256, 128); '0' or '' -> () (no hidden layer)."""
    if text.strip() in ("", "0"):
        return ()
    parts = text.split(",")
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers such as 256,128 (or 0 for "
                                         f"no hidden layer), got {text!r}") from None
    if any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"every hidden size must be a positive integer (0 alone means no hidden "
                                         f"layer), got {text!r}")
    return sizes


def existing_file(text):
    if not os.path.isfile(text):
        fault = "not a regular file" if os.path.exists(text) else "no such file"
        raise argparse.ArgumentTypeError(f"{fault}: {text!r}")
    return text


def data_source(text):
    """mnist | text | a directory of MNIST IDX files | 'IMAGES,LABELS' (both files must exist)."""
    if text in ("mnist", "embedded", "text"):
        return text
    if "," in text:
        missing = [path for path in text.split(",", 1) if not os.path.isfile(path)]
        if missing:
            raise argparse.ArgumentTypeError(f"no such file: {missing[0]!r} (expected 'IMAGES,LABELS' paths)")
        return text
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"expected 'mnist' (the embedded digits), 'text', a directory of MNIST "
                                         f"IDX files or 'IMAGES,LABELS' paths, got {text!r}")
    return text


# ----- demo ---------------------------------------------------------------------------------------------
def _add_demo(commands):
    demo = commands.add_parser(
        "demo", help="the main job: gradient-check, then train an MLP on the embedded MNIST digits",
        description="Check every gradient of a 784-256-128-10 ReLU MLP against finite differences, train it with "
                    "SGD + momentum on 8,000 embedded MNIST images, report the accuracy on 2,000 held-out images, "
                    "and save a checkpoint and a plot.")
    demo.add_argument("--epochs", type=positive_int, default=15, help="training epochs (default 15)")
    demo.add_argument("--quick", action="store_true", help="2 epochs on 2,000 images (a smoke test)")
    demo.add_argument("--out", default="retrograd-runs/demo", help="where to save (default retrograd-runs/demo)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.add_argument("--spirals", action="store_true",
                      help="instead: a two-layer net written with raw tensor ops, trained on two spirals")
    _add_debug(demo)
    demo.set_defaults(run=_run_demo)


def _run_demo(args):
    if args.spirals:
        from .jobs import spirals

        return spirals.run(quick=args.quick)
    from .jobs import mnist

    overrides = {"epochs": args.epochs, "out_dir": args.out, "progress": not args.quiet}
    if args.quick:
        overrides.update(epochs=2, train_size=2000, val_size=1000)
    result = mnist.run(mnist.demo_config(**overrides))
    return 0 if result["gradcheck"] in (True, None) else 1


# ----- explain ------------------------------------------------------------------------------------------
def _add_explain(commands):
    explain = commands.add_parser(
        "explain", help="trace one backward pass of a built-in model, step by step, with every formula",
        description="Run one forward and backward pass of a built-in model and print each backward step: the op, "
                    "the gradient shapes, the parameters they reach and the op's derivative, then check the a - y "
                    "output delta of softmax + cross-entropy against the trace.")
    explain.add_argument("--model", choices=["mlp", "cnn", "lstm"], default="mlp",
                         help="mlp (MNIST digits), cnn (conv + max-pool) or lstm (characters); default mlp")
    explain.add_argument("--max-formula-lines", type=positive_int, help="cut each formula to this many lines")
    explain.add_argument("--dot", help="also write the graph as Graphviz DOT source to this file")
    explain.add_argument("--render", help='also draw the graph into this image (needs "retrograd[graph]" and dot)')
    _add_debug(explain)
    explain.set_defaults(run=_run_explain)


def _run_explain(args):
    from .jobs import trace

    trace.run(args.model, args.max_formula_lines, args.dot, args.render)
    return 0


# ----- train --------------------------------------------------------------------------------------------
def _add_train(commands):
    train = commands.add_parser(
        "train", help="train a model: MNIST classifiers (mlp, lenet, resnet) or a char-level RNN on text",
        description="--data mnist (the embedded digits), a directory of MNIST IDX files, or 'IMAGES,LABELS' paths, "
                    "with --model mlp|lenet|resnet; or --data text [--file PATH] with --model lstm|gru|rnn "
                    "(stateful truncated BPTT).")
    train.add_argument("--data", default="mnist", type=data_source,
                       help="mnist (default), a directory of IDX files, 'IMAGES,LABELS' paths, or text")
    train.add_argument("--model", help="mlp (default for mnist), lenet, resnet; lstm (default for text), gru, rnn")
    train.add_argument("--epochs", type=positive_int,
                       help="train until this many epochs in all (default 15 for mnist, 1 for text); with --resume, "
                            "the epochs already in the checkpoint count, so a run resumed at epoch 3 with "
                            "--epochs 5 trains 2 more")
    train.add_argument("--lr", type=positive_float,
                       help="learning rate (default 0.05 SGD for mnist, 2e-3 Adam for text)")
    train.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop"],
                       help="mnist: the optimizer (default sgd with momentum 0.9); --resume needs the checkpoint's "
                            "(text always uses Adam)")
    train.add_argument("--momentum", type=non_negative_float, help="mnist: sgd/rmsprop momentum (default 0.9)")
    train.add_argument("--weight-decay", type=non_negative_float, help="mnist: weight decay (default 5e-4)")
    train.add_argument("--batch-size", type=positive_int, help="minibatch size (default 64 for mnist, 32 for text)")
    train.add_argument("--hidden", type=hidden_sizes, default=None,
                       help="mnist mlp: hidden sizes, e.g. 256,128 (default), or 0 for none (a linear classifier); "
                            "text: one hidden size (default 256)")
    train.add_argument("--activation", choices=["relu", "tanh", "sigmoid"], help="mnist mlp (default relu)")
    train.add_argument("--no-augment", action="store_true", help="mnist: no random shifts")
    train.add_argument("--no-gradcheck", action="store_true", help="mnist: skip the gradient check")
    train.add_argument("--train-size", type=positive_int, help="mnist: training images (default 8000)")
    train.add_argument("--val-size", type=positive_int, help="mnist: held-out images (default 2000)")
    train.add_argument("--file", type=existing_file,
                       help="text: a UTF-8 text file (default: the embedded tinyshakespeare excerpt)")
    train.add_argument("--layers", type=positive_int, help="text: recurrent layers (default 1)")
    train.add_argument("--k1", type=positive_int, help="text: update every k1 steps (default 50)")
    train.add_argument("--k2", type=positive_int,
                       help="text: backpropagate through the last k2 steps (default k1; k2 < k1: the earlier steps' "
                            "losses carry no gradient, as Theano's truncate_gradient)")
    train.add_argument("--clip", type=positive_float, help="text: gradient-norm clipping (default 5)")
    train.add_argument("--minutes", type=positive_float, help="text: stop after this many minutes")
    train.add_argument("--temperature", type=positive_float, help="text: sampling temperature (default 0.8)")
    train.add_argument("--sample-length", type=non_negative_int, help="text: characters to sample (default 300)")
    train.add_argument("--env", choices=["cartpole"],
                       help="instead of --data: reinforcement learning, REINFORCE with a baseline on gymnasium's "
                            "CartPole-v1 until solved (needs the rl extra); reads --hidden (default 64), --lr "
                            "(default 0.01), --batch-size (episodes per update, default 8), --episodes, --minutes")
    train.add_argument("--episodes", type=positive_int, help="cartpole: give up after this many episodes in all "
                                                              "(default 3000)")
    train.add_argument("--seed", type=non_negative_int, default=0)
    train.add_argument("--out", help="output directory (default retrograd-runs/<data>-<model>)")
    train.add_argument("--resume", type=existing_file, help="continue from this checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_debug(train)
    train.set_defaults(run=_run_train, parser=train)


def _given(value, default):
    """An option's value, or its default when it was not given (`is None`: 0 is a value, not a default)."""
    return default if value is None else value


# the options only one of the train jobs reads, with their defaults; given to the other job, they are refused
# rather than silently ignored (`--data text --optimizer sgd` would still have trained with Adam)
MNIST_OPTIONS = {"optimizer": "sgd", "momentum": 0.9, "weight_decay": 5e-4, "activation": "relu",
                 "no_augment": False, "no_gradcheck": False, "train_size": 8000, "val_size": 2000}
TEXT_OPTIONS = {"file": None, "layers": 1, "k1": 50, "k2": None, "clip": 5.0, "minutes": None, "temperature": 0.8,
                "sample_length": 300}


def _job_options(args, text):
    """Refuse the other job's options; fill in this job's defaults."""
    own, other = (TEXT_OPTIONS, MNIST_OPTIONS) if text else (MNIST_OPTIONS, TEXT_OPTIONS)
    for name in other:
        if getattr(args, name) not in (None, False):
            option = "--" + name.replace("_", "-")
            args.parser.error(f"argument {option}: applies to --data {'mnist' if text else 'text'} only")
    for name, default in own.items():
        setattr(args, name, _given(getattr(args, name), default))


def _run_train(args):
    if args.env or args.episodes:
        return _run_cartpole(args)
    _job_options(args, text=args.data == "text")
    if args.data == "text":
        from .jobs import charlm

        model = _given(args.model, "lstm")
        if model not in charlm.CELLS:
            args.parser.error(f"argument --model: --model {model} does not apply to text; choose lstm, gru or rnn")
        hidden = _given(args.hidden, (256,))
        if len(hidden) != 1:
            args.parser.error(f"argument --hidden: a text model takes one hidden size, got "
                              f"{','.join(map(str, hidden)) or 'none'}")
        k2 = _given(args.k2, args.k1)
        config = charlm.CharConfig(
            file=args.file, model=model, hidden=hidden[0], layers=args.layers,
            batch_size=_given(args.batch_size, 32), k1=args.k1, k2=k2, lr=_given(args.lr, 2e-3),
            clip=args.clip, epochs=_given(args.epochs, 1), minutes=args.minutes, temperature=args.temperature,
            sample_length=args.sample_length, seed=args.seed, out_dir=_given(args.out, f"retrograd-runs/text-{model}"),
            resume=args.resume, progress=not args.quiet)
        charlm.run(config)
        return 0
    from .jobs import mnist

    model = _given(args.model, "mlp")
    if model not in mnist.MODELS:
        args.parser.error(f"argument --model: --model {model} does not apply to MNIST; choose from "
                          f"{', '.join(sorted(mnist.MODELS))}")
    if args.hidden is not None and model != "mlp":
        args.parser.error(f"argument --hidden: applies to --model mlp only, not {model}")
    config = mnist.MnistConfig(
        model=model, hidden=_given(args.hidden, (256, 128)), activation=args.activation,
        epochs=_given(args.epochs, 15), batch_size=_given(args.batch_size, 64), lr=_given(args.lr, 0.05),
        momentum=args.momentum, weight_decay=args.weight_decay, optimizer=args.optimizer,
        augment=not args.no_augment, train_size=args.train_size, val_size=args.val_size, data=args.data,
        seed=args.seed, out_dir=_given(args.out, f"retrograd-runs/mnist-{model}"), gradcheck=not args.no_gradcheck,
        resume=args.resume, progress=not args.quiet)
    result = mnist.run(config)
    return 0 if result["gradcheck"] in (True, None) else 1


def _run_cartpole(args):
    from .jobs import cartpole

    if not args.env:
        args.parser.error("argument --episodes: applies to --env cartpole only")
    others = [name for name in (*MNIST_OPTIONS, *TEXT_OPTIONS, "model", "epochs") if name != "minutes"]
    given = [name for name in others if getattr(args, name) not in (None, False)] + (["data"] * (args.data != "mnist"))
    if given:
        args.parser.error(f"argument --{given[0].replace('_', '-')}: does not apply to --env cartpole")
    config = cartpole.CartPoleConfig(
        hidden=_given(args.hidden, (64,)), lr=_given(args.lr, 0.01), episodes_per_update=_given(args.batch_size, 8),
        max_episodes=_given(args.episodes, 3000), minutes=args.minutes, seed=args.seed,
        out_dir=_given(args.out, "retrograd-runs/cartpole"), resume=args.resume, progress=not args.quiet)
    cartpole.run(config)
    return 0


# ----- bench --------------------------------------------------------------------------------------------
def _add_bench(commands):
    bench = commands.add_parser(
        "bench", help="time the reference workloads against PyTorch (ratios)",
        description="Time the reference workloads in retrograd and in PyTorch (torch_ref.py), in fresh processes, "
                    "interleaving rounds, and print per workload the median per-round ratio retrograd/PyTorch and "
                    "both final losses.")
    bench.add_argument("--workload", nargs="+", metavar="NAME", help="workloads to run (default: all; see --list)")
    bench.add_argument("--list", action="store_true", help="list the workloads and exit")
    bench.add_argument("--memory", action="store_true",
                       help="instead of timing: the bytes each training workload's graph holds between forward and "
                            "backward, against the tensors PyTorch saves for the same step (default: mlp cnn lstm gru)")
    bench.add_argument("--rounds", type=positive_int, default=5, help="rounds per workload (default 5)")
    bench.add_argument("--threads", type=positive_int, default=2,
                       help="BLAS/OpenMP threads for both libraries (default 2)")
    bench.add_argument("--steps", type=positive_int, help="timed steps per round (default: per workload, about 50)")
    bench.add_argument("--warmup", type=non_negative_int,
                       help="untimed steps per round before them (default: per workload)")
    bench.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    bench.add_argument("--torch-ref", metavar="PATH",
                       help="the script timing PyTorch, with torch_ref.py's command line (default: "
                            "$RETROGRAD_TORCH_REF, else the torch_workloads.py shipped with retrograd)")
    bench.add_argument("--kernels", choices=["both", "numba", "numpy"],
                       help="time retrograd with its compiled kernels (numba), NumPy only (numpy), or both in each "
                            "round (default: both where Numba is installed, else numpy)")
    bench.add_argument("--json", action="store_true", help="one JSON object per workload per line")
    _add_debug(bench)
    bench.set_defaults(run=_run_bench, parser=bench)


def _run_bench(args):
    from .bench import harness, workloads

    names = list(workloads.WORKLOADS)
    if args.list:
        for name in names:
            print(f"{name:<15} {workloads.WORKLOADS[name]}")
        return 0
    chosen = args.workload or names
    unknown = [name for name in chosen if name not in workloads.WORKLOADS]
    if unknown:
        args.parser.error(f"unknown workload(s): {', '.join(unknown)} (choose from {', '.join(names)})")
    if args.memory:
        return _run_bench_memory(args, args.workload)
    try:
        torch_ref = harness.find_torch_ref(args.torch_ref)
    except FileNotFoundError as error:
        args.parser.error(str(error))
    if not harness.torch_available():  # the PyTorch side ships with the package; torch itself may not
        print(f"torch is not importable: timing retrograd alone; {harness.HOW_TO_COMPARE}", file=sys.stderr)
        torch_ref = False
    try:
        harness.kernel_modes(args.kernels)
    except ImportError as error:
        args.parser.error(str(error))  # names the choice and the extra that adds Numba
    results = harness.run_bench(chosen, rounds=args.rounds, threads=args.threads, steps=args.steps,
                                warmup=args.warmup, torch_ref=torch_ref, dtype=args.dtype, kernels=args.kernels)
    print(harness.format_json(results) if args.json else harness.format_table(results))
    return 1 if any(result["error"] for result in results) else 0


def _run_bench_memory(args, chosen):
    from .bench import graph_memory, harness, workloads

    chosen = chosen or list(graph_memory.WORKLOADS)
    untrained = [name for name in chosen if name not in workloads.MODELS]
    if untrained:
        args.parser.error(f"--memory: {', '.join(untrained)} trains no model (choose from {', '.join(workloads.MODELS)})")
    torch_too = harness.torch_available()
    if not torch_too:
        print(f"torch is not importable: measuring retrograd alone; {harness.HOW_TO_COMPARE}", file=sys.stderr)
    rows = graph_memory.measure(chosen, args.dtype, torch_too=torch_too)
    print(harness.format_json(rows) if args.json else graph_memory.format_table(rows))
    return 0


# ----- compare-optimizers ------------------------------------------------------------------------------
def _add_compare(commands):
    from .gradfree.compare import ALL_METHODS, parameter_counts

    compare = commands.add_parser(
        "compare-optimizers", help="backprop (SGD, Adam) against gradient-free methods at several model sizes",
        description="Train the same MLP on 8x8 digits from the same start with SGD, Adam and each gradient-free "
                    "method, under the same budget of loss evaluations (one backprop step counts as one) and the "
                    "same time limit; print a table and save a plot (see retrograd/gradfree/compare.py).")
    compare.add_argument("--sizes", type=parameter_counts, default=(10, 100, 1000, 10000),
                         help="approximate parameter counts, comma-separated (default 10,100,1000,10000)")
    compare.add_argument("--methods", nargs="+", choices=ALL_METHODS, default=ALL_METHODS, metavar="METHOD",
                         help=f"methods to run (default: all of {', '.join(ALL_METHODS)})")
    compare.add_argument("--budget", type=positive_int, default=5000, help="loss evaluations per method (default 5000)")
    compare.add_argument("--time-limit", type=positive_float, default=60.0,
                         help="seconds per method and size (default 60)")
    compare.add_argument("--train-size", type=positive_int, default=1000, help="training images (default 1000)")
    compare.add_argument("--val-size", type=positive_int, default=1000, help="held-out images (default 1000)")
    compare.add_argument("--seed", type=non_negative_int, default=0)
    compare.add_argument("--plot", default="retrograd-runs/compare-optimizers.png",
                         help="where to save the plot (default retrograd-runs/compare-optimizers.png)")
    _add_debug(compare)
    compare.set_defaults(run=_run_compare)


def _run_compare(args):
    from .gradfree import compare

    os.makedirs(os.path.dirname(args.plot) or ".", exist_ok=True)
    compare.run(sizes=args.sizes, methods=args.methods, budget=args.budget, time_limit=args.time_limit,
                train_size=args.train_size, val_size=args.val_size, seed=args.seed, plot_path=args.plot)
    return 0


def _add_debug(parser):
    # SUPPRESS: a subcommand's own --debug must not reset one given before the subcommand
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the Python traceback of an error")


def build_parser():
    from . import __version__

    parser = Parser(prog="retrograd", description="retrograd: backpropagation you can read.")
    parser.add_argument("--version", action="version", version=f"retrograd {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands)
    _add_explain(commands)
    _add_train(commands)
    _add_bench(commands)
    _add_compare(commands)
    return parser


def main(argv=None):
    """Entry point of the `retrograd` command; returns the exit status. A bad command line raises
    SystemExit(2) (a UsageError) after printing one line; an error while running prints one line,
    `retrograd: error: ...`, and returns 1 (with --debug, the traceback instead)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("retrograd: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the command's last line of defence: one line, not a traceback
        if args.debug:
            traceback.print_exc()
        else:
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            print(f"retrograd: error: {message} (run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
