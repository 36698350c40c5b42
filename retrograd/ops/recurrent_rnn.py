"""The whole-sequence Elman RNN (tanh or relu) as one fused op, rnn_sequence (recurrent.py exports it too).

Legend: T time steps, B batch, I input size, H hidden size; x (T, B, I) time-major, states (B, H),
w_ih (H, I), w_hh (H, H).

RNN, per step t:
    (R1) h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu
Each backward walks t = T-1 .. 0 with dh_t = dL/dy_t + (what step t+1 sent back); its terms are
numbered in the code against these equations. The weight gradients are one GEMM each over all steps, as
recurrent.py's module docstring says, which also gives the bias strategy and the layouts all three ops share.
"""
from typing import NamedTuple, Optional

import numpy as np

from . import kernels
from .base import array_of, record_multi
from .recurrent_common import (
    _input_projection, _input_side_gradients, _keep_finished_rows, _masked_output, _merged_bias, _needs,
    _step_masks, _time_major)
from .recurrent_kernels import rnn_cell_backward, rnn_relu_forward


class RNNCache(NamedTuple):
    x: Optional[np.ndarray]  # (T, B, I), for dW_ih
    w_ih: Optional[np.ndarray]  # for dx
    w_hh: np.ndarray  # for dh_{t-1}
    h: np.ndarray  # (T + 1, B, H): h_0 .. h_T, for act' and dW_hh
    masks: Optional[np.ndarray]  # (T, 1, B), with lengths
    x_shape: tuple
    relu: bool
    needs: dict


def _rnn_forward(x, h0, w_ih, w_hh, bias, relu, masks, needs):
    """(R1) for t = 0 .. T-1: returns (h (T + 1, B, H) time-major, cache)."""
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    pre = _input_projection(x, w_ih, bias)  # (T, H, B): W_ih x_t + b
    h = np.empty((steps + 1, hidden, batch), x.dtype)
    h[0] = h0.T
    relu_kernel = kernels.compiled(rnn_relu_forward, x.dtype) if relu else None  # None: NumPy only, or tanh
    recurrent = np.empty((hidden, batch), x.dtype)
    for t in range(steps):
        a = pre[t]
        np.matmul(w_hh, h[t], out=recurrent)
        if relu_kernel is not None:
            relu_kernel(a, recurrent, h[t + 1])  # recurrent_kernels.rnn_relu_forward: the lines below in one pass
        else:
            a += recurrent  # (R1)
            if relu:
                np.maximum(0, a, out=h[t + 1])
            else:
                np.tanh(a, out=h[t + 1])
        _keep_finished_rows(h[t + 1], h[t], None if masks is None else masks[t])
    h = _time_major(h)
    return h, RNNCache(x if needs["w_ih"] else None, w_ih if needs["x"] else None, w_hh, h, masks, x.shape, relu,
                       needs)


def _rnn_backward(grads, cache):
    """BPTT through (R1), t = T-1 .. 0, batch-major: the cached h is time-major (T + 1, B, H), and so is
    every array read here, so no step transposes and the weight gradients need no transposing copy."""
    grad_output, grad_h_n = grads
    h, masks = cache.h, cache.masks
    steps, batch, hidden = h.shape[0] - 1, h.shape[1], h.shape[2]
    cell_kernel = kernels.compiled(rnn_cell_backward, h.dtype)  # None: NumPy only
    if cell_kernel is not None:  # da_t = act' * dh_t in one compiled pass per step (recurrent_kernels.py)
        grad_pre, all_kept = np.empty((steps, batch, hidden), h.dtype), np.ones((batch, 1), h.dtype)
    elif cache.relu:  # (R1): relu' = [h_t > 0] (0 at 0, as PyTorch)
        grad_pre = (h[1:] > 0).astype(h.dtype)
    else:  # (R1): tanh' = 1 - h_t^2
        grad_pre = np.multiply(h[1:], h[1:])
        np.subtract(1, grad_pre, out=grad_pre)
    # act' of all steps at once, above (0.15 against 0.21 ms with three calls per step, T=50, B=32, H=128);
    # the loop multiplies in dh_t, turning grad_pre[t] (B, H) into da_t
    dh_next = grad_h_n.copy()  # (B, H): from step t+1
    for t in range(steps - 1, -1, -1):
        keep = None if masks is None else masks[t].T  # (B, 1)
        da = grad_pre[t]
        if cell_kernel is not None:
            cell_kernel(h[t + 1], dh_next, grad_output[t], all_kept if keep is None else keep, cache.relu, da)
        else:
            dh = dh_next + grad_output[t]  # dh_t: from y_t and from step t+1
            da *= dh if keep is None else dh * keep  # (R1): da_t = dh_t * act'
        dh_prev = da @ cache.w_hh  # (R1): dh_{t-1} = W_hh^T da_t
        if keep is not None:  # a finished row passes its state gradient straight through
            dh_prev += dh_next * (1 - keep)
        dh_next = dh_prev
    needs = cache.needs
    grad_2d = grad_pre.reshape(steps * batch, hidden).T  # (H, T*B), a view
    grad_x, grad_w_ih, grad_bias = _input_side_gradients(grad_2d, cache.x, cache.w_ih, cache.x_shape, needs)
    grad_w_hh = grad_2d @ h[:-1].reshape(steps * batch, hidden) if needs["w_hh"] else None
    return (grad_x, dh_next if needs["h0"] else None, grad_w_ih, grad_w_hh,
            grad_bias if needs["b_ih"] else None, grad_bias if needs["b_hh"] else None)


def rnn_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", lengths=None):
    """A single-layer, single-direction Elman RNN: returns (output (T, B, H), h_T).

    Forward:  (R1) h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu
    Backward: da_t = dh_t * act'  with tanh' = 1 - h_t^2 and relu' = [h_t > 0] (0 at 0, as PyTorch)
              dh_{t-1} = W_hh^T da_t ;  dW_ih = sum_t da_t x_t^T ;  dW_hh = sum_t da_t h_{t-1}^T
    The repeated product of W_hh^T and act' in dh_{t-1} is why gradients vanish or explode over
    long sequences.
    Saves `h` (h_0 .. h_T: act' needs only them), `w_hh`; `x` if w_ih needs a gradient, `w_ih` if x does, `masks`."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')")
    inputs = (x, h0, w_ih, w_hh, b_ih, b_hh)
    needs = _needs(("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"), inputs)
    x_val = array_of(x)
    bias = _merged_bias(None if b_ih is None else array_of(b_ih), None if b_hh is None else array_of(b_hh))
    masks = _step_masks(lengths, x_val.shape[0], x_val.dtype)
    h, cache = _rnn_forward(x_val, array_of(h0), array_of(w_ih), array_of(w_hh), bias, nonlinearity == "relu", masks,
                            needs)

    def rnn_sequence_backward(grads):
        return _rnn_backward(grads, cache)

    return record_multi(rnn_sequence, (_masked_output(h, masks), h[-1]), inputs, rnn_sequence_backward,
                        saved=(x, h0, w_ih, w_hh))
