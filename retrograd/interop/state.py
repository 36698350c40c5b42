"""Nested states (state dicts, optimizer states) with retrograd tensors <-> the same with torch tensors.

Dicts keep their keys and order, lists and tuples their kind; numbers, strings, bools and None pass
through. An optimizer's 'step' count is a Python number in retrograd and a 0-d float32 tensor in
PyTorch: both optimizers accept either (PyTorch turns a number into its tensor on load, retrograd a
0-d tensor into its number), so it crosses over as it is and the next step is the same on both sides.
"""
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor
from ._torch import import_torch


def state_to_torch(obj):
    """`obj` with every retrograd Tensor (or NumPy array) replaced by a torch tensor holding a copy of it."""
    torch = import_torch("retrograd.interop.state_to_torch")

    def convert(value):
        if isinstance(value, Tensor):
            return torch.from_numpy(np.array(value.array, copy=True))
        if isinstance(value, np.ndarray):
            return torch.from_numpy(np.array(value, copy=True))
        return _map_containers(value, convert)

    return convert(obj)


def state_from_torch(obj):
    """`obj` with every torch tensor replaced by a retrograd Tensor holding a copy of it (on the CPU)."""
    torch = import_torch("retrograd.interop.state_from_torch")

    def convert(value):
        if isinstance(value, torch.Tensor):
            return Tensor._from_array(torch_to_numpy(value, "retrograd.interop.state_from_torch"))
        return _map_containers(value, convert)

    return convert(obj)


def torch_to_numpy(tensor, caller):
    """A private NumPy copy of a torch tensor; a TypeError naming `caller` for dtypes NumPy lacks (bfloat16...)."""
    tensor = tensor.detach().cpu()
    try:
        return np.array(tensor.numpy(), copy=True)
    except TypeError:
        raise TypeError(f"{caller}: cannot convert a torch tensor of dtype {tensor.dtype}: NumPy has no such "
                        f"dtype (convert it to float32 first)") from None


def _map_containers(value, convert):
    if isinstance(value, dict):  # (an OrderedDict state_dict stays one)
        items = [(key, convert(item)) for key, item in value.items()]
        return OrderedDict(items) if isinstance(value, OrderedDict) else dict(items)
    if isinstance(value, list):
        return [convert(item) for item in value]
    if isinstance(value, tuple):
        return tuple(convert(item) for item in value)
    return value
