"""Compiled twins of relu's forward and backward passes in activation.py (the `fast` extra; see kernels.py).

np.maximum(0, x) runs at about 0.45 ns an element on this CPU (it checks for NaN lane by lane), and relu's
backward makes a mask and selects through it (pass_where); each kernel is one pass. The loop bodies are
relu's docstring equations with NumPy's results, bit for bit (tests/test_activation_kernels.py): NaN passes
forward as np.maximum(0, x) passes it, -0.0 stays -0.0 as there and in PyTorch, and the backward selects
g or +0.0 as pass_where and PyTorch do (so a blocked g is +0.0 even when negative, inf or NaN). Arrays are flat
(1-d views of C-contiguous arrays) of one dtype; these functions are plain Python until kernels.compiled()
compiles them.
"""


def relu_forward(x, y):
    """y = max(0, x) as np.maximum(0, x) takes it: 0 where 0 > x, else x (so NaN passes and -0.0 stays -0.0)."""
    zero = x.dtype.type(0)
    for i in range(x.size):
        value = x[i]
        y[i] = zero if zero > value else value


def relu_backward(y, grad_out, grad):
    """dL/dx = g where y != 0 (x > 0, or NaN), else +0.0: a select, so g's bits pass unchanged."""
    zero = y.dtype.type(0)
    for i in range(y.size):
        g = grad_out[i]  # read before the select: read inside it, the loop no longer vectorises
        grad[i] = g if y[i] != zero else zero
