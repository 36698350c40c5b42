"""Nelder-Mead, Powell and generalised simulated annealing, from `scipy.optimize` as they are.

Each evaluates one point at a time through the tracker, which stops SciPy at the budget. Memory
and cost grow with n, the number of parameters, in ways that decide where they stop working:

- Nelder-Mead keeps a simplex of n + 1 points, an (n + 1, n) float64 array (800 MB at n = 10,000),
  and spends n + 1 evaluations building it before its first move.
- Powell starts from n search directions, an (n, n) identity (800 MB at n = 10,000), and line-searches
  along each in turn (a few tens of evaluations per direction).
- `dual_annealing` visits the box `x0 +- radius` (it needs bounds; a visit that leaves the box wraps
  around into it) with Tsallis-Cauchy jumps, and lowers its temperature once per Markov chain of
  2n evaluations (n whole-vector visits, then n one-coordinate ones).
"""
import numpy as np

from .extras import require


def _scipy_optimize(method):
    return require("scipy.optimize", "gradfree", f"minimize(method={method!r})")


def nelder_mead(tracker, x0, rng, initial_step=0.1, **scipy_options):
    """scipy.optimize.minimize(method='Nelder-Mead') from the simplex x0, x0 + initial_step * e_i.

    SciPy's own initial simplex moves each coordinate by 5% of its value, which for network weights
    of order 0.1 is a step of 0.005 (and 0.00025 for a zero bias): too small to leave the start, so the
    simplex here takes one absolute `initial_step` per coordinate. Other options (xatol, fatol,
    adaptive, ...) go to SciPy."""
    optimize = _scipy_optimize("nelder-mead")
    n = len(x0)
    simplex = np.tile(x0, (n + 1, 1))                    # (n + 1, n), built in place: no (n, n) temporaries
    simplex[np.arange(1, n + 1), np.arange(n)] += initial_step
    options = {"maxfev": tracker.budget, "maxiter": np.iinfo(np.int64).max, "initial_simplex": simplex,
               **scipy_options}
    return optimize.minimize(tracker, x0, method="Nelder-Mead", options=options).message


def powell(tracker, x0, rng, **scipy_options):
    """scipy.optimize.minimize(method='Powell'); options (xtol, ftol, direc, ...) go to SciPy."""
    optimize = _scipy_optimize("powell")
    options = {"maxfev": tracker.budget, "maxiter": np.iinfo(np.int64).max, **scipy_options}
    return optimize.minimize(tracker, x0, method="Powell", options=options).message


def dual_annealing(tracker, x0, rng, radius=1.0, local_search=False, **scipy_options):
    """scipy.optimize.dual_annealing in the box x0 +- radius, started at x0, drawing from `rng`.

    `local_search=False` (SciPy's `no_local_search=True`): SciPy's default polishes every chain with
    L-BFGS-B on finite-difference gradients (n + 1 evaluations per gradient), which would make this a
    numerical-gradient method; the comparison with backprop needs the annealing alone. Other options
    (initial_temp, visit, accept, maxiter, ...) go to SciPy."""
    optimize = _scipy_optimize("annealing")
    bounds = list(zip(x0 - radius, x0 + radius))
    result = optimize.dual_annealing(tracker, bounds, x0=x0, rng=rng, maxfun=tracker.budget,
                                     no_local_search=not local_search, **scipy_options)
    return result.message[0] if isinstance(result.message, list) else result.message
