"""Module and Parameter, with PyTorch's registration rules and state-dict layout.

Modules own parameters, buffers, submodules, names, initialisation and input
checks -- never calculus: `forward` composes ops, whose VJPs do the rest.
"""
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ..device import check_device, device as device_type
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as a parameter (requires grad by default)."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), np.float32)
        array = data.array if isinstance(data, Tensor) else np.asarray(data)
        super().__init__(array)
        self.array = array  # share storage with the tensor it wraps, as PyTorch does
        self.requires_grad = requires_grad

    def __repr__(self):
        """PyTorch's: `tensor(...)` under a header; a subclass's text, `MyParam(...)`, is also wrapped in
        `Parameter(...)`."""
        if type(self) is Parameter:
            return "Parameter containing:\n" + self._repr_as("tensor(")
        return "Parameter containing:\nParameter(" + self._repr_as(type(self).__name__ + "(") + ")"


class Module:
    """Base class of all layers. Assigning a Parameter, Module or (via register_buffer) buffer
    to an attribute registers it under that name, in assignment order."""

    # built-in layers: how many leading positional arguments must be Tensors. PyTorch raises a TypeError
    # for a list there; NumPy would accept it and fail later with an AttributeError, or silently compute.
    _tensor_args = 0

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # ----- registration ---------------------------------------------------------
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if params is None and isinstance(value, (Parameter, Module)):
            raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before Module.__init__() call "
                                 f"(call super().__init__() first in {type(self).__name__}.__init__)")
        if isinstance(value, Parameter):
            self._remove_name(name, keep="_parameters")
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(retrograd.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._remove_name(name, keep="_modules")
            self._modules[name] = value
        elif self.__dict__.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}'")
            self._modules[name] = None
        elif self.__dict__.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _remove_name(self, name, keep=None):
        """Forget `name` everywhere but the registry `keep`, where a replaced entry keeps its place (as in
        PyTorch: replacing resnet.conv1 leaves it first among children())."""
        for registry in ("_parameters", "_modules", "_buffers"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries
        for registry in ("_parameters", "_buffers", "_modules"):
            items = self.__dict__.get(registry)
            if items is not None and name in items:
                return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[registry]:
                del self.__dict__[registry][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(retrograd.nn.Parameter or None required)")
        self._remove_name(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None)")
        self._remove_name(name, keep="_buffers")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._remove_name(name, keep="_modules")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        module = self
        if target == "":
            return module
        for part in target.split("."):
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule '{part}' (looking up '{target}')")
            module = module._modules[part]
        return module

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        return getattr(self.get_submodule(module_path), name)

    # ----- traversal --------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if self in memo and remove_duplicate:
            return
        memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ----- state dict ---------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, in PyTorch's order (per module: its
        parameters, then its buffers, then its children). Values are detached tensors sharing storage."""
        destination = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values (Tensors or NumPy arrays) into parameters and buffers by name.

        Shape mismatches and values that are not numeric Tensors or arrays always raise, naming the
        key; with `strict`, so do missing and unexpected keys. Values are cast to each parameter's
        dtype. Nothing is modified unless every check passes. Returns (missing_keys, unexpected_keys)."""
        staged, missing, unexpected = self._checked_state(state_dict, strict)
        for target, array in staged:
            if assign:
                target.array = np.array(array, dtype=target.array.dtype)
            else:
                target._bump_version()  # PyTorch's copy_: a graph that saved the old values cannot backward
                np.copyto(target.array, array, casting="unsafe")
        return _IncompatibleKeys(missing, unexpected)

    def _checked_state(self, state_dict, strict=True):
        """(staged [(parameter or buffer, array)], missing keys, unexpected keys) for load_state_dict, after
        every check, with PyTorch's messages in one RuntimeError; changes nothing. (train.load_checkpoint
        checks a model's part of a checkpoint with it too, before it changes anything.)"""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        staged = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.array if isinstance(value, Tensor) else value
            if not isinstance(array, (np.ndarray, np.generic)) or array.dtype.kind not in "biuf":
                errors.append(f'While copying the parameter named "{key}", expected retrograd.Tensor or a numeric '
                              f'NumPy array from checkpoint but received {type(value)}')
                continue
            if array.shape != target.array.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {array.shape} from checkpoint, "
                              f"the shape in current model is {target.array.shape}.")
                continue
            staged.append((target, array))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        return staged, missing, unexpected

    # ----- modes and conversions ------------------------------------------------------
    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.array[...] = 0
        return None

    def apply(self, fn):
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _cast(self, dtype):
        """Cast floating-point parameters and buffers in place (their identity is kept, as in PyTorch)."""
        dtype = np.dtype(dtype)
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for tensor in registry.values():
                    if tensor is not None and tensor.array.dtype.kind == "f":
                        tensor.array = tensor.array.astype(dtype)
                        if tensor.grad is not None:
                            tensor.grad.array = tensor.grad.array.astype(dtype)
        return self

    def double(self):
        return self._cast(np.float64)

    def float(self):
        return self._cast(np.float32)

    def half(self):
        return self._cast(np.float16)

    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """PyTorch's forms: `to(device)`, `to(dtype)`, `to(device, dtype)`, `to(tensor)` (its dtype).

        The device must be the CPU (a device object, 'cpu'); any other raises, changing nothing."""
        args = list(args)
        if args and isinstance(args[0], Tensor):
            dtype = args.pop(0).dtype
        elif args and (args[0] is None or isinstance(args[0], (str, int, device_type))):
            device = args.pop(0)
        if args and not isinstance(args[0], bool):
            dtype = args.pop(0)
        check_device(device, f"{type(self).__name__}.to")
        return self if dtype is None else self._cast(dtype)

    def cpu(self):
        return self

    def cuda(self, device=None):
        """Refused with a clear error: retrograd runs on the CPU only."""
        check_device("cuda" if device is None else device, f"{type(self).__name__}.cuda")
        return self

    # ----- calling ------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:  # tested first: most modules have none, and every layer call passes here
            for hook in self._forward_pre_hooks.values():
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        tensor_args = self._tensor_args
        if tensor_args and (tensor_args > 1 or not args or not isinstance(args[0], Tensor)):  # one test, usually
            self._check_tensor_args(args[:tensor_args])
        output = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in self._forward_hooks.values():
                result = hook(self, args, output)
                if result is not None:
                    output = result
        return output

    def _check_tensor_args(self, args):
        for position, value in enumerate(args, 1):
            if not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: argument {position} must be a Tensor, not "
                                f"{type(value).__name__} (convert it with retrograd.tensor(...))")

    def register_forward_hook(self, hook):
        return _HookHandle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook):
        return _HookHandle(self._forward_pre_hooks, hook)

    # ----- printing -----------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


class _IncompatibleKeys(tuple):
    def __new__(cls, missing_keys, unexpected_keys):
        obj = super().__new__(cls, (missing_keys, unexpected_keys))
        obj.missing_keys, obj.unexpected_keys = missing_keys, unexpected_keys
        return obj

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"


class _HookHandle:
    _next_id = 0

    def __init__(self, registry, hook):
        self.registry = registry
        self.id = _HookHandle._next_id
        _HookHandle._next_id += 1
        registry[self.id] = hook

    def remove(self):
        self.registry.pop(self.id, None)
