"""Compiled twin of Adam's and AdamW's update (the `fast` extra; see ops/kernels.py).

One pass over a parameter instead of NumPy's dozen (each a full read and write of a parameter-sized array):
the loop body is the rule in Adam's docstring, with the float operations of adam.py's NumPy code in the same
order, PyTorch's lerp and addcdiv roundings included, so the result is the same bits in float32 and float64
(tests/test_optim_kernels.py). sqrt and division are correctly rounded in both, and the loop runs vectorised
under NumPy's error model (kernels.py): 52 against 300 us for 263k float32 parameters. amsgrad keeps the NumPy
code: a fifth array (vmax) is one more the loop must be checked not to overlap.

The arrays are flat (1-d views of C-contiguous arrays) and share one dtype; the hyper-parameters come as
Python floats, computed as adam.py computes them, and are rounded to that dtype first, as NumPy rounds a Python
float against a float32 array (used as they come, they would make Numba compute a float32 update in float64);
the tests against 0 come as booleans, made on the Python numbers (a tiny weight_decay rounds to 0 in float32).
These functions are plain Python until kernels.compiled() compiles them.
"""
import math


def adam_update(param, grad, exp_avg, exp_avg_sq, decay, decoupled, weight_decay, decay_factor, lerp_weight,
                lerp_from_end, lerp_complement, beta2, one_minus_beta2, neg_step_size, bias_correction2_sqrt, eps):
    """One Adam step of one parameter, element by element (`grad` already negated if maximize):
        theta <- theta * (1 - lr * weight_decay) if decoupled (AdamW: decay_factor), else g <- g + weight_decay * theta
        m <- m + (g - m) * (1 - beta1)    as PyTorch's lerp; for 1 - beta1 >= 0.5: m <- g - (g - m) * beta1
        v <- v * beta2 + g * (1 - beta2) * g
        theta <- theta + (m * -step_size) / (sqrt(v) / sqrt(1 - beta2^t) + eps)    (addcdiv's rounding)
    exp_avg (m) and exp_avg_sq (v) update in place."""
    scalar = param.dtype.type
    weight_decay, decay_factor, lerp_weight, lerp_complement = (scalar(weight_decay), scalar(decay_factor),
                                                                scalar(lerp_weight), scalar(lerp_complement))
    beta2, one_minus_beta2, neg_step_size = scalar(beta2), scalar(one_minus_beta2), scalar(neg_step_size)
    bias_correction2_sqrt, eps = scalar(bias_correction2_sqrt), scalar(eps)
    for i in range(param.size):
        g = grad[i]
        if decay:
            if decoupled:
                param[i] = param[i] * decay_factor
            else:
                g = g + weight_decay * param[i]
        m = exp_avg[i]
        if lerp_from_end:
            m = g - (g - m) * lerp_complement
        else:
            m = m + (g - m) * lerp_weight
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + g * one_minus_beta2 * g
        exp_avg_sq[i] = v
        denom = math.sqrt(v) / bias_correction2_sqrt + eps
        param[i] = param[i] + m * neg_step_size / denom
