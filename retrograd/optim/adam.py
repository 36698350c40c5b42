"""Adam and AdamW (PyTorch's single-tensor implementation, step for step)."""
import numpy as np

from .optimizer import Optimizer
from ..ops import kernels
from ._update import check_flags, check_hyperparameters, flat_kernel_operands, lerp_, python_numbers
from .adam_kernels import adam_update


class Adam(Optimizer):
    r"""Adam, update for parameter theta with gradient g at step t = 1, 2, ... (PyTorch's rule):

        g     <- -g                                    if maximize
        theta <- theta * (1 - lr * weight_decay)       if decoupled (AdamW)
        g     <- g + weight_decay * theta              otherwise, if weight_decay != 0
        m_t   <- m_{t-1} + (1 - beta1) * (g - m_{t-1})           (= beta1 m + (1 - beta1) g, as lerp)
        v_t   <- beta2 * v_{t-1} + (1 - beta2) * g^2
        vmax_t <- max(vmax_{t-1}, v_t);  v_t <- vmax_t in the denominator  if amsgrad
        step_size <- lr / (1 - beta1^t)
        denom     <- sqrt(v_t) / sqrt(1 - beta2^t) + eps
        theta <- theta - step_size * m_t / denom

    State per parameter: 'step' (a number), 'exp_avg' (m), 'exp_avg_sq' (v) and, with amsgrad,
    'max_exp_avg_sq' (vmax); m, v, vmax start at zero.
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        check_flags("Adam", capturable, differentiable)  # foreach and fused pick PyTorch kernels: same math here
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        layout = {"step": "number", "exp_avg": "tensor", "exp_avg_sq": "tensor"}
        if group["amsgrad"]:
            layout["max_exp_avg_sq"] = "tensor"
        return layout

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        decoupled = self._decoupled_weight_decay
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            amsgrad = group["amsgrad"]
            buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            # the fast extra: each parameter's update in one compiled pass (adam_kernels.py), amsgrad excepted
            compiled = not amsgrad and kernels.enabled() and python_numbers(lr, eps, weight_decay, beta1, beta2)
            for param, grad, state in self._gradients(group, *buffers):
                step = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"].array, state["exp_avg_sq"].array
                if compiled and _compiled_update(param, grad, state, group, decoupled):
                    continue

                if weight_decay != 0:
                    if decoupled:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = grad + weight_decay * param

                scratch = lerp_(exp_avg, grad, 1 - beta1)        # m <- m + (1 - beta1) (g - m)
                np.multiply(grad, 1 - beta2, out=scratch)        # v <- beta2 v + (1 - beta2) g g
                scratch *= grad
                exp_avg_sq *= beta2
                exp_avg_sq += scratch

                step_size = lr / (1 - beta1 ** step)
                bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
                if amsgrad:
                    second = state["max_exp_avg_sq"].array
                    np.maximum(second, exp_avg_sq, out=second)
                else:
                    second = exp_avg_sq
                denom = np.sqrt(second, out=scratch)              # sqrt(v) / sqrt(1 - beta2^t) + eps
                denom /= bias_correction2_sqrt
                denom += eps
                update = np.multiply(exp_avg, -step_size)        # theta <- theta + (-step_size m) / denom,
                update /= denom                                  # rounded as PyTorch's addcdiv_
                param += update
        return loss


def _compiled_update(param, grad, state, group, decoupled):
    """One parameter's Adam step (amsgrad off) in one compiled pass (adam_kernels.py: the same bits as the NumPy
    code in Adam.step); False, having changed nothing, where kernels are off or the arrays do not suit it."""
    kernel = kernels.compiled(adam_update, param.dtype)
    operands = flat_kernel_operands(param, grad, state["exp_avg"].array, state["exp_avg_sq"].array)
    if kernel is None or operands is None:
        return False
    lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
    beta1, beta2 = group["betas"]
    step = state["step"]
    lerp_weight = 1 - beta1
    kernel(*operands, weight_decay != 0, bool(decoupled), float(weight_decay), float(1 - lr * weight_decay),
           float(lerp_weight), abs(lerp_weight) >= 0.5, float(1 - lerp_weight), float(beta2), float(1 - beta2),
           float(-(lr / (1 - beta1 ** step))), float((1 - beta2 ** step) ** 0.5), float(eps))
    return True


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter): before the Adam update,

        theta <- theta * (1 - lr * weight_decay)

    and the gradient is left undecayed; everything else is Adam's rule (see `Adam`).
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        check_flags("AdamW", capturable, differentiable)  # foreach and fused pick PyTorch kernels: same math here
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
