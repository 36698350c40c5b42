"""Adagrad (PyTorch's rule: per-coordinate step sizes from the sum of squared gradients)."""
import numpy as np

from .optimizer import Optimizer
from ..tensor import Tensor
from ._update import check_flags, check_hyperparameters


class Adagrad(Optimizer):
    r"""Adagrad, update for parameter theta with gradient g at step t = 1, 2, ... (PyTorch's rule):

        g     <- -g                                  if maximize
        g     <- g + weight_decay * theta            if weight_decay != 0
        clr   <- lr / (1 + (t - 1) * lr_decay)
        s_t   <- s_{t-1} + g^2                       (s_0 = initial_accumulator_value)
        theta <- theta - clr * g / (sqrt(s_t) + eps)

    State per parameter (created with the optimizer, as in PyTorch): 'step' and 'sum' (s).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        check_flags("Adagrad", capturable, differentiable)  # foreach and fused pick PyTorch kernels: same math here
        check_hyperparameters(lr=lr, weight_decay=weight_decay, eps=eps)
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = 0
        state["sum"] = Tensor._from_array(np.full_like(p.array, group["initial_accumulator_value"]))
        return state

    def _state_layout(self, group):
        return {"step": "number", "sum": "tensor"}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                param, grad = p.array, p.grad.array
                state = self.state[p] or self._init_state(p, group)  # (a group added after construction)
                state["step"] = step = state["step"] + 1

                if maximize:
                    grad = np.negative(grad)
                if weight_decay != 0:
                    grad = grad + weight_decay * param

                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = state["sum"].array
                scratch = np.asarray(np.multiply(grad, grad))   # s <- s + g g  (asarray: 0-d gives a scalar)
                state_sum += scratch
                std = np.sqrt(state_sum, out=scratch)           # theta <- theta + (-clr g) / (sqrt(s) + eps),
                std += eps                                      # rounded as PyTorch's addcdiv_
                update = np.multiply(grad, -clr)
                update /= std
                param += update
                p._bump_version()  # a graph that saved this weight can no longer run its backward
        return loss
