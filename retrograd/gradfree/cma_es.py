"""CMA-ES from the `cma` package (Hansen's reference implementation), driven by ask/tell.

Each generation, `ask()` samples the population, the tracker evaluates it (through the executor:
the whole generation at once) and `tell()` updates the mean, the step size and the covariance.
The samples come from our `numpy.random.Generator` (cma's `randn` option), so cma never seeds or
draws from NumPy's global random state.

Above `diagonal_above` parameters (default 1,000) it runs separable CMA-ES (`CMA_diagonal`): a full
covariance is an (n, n) matrix with an O(n^3) eigendecomposition, 800 MB and ~10^12 flops at
n = 10,000; the diagonal one is O(n) per sample. The population is cma's default 4 + 3 ln n unless
`popsize` is given.
"""
from .extras import require


def cma_es(tracker, x0, rng, sigma0=0.1, popsize=None, diagonal_above=1000, **cma_options):
    """CMA-ES from mean x0 and step size sigma0; other options go to cma.CMAOptions."""
    cma = require("cma", "gradfree", "minimize(method='cma')")

    def gaussian_rows(*shape):  # cma calls randn(lam, N): draw from our generator, not np.random
        return rng.standard_normal(shape)

    options = {"randn": gaussian_rows, "seed": float("nan"), "verbose": -9, "verb_log": 0, "verb_disp": 0,
               "maxfevals": tracker.budget, "CMA_diagonal": len(x0) > diagonal_above, **cma_options}
    if popsize is not None:
        options["popsize"] = popsize
    strategy = cma.CMAEvolutionStrategy(x0, sigma0, options)
    while not strategy.stop():
        candidates = strategy.ask()
        losses = tracker.evaluate_population(candidates)
        strategy.tell(candidates, losses.tolist())
    return "cma: " + ", ".join(f"{name}={value}" for name, value in strategy.stop().items())
