"""Counting, recording and stopping: the one place every method's evaluations go through.

Methods call `tracker(x)` (one candidate) or `tracker.evaluate_population(X)` (one generation)
and never count anything themselves. The tracker refuses an evaluation that would pass the budget
by raising `SearchStopped`, so `nfev <= budget` holds for every method, including SciPy's (the
exception leaves `scipy.optimize` as any error from the objective does); a population method
therefore stops before a generation that would not fit. It also stops on the callback's request.
Either way the best point seen so far is kept here, not in the method.
"""
import time

import numpy as np

from .problem import evaluate_rows
from .result import History


class SearchStopped(Exception):
    """Raised inside a method's loop to end it: the budget is spent or the callback asked to stop."""


class Tracker:
    """Evaluates candidates (in-process or through an executor), keeps the best and the history."""

    def __init__(self, problem, budget, executor=None, chunks=None, callback=None, progress=True):
        self.problem = problem
        self.budget = budget
        self.executor = executor
        self.chunks = chunks
        self.callback = callback
        self.nfev = 0
        self.best_loss = np.inf
        self.best_x = None
        self.history = History()
        self.stop_reason = None
        self.refused = 0  # the size of the evaluation the budget refused
        self.start = time.perf_counter()
        self.bar = _progress_bar(budget) if progress else None

    def __call__(self, x):
        """The loss at one point (the function handed to SciPy)."""
        return self.evaluate_population(np.asarray(x, dtype=np.float64)[None, :])[0]

    def evaluate_population(self, candidates):
        """The losses of a (P, n) array of candidates, in order; a float64 array."""
        candidates = np.asarray(candidates, dtype=np.float64)
        if self.nfev + len(candidates) > self.budget:
            self.refused = len(candidates)
            self._stop(f"budget of {self.budget} evaluations reached" if self.nfev == self.budget else
                       f"budget of {self.budget} evaluations: the next {len(candidates)} would pass it")
        losses = np.array(self._evaluate(candidates), dtype=np.float64)
        self._record(candidates, losses)
        return losses

    def _evaluate(self, candidates):
        if self.executor is None:
            return evaluate_rows(self.problem, candidates)
        # one task per chunk of rows: the problem (model + objective) is pickled once per task, not per row
        parts = np.array_split(candidates, min(len(candidates), self.chunks))
        futures = [self.executor.submit(evaluate_rows, self.problem, part) for part in parts]
        return [loss for future in futures for loss in future.result()]

    def _record(self, candidates, losses):
        self.nfev += len(losses)
        best = int(np.argmin(losses))
        if losses[best] < self.best_loss:
            self.best_loss = float(losses[best])
            self.best_x = candidates[best].copy()
        elapsed = time.perf_counter() - self.start
        self.history.append(self.nfev, self.best_loss, float(losses[best]), elapsed)
        if self.bar is not None:
            self.bar.update(len(losses))
            self.bar.set_postfix(best=f"{self.best_loss:.4g}", refresh=False)
        if self.callback is not None and self.callback(self.history.last()):
            self._stop("stopped by the callback")

    def _stop(self, reason):
        self.stop_reason = reason
        raise SearchStopped(reason)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _progress_bar(budget):
    from tqdm.auto import tqdm

    return tqdm(total=budget, desc="evaluations", leave=True, dynamic_ncols=True, mininterval=0.25)
