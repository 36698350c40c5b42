"""Adamax (Adam with the infinity norm in place of the second moment; PyTorch's rule)."""
import numpy as np

from ._update import check_flags, check_hyperparameters, lerp_
from .optimizer import Optimizer


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, section 7.1), update for parameter theta with gradient g at step t = 1, 2, ...
    (PyTorch's rule):

        g     <- -g                                      if maximize
        g     <- g + weight_decay * theta                if weight_decay != 0
        m_t   <- m_{t-1} + (1 - beta1) * (g - m_{t-1})   (= beta1 m + (1 - beta1) g, as lerp)
        u_t   <- max(beta2 * u_{t-1}, |g| + eps)
        theta <- theta - lr / (1 - beta1^t) * m_t / u_t

    State per parameter: 'step' (a number), 'exp_avg' (m) and 'exp_inf' (u), both starting at zero.
    `foreach` is accepted and ignored.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        check_flags("Adamax", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        return {"step": "number", "exp_avg": "tensor", "exp_inf": "tensor"}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for param, grad, state in self._gradients(group, "exp_avg", "exp_inf"):
                step = state["step"]
                exp_avg, exp_inf = state["exp_avg"].array, state["exp_inf"].array

                if weight_decay != 0:
                    grad = grad + weight_decay * param

                lerp_(exp_avg, grad, 1 - beta1)                  # m <- m + (1 - beta1) (g - m)
                exp_inf *= beta2                                 # u <- max(beta2 u, |g| + eps)
                scratch = np.asarray(np.abs(grad))  # an array even for a 0-d parameter
                scratch += eps
                np.maximum(exp_inf, scratch, out=exp_inf)
                clr = lr / (1 - beta1 ** step)                   # theta <- theta - clr m / u
                np.multiply(exp_avg, -clr, out=scratch)
                scratch /= exp_inf
                param += scratch
        return loss
