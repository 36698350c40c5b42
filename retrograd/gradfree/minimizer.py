"""`minimize`: the front door. It checks the arguments, flattens the model, runs one method through a
Tracker, and leaves the best parameters in the model whatever ended the search (budget, callback,
convergence, or an error from the objective)."""
import inspect
import numbers
import os

import numpy as np

from .cma_es import cma_es
from .evolution import evolution_strategy
from .extras import require
from .genetic import genetic
from .metropolis import metropolis
from .problem import FlatProblem
from .result import MinimizeResult
from .scipy_methods import dual_annealing, nelder_mead, powell
from .tracker import SearchStopped, Tracker

METHODS = {
    "nelder-mead": nelder_mead,
    "powell": powell,
    "annealing": dual_annealing,
    "metropolis": metropolis,
    "cma": cma_es,
    "ga": genetic,
    "es": evolution_strategy,
}
POPULATION_METHODS = ("cma", "ga", "es")  # the ones that evaluate a generation at once, through `executor`
# the optional package each method needs, imported before the clock starts (an import is not search time)
REQUIRES = {"nelder-mead": "scipy.optimize", "powell": "scipy.optimize", "annealing": "scipy.optimize",
            "cma": "cma"}


def minimize(model, objective, method="cma", budget=1000, seed=None, executor=None, callback=None, progress=True,
             chunks=None, **options):
    """Minimise `objective(model)` over the model's trainable parameters without gradients.

    `objective(model) -> float` (or a one-element Tensor) is called under `no_grad` after the
    parameters are set to a candidate; NaN counts as +inf. `method` is one of METHODS; `budget` the
    most objective evaluations (`nfev <= budget` always: a population method stops before a generation
    that would pass it). Every random draw comes from `numpy.random.default_rng(seed)` in this process.

    `executor`: any `concurrent.futures.Executor` (a ProcessPoolExecutor, Dask's
    `Client.get_executor()`, mpi4py's MPIPoolExecutor, loky) evaluating the generations of 'cma', 'ga'
    and 'es'; None evaluates in this process. A generation is cut into `chunks` tasks (default: the
    number of CPUs), each carrying the pickled model and objective once plus its candidates, so the
    cost per generation is `chunks` times their pickled size. The result does not depend on the
    executor. `callback(row)` gets each new history row ({'nfev', 'best', 'loss', 'time'}) and
    stops the search by returning True. `options` go to the method (see each method's docstring).

    Returns a MinimizeResult; the model holds `result.x` (cast to its dtype).
    """
    run = _check(method, budget, executor, callback, chunks, options)
    if method in REQUIRES:
        require(REQUIRES[method], "gradfree", f"minimize(method={method!r})")
    problem = FlatProblem(model, objective)
    x0 = problem.initial_vector()
    tracker = Tracker(problem, budget, executor=executor, chunks=chunks or os.cpu_count() or 1, callback=callback,
                      progress=progress)
    try:
        message = run(tracker, x0, np.random.default_rng(seed), **options)
    except SearchStopped:
        message = tracker.stop_reason
    finally:  # also on an error: the model keeps the best point seen (or its own start), nothing is lost
        tracker.close()
        problem.set_parameters(x0 if tracker.best_x is None else tracker.best_x)
    if tracker.nfev == 0:
        raise ValueError(f"minimize(method={method!r}): budget={budget} is smaller than one generation "
                         f"({tracker.refused} evaluations); raise the budget or lower popsize")
    return MinimizeResult(x=tracker.best_x, fun=tracker.best_loss, nfev=tracker.nfev, method=method, message=message,
                          history=tracker.history, wall_time=tracker.history.last()["time"])


def _check(method, budget, executor, callback, chunks, options):
    """The method's function, once every argument is known to be usable."""
    if method not in METHODS:
        raise ValueError(f"minimize: unknown method {method!r}; choose from {', '.join(METHODS)}")
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 1:
        raise ValueError(f"minimize: budget must be a positive integer (objective evaluations), got {budget!r}")
    if executor is not None:
        if method not in POPULATION_METHODS:
            raise ValueError(f"minimize: executor applies to the population methods ({', '.join(POPULATION_METHODS)}); "
                             f"{method!r} evaluates one point at a time")
        if not callable(getattr(executor, "submit", None)):
            raise TypeError(f"minimize: executor must be a concurrent.futures.Executor (with submit), got "
                            f"{type(executor).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"minimize: callback must be callable as callback(row), got {type(callback).__name__}")
    if chunks is not None and (isinstance(chunks, bool) or not isinstance(chunks, numbers.Integral) or chunks < 1):
        raise ValueError(f"minimize: chunks must be a positive integer (tasks per generation), got {chunks!r}")
    run = METHODS[method]
    parameters = inspect.signature(run).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    known = [name for name in parameters if name not in ("tracker", "x0", "rng")
             and parameters[name].kind is not inspect.Parameter.VAR_KEYWORD]
    unknown = [name for name in options if name not in known]
    if unknown and not takes_any:
        raise TypeError(f"minimize(method={method!r}): unknown option(s) {', '.join(unknown)}; its options are "
                        f"{', '.join(known)}")
    return run
