"""Rprop: resilient backpropagation (per-weight step sizes driven by gradient signs; PyTorch's rule)."""
import numpy as np

from ._update import check_flags
from .optimizer import Optimizer
from ..tensor import Tensor


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun, 1993; the iRprop- variant, as PyTorch), per coordinate with gradient g:

        g      <- -g                                           if maximize
        s      <- sign(g * g_prev)
        eta    <- etaplus if s > 0, etaminus if s < 0, 1 if s = 0       (etas = (etaminus, etaplus))
        step_t <- clamp(step_{t-1} * eta, step_size_min, step_size_max)   (step_0 = lr)
        g      <- 0                                            where s < 0 (the sign flipped: skip)
        theta  <- theta - sign(g) * step_t
        g_prev <- g

    Only gradient signs matter: the magnitude never enters the update. State per parameter:
    'step' (a number), 'prev' (g_prev, starting at zero) and 'step_size' (starting at lr).
    `foreach` is accepted and ignored.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        check_flags("Rprop", capturable, differentiable)
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        return {"step": "number", "prev": "tensor", "step_size": "tensor"}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]

            def first_step_sizes(param, state, lr=group["lr"]):  # every step size starts at lr
                state["step_size"] = Tensor._from_array(np.full_like(param, lr))

            for param, grad, state in self._gradients(group, "prev", first=first_step_sizes):
                prev, step_size = state["prev"].array, state["step_size"].array
                sign = np.sign(grad * prev)
                flipped = sign < 0
                factor = np.where(sign > 0, etaplus, np.where(flipped, etaminus, 1.0)).astype(param.dtype)
                step_size *= factor                               # step <- clamp(step eta, min, max)
                np.clip(step_size, step_size_min, step_size_max, out=step_size)
                grad = np.where(flipped, 0, grad).astype(param.dtype, copy=False)   # a flipped sign: no move
                param -= np.sign(grad) * step_size
                prev[...] = grad
        return loss
