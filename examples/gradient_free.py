"""Would Nelder-Mead, simulated annealing or a genetic algorithm train my network?

Question: "I have about 10K parameters: would Nelder-Mead, simulated annealing or a genetic
algorithm work instead of backprop?"

Answer: one backprop step costs about three forward passes and gives the whole gradient, n numbers
for a network of n parameters; a loss evaluation gives one number. So under the same budget of loss
evaluations the gap grows with n: at ~10 parameters every method solves the task; at ~100 the best
of them (CMA-ES) needs 13 times Adam's evaluations for the same training loss; at ~1,000 Nelder-Mead
and SciPy's dual annealing no longer move, and at ~10,000 Nelder-Mead cannot even build its starting
simplex (n + 1 = 9,986 evaluations, 800 MB), while ES and CMA-ES still learn at ~250-300 times
Adam's evaluations. The full table, at four sizes, is in examples/README.md
(`retrograd compare-optimizers`).

This script runs one size of that comparison and shows the call to use on your own model:

    from retrograd import gradfree
    result = gradfree.minimize(model, gradfree.BatchLoss(nn.CrossEntropyLoss(), x, y), method="cma",
                               budget=2000, seed=0)   # the best parameters are left in `model`

    python examples/gradient_free.py
"""
from retrograd.gradfree import compare


def main(size=1000, budget=1000, methods=("adam", "nelder-mead", "metropolis", "cma", "ga", "es"), seed=0):
    """Train the ~`size`-parameter digits MLP with each method; returns {method: compare.Run}."""
    data = compare.digits_8x8(train_size=1000, val_size=1000, seed=seed)
    features, hidden, classes = compare.architecture(size)
    print(f"8x8 digits, a {features}-{hidden}-{classes} tanh MLP, {budget} loss evaluations per method "
          f"(one backprop step = one evaluation)\n")
    print(compare.TABLE_HEADER)
    runs = compare.compare_at(size, data, methods, budget, time_limit=600.0, seed=seed, log=print)
    start = runs[0].best[0]
    print(f"\nEvery method starts from the same model (training loss {start:.3f}). Nelder-Mead spends its first "
          f"n + 1 = {runs[0].parameters + 1:,} evaluations building its simplex before it moves.")
    return {run.method: run for run in runs}


if __name__ == "__main__":
    main()
