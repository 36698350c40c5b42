"""The training loop: `fit` and `evaluate`, with progress bars, metrics and callbacks.

One step is what every PyTorch tutorial writes by hand:

    optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); optimizer.step()

`fit` adds what people then write around it: epochs, a tqdm bar showing the
running loss and metrics, validation, a learning-rate scheduler, callbacks
(early stopping, checkpoints) and a `History` of every epoch's numbers.
"""
import math
import time

import numpy as np

from ..autograd.grad_mode import no_grad
from ..memory import retain_for_training
from ..nn.utils import clip_grad_norm_
from ..optim.lr_scheduler import ReduceLROnPlateau
from .history import History


def accuracy(output, target):
    """Fraction of rows whose argmax equals the class index (or the argmax of a one-hot/probability target)."""
    predicted = np.asarray(output.array).argmax(axis=-1)
    labels = np.asarray(target.array)
    if labels.ndim == predicted.ndim + 1:
        labels = labels.argmax(axis=-1)
    return float((predicted == labels).mean())


BUILTIN_METRICS = {"accuracy": accuracy, "acc": accuracy}


def _resolve_metrics(metrics):
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        return dict(metrics)
    resolved = {}
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in BUILTIN_METRICS:
                raise ValueError(f"fit: unknown metric {metric!r}; built in: {sorted(BUILTIN_METRICS)}, "
                                 f"or pass a function (output, target) -> float")
            resolved[metric] = BUILTIN_METRICS[metric]
        else:
            resolved[getattr(metric, "__name__", f"metric{len(resolved)}")] = metric
    return resolved


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=True, dynamic_ncols=True, mininterval=0.25)


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch
    raise ValueError("fit/evaluate: each batch must be a pair (inputs, targets); "
                     f"got {type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}")


def evaluate(model, loss_fn, loader, metrics=None, progress=False):
    """Mean loss and metrics of `model` over `loader`, in eval mode and without recording.

    Means are weighted by batch size. The model's train/eval mode is restored afterwards."""
    metric_fns = _resolve_metrics(metrics)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    totals = {name: 0.0 for name in ["loss", *metric_fns]}
    count = 0
    try:
        with no_grad():
            for batch in _progress(loader, _len(loader), "evaluate", progress):
                inputs, targets = _split_batch(batch)
                output = model(inputs)
                n = len(targets)
                totals["loss"] += float(loss_fn(output, targets).item()) * n
                for name, fn in metric_fns.items():
                    totals[name] += fn(output, targets) * n
                count += n
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {name: total / count for name, total in totals.items()}


def _len(loader):
    try:
        return len(loader)
    except TypeError:
        return None


class StopTraining(Exception):
    """Raised by a callback (or set via `trainer.stop_training = True`) to end `fit` after this epoch."""


class Trainer:
    """State shared with callbacks during `fit`: model, optimizer, epoch, history, stop flag."""

    def __init__(self, model, optimizer, history, train_loader=None):
        self.model, self.optimizer, self.history = model, optimizer, history
        self.train_loader = train_loader
        self.epoch = 0
        self.stop_training = False


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=1, metrics=None, callbacks=None,
        scheduler=None, clip_grad_norm=None, progress=True, start_epoch=0, history=None, log=print):
    """Train for `epochs` epochs and return the History (one row per epoch: loss, metrics, val_*, lr, time).

    - `metrics`: names ('accuracy') or functions (output, target) -> float, reported on the
      training batches (running mean) and on `val_loader` if given.
    - `scheduler`: stepped once per epoch; ReduceLROnPlateau is stepped with the validation
      loss (the training loss without a validation set).
    - `callbacks`: objects with any of on_train_begin(trainer), on_epoch_end(trainer, logs),
      on_batch_end(trainer, step, loss), on_train_end(trainer); see `callbacks.py`.
    - `start_epoch` and `history` resume a run from a checkpoint (see `checkpoint.py`);
      `ModelCheckpoint` also saves `train_loader`'s position when it has a state_dict().
    An epoch without a single training sample raises ValueError (it would log a loss of 0).
    """
    metric_fns = _resolve_metrics(metrics)
    callbacks = list(callbacks or [])
    history = history if history is not None else History()
    trainer = Trainer(model, optimizer, history, train_loader)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    retain_for_training()  # freed arrays' pages stay for the next step (retrograd/memory.py)
    for callback in callbacks:
        getattr(callback, "on_train_begin", lambda t: None)(trainer)

    for epoch in range(start_epoch, start_epoch + epochs):
        trainer.epoch = epoch
        model.train()
        started = time.perf_counter()
        sums = {name: 0.0 for name in ["loss", *metric_fns]}
        seen = 0
        bar = _progress(train_loader, _len(train_loader), f"epoch {epoch + 1}/{start_epoch + epochs}", progress)
        for step, batch in enumerate(bar):
            inputs, targets = _split_batch(batch)
            optimizer.zero_grad()
            output = model(inputs)
            loss = loss_fn(output, targets)
            loss.backward()
            if clip_grad_norm is not None:
                clip_grad_norm_(params, clip_grad_norm)
            optimizer.step()

            n = len(targets)
            loss_value = float(loss.item())
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"fit: the loss became {loss_value} at epoch {epoch + 1}, step {step}; "
                                         f"lower the learning rate or clip gradients (clip_grad_norm=...)")
            sums["loss"] += loss_value * n
            for name, fn in metric_fns.items():
                sums[name] += fn(output, targets) * n
            seen += n
            if progress and step % 10 == 0:
                bar.set_postfix({name: f"{total / seen:.4f}" for name, total in sums.items()}, refresh=False)
            for callback in callbacks:
                getattr(callback, "on_batch_end", lambda t, s, lo: None)(trainer, step, loss_value)

        if seen == 0:
            raise ValueError(f"fit: the training loader yielded no samples in epoch {epoch + 1} (an empty dataset, "
                             f"or drop_last with fewer samples than batch_size?); nothing to train on")
        logs = {name: total / seen for name, total in sums.items()}
        if val_loader is not None:
            logs.update({f"val_{name}": value for name, value in evaluate(model, loss_fn, val_loader,
                                                                           metric_fns).items()})
        logs["lr"] = optimizer.param_groups[0]["lr"]
        logs["time"] = time.perf_counter() - started
        if progress:
            bar.close()
        if scheduler is not None:
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                scheduler.step()
        history.append(epoch, logs)
        if log is not None:
            log(f"epoch {epoch + 1}: " + "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if k != "time")
                + f"  ({logs['time']:.1f}s)")
        for callback in callbacks:
            try:
                getattr(callback, "on_epoch_end", lambda t, lg: None)(trainer, logs)
            except StopTraining:
                trainer.stop_training = True
        if trainer.stop_training:
            break

    for callback in callbacks:
        getattr(callback, "on_train_end", lambda t: None)(trainer)
    return history
