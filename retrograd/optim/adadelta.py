"""Adadelta (PyTorch's rule: step sizes from running averages of squared gradients and squared updates)."""
import numpy as np

from ._update import check_flags, check_hyperparameters
from .optimizer import Optimizer


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), update for parameter theta with gradient g (PyTorch's rule):

        g       <- -g                                   if maximize
        g       <- g + weight_decay * theta             if weight_decay != 0
        v_t     <- rho * v_{t-1} + (1 - rho) * g^2
        delta_t <- sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g
        u_t     <- rho * u_{t-1} + (1 - rho) * delta_t^2
        theta   <- theta - lr * delta_t

    State per parameter: 'step' (a number), 'square_avg' (v) and 'acc_delta' (u), both starting
    at zero. `foreach` is accepted and ignored (there is one NumPy code path).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_hyperparameters(lr=lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_flags("Adadelta", capturable, differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        return {"step": "number", "square_avg": "tensor", "acc_delta": "tensor"}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            weight_decay = group["weight_decay"]
            for param, grad, state in self._gradients(group, "square_avg", "acc_delta"):
                square_avg, acc_delta = state["square_avg"].array, state["acc_delta"].array

                if weight_decay != 0:
                    grad = grad + weight_decay * param

                scratch = np.asarray(np.multiply(grad, 1 - rho))  # v <- rho v + (1 - rho) g g
                scratch *= grad
                square_avg *= rho
                square_avg += scratch
                std = np.asarray(np.sqrt(square_avg + eps))    # delta <- sqrt(u + eps) / sqrt(v + eps) * g
                delta = np.add(acc_delta, eps, out=scratch)
                np.sqrt(delta, out=delta)
                delta /= std
                delta *= grad
                np.multiply(delta, 1 - rho, out=std)           # u <- rho u + (1 - rho) delta delta
                std *= delta
                acc_delta *= rho
                acc_delta += std
                delta *= lr                                    # theta <- theta - lr delta
                param -= delta
        return loss
