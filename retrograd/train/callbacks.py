"""Callbacks for `fit`: early stopping and checkpointing."""
import math

import numpy as np


class EarlyStopping:
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    mode 'min' (losses) or 'max' (accuracies); 'auto' picks 'max' for names containing 'acc'.
    With restore_best_weights, the model gets the best epoch's parameters back at the end."""

    def __init__(self, monitor="val_loss", patience=3, min_delta=0.0, mode="auto", restore_best_weights=False):
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.restore_best_weights = restore_best_weights
        self.best, self.best_epoch, self.wait, self.best_state, self.stopped_epoch = None, None, 0, None, None

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: '{self.monitor}' is not among the logged values {sorted(logs)}; "
                           f"pass val_loader to fit for val_* metrics")
        value = logs[self.monitor]
        if math.isnan(value):
            return
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, trainer.epoch, 0
            if self.restore_best_weights:
                self.best_state = {k: np.array(v.array) for k, v in trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = trainer.epoch
                trainer.stop_training = True

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


class ModelCheckpoint:
    """Save a resumable checkpoint (model, optimizer, epoch, history, RNG, and the training loader's
    position when it has a state_dict) after each epoch, or only when `monitor` improves with save_best_only.
    `model`: the module to save, when `fit` trains a wrapper around it (DistributedDataParallel's `.module`,
    whose state_dict keys have no `module.` prefix); default the model `fit` trains."""

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto", scheduler=None,
                 extra_state=None, model=None):
        self.path, self.monitor, self.save_best_only = path, monitor, save_best_only
        self.model = model
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.scheduler, self.extra_state = scheduler, extra_state
        self.best = None

    def on_epoch_end(self, trainer, logs):
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise KeyError(f"ModelCheckpoint: '{self.monitor}' is not among the logged values {sorted(logs)}")
            better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
            if not better:
                return
            self.best = value
        from .checkpoint import save_checkpoint

        extra = self.extra_state() if callable(self.extra_state) else self.extra_state
        loader = getattr(trainer, "train_loader", None)
        model = self.model if self.model is not None else trainer.model
        save_checkpoint(self.path, model, trainer.optimizer, epoch=trainer.epoch + 1,
                        history=trainer.history, scheduler=self.scheduler, extra=extra,
                        loader=loader if callable(getattr(loader, "state_dict", None)) else None)
