"""`retrograd compare-optimizers`: backprop against every gradient-free method, at several model sizes.

The question it answers with numbers: "I have about 10K parameters: would Nelder-Mead, simulated
annealing or a genetic algorithm train my network?" For each size, one model (a tanh MLP) is
initialised once (`manual_seed(seed)`, PyTorch's default init) and trained from that same start by:

- backprop: 'sgd' (momentum 0.9, lr 0.1) and 'adam' (lr 0.01), full-batch steps on the training set;
- each `gradfree.minimize` method with its default options.

All minimise the same objective, the mean cross-entropy over the whole training set, under the
same budget of loss evaluations and the same wall-clock limit. **One backprop step counts as one
evaluation**: it is one forward pass over the same batch (its backward pass costs about two more
forwards, which the wall-time column shows). The gradient-free methods end with the best point
they evaluated, backprop with its last step.

Data: the embedded MNIST digits cropped to 24x24 and averaged over 3x3 blocks into 8x8 images,
projected on their first d principal components (a fixed preprocessing, not trained). The model
d -> h -> classes gets about `target` parameters: d = min(h, 64) and h is chosen to make
(d + 1) h + (h + 1) classes closest to the target. Ten classes need at least 10 parameters for the
biases alone, so below 100 parameters the task is digits 0 against 1 (2 classes).
"""
import argparse
import copy
import time
from dataclasses import dataclass

import numpy as np

from ..autograd.grad_mode import no_grad
from ..data.mnist import load_embedded_mnist
from ..nn import CrossEntropyLoss, Linear, Sequential, Tanh
from ..optim import SGD, Adam
from ..random import manual_seed
from ..tensor import from_numpy
from .extras import require
from .minimizer import METHODS, REQUIRES, minimize
from .problem import BatchLoss

BACKPROP = {"sgd": lambda params: SGD(params, lr=0.1, momentum=0.9), "adam": lambda params: Adam(params, lr=0.01)}
ALL_METHODS = tuple(BACKPROP) + tuple(METHODS)


@dataclass
class Run:
    """One method at one size: its curve (evaluations, best training loss so far, seconds) and final numbers."""
    size: int
    parameters: int
    method: str
    nfev: np.ndarray
    best: np.ndarray
    time: np.ndarray
    train_loss: float
    val_loss: float
    train_accuracy: float
    val_accuracy: float
    stopped: str
    adam_match: int = None  # the evaluations Adam needed to reach this run's training loss (see _adam_match)


def parameter_counts(text):
    """'10,100,1000' -> (10, 100, 1000): the type of the --sizes option."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated parameter counts such as 10,100,1000, "
                                         f"got {text!r}") from None
    if any(size < 2 for size in sizes):
        raise argparse.ArgumentTypeError(f"every size must be at least 2 parameters, got {text!r}")
    return sizes


def digits_8x8(train_size, val_size, seed):
    """(x_train (N, 64), y_train, x_val, y_val): 8x8 block means of the embedded digits, in [0, 1]."""
    images, labels = load_embedded_mnist()
    if train_size + val_size > len(images):
        raise ValueError(f"compare-optimizers: {train_size} + {val_size} images requested, the data has {len(images)}")
    small = images[:, 2:26, 2:26].reshape(-1, 8, 3, 8, 3).mean(axis=(2, 4)) / 255.0  # (N, 8, 8)
    order = np.random.default_rng(seed).permutation(len(images))
    train, val = order[:train_size], order[train_size:train_size + val_size]
    flat = small.reshape(len(images), 64)
    return flat[train], labels[train], flat[val], labels[val]


def architecture(target):
    """(features d, hidden h, classes) of the d-h-classes MLP with the parameter count closest to `target`."""
    classes = 2 if target < 100 else 10
    hidden = np.arange(1, 4 * int(np.sqrt(target)) + 2)
    counts = (np.minimum(hidden, 64) + 1) * hidden + (hidden + 1) * classes
    best = int(hidden[np.argmin(np.abs(counts - target))])
    return min(best, 64), best, classes


def make_task(target, data, seed):
    """(model, train objective, (x_train, y_train), (x_val, y_val)) for one size, in float64."""
    features, hidden, classes = architecture(target)
    x_train, y_train, x_val, y_val = data
    if classes == 2:  # digits 0 and 1 only
        x_train, y_train = x_train[y_train < 2], y_train[y_train < 2]
        x_val, y_val = x_val[y_val < 2], y_val[y_val < 2]
    if len(x_train) <= features or not len(x_val):
        raise ValueError(f"compare-optimizers: {len(x_train)} training and {len(x_val)} held-out images for a model "
                         f"with {features} input features (size {target}); raise --train-size and --val-size")
    mean = x_train.mean(axis=0)
    components = np.linalg.svd(x_train - mean, full_matrices=False)[2][:features]  # (d, 64) principal axes
    scale = ((x_train - mean) @ components.T).std()

    def project(x):
        return from_numpy((x - mean) @ components.T / scale)

    manual_seed(seed)
    model = Sequential(Linear(features, hidden), Tanh(), Linear(hidden, classes)).double()
    train, val = (project(x_train), from_numpy(y_train)), (project(x_val), from_numpy(y_val))
    return model, BatchLoss(CrossEntropyLoss(), *train), train, val


def loss_and_accuracy(model, batch):
    with no_grad():
        logits = model(batch[0])
        loss = CrossEntropyLoss()(logits, batch[1]).item()
    return loss, float((logits.array.argmax(axis=1) == batch[1].array).mean())


def train_backprop(model, name, objective, budget, time_limit):
    """Full-batch steps with optimizer `name` until the budget or the time limit; (nfev, best, time, why)."""
    optimizer = BACKPROP[name](model.parameters())
    losses, times, start = [], [], time.perf_counter()
    stopped = f"budget of {budget} evaluations reached"
    for _ in range(budget):
        optimizer.zero_grad()
        loss = objective(model)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
        if times[-1] > time_limit:
            stopped = f"time limit of {time_limit:g} s reached"
            break
    return np.arange(1, len(losses) + 1), np.minimum.accumulate(losses), np.array(times), stopped


def train_gradfree(model, method, objective, budget, time_limit, seed):
    def out_of_time(row):
        return row["time"] > time_limit

    result = minimize(model, objective, method=method, budget=budget, seed=seed, callback=out_of_time,
                      progress=False)
    stopped = f"time limit of {time_limit:g} s reached" if result.message == "stopped by the callback" else \
        result.message
    return result.history.nfev, result.history.best, result.history.time, stopped


def compare_at(target, data, methods, budget, time_limit, seed, log):
    """One Run per method, each from a fresh copy of the same initial model."""
    model, objective, train, val = make_task(target, data, seed)
    runs = []
    for method in methods:
        trained = copy.deepcopy(model)
        if method in BACKPROP:
            curve = train_backprop(trained, method, objective, budget, time_limit)
        else:
            curve = train_gradfree(trained, method, objective, budget, time_limit, seed)
        (train_loss, train_accuracy), (val_loss, val_accuracy) = (loss_and_accuracy(trained, batch)
                                                                  for batch in (train, val))
        runs.append(Run(target, sum(p.numel() for p in model.parameters()), method, *curve[:3], train_loss, val_loss,
                        train_accuracy, val_accuracy, stopped=curve[3]))
        runs[-1].adam_match = int(runs[-1].nfev[-1]) if method == "adam" else _adam_match(runs, train_loss)
        log(format_row(runs[-1]))
    return runs


def _adam_match(runs, loss):
    """How many evaluations (steps) Adam took to reach `loss`: None if Adam did not run first, and minus its
    number of steps if it never got that low."""
    adam = next((run for run in runs if run.method == "adam"), None)
    if adam is None:
        return None
    if not (adam.best <= loss).any():
        return -int(adam.nfev[-1])
    return int(adam.nfev[np.argmax(adam.best <= loss)])


def format_row(run):
    match = "-" if run.adam_match is None else f"{run.adam_match:,}" if run.adam_match > 0 else \
        f"> {-run.adam_match:,}"
    return (f"| {run.parameters:>6,} | {run.method:<11} | {int(run.nfev[-1]):>6,} | {run.time[-1]:>7.1f} | "
            f"{run.train_loss:>10.4f} | {run.val_loss:>8.4f} | {run.train_accuracy:>9.3f} | {run.val_accuracy:>7.3f} | "
            f"{match:>10} |")


# "Adam match": the Adam steps that reached the same training loss (Adam's curve is its loss before each step);
# "> N" where Adam's N steps never got that low, "-" where Adam did not run before
TABLE_HEADER = ("| params | method      | evals  | time s  | train loss | val loss | train acc | val acc "
                "| Adam match |\n"
                "| -----: | :---------- | -----: | ------: | ---------: | -------: | --------: | ------: "
                "| ---------: |")


def run(sizes=(10, 100, 1000, 10000), methods=ALL_METHODS, budget=5000, time_limit=60.0, train_size=1000,
        val_size=1000, seed=0, plot_path=None, log=print):
    """Compare `methods` at each size; prints the table as it goes and returns the Runs."""
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise ValueError(f"compare-optimizers: unknown method(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(ALL_METHODS)}")
    for method in methods:  # a missing package fails now, not after an hour of the other methods
        if method in REQUIRES:
            require(REQUIRES[method], "gradfree", f"compare-optimizers --methods {method}")
    data = digits_8x8(train_size, val_size, seed)
    log(TABLE_HEADER)
    runs = [r for size in sizes for r in compare_at(size, data, methods, budget, time_limit, seed, log)]
    if plot_path:
        try:
            log(f"plot: {plot(runs, plot_path)}")
        except ImportError as error:
            log(f"(no plot: {error})")
    return runs


def plot(runs, path):
    """Best training loss against evaluations (left) and seconds (right), one row per size; saves a PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('the comparison plot needs matplotlib: pip install "retrograd[plot]"') from None
    sizes = sorted({r.size for r in runs})
    fig = Figure(figsize=(10, 2.6 * len(sizes)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(sizes), 2, squeeze=False)
    for row, size in zip(axes, sizes):
        for r in (r for r in runs if r.size == size):
            style = {"color": "black", "linestyle": "-" if r.method == "sgd" else "--"} if r.method in BACKPROP else {}
            row[0].plot(r.nfev, r.best, label=r.method, **style)
            row[1].plot(r.time, r.best, label=r.method, **style)
        parameters = next(r.parameters for r in runs if r.size == size)
        row[0].set(xscale="log", ylabel=f"{parameters:,} params\nbest train loss")
        row[1].set(xscale="log")
    axes[-1][0].set_xlabel("loss evaluations (backprop: steps)")
    axes[-1][1].set_xlabel("wall time (s)")
    axes[0][1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    return path
