"""`to_torch(module)` / `from_torch(torch_module)`: the same architecture in the other library, weights copied.

The twin is built by architecture, recursively:
- a layer retrograd.nn shares with torch.nn (Linear, Conv2d, BatchNorm2d, LSTM, ...: same class name)
  is built from the source's constructor arguments, read off its attributes (in_features, kernel_size,
  num_layers, bidirectional, proj_size...; `bias=` is whether the source has a bias);
- Sequential, ModuleList and ModuleDict are rebuilt around their converted children, names kept;
- the shipped models (LeNet5, ResNet, BasicBlock) map to their PyTorch twins in `twins.py`.
Then every parameter and buffer is copied by name with `load_state_dict` (strict: nothing is left
out), in the source's floating dtype, with each parameter's requires_grad and each module's
training flag. A module appearing twice stays one module, and a parameter shared between modules
(tied weights) stays shared. Anything else -- a model class of your own, whose forward neither
library can translate -- is refused with a TypeError that gives the two-line state-dict recipe.
"""
import inspect

import numpy as np

from .. import nn
from ..models import lenet, resnet
from ..tensor import Tensor
from . import twins
from ._torch import import_torch
from .state import torch_to_numpy

_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
_NOT_LAYERS = {"Module", "RNNBase", "RNNCellBase", "ParameterList", "ParameterDict", *_CONTAINERS}
_NOT_ARGUMENTS = {"dtype", "device", "size_average", "reduce"}  # dtype: cast after; the rest: PyTorch's deprecated
_NOT_ARGUMENTS_OF = {"GRU": {"proj_size"}, "RNN": {"proj_size"}}  # retrograd takes proj_size=0; PyTorch refuses it
_RECIPE = ("build the same architecture on the other side and copy the weights: "
           "retrograd.save(model.state_dict(), 'm.safetensors'); "
           "torch_model.load_state_dict(safetensors.torch.load_file('m.safetensors')) (or the reverse with "
           "safetensors.torch.save_file and retrograd.load)")


def to_torch(module):
    """A torch.nn twin of the retrograd `module` (same architecture, a copy of its weights and buffers)."""
    torch = import_torch("retrograd.to_torch")
    if not isinstance(module, nn.Module):
        raise TypeError(f"retrograd.to_torch: expected a retrograd.nn.Module, got {type(module).__name__}")
    layers = {rg: getattr(torch.nn, name) for name, rg in _shared_layers(torch).items()}
    models = {lenet.LeNet5: "LeNet5", resnet.BasicBlock: "BasicBlock", resnet.ResNet: "ResNet"}
    classes = twins.torch_twin_classes()
    side = _Side("retrograd.to_torch", nn, torch.nn, {rg: classes[name] for rg, name in models.items()}, layers,
                 lambda value: _to_torch_value(torch, value), lambda name: getattr(torch, name))
    return side.convert_tree(module)


def from_torch(torch_module):
    """A retrograd.nn twin of the torch.nn `torch_module` (same architecture, a copy of its weights and buffers)."""
    torch = import_torch("retrograd.from_torch")
    if not isinstance(torch_module, torch.nn.Module):
        raise TypeError(f"retrograd.from_torch: expected a torch.nn.Module, got {type(torch_module).__name__}")
    layers = {getattr(torch.nn, name): rg for name, rg in _shared_layers(torch).items()}
    classes = twins.torch_twin_classes()
    models = {classes["LeNet5"]: lenet.LeNet5, classes["BasicBlock"]: resnet.BasicBlock,
              classes["ResNet"]: resnet.ResNet}
    side = _Side("retrograd.from_torch", torch.nn, nn, models, layers, lambda value: _from_torch_value(torch, value),
                 np.dtype)
    return side.convert_tree(torch_module)


def _shared_layers(torch):
    """{class name: retrograd layer class} for every layer of retrograd.nn that torch.nn has too."""
    return {name: layer for name, layer in vars(nn).items()
            if isinstance(layer, type) and issubclass(layer, nn.Module) and name not in _NOT_LAYERS
            and isinstance(getattr(torch.nn, name, None), type)}


def _to_torch_value(torch, value):
    if isinstance(value, Tensor):
        return torch.from_numpy(np.array(value.array, copy=True))
    return value


def _from_torch_value(torch, value):
    if isinstance(value, torch.Tensor):
        return Tensor._from_array(torch_to_numpy(value, "retrograd.from_torch"))
    return value


class _Side:
    """One direction of the conversion: both libraries' nn, the target's classes for the source's models and
    layers, a converter of tensor values and one from a dtype name to the target's dtype."""

    def __init__(self, caller, source_nn, target_nn, models, layers, convert_value, target_dtype):
        self.caller, self.source_nn, self.target_nn = caller, source_nn, target_nn
        self.models, self.layers = models, layers
        self.convert_value, self.target_dtype = convert_value, target_dtype

    def convert_tree(self, source):
        target = self.build(source, {})
        _tie_shared_parameters(source, target)
        dtype_name = _floating_dtype_name(source)
        if dtype_name is not None:  # the twin was built in the default dtype
            target.to(self.target_dtype(dtype_name))
        target.load_state_dict({key: self.convert_value(value) for key, value in source.state_dict().items()})
        targets = dict(target.named_parameters(remove_duplicate=False))
        for name, parameter in source.named_parameters(remove_duplicate=False):
            targets[name].requires_grad_(parameter.requires_grad)
        targets = dict(target.named_modules(remove_duplicate=False))
        for name, module in source.named_modules(remove_duplicate=False):
            object.__setattr__(targets[name], "training", module.training)
        return target

    def build(self, source, memo):
        """The twin of `source` without its weights; a module met before gets the twin made then."""
        if id(source) in memo:
            return memo[id(source)]
        kind = type(source)
        if kind.__name__ in _CONTAINERS and kind is getattr(self.source_nn, kind.__name__):
            target = getattr(self.target_nn, kind.__name__)()
            for name, child in source.named_children():
                target.add_module(name, self.build(child, memo))
        elif kind in self.models:
            target = self.models[kind](**twins.model_arguments(kind.__name__, source))
        elif kind in self.layers:
            target = self.layers[kind](**self.layer_arguments(source, self.layers[kind]))
        else:
            raise TypeError(f"{self.caller}: no twin for {kind.__module__}.{kind.__qualname__}: it converts the "
                            f"layers retrograd.nn shares with torch.nn, Sequential/ModuleList/ModuleDict and the "
                            f"models retrograd ships (LeNet5, ResNet, BasicBlock). For a model of your own, {_RECIPE}")
        memo[id(source)] = target
        return target

    def layer_arguments(self, source, target_class):
        """The constructor arguments of `target_class` that rebuild `source`, read off its attributes.

        The retrograd class's signature lists them (some of PyTorch's are only *args, **kwargs); one a
        PyTorch class does not take (MaxPool2d's `ties`, retrograd's own) is left out at its default and
        refused otherwise, since the twin could not behave the same."""
        retrograd_class = type(source) if isinstance(source, nn.Module) else target_class
        takes = inspect.signature(target_class).parameters
        takes_any = any(parameter.kind == parameter.VAR_KEYWORD for parameter in takes.values())
        arguments = {}
        for name, parameter in inspect.signature(retrograd_class).parameters.items():
            if name in _NOT_ARGUMENTS or name in _NOT_ARGUMENTS_OF.get(retrograd_class.__name__, ()) \
                    or name.startswith("_") or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if not (takes_any or name in takes):
                if getattr(source, name, parameter.default) != parameter.default:
                    raise TypeError(f"{self.caller}: {type(source).__name__} with {name}="
                                    f"{getattr(source, name)!r} has no PyTorch twin ({target_class.__name__} has "
                                    f"no '{name}'; only {name}={parameter.default!r} matches it)")
                continue
            if name in _ARGUMENT_READERS.get(target_class.__name__, {}):
                arguments[name] = _ARGUMENT_READERS[target_class.__name__][name](source)
            elif hasattr(source, name):
                value = getattr(source, name)
                arguments[name] = (value is not None) if name == "bias" and not isinstance(value, bool) \
                    else self.convert_value(value)
            elif parameter.default is parameter.empty:
                raise TypeError(f"{self.caller}: cannot rebuild {type(source).__name__}: it has no attribute "
                                f"'{name}', which {target_class.__name__}() needs")
        return arguments


def _rnn_nonlinearity(source):
    return getattr(source, "nonlinearity", None) or ("relu" if source.mode == "RNN_RELU" else "tanh")


_ARGUMENT_READERS = {  # arguments a layer does not keep under their own name
    "RNN": {"nonlinearity": _rnn_nonlinearity},
    "PairwiseDistance": {"p": lambda source: source.norm},  # PyTorch keeps p as `norm`
    "MultiheadAttention": {"bias": lambda source: source.in_proj_bias is not None,
                           "add_bias_kv": lambda source: getattr(source, "bias_k", None) is not None},
}


def _floating_dtype_name(module):
    """'float64', 'float32', ... of the module's first floating-point parameter or buffer; None if it has none."""
    for tensor in list(module.parameters()) + list(module.buffers()):
        name = str(tensor.dtype).rsplit(".", 1)[-1]  # torch.float64 or float64
        if name.startswith("float"):
            return name
    return None


def _tie_shared_parameters(source, target):
    """Where one source parameter sits under several names (tied weights), make the target's names share one too."""
    first_name = {}
    for name, parameter in source.named_parameters(remove_duplicate=False):
        if id(parameter) not in first_name:
            first_name[id(parameter)] = name
            continue
        shared = target.get_parameter(first_name[id(parameter)])
        owner, _, attribute = name.rpartition(".")
        setattr(target.get_submodule(owner) if owner else target, attribute, shared)
