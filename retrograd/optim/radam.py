"""RAdam (Adam with the variance of its adaptive step rectified; PyTorch's rule)."""
import numpy as np

from ._update import check_flags, check_hyperparameters, lerp_
from .optimizer import Optimizer


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2019), update for parameter theta with gradient g at step t = 1, 2, ...
    (PyTorch's rule):

        g       <- -g                                       if maximize
        theta   <- theta * (1 - lr * weight_decay)          if decoupled_weight_decay (RAdamW)
        g       <- g + weight_decay * theta                 otherwise, if weight_decay != 0
        m_t     <- m_{t-1} + (1 - beta1) * (g - m_{t-1})
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * g^2
        rho_inf <- 2 / (1 - beta2) - 1
        rho_t   <- rho_inf - 2 t beta2^t / (1 - beta2^t)
        r_t     <- sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
        theta   <- theta - lr * m_t / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(v_t) + eps) * r_t
                                                            if rho_t > 5
        theta   <- theta - lr * m_t / (1 - beta1^t)         otherwise (too few steps to trust v)

    State per parameter: 'step' (a number), 'exp_avg' (m) and 'exp_avg_sq' (v), both starting at
    zero. `foreach` is accepted and ignored.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        check_flags("RAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        return {"step": "number", "exp_avg": "tensor", "exp_avg_sq": "tensor"}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for param, grad, state in self._gradients(group, "exp_avg", "exp_avg_sq"):
                self._update(param, grad, state, group)
        return loss

    def _update(self, param, grad, state, group):
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"].array, state["exp_avg_sq"].array

        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param

        lerp_(exp_avg, grad, 1 - beta1)                          # m <- m + (1 - beta1) (g - m)
        scratch = np.asarray(np.multiply(grad, 1 - beta2))       # v <- beta2 v + (1 - beta2) g g (0-d: an array)
        scratch *= grad
        exp_avg_sq *= beta2
        exp_avg_sq += scratch

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1                            # the length of the approximated SMA
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        update = np.divide(exp_avg, bias_correction1)            # m / (1 - beta1^t), times lr
        update *= lr
        if rho_t > 5.0:                                          # times the rectified adaptive step
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            np.sqrt(exp_avg_sq, out=scratch)
            scratch += eps
            np.divide(bias_correction2 ** 0.5, scratch, out=scratch)
            update *= scratch
            update *= rect
        param -= update
