"""Compiled twins of relu's forward and backward passes in activation.py (the `fast` extra; see kernels.py).

np.maximum(x, 0) runs at about 0.45 ns an element on this CPU (it checks for NaN lane by lane), and relu's
backward makes a mask, multiplies by it and sums (pass_where); each kernel is one pass. The loop bodies are
relu's docstring equations with NumPy's results, bit for bit (tests/test_kernels.py): NaN passes forward as
np.maximum passes it, -0.0 becomes +0.0 as there, and the backward multiplies g by 1 or 0 as pass_where's
product does (so a blocked negative g gives -0.0). Arrays are flat (1-d views of C-contiguous arrays) of one
dtype; these functions are plain Python until kernels.compiled() compiles them.
"""


def relu_forward(x, y):
    """y = max(x, 0), NaN passing (np.maximum's rule): y = x where x > 0 or x is NaN, else 0."""
    zero = x.dtype.type(0)
    for i in range(x.size):
        value = x[i]
        y[i] = value if value > zero or value != value else zero


def relu_backward(y, grad_out, grad):
    """dL/dx = g * [y != 0]: g times 1 where y != 0 (x > 0, or NaN), times 0 elsewhere."""
    one, zero = y.dtype.type(1), y.dtype.type(0)
    for i in range(y.size):
        grad[i] = grad_out[i] * (one if y[i] != zero else zero)
