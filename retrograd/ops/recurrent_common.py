"""What the fused RNN, LSTM and GRU ops of recurrent.py share: the input projection of all steps with the biases
folded in, the masks of variable-length batches, the state layouts, and the input-side gradients over all steps.
The equations and the legend (T, B, I, H, P) are in recurrent.py's module docstring."""
import numpy as np

from .base import needs_grad


def _step_masks(lengths, steps, dtype):
    """(T, 1, B) masks, feature-major: 1 where step t is inside sequence b, else 0; None when all are full."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    return (np.arange(steps)[:, None] < lengths[None, :]).astype(dtype)[:, None, :]


def _with_ones_column(x):
    """[x_t, 1] for every t, (T, B, I + 1): the bias becomes one more weight column of the projection GEMM."""
    steps, batch, size = x.shape
    inputs = np.empty((steps, batch, size + 1), x.dtype)
    inputs[..., :size] = x
    inputs[..., size] = 1
    return inputs


def _input_projection(x, w_ih, bias):
    """(T, G*H, B): W_ih x_t + bias for every t, one GEMM [W_ih | bias] @ [x_t; 1] (feature-major).

    The ones-column copy of x lives only in here: the backward reads x itself."""
    if bias is None:
        return np.matmul(w_ih, x.transpose(0, 2, 1))
    return np.matmul(np.concatenate([w_ih, bias[:, None]], 1), _with_ones_column(x).transpose(0, 2, 1))


def _merged_bias(b_ih, b_hh):
    """b_ih + b_hh, either of them possibly None (PyTorch's bias=False means both are)."""
    if b_ih is None or b_hh is None:
        return b_hh if b_ih is None else b_ih
    return b_ih + b_hh


def _sigmoid_(a):
    """sigma(a) = (1 + tanh(a/2)) / 2, in place: one tanh, cheaper than exp, add and divide."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


TRANSPOSE_ROWS = 32  # rows of W per block of _transposed's copy


def _transposed(w):
    """W^T as a C-contiguous array, for the BPTT's W_hh^T da_t (50 against 58 us a step through the transposed
    view). Copied in blocks of TRANSPOSE_ROWS rows: NumPy's copy of the whole transposed view strides through
    entire columns of W and measured 280 against 80 us for the LSTM's (1024, 256) float32 W_hh."""
    rows, cols = w.shape
    w_t = np.empty((cols, rows), w.dtype)
    for start in range(0, rows, TRANSPOSE_ROWS):
        w_t[:, start:start + TRANSPOSE_ROWS] = w[start:start + TRANSPOSE_ROWS].T
    return w_t


def _rows(grad_pre):
    """(G*H, T*B) from (T, G*H, B), its columns in x's row order, for the GEMMs over all steps: one
    transposing copy, cheaper than writing each step's da_t as G*H rows of B values scattered across it."""
    steps, size, batch = grad_pre.shape
    return np.ascontiguousarray(grad_pre.transpose(1, 0, 2)).reshape(size, steps * batch)


def _input_side_gradients(grad_in, x, w_ih, x_shape, needs):
    """dx_t = W_ih^T da_t, dW_ih = sum_t da_t x_t^T, db = sum_t da_t, from da as (G*H, T*B)."""
    steps, batch, size = x_shape
    grad_x = (grad_in.T @ w_ih).reshape(x_shape) if needs["x"] else None
    grad_w_ih = grad_in @ x.reshape(steps * batch, size) if needs["w_ih"] else None
    grad_bias = _row_sums(grad_in) if needs["b_ih"] or needs["b_hh"] else None
    return grad_x, grad_w_ih, grad_bias


def _row_sums(grad_2d):
    """db = sum_t da_t over all T*B columns, as a GEMV with ones: 0.03 against 0.18 ms with .sum(axis=1)
    for the GRU's (768, 1600) block."""
    return grad_2d @ np.ones(grad_2d.shape[1], grad_2d.dtype)


def _needs(names, inputs):
    """{name: whether that input wants a gradient}, decided before the VJP is built (it captures no Tensor)."""
    return {name: needs_grad(t) for name, t in zip(names, inputs)}


def _keep_finished_rows(new, old, keep):
    """Rows whose sequence has ended (keep = 0) keep their previous state."""
    if keep is not None:
        np.copyto(new, old, where=keep == 0)


def _time_major(states):
    """(T + 1, B, P) from the feature-major (T + 1, P, B) states of the recurrence."""
    return np.ascontiguousarray(states.transpose(0, 2, 1))


def _masked_output(states, masks):
    """y_t = h_t, zero past each sequence's end: (T, B, P) from the time-major (T + 1, B, P) states."""
    return states[1:] if masks is None else states[1:] * masks.transpose(0, 2, 1)
