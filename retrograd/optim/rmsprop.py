"""RMSprop (PyTorch's variant: eps outside the square root, optional centring and momentum)."""
import numpy as np

from .optimizer import Optimizer
from ._update import check_flags, check_hyperparameters, lerp_


class RMSprop(Optimizer):
    r"""RMSprop, update for parameter theta with gradient g (PyTorch's rule):

        g     <- -g                                  if maximize
        g     <- g + weight_decay * theta            if weight_decay != 0
        v_t   <- alpha * v_{t-1} + (1 - alpha) * g^2
        a_t   <- a_{t-1} + (1 - alpha) * (g - a_{t-1})       if centered (running mean of g)
        denom <- sqrt(v_t - a_t^2) + eps  if centered  else  sqrt(v_t) + eps
        b_t   <- momentum * b_{t-1} + g / denom;  theta <- theta - lr * b_t     if momentum > 0
        theta <- theta - lr * g / denom                                         otherwise

    State per parameter: 'step', 'square_avg' (v), 'momentum_buffer' (b, if momentum > 0),
    'grad_avg' (a, if centered); all buffers start at zero.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        check_flags("RMSprop", capturable, differentiable)  # foreach and fused pick PyTorch kernels: same math here
        check_hyperparameters(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay)
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        layout = {"step": "number", "square_avg": "tensor"}
        if group["momentum"] > 0:
            layout["momentum_buffer"] = "tensor"
        if group["centered"]:
            layout["grad_avg"] = "tensor"
        return layout

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps, weight_decay = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            momentum, centered = group["momentum"], group["centered"]
            buffers = ("square_avg",) + (("momentum_buffer",) if momentum > 0 else ()) + (("grad_avg",) if centered else ())
            for param, grad, state in self._gradients(group, *buffers):
                square_avg = state["square_avg"].array

                if weight_decay != 0:
                    grad = grad + weight_decay * param

                scratch = np.asarray(np.multiply(grad, 1 - alpha))  # v <- alpha v + (1 - alpha) g g
                scratch *= grad
                square_avg *= alpha
                square_avg += scratch
                if centered:
                    grad_avg = state["grad_avg"].array
                    lerp_(grad_avg, grad, 1 - alpha)              # a <- a + (1 - alpha) (g - a), PyTorch's lerp
                    np.multiply(grad_avg, grad_avg, out=scratch)  # denom <- sqrt(v - a a) + eps
                    np.subtract(square_avg, scratch, out=scratch)
                    denom = np.sqrt(scratch, out=scratch)
                else:
                    denom = np.sqrt(square_avg, out=scratch)      # denom <- sqrt(v) + eps
                denom += eps
                if momentum > 0:
                    buf = state["momentum_buffer"].array          # b <- momentum b + g / denom
                    buf *= momentum
                    np.divide(grad, denom, out=denom)
                    buf += denom
                    np.multiply(buf, lr, out=denom)               # theta <- theta - lr b
                    param -= denom
                else:                                             # theta <- theta + (-lr g) / denom,
                    update = np.multiply(grad, -lr)               # rounded as PyTorch's addcdiv_
                    update /= denom
                    param += update
        return loss
