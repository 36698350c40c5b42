"""Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay (PyTorch's SGD)."""
import numpy as np

from .optimizer import Optimizer, required
from ..ops import kernels
from ..tensor import Tensor
from ._update import check_flags, check_hyperparameters, flat_kernel_operands, python_numbers
from .sgd_kernels import sgd_momentum_update


class SGD(Optimizer):
    r"""SGD, update for parameter theta with gradient g at step t (PyTorch's rule, exactly):

        g   <- -g                          if maximize
        g   <- g + weight_decay * theta    if weight_decay != 0
        b_1 <- g                           (the momentum buffer starts at the first gradient)
        b_t <- momentum * b_{t-1} + (1 - dampening) * g      for t > 1
        g   <- g + momentum * b_t  if nesterov  else  b_t    if momentum != 0
        theta <- theta - lr * g

    State per parameter: 'momentum_buffer' (only when momentum != 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        check_flags("SGD", capturable, differentiable)  # foreach and fused pick PyTorch kernels: same math here
        check_hyperparameters(lr=None if lr is required else lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _state_layout(self, group):
        return {"momentum_buffer": "tensor"} if group["momentum"] != 0 else {}

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            # the fast extra: each parameter's update in one compiled pass (sgd_kernels.py), hyper-parameters as floats
            compiled = momentum != 0 and kernels.enabled() and python_numbers(lr, momentum, dampening, weight_decay)
            hyper = (float(lr), float(momentum), dampening != 0, float(1 - dampening), weight_decay != 0,
                     float(weight_decay), bool(nesterov), bool(maximize)) if compiled else None
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                param = p.array
                d_p = grad.array
                if compiled and self._compiled_momentum_update(p, d_p, hyper):
                    p._bump_version()
                    continue
                owned = False  # whether d_p is a temporary we may overwrite (never the user's .grad)
                if weight_decay != 0:
                    update = np.multiply(param, weight_decay)
                    if maximize:
                        update -= d_p
                    else:
                        update += d_p
                    d_p, owned = update, True
                elif maximize:
                    d_p, owned = np.negative(d_p), True
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(d_p)  # first step: b_1 = g, undamped (an array: d_p may be a 0-d result)
                        state["momentum_buffer"] = Tensor._from_array(buf)
                    else:
                        buf = buf.array
                        buf *= momentum
                        if dampening != 0:
                            buf += (1 - dampening) * d_p
                        else:
                            buf += d_p
                    if not nesterov:
                        d_p, owned = buf, False
                    elif owned:
                        d_p += momentum * buf
                    else:
                        d_p, owned = np.multiply(buf, momentum), True
                        d_p += grad.array
                if owned:
                    d_p *= lr
                    param -= d_p
                else:
                    param -= lr * d_p
                p._bump_version()  # a graph that saved this weight can no longer run its backward
        return loss

    def _compiled_momentum_update(self, p, grad, hyper):
        """The momentum update of `p` in one compiled pass (sgd_kernels.py, the same bits as the NumPy code in
        step); False, having changed nothing, where kernels are off or the arrays do not suit it."""
        kernel = kernels.compiled(sgd_momentum_update, p.array.dtype)
        state = self.state[p]
        buf = state.get("momentum_buffer")
        first = buf is None
        buf = np.empty_like(p.array) if first else buf.array
        operands = flat_kernel_operands(p.array, grad, buf)
        if kernel is None or operands is None:
            return False
        if first:
            state["momentum_buffer"] = Tensor._from_array(buf)
        kernel(*operands, first, *hyper)
        return True
