"""I have about 10K parameters: would Nelder-Mead, simulated annealing or a genetic algorithm work?

Question: "My network has about 10,000 parameters. Could I train it with Nelder-Mead, simulated annealing or
a genetic algorithm instead of backprop?"

Answer: `retrograd compare-optimizers` trains one model from one start with backprop (SGD, Adam) and with each
method of `retrograd.gradfree`, under the same budget of loss evaluations (one backprop step counts as one).
This script runs its two small sizes (12 and 90 parameters, 1,000 evaluations, ~10 s): at 12 parameters every
method solves the task, several faster than Adam; at 90 none reaches Adam's loss, and Nelder-Mead, dual
annealing, the GA and ES are where Adam was after a few dozen steps. The larger sizes take minutes to hours, so
the script then prints the full table (10 to 10,000 parameters, 5,000 evaluations) that the command recorded
in examples/README.md: at ~1,000 Nelder-Mead and annealing stop moving, and at ~10,000 only ES, CMA-ES,
Metropolis annealing and (slowly) the GA learn, at hundreds of evaluations per Adam step.

    pip install -e ".[gradfree]"
    python examples/gradient_free_sizes.py
    retrograd compare-optimizers --sizes 10,100,1000,10000 --budget 5000 --time-limit 60   # the full table
"""
import pathlib

from retrograd.diagnostics.figures import save_figure
from retrograd.gradfree import compare

README = pathlib.Path(__file__).resolve().parent / "README.md"
FULL_RUN_HEADING = "## Training without gradients"


def recorded_table():
    """The full comparison table as examples/README.md records it: its lines, header included."""
    text = README.read_text(encoding="utf-8")
    start = text.find(FULL_RUN_HEADING)
    table = text.find("| params |", start)
    if start < 0 or table < 0:
        raise ValueError(f"gradient_free_sizes: expected {README} to have a section '{FULL_RUN_HEADING}...' with the "
                         f"table of `retrograd compare-optimizers` (a line starting '| params |'); it has none")
    lines = text[table:].splitlines()
    return [line for line in lines[:next(i for i, line in enumerate(lines) if not line.startswith("|"))]]


def draw_curves(runs):
    """The best training loss against loss evaluations, one panel per size."""
    def draw(figure):
        sizes = sorted({run.parameters for run in runs})
        for axes, parameters in zip(figure.subplots(1, len(sizes)), sizes):
            for run in (run for run in runs if run.parameters == parameters):
                style = {"color": "black", "linestyle": "-" if run.method == "sgd" else "--"} \
                    if run.method in compare.BACKPROP else {}
                axes.plot(run.nfev, run.best, label=run.method, **style)
            axes.set(xscale="log", yscale="log", xlabel="loss evaluations (backprop: steps)",
                     title=f"{parameters} parameters")
        figure.axes[0].set_ylabel("best training loss")
        figure.axes[-1].legend(fontsize=7)
    save_figure("curves.png", draw, size=(9.0, 3.6))


def main(sizes=(10, 100), budget=1000, seed=0):
    data = compare.digits_8x8(train_size=1000, val_size=1000, seed=seed)
    print(f"retrograd compare-optimizers --sizes {','.join(map(str, sizes))} --budget {budget}: 8x8 digits, the same "
          f"start for every method, {budget:,} loss evaluations each (one backprop step = one evaluation)\n")
    print(compare.TABLE_HEADER)
    runs = [run for size in sizes
            for run in compare.compare_at(size, data, compare.ALL_METHODS, budget, time_limit=600.0, seed=seed,
                                          log=print)]
    draw_curves(runs)
    table = recorded_table()
    print("\nThe full run (--sizes 10,100,1000,10000 --budget 5000 --time-limit 60), as recorded in "
          "examples/README.md:\n")
    print("\n".join(table))
    return {"runs": {(run.parameters, run.method): run for run in runs}, "recorded_table": table}


if __name__ == "__main__":
    main()
