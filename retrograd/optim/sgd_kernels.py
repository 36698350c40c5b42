"""Compiled twin of SGD's momentum update (the `fast` extra; see ops/kernels.py).

One pass over a parameter instead of NumPy's four to six (each a full read and write of a parameter-sized
array, plus a temporary): the loop body is the rule in SGD's docstring, with the float operations of sgd.py's
NumPy code in the same order, so the result is the same bits in float32 and float64
(tests/test_optim_kernels.py). The arrays are flat (1-d views of C-contiguous arrays) and share one dtype; the
hyper-parameters come as Python floats and are rounded to that dtype first, as NumPy rounds a Python float
against a float32 array (used as they come, they would make Numba compute a float32 update in float64). These
functions are plain Python until kernels.compiled() compiles them.
"""


def sgd_momentum_update(param, grad, buf, first, lr, momentum, damped, one_minus_dampening, decay, weight_decay,
                        nesterov, maximize):
    """theta <- theta - lr * g for one parameter, element by element (SGD's rule, momentum != 0):
        g <- -g if maximize ;  g <- theta * weight_decay + g  (- g if maximize)  if weight_decay != 0
        b <- g on the first step (`first`), else b * momentum + (1 - dampening) * g  (+ g when dampening == 0)
        g <- g + b * momentum if nesterov, else b
    `buf` (b) is updated in place; on the first step its entries are only written. `damped` and `decay` say
    whether dampening and weight_decay are non-zero (as Python numbers: a tiny one rounds to 0 in float32)."""
    scalar = param.dtype.type
    lr, momentum, one_minus_dampening, weight_decay = scalar(lr), scalar(momentum), scalar(one_minus_dampening), \
        scalar(weight_decay)
    for i in range(param.size):
        g = grad[i]
        if decay:
            g = param[i] * weight_decay - g if maximize else param[i] * weight_decay + g
        elif maximize:
            g = -g
        if first:
            b = g
        elif damped:
            b = buf[i] * momentum + one_minus_dampening * g
        else:
            b = buf[i] * momentum + g
        buf[i] = b
        if nesterov:
            g = g + b * momentum
        else:
            g = b
        param[i] = param[i] - lr * g
