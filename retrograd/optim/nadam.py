"""NAdam (Adam with Nesterov momentum and Dozat's momentum schedule; PyTorch's rule)."""
import numpy as np

from ._update import check_flags, check_hyperparameters, lerp_, scalar_state, scalar_state_dtype
from .optimizer import Optimizer
from ..tensor import Tensor


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), update for parameter theta with gradient g at step t = 1, 2, ... (PyTorch's rule):

        g       <- -g                                       if maximize
        theta   <- theta * (1 - lr * weight_decay)          if decoupled_weight_decay (NAdamW)
        g       <- g + weight_decay * theta                 otherwise, if weight_decay != 0
        mu_t    <- beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        P_t     <- P_{t-1} * mu_t                           (P_0 = 1: the product of all mu so far)
        m_t     <- m_{t-1} + (1 - beta1) * (g - m_{t-1})
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * g^2
        denom   <- sqrt(v_t / (1 - beta2^t)) + eps
        theta   <- theta - lr * (1 - mu_t) / (1 - P_t) * g / denom
                         - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m_t / denom

    State per parameter: 'step' (a number), 'mu_product' (P, a 0-d tensor stored in PyTorch's scalar
    precision: float32 unless the default dtype is float64, so P is rounded as PyTorch rounds it),
    'exp_avg' (m) and 'exp_avg_sq' (v). `foreach` is accepted and ignored.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        check_flags("NAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        return {"step": "number", "mu_product": "number", "exp_avg": "tensor", "exp_avg_sq": "tensor"}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    def _update(self, p, group):
        lr, eps, weight_decay, maximize = group["lr"], group["eps"], group["weight_decay"], group["maximize"]
        beta1, beta2 = group["betas"]
        momentum_decay = group["momentum_decay"]
        param, grad = p.array, p.grad.array
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["mu_product"] = Tensor._from_array(np.array(1.0, dtype=scalar_state_dtype()))
            state["exp_avg"] = Tensor._from_array(np.zeros_like(param))
            state["exp_avg_sq"] = Tensor._from_array(np.zeros_like(param))
        state["step"] = step = state["step"] + 1
        exp_avg, exp_avg_sq = state["exp_avg"].array, state["exp_avg_sq"].array

        if maximize:
            grad = np.negative(grad)
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param

        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        # P <- P mu, in the 0-d tensor's precision (PyTorch rounds mu to it first, then multiplies)
        mu_product = scalar_state(float(state["mu_product"].array) * scalar_state(mu))
        state["mu_product"] = Tensor._from_array(np.array(mu_product, dtype=scalar_state_dtype()))
        mu_product_next = mu_product * mu_next

        lerp_(exp_avg, grad, 1 - beta1)                          # m <- m + (1 - beta1) (g - m)
        scratch = np.asarray(np.multiply(grad, 1 - beta2))       # v <- beta2 v + (1 - beta2) g g
        scratch *= grad
        exp_avg_sq *= beta2
        exp_avg_sq += scratch
        denom = np.asarray(np.divide(exp_avg_sq, 1 - beta2 ** step))  # denom <- sqrt(v / (1 - beta2^t)) + eps
        np.sqrt(denom, out=denom)
        denom += eps
        np.multiply(grad, -lr * (1.0 - mu) / (1.0 - mu_product), out=scratch)   # the gradient's term
        scratch /= denom
        param += scratch
        np.multiply(exp_avg, (-lr * mu_next) / (1.0 - mu_product_next), out=scratch)  # the momentum's term
        scratch /= denom
        param += scratch
        p._bump_version()  # a graph that saved this weight can no longer run its backward
