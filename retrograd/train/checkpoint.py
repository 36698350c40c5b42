"""Resumable training checkpoints: model, optimizer, scheduler, data loader, epoch, history and RNG state.

Saved with `retrograd.save` (safetensors or .npz: never pickle, written
atomically), so a run killed at any point resumes from the last complete
checkpoint and, given the same seed, continues bit-identically.

Loading is transactional: every part is checked against what it will be loaded into
(model keys, shapes and numeric values; the optimizer's kind, groups and buffer shapes; the
scheduler's entries; the RNG and loader states) before anything changes, and a bad part
raises `CheckpointError` naming the field. The model, optimizer and the rest are then
either all restored or left as they were.
"""
from .. import serialization
from ..serialization import CheckpointError
from ..random import Generator, get_rng_state, set_rng_state
from .history import History

FORMAT = "retrograd-checkpoint-1"


def save_checkpoint(path, model, optimizer=None, epoch=0, history=None, scheduler=None, extra=None, loader=None):
    """Write everything a resumed run needs to `path` (atomic: the previous file survives a crash).

    loader: a DataLoader (or anything with state_dict()) whose position -- shuffling
    generator, batches already served this epoch -- the resumed run continues from."""
    state = {
        "format": FORMAT,
        "epoch": int(epoch),
        "model": model.state_dict(),
        "rng": get_rng_state(),
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if loader is not None:
        state["loader"] = loader.state_dict()
    if history is not None:
        state["history"] = history.to_dict()
    if extra is not None:
        state["extra"] = extra
    serialization.save(state, path)
    return path


def load_checkpoint(path, model, optimizer=None, scheduler=None, restore_rng=True, loader=None):
    """Load a checkpoint into `model` (and optimizer, scheduler, loader); return a dict with 'epoch',
    'history' (a History) and 'extra'. Restores retrograd's RNG state unless told not to.

    Everything is checked before anything is changed: a checkpoint that does not fit raises
    CheckpointError naming the field, and leaves model, optimizer, scheduler, loader and
    RNG untouched."""
    state = serialization.load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a retrograd training checkpoint (no 'format' tag); "
                              f"use retrograd.load for plain state dicts")

    def check(field, checker, *args):
        try:
            return checker(*args)
        except CheckpointError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as error:
            raise CheckpointError(f"{path}: field '{field}': {error}") from None

    def part(field):
        if field not in state:
            raise CheckpointError(f"{path}: the checkpoint holds no '{field}' field")
        return state[field]

    # each object checks its own part (model, optimizer and loader with the checks their load_state_dict makes);
    # no check changes anything
    epoch = check("epoch", _checked_epoch, part("epoch"))
    check("model", model._checked_state, part("model"))
    optimizer_state = check("optimizer", optimizer._checked_state, part("optimizer")) if optimizer else None
    restore_scheduler = scheduler is not None and "scheduler" in state
    if restore_scheduler:
        check("scheduler", scheduler._check_state, state["scheduler"])
    restore_loader = loader is not None and "loader" in state
    if restore_loader:
        check("loader", loader._checked_state, state["loader"])
    restore_rng = restore_rng and "rng" in state
    if restore_rng:
        check("rng", _check_rng_state, state["rng"])
    history = check("history", _checked_history, state.get("history", {}))

    # every part fits: apply them all (none of these can fail now)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.state, optimizer.param_groups = optimizer_state
    if restore_scheduler:
        scheduler.load_state_dict(state["scheduler"])
    if restore_loader:
        loader.load_state_dict(state["loader"])
    if restore_rng:
        set_rng_state(state["rng"])
    return {"epoch": epoch, "history": history, "extra": state.get("extra")}


def _checked_epoch(epoch):
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"expected a non-negative integer, got {epoch!r}")
    return epoch


def _checked_history(saved):
    if not isinstance(saved, dict) or not isinstance(saved.get("rows", []), list) or not all(
            isinstance(row, dict) for row in saved.get("rows", [])):
        raise ValueError("expected {'rows': [one dict per epoch]}")
    return History.from_dict(saved)


def _check_rng_state(saved):
    """The one check of an RNG state before it is set (set_rng_state itself checks while it sets)."""
    try:  # on a scratch generator: retrograd's own is set only once everything fits
        Generator().set_state(saved)
    except (TypeError, ValueError, KeyError, RuntimeError) as error:
        raise ValueError(f"not a retrograd.Generator state ({error})") from None
