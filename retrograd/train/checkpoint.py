"""Resumable training checkpoints: model, optimizer, scheduler, epoch, history and RNG state.

Saved with `retrograd.save` (safetensors or .npz: never pickle, written
atomically), so a run killed at any point resumes from the last complete
checkpoint and, given the same seed, continues bit-identically.
"""
from .. import serialization
from ..tensor import get_rng_state, set_rng_state
from .history import History


def save_checkpoint(path, model, optimizer=None, epoch=0, history=None, scheduler=None, extra=None):
    """Write everything a resumed run needs to `path` (atomic: the previous file survives a crash)."""
    state = {
        "format": "retrograd-checkpoint-1",
        "epoch": int(epoch),
        "model": model.state_dict(),
        "rng": get_rng_state(),
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if history is not None:
        state["history"] = history.to_dict()
    if extra is not None:
        state["extra"] = extra
    serialization.save(state, path)
    return path


def load_checkpoint(path, model, optimizer=None, scheduler=None, restore_rng=True):
    """Load a checkpoint into `model` (and optimizer/scheduler); return a dict with 'epoch',
    'history' (a History) and 'extra'. Restores retrograd's RNG state unless told not to."""
    state = serialization.load(path)
    if not isinstance(state, dict) or state.get("format") != "retrograd-checkpoint-1":
        raise serialization.CheckpointError(f"{path}: not a retrograd training checkpoint (no 'format' tag); "
                                            f"use retrograd.load for plain state dicts")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if "optimizer" not in state:
            raise serialization.CheckpointError(f"{path}: the checkpoint holds no optimizer state")
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng and "rng" in state:
        set_rng_state(state["rng"])
    return {
        "epoch": int(state["epoch"]),
        "history": History.from_dict(state.get("history", {})),
        "extra": state.get("extra"),
    }
