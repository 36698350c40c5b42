"""The `retrograd` command (also `python -m retrograd`).

    retrograd demo [--quick]          gradient-check, then train a small network
    retrograd train ...               train a model on a data set (placeholder, see _add_train)
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
    # PLACEHOLDER (lead): the final `retrograd demo` (README: MNIST MLP) replaces run_demo here.
    demo = commands.add_parser("demo", help="gradient-check, then train a small network (~5 s)",
                               description="Gradient-check a two-layer tanh network written with raw tensor ops, "
                                           "then train it on two spirals.")
    demo.add_argument("--quick", action="store_true", help="a few hundred steps only (a smoke test)")
    demo.add_argument("--steps", type=int, help="training steps (default 3000, 300 with --quick)")
    demo.add_argument("--lr", type=float, help="learning rate (default 0.5)")
    demo.set_defaults(run=_run_demo)


def _run_demo(args):
    from .demo_core import run_demo

    return run_demo(args)


# ----- train --------------------------------------------------------------------------------------------
def _add_train(commands):
    # PLACEHOLDER (lead): `retrograd train --data mnist|text --model mlp|lenet|resnet|lstm ...` goes here.
    train = commands.add_parser("train", help="train a model on a data set (not in this build yet)")
    train.set_defaults(run=_run_train)


def _run_train(args):
    print("retrograd train: not available in this build yet", file=sys.stderr)
    return 2


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
                       help="torch_ref.py (default: $RETROGRAD_TORCH_REF, else ../shared/bench/torch_ref.py "
                            "from the current directory or the repository root)")
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
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train":  # the train placeholder takes any options
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
