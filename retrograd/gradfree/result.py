"""What `minimize` returns: the best point, its loss, and the history of the search."""
from dataclasses import dataclass

import numpy as np


class History:
    """One row per evaluation (one-point methods) or per generation (population methods).

    Columns, as float64/int64 arrays: `nfev` (evaluations so far), `best` (best loss so far),
    `loss` (the row's own loss: that evaluation's, or the generation's best) and `time` (seconds
    since the start). `nfev` and `best` depend only on the seed, never on the executor."""

    def __init__(self):
        self._rows = []

    def append(self, nfev, best, loss, time):
        self._rows.append((nfev, best, loss, time))

    def last(self):
        nfev, best, loss, time = self._rows[-1]
        return {"nfev": nfev, "best": best, "loss": loss, "time": time}

    def _column(self, index, dtype):
        return np.array([row[index] for row in self._rows], dtype=dtype)

    @property
    def nfev(self):
        return self._column(0, np.int64)

    @property
    def best(self):
        return self._column(1, np.float64)

    @property
    def loss(self):
        return self._column(2, np.float64)

    @property
    def time(self):
        return self._column(3, np.float64)

    def __len__(self):
        return len(self._rows)

    def __repr__(self):
        return f"History({len(self)} rows, nfev={self._rows[-1][0] if self._rows else 0})"


@dataclass
class MinimizeResult:
    """`x` (float64, the best parameters, also left in the model), `fun` (its loss), `nfev`, `method`,
    `message` (why it stopped), `history` (a `History`) and `wall_time` (seconds)."""
    x: np.ndarray
    fun: float
    nfev: int
    method: str
    message: str
    history: History
    wall_time: float

    def __repr__(self):
        return (f"MinimizeResult(method={self.method!r}, fun={self.fun:.6g}, nfev={self.nfev}, "
                f"wall_time={self.wall_time:.2f}s, message={self.message!r})")
