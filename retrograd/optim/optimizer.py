"""Optimizer: parameter groups, per-parameter state and PyTorch's state-dict layout.

Subclasses implement `step` as in-place NumPy updates of `p.array` from `p.grad.array`:
an optimizer step is arithmetic on leaves, never recorded on the tape.
"""
import warnings
from collections import defaultdict
from itertools import chain

import numpy as np

from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor


class _RequiredParameter:
    """Marks a hyper-parameter without a default (it must be given per group or to the constructor)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers.

    `params` is an iterable of Tensors, of (name, Tensor) pairs, or of dicts (parameter
    groups: {'params': [...], 'lr': ..., ...}); options missing from a group take the
    values in `defaults`. `state[p]` holds each parameter's buffers (keyed by the
    parameter object itself).
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. a lower lr for a pretrained body)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; they are updated "
                          "once per occurrence", stacklevel=3)
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: drop them (default), or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:  # the slot behind the `grad` property: this runs every training step
                    if set_to_none:
                        p._grad = None
                    else:
                        p._grad.detach_()
                        p._grad.array[...] = 0

    def step(self, closure=None):
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    @staticmethod
    def _evaluate(closure):
        """Run the closure (which recomputes the loss and its gradients) with grad enabled."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _gradients(self, group, *buffers, first=None):
        """(param, grad, state) for each parameter of `group` that has a gradient, as every update starts:
        `param` is the array to update in place, `grad` the gradient (negated when the group maximizes),
        and `state` the parameter's state with its `step` counted up, the named `buffers` made as zeros the
        first time (and `first(param, state)` run then, for state that does not start at zero)."""
        for p in group["params"]:
            grad = p._grad  # the slot behind the `grad` property, as in zero_grad
            if grad is None:
                continue
            param, grad = p.array, grad.array
            state = self.state[p]
            if not state:
                state["step"] = 0
                for name in buffers:
                    state[name] = Tensor._from_array(np.zeros_like(param))
                if first is not None:
                    first(param, state)
            state["step"] += 1
            if group["maximize"]:
                grad = np.negative(grad, out=np.empty_like(grad))  # an array even when 0-d (NumPy returns a scalar)
            yield param, grad, state
            p._bump_version()  # after the update: a graph that saved this weight can no longer run its backward

    # ----- state dict -------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {...}}, 'param_groups': [{options..., 'params': [indices]}]}.

        Parameters are numbered in group order, as in PyTorch. State values are the optimizer's
        own Tensors and numbers (not copies): copy or save the dict before training on."""
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index_of[id(k)] if isinstance(k, Tensor) else k): dict(v) for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore the state and options saved by `state_dict` (from this or an identically built optimizer).

        The groups must match in number and size (PyTorch's checks and errors). Beyond
        PyTorch, which finds these at the next step(), a state of another optimizer (a group
        lacking one of this optimizer's options, a parameter's state with other buffers) or a
        buffer whose shape differs from its parameter's is refused here, with a ValueError
        naming the group or parameter. Nothing changes unless every check passes. Saved
        arrays are copied and cast to the dtype of their parameter ('step' counts stay
        numbers), so the run resumes exactly."""
        self.state, self.param_groups = self._checked_state(state_dict)

    def _state_layout(self, group):
        """{name: "tensor" | "number"}: the state a parameter of `group` holds after a step (subclasses say),
        or None to skip the check."""
        return None

    def _checked_state(self, state_dict):
        """(state, param_groups) that load_state_dict installs, after every check; changes nothing."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("state"), dict) \
                or not isinstance(state_dict.get("param_groups"), list):
            raise ValueError(f"{name}.load_state_dict: expected a dict with a 'state' dict and a 'param_groups' "
                             f"list, got {_summary(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups: {len(saved_groups)} "
                             f"saved, {len(self.param_groups)} in this {name}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), list):
                raise ValueError(f"{name}.load_state_dict: param_groups[{i}] is not a dict with a 'params' list")
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group: group {i} has {len(saved['params'])} parameters saved, "
                                 f"{len(group['params'])} here")
            missing = [option for option in self.defaults if option not in saved]
            if missing:
                raise ValueError(f"{name}.load_state_dict: param_groups[{i}] lacks the option(s) {missing} that "
                                 f"{name} needs: a state dict of another optimizer?")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        group_of = {id(p): saved for group, saved in zip(self.param_groups, saved_groups) for p in group["params"]}
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key not in id_map:
                state[key] = value  # as PyTorch: state of no parameter here is kept, unused
                continue
            param = id_map[key]
            if not isinstance(value, dict):
                raise ValueError(f"{name}.load_state_dict: state[{key!r}] is {_summary(value)}, not a dict")
            self._check_param_state(key, param, value, group_of[id(param)])
            state[param] = {entry: _cast_state(param, entry, v) for entry, v in value.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new_group = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()
                         if k not in ("params", "param_names")}
            new_group["params"] = group["params"]
            if "param_names" in saved or "param_names" in group:
                new_group["param_names"] = saved.get("param_names", group.get("param_names"))
            new_groups.append(new_group)
        return state, new_groups

    def _check_param_state(self, key, param, value, saved_group):
        """One parameter's saved state: this optimizer's buffers (None entries aside), shaped like the parameter."""
        name = type(self).__name__
        layout = self._state_layout(saved_group)
        present = {entry for entry, v in value.items() if v is not None}
        if layout is not None and present and present != set(layout):
            raise ValueError(f"{name}.load_state_dict: state[{key!r}] holds {sorted(present)}, but {name} with "
                             f"these options keeps {sorted(layout)}: a state dict of another optimizer?")
        for entry, v in value.items():
            kind = (layout or {}).get(entry, "tensor" if isinstance(v, (Tensor, np.ndarray)) else "other")
            array = v.array if isinstance(v, Tensor) else v
            if v is None or kind == "other":
                continue
            if kind == "number":
                if not (isinstance(array, (int, float, np.number)) and not isinstance(array, bool)
                        or isinstance(array, np.ndarray) and array.shape == () and array.dtype.kind in "iuf"):
                    raise ValueError(f"{name}.load_state_dict: state[{key!r}][{entry!r}] should be a number, got "
                                     f"{_summary(v)}")
            elif not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
                raise ValueError(f"{name}.load_state_dict: state[{key!r}][{entry!r}] should be a numeric tensor, "
                                 f"got {_summary(v)}")
            elif array.shape != param.array.shape:
                raise ValueError(f"{name}.load_state_dict: state[{key!r}][{entry!r}] has shape {array.shape}, "
                                 f"its parameter has shape {param.array.shape}")

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"


def _summary(value):
    if isinstance(value, (Tensor, np.ndarray)):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__} {str(value)[:40]!r}"


def _cast_state(param, name, value):
    """A private copy of one saved state entry: arrays in the parameter's float dtype, 'step' a number."""
    if isinstance(value, (Tensor, np.ndarray)):
        array = value.array if isinstance(value, Tensor) else value
        if name == "step":
            return array.item()
        dtype = param.array.dtype if array.dtype.kind == "f" and param.array.dtype.kind == "f" else array.dtype
        return Tensor._from_array(np.array(array, dtype=dtype))
    return value
