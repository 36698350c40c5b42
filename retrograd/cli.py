"""The `retrograd` command (also `python -m retrograd`).

    retrograd demo [--quick]          the main job: gradient-check, then train an MLP on embedded MNIST
    retrograd train --data mnist|DIR|text --model mlp|lenet|resnet|lstm|gru|rnn ...
    retrograd bench [--workload NAME ...] [--rounds 5] [--threads 2] [--torch-ref PATH] [--json] [--list]
"""
import argparse
import importlib.util
import sys
from pathlib import Path


def load_benchmarks():
    """The `retrograd.benchmarks` package: installed (setup.py maps it onto benchmarks/), or, in a source
    checkout that was never installed, benchmarks/ beside the package, registered under the same name."""
    try:
        import retrograd.benchmarks as benchmarks
    except ImportError:
        import retrograd

        folder = Path(__file__).resolve().parents[1] / "benchmarks"
        if not (folder / "__init__.py").is_file():
            raise
        spec = importlib.util.spec_from_file_location("retrograd.benchmarks", folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        benchmarks = importlib.util.module_from_spec(spec)
        sys.modules["retrograd.benchmarks"] = benchmarks
        spec.loader.exec_module(benchmarks)
        retrograd.benchmarks = benchmarks
    return benchmarks


# ----- demo ---------------------------------------------------------------------------------------------
def _add_demo(commands):
    demo = commands.add_parser(
        "demo", help="the main job: gradient-check, then train an MLP on the embedded MNIST digits",
        description="Check every gradient of a 784-256-128-10 ReLU MLP against finite differences, train it with "
                    "SGD + momentum on 8,000 embedded MNIST images, report the accuracy on 2,000 held-out images, "
                    "and save a checkpoint and a plot.")
    demo.add_argument("--epochs", type=int, default=15, help="training epochs (default 15)")
    demo.add_argument("--quick", action="store_true", help="2 epochs on 2,000 images (a smoke test)")
    demo.add_argument("--out", default="retrograd-runs/demo", help="where to save (default retrograd-runs/demo)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.add_argument("--spirals", action="store_true",
                      help="instead: a two-layer net written with raw tensor ops, trained on two spirals")
    demo.set_defaults(run=_run_demo)


def _run_demo(args):
    if args.spirals:
        from .demo_core import run_demo

        args.steps, args.lr = None, None
        return run_demo(args)
    from .jobs import mnist

    overrides = {"epochs": args.epochs, "out_dir": args.out, "progress": not args.quiet}
    if args.quick:
        overrides.update(epochs=2, train_size=2000, val_size=1000)
    result = mnist.run(mnist.demo_config(**overrides))
    return 0 if result["gradcheck"] in (True, None) else 1


# ----- train --------------------------------------------------------------------------------------------
def _add_train(commands):
    train = commands.add_parser(
        "train", help="train a model: MNIST classifiers (mlp, lenet, resnet) or a char-level RNN on text",
        description="--data mnist (the embedded digits), a directory of MNIST IDX files, or 'IMAGES,LABELS' paths, "
                    "with --model mlp|lenet|resnet; or --data text [--file PATH] with --model lstm|gru|rnn "
                    "(stateful truncated BPTT).")
    train.add_argument("--data", default="mnist", help="mnist (default), a directory of IDX files, or text")
    train.add_argument("--model", help="mlp (default for mnist), lenet, resnet; lstm (default for text), gru, rnn")
    train.add_argument("--epochs", type=int, help="epochs (default 15 for mnist, 1 for text)")
    train.add_argument("--lr", type=float, help="learning rate (default 0.05 SGD for mnist, 2e-3 Adam for text)")
    train.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw", "rmsprop"],
                       help="optimizer for mnist (default sgd with momentum 0.9)")
    train.add_argument("--momentum", type=float, default=0.9)
    train.add_argument("--weight-decay", type=float, default=5e-4)
    train.add_argument("--batch-size", type=int, help="minibatch size (default 64 for mnist, 32 for text)")
    train.add_argument("--hidden", default=None, help="mnist mlp: hidden sizes, e.g. 256,128; text: hidden size")
    train.add_argument("--activation", default="relu", choices=["relu", "tanh", "sigmoid"], help="mnist mlp")
    train.add_argument("--no-augment", action="store_true", help="mnist: no random shifts")
    train.add_argument("--no-gradcheck", action="store_true", help="mnist: skip the gradient check")
    train.add_argument("--train-size", type=int, default=8000)
    train.add_argument("--val-size", type=int, default=2000)
    train.add_argument("--file", help="text: a UTF-8 text file (default: the embedded tinyshakespeare excerpt)")
    train.add_argument("--layers", type=int, default=1, help="text: recurrent layers")
    train.add_argument("--k1", type=int, default=50, help="text: update every k1 steps")
    train.add_argument("--k2", type=int, help="text: backpropagate k2 steps (default k1)")
    train.add_argument("--clip", type=float, default=5.0, help="text: gradient-norm clipping")
    train.add_argument("--minutes", type=float, help="text: stop after this many minutes")
    train.add_argument("--temperature", type=float, default=0.8, help="text: sampling temperature")
    train.add_argument("--sample-length", type=int, default=300)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="output directory (default retrograd-runs/<data>-<model>)")
    train.add_argument("--resume", help="continue from this checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_run_train)


def _run_train(args):
    if args.data == "text":
        from .jobs import charlm

        model = args.model or "lstm"
        if model not in charlm.CELLS:
            raise SystemExit(f"retrograd train: --model {model} does not apply to text; choose lstm, gru or rnn")
        config = charlm.CharConfig(
            file=args.file, model=model, hidden=int(args.hidden or 256), layers=args.layers,
            batch_size=args.batch_size or 32, k1=args.k1, k2=args.k2 or args.k1, lr=args.lr or 2e-3,
            clip=args.clip, epochs=args.epochs or 1, minutes=args.minutes, temperature=args.temperature,
            sample_length=args.sample_length, seed=args.seed, out_dir=args.out or f"retrograd-runs/text-{model}",
            resume=args.resume, progress=not args.quiet)
        charlm.run(config)
        return 0
    from .jobs import mnist

    model = args.model or "mlp"
    if model not in mnist.MODELS:
        raise SystemExit(f"retrograd train: --model {model} does not apply to MNIST; choose from "
                         f"{', '.join(sorted(mnist.MODELS))}")
    hidden = tuple(int(h) for h in args.hidden.split(",")) if args.hidden else (256, 128)
    config = mnist.MnistConfig(
        model=model, hidden=hidden, activation=args.activation, epochs=args.epochs or 15,
        batch_size=args.batch_size or 64, lr=args.lr or 0.05, momentum=args.momentum,
        weight_decay=args.weight_decay, optimizer=args.optimizer, augment=not args.no_augment,
        train_size=args.train_size, val_size=args.val_size, data=args.data, seed=args.seed,
        out_dir=args.out or f"retrograd-runs/mnist-{model}", gradcheck=not args.no_gradcheck,
        resume=args.resume, progress=not args.quiet)
    result = mnist.run(config)
    return 0 if result["gradcheck"] in (True, None) else 1


# ----- bench --------------------------------------------------------------------------------------------
def _add_bench(commands):
    bench = commands.add_parser(
        "bench", help="time the reference workloads against PyTorch (ratios)",
        description="Time the reference workloads in retrograd and in PyTorch (torch_ref.py), in fresh processes, "
                    "interleaving rounds, and print per workload the median per-round ratio retrograd/PyTorch and "
                    "both final losses.")
    bench.add_argument("--workload", nargs="+", metavar="NAME", help="workloads to run (default: all; see --list)")
    bench.add_argument("--list", action="store_true", help="list the workloads, whether this build can run them, "
                                                           "and exit")
    bench.add_argument("--rounds", type=int, default=5, help="rounds per workload (default 5)")
    bench.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both libraries (default 2)")
    bench.add_argument("--steps", type=int, help="timed steps per round (default: per workload, about 50)")
    bench.add_argument("--warmup", type=int, help="untimed steps per round before them (default: per workload)")
    bench.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    bench.add_argument("--torch-ref", metavar="PATH",
                       help="the script timing PyTorch, with torch_ref.py's command line (default: "
                            "$RETROGRAD_TORCH_REF, else the torch_workloads.py shipped with retrograd)")
    bench.add_argument("--json", action="store_true", help="one JSON object per workload per line")
    bench.set_defaults(run=_run_bench, parser=bench)


def _run_bench(args):
    load_benchmarks()
    from retrograd.benchmarks import harness, workloads

    names = list(workloads.WORKLOADS)
    if args.list:
        for name in names:
            gaps = workloads.missing(name)
            status = "ready" if not gaps else "needs " + ", ".join(gaps)
            print(f"{name:<15} {status}\n{'':<15} {workloads.WORKLOADS[name]}")
        return 0
    chosen = args.workload or names
    unknown = [name for name in chosen if name not in workloads.WORKLOADS]
    if unknown:
        args.parser.error(f"unknown workload(s): {', '.join(unknown)} (choose from {', '.join(names)})")
    try:
        torch_ref = harness.find_torch_ref(args.torch_ref)
    except FileNotFoundError as error:
        args.parser.error(str(error))
    reason = ("torch_ref.py not found" if torch_ref is None
              else None if harness.torch_available() else "torch is not importable")
    if reason:
        print(f"{reason}: timing retrograd alone; {harness.HOW_TO_COMPARE}", file=sys.stderr)
        torch_ref = False
    results = harness.run_bench(chosen, rounds=args.rounds, threads=args.threads, steps=args.steps,
                                warmup=args.warmup, torch_ref=torch_ref, dtype=args.dtype)
    print(harness.format_json(results) if args.json else harness.format_table(results))
    return 1 if any(result["error"] for result in results) else 0


def build_parser():
    parser = argparse.ArgumentParser(prog="retrograd", description="retrograd: backpropagation you can read.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands)
    _add_train(commands)
    _add_bench(commands)
    return parser


def main(argv=None):
    """Entry point of the `retrograd` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
