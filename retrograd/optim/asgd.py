"""ASGD: averaged stochastic gradient descent (PyTorch's rule, with its running average 'ax')."""
import numpy as np

from ._update import check_flags, check_hyperparameters, scalar_state, scalar_state_dtype
from .optimizer import Optimizer
from ..tensor import Tensor


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), update for parameter theta with gradient g at step
    t = 1, 2, ... (PyTorch's rule):

        g     <- -g                                   if maximize
        g     <- g + weight_decay * theta             if weight_decay != 0
        theta <- theta * (1 - lambd * eta_{t-1}) - eta_{t-1} * g          (eta_0 = lr)
        ax_t  <- ax_{t-1} + mu_{t-1} * (theta - ax_{t-1})   (ax_t <- theta when mu_{t-1} = 1)
        eta_t <- lr / (1 + lambd * lr * t)^alpha
        mu_t  <- 1 / max(1, t - t0)

    `ax` is the averaged parameter (averaging starts after t0 steps); the optimizer updates
    theta, and a user reads the average from state['ax']. State per parameter: 'step' (a number),
    'eta' and 'mu' (0-d tensors stored in PyTorch's scalar precision: float32 unless the default
    dtype is float64, so the step sizes are rounded as PyTorch rounds them) and 'ax'.
    `foreach` is accepted and ignored.
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        check_hyperparameters(lr=lr, weight_decay=weight_decay)
        check_flags("ASGD", capturable, differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        return {"step": "number", "eta": "number", "mu": "number", "ax": "tensor"}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            weight_decay = group["weight_decay"]

            def first_rates(param, state, lr=lr):  # eta starts at lr, mu at 1
                state["eta"], state["mu"] = _scalar_tensor(lr), _scalar_tensor(1.0)

            for param, grad, state in self._gradients(group, "ax", first=first_rates):
                step = state["step"]
                eta, mu, ax = float(state["eta"].array), float(state["mu"].array), state["ax"].array

                if weight_decay != 0:
                    grad = grad + weight_decay * param

                param *= 1 - lambd * eta                        # theta <- theta (1 - lambd eta) - eta g
                param -= eta * grad
                if mu != 1:                                     # ax <- ax + mu (theta - ax)
                    scratch = np.subtract(param, ax)
                    scratch *= mu
                    ax += scratch
                else:
                    ax[...] = param
                state["eta"] = _scalar_tensor(lr / ((1 + lambd * lr * step) ** alpha))
                state["mu"] = _scalar_tensor(1 / max(1, step - t0))
        return loss


def _scalar_tensor(value):
    """A 0-d state tensor holding `value` rounded as PyTorch stores it."""
    return Tensor._from_array(np.array(scalar_state(value), dtype=scalar_state_dtype()))
