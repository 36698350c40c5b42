"""Whole-sequence RNN, LSTM and GRU as fused ops, written as llm.c writes a layer: a forward that
returns a cache, and a backward (backpropagation through time) that reads only that cache.

Legend: T time steps, B batch, I input size, H hidden size, P state size (H, or an LSTM's proj_size).
Inputs are time-major: x (T, B, I), states (B, H). Weights use PyTorch's layout and gate order:
    LSTM  w_ih (4H, I), w_hh (4H, P), gates i, f, g, o;  w_hr (P, H) with a projection
    GRU   w_ih (3H, I), w_hh (3H, H), gates r, z, n
    RNN   w_ih (H, I),  w_hh (H, H)
sigma is the logistic sigmoid; * is elementwise; a bias given as None counts as zero.

LSTM, per step t (PyTorch's equations):
    (L1) a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,   split into a_i, a_f, a_g, a_o
    (L2) i, f, g, o = sigma(a_i), sigma(a_f), tanh(a_g), sigma(a_o)
    (L3) c_t = f * c_{t-1} + i * g
    (L4) m_t = o * tanh(c_t)
    (L5) h_t = m_t,  or h_t = W_hr m_t with a projection
GRU (G1)-(G4): recurrent_gru.py's module docstring; RNN (R1): recurrent_rnn.py's.
Each backward walks t = T-1 .. 0 with dh_t = dL/dy_t + (what step t+1 sent back); its terms are
numbered in the code against these equations. Then, for all steps at once, with da_t the gradient
of the pre-activations that W_ih x_t and W_hh h_{t-1} feed:
    dW_ih = sum_t da_t x_t^T,  dW_hh = sum_t da_t h_{t-1}^T,  db = sum_t da_t,  dx_t = W_ih^T da_t

One bias strategy for all three: the biases join the input projection of all T steps, one GEMM
[W_ih | b] @ [x_t; 1] (measured: faster than adding a bias block after the GEMM, 0.63 against
0.83 ms for the 64->256 LSTM of the bench, T=50, B=32). b = b_ih + b_hh, except b_hn, which sits
inside r * (...) in (G3) and is added to hn_t at each step. The weight gradients are one GEMM each,
over all T*B rows; only the recurrence itself loops over time.

What is measured to pay, and stays:
- the recurrence runs feature-major: states (H, B), one contiguous (G*H, B) block of gates per step
  and W_hh (G*H, H) @ h (H, B), the faster orientation for a small batch (B=32: 45 against 92 us
  for the LSTM's 1024x256 step, 4.8 against 7.7 us for the RNN's 128x128 one); the RNN's backward,
  which reads only the time-major h, runs batch-major instead (0.88 against 1.1 ms per call);
- sigma(a) = (1 + tanh(a/2)) / 2 in place (`_sigmoid_`): 11 against 18 us with 1/(1 + exp(-a)) for
  the i, f and o rows of a 1024x32 gate block.

With the `fast` extra (Numba; ops/kernels.py), the elementwise work of each step runs as compiled scalar loops
(recurrent_kernels.py) that do the same float operations in the same order as the NumPy code, so both give the same
bits (tests/test_kernels.py). For the bench's LSTM (H 256, B 32, float32; minimum of repeats): (L1)-(L3) 10 against
19 us per forward step (lstm_gates_in, one np.tanh over the block, lstm_cell_forward), the BPTT step's terms 6-8
against 19 us; the BPTT kernel writes da_t straight into the (4H, T, B) block of the weight-gradient GEMMs, which
saves the transposing copy of all steps after the loop. NumPy keeps the GEMMs and tanh.

This module holds the LSTM; the GRU and RNN ops live in recurrent_gru.py and recurrent_rnn.py (gru_sequence and
rnn_sequence are exported here), the parts all three share in recurrent_common.py.

`lengths` (B,) makes a batch of variable-length sequences: at steps t >= lengths[b] row b's state
stops changing and its output is zero (what PyTorch's packed sequences do); the backward pass
lets the state gradient pass through those steps untouched.
"""
from typing import NamedTuple, Optional

import numpy as np

from . import kernels
from .base import array_of, record, record_multi
from .recurrent_common import (
    _input_projection, _input_side_gradients, _keep_finished_rows, _masked_output, _merged_bias, _needs, _rows,
    _sigmoid_, _step_masks, _time_major, _transposed)
from .recurrent_gru import gru_sequence  # noqa: F401  (public here, as before the split)
from .recurrent_kernels import lstm_cell_backward, lstm_cell_forward, lstm_gates_in
from .recurrent_rnn import rnn_sequence  # noqa: F401


# ----- LSTM ------------------------------------------------------------------------------------------------------
class LSTMCache(NamedTuple):
    x: Optional[np.ndarray]  # (T, B, I), for dW_ih
    w_ih: Optional[np.ndarray]  # for dx
    w_hh: np.ndarray  # for dh_{t-1}
    w_hr: Optional[np.ndarray]  # the projection, if any
    gates: np.ndarray  # (T, 4H, B): i, f, g, o of every step
    c: np.ndarray  # (T + 1, H, B): c_0 .. c_T
    h: Optional[np.ndarray]  # (T + 1, B, P): h_0 .. h_T, for dW_hh
    masks: Optional[np.ndarray]  # (T, 1, B), with lengths
    x_shape: tuple
    needs: dict


def _lstm_forward(x, h0, c0, w_ih, w_hh, bias, w_hr, masks, needs):
    """(L1)-(L5) for t = 0 .. T-1: returns (h (T + 1, B, P) time-major, c_T (B, H), cache)."""
    steps, batch, _ = x.shape
    hidden, state_size = w_hh.shape[0] // 4, w_hh.shape[1]
    gates = _input_projection(x, w_ih, bias)  # (T, 4H, B): W_ih x_t + b, turned into i, f, g, o in place
    c = np.empty((steps + 1, hidden, batch), x.dtype)
    h = np.empty((steps + 1, state_size, batch), x.dtype)
    c[0], h[0] = c0.T, h0.T
    tanh_c, recurrent = np.empty((hidden, batch), x.dtype), np.empty((4 * hidden, batch), x.dtype)
    cell_kernels = _lstm_cell_kernels(x.dtype)  # None: NumPy only
    for t in range(steps):
        a = gates[t]  # (4H, B)
        np.matmul(w_hh, h[t], out=recurrent)
        _lstm_cell(a, recurrent, c[t], c[t + 1], cell_kernels)  # (L1), (L2), (L3)
        o = a[3 * hidden:]
        np.tanh(c[t + 1], out=tanh_c)
        if w_hr is None:
            np.multiply(o, tanh_c, out=h[t + 1])  # (L4), (L5)
        else:
            np.matmul(w_hr, o * tanh_c, out=h[t + 1])  # (L5): (P, H) @ (H, B)
        keep = None if masks is None else masks[t]
        _keep_finished_rows(c[t + 1], c[t], keep)
        _keep_finished_rows(h[t + 1], h[t], keep)
    h = _time_major(h)
    cache = LSTMCache(x if needs["w_ih"] else None, w_ih if needs["x"] else None, w_hh, w_hr, gates, c,
                      h if needs["w_hh"] else None, masks, x.shape, needs)
    return h, c[-1].T.copy(), cache


def _lstm_cell_kernels(dtype):
    """The compiled (lstm_gates_in, lstm_cell_forward) for this dtype, or None: NumPy only."""
    compiled = [kernels.compiled(kernel, dtype) for kernel in (lstm_gates_in, lstm_cell_forward)]
    return None if compiled[0] is None else compiled


def _lstm_cell(a, recurrent, c_prev, c_next, cell_kernels):
    """(L1), (L2), (L3) in place: a (4H, B), which holds W_ih x_t + b, gets recurrent = W_hh h_{t-1} and becomes
    i, f, g, o; c_next = f * c_prev + i * g. With kernels on, a compiled pass for the sum (rows i, f, o halved:
    sigma(a) = (1 + tanh(a/2)) / 2), one np.tanh over the block and a compiled pass for the rest."""
    hidden = c_prev.shape[0]
    if cell_kernels is not None:  # recurrent_kernels.lstm_gates_in, lstm_cell_forward: the lines below, fused
        gates_in, cell_forward = cell_kernels
        gates_in(a, recurrent)
        np.tanh(a, out=a)
        cell_forward(a, c_prev, c_next)
        return
    a += recurrent  # (L1)
    _sigmoid_(a[:2 * hidden])  # (L2): i, f
    np.tanh(a[2 * hidden:3 * hidden], out=a[2 * hidden:3 * hidden])  # g
    _sigmoid_(a[3 * hidden:])  # o
    i, f, g, _ = a.reshape(4, hidden, -1)
    np.multiply(f, c_prev, out=c_next)  # (L3)
    c_next += i * g


def _lstm_cell_backward(gates, c_prev, tanh_c, dm, dc_later, da, dc, slope):
    """One BPTT step's elementwise terms, (L4) to (L2): fills da (4H, B) and dc, returns dc_{t-1} = dc_t * f.
    dc_later is step t+1's dc_{t+1} * f_{t+1}; slope (4H, B) is scratch."""
    hidden = c_prev.shape[0]
    i, f, g, o = gates.reshape(4, hidden, -1)
    np.multiply(tanh_c, tanh_c, out=dc)  # (L4): dc_t = dm_t * o * (1 - tanh^2(c_t)) from h_t ...
    np.subtract(1, dc, out=dc)
    dc *= o
    dc *= dm
    dc += dc_later  # (L3) of step t+1: ... + dc_{t+1} * f_{t+1}
    da_i, da_f, da_g, da_o = da.reshape(4, hidden, -1)
    np.multiply(dc, g, out=da_i)  # (L3): di = dc_t * g
    np.multiply(dc, c_prev, out=da_f)  # (L3): df = dc_t * c_{t-1}
    np.multiply(dc, i, out=da_g)  # (L3): dg = dc_t * i
    np.multiply(dm, tanh_c, out=da_o)  # (L4): do = dm_t * tanh(c_t)
    np.subtract(1, gates, out=slope)  # (L2): sigma' = s(1 - s) for i, f, o ...
    slope *= gates
    np.multiply(g, g, out=slope[2 * hidden:3 * hidden])  # ... and tanh' = 1 - g^2 for g
    np.subtract(1, slope[2 * hidden:3 * hidden], out=slope[2 * hidden:3 * hidden])
    da *= slope  # da_i, da_f, da_g, da_o
    return dc * f  # (L3): dc_{t-1}


def _lstm_backward(grads, cache):
    """BPTT through (L1)-(L5), t = T-1 .. 0 (_lstm_bptt), then the weight gradients over all steps at once."""
    grad_2d, dh_0, dc_0, grad_w_hr = _lstm_bptt(*grads, cache)  # da_t of all steps as (4H, T*B)
    needs, rows = cache.needs, grad_2d.shape[1]
    grad_x, grad_w_ih, grad_bias = _input_side_gradients(grad_2d, cache.x, cache.w_ih, cache.x_shape, needs)
    grad_w_hh = grad_2d @ cache.h[:-1].reshape(rows, cache.h.shape[2]) if needs["w_hh"] else None
    return (grad_x, dh_0.T if needs["h0"] else None, dc_0.T if needs["c0"] else None, grad_w_ih, grad_w_hh,
            grad_bias if needs["b_ih"] else None, grad_bias if needs["b_hh"] else None, grad_w_hr)


def _lstm_bptt(grad_output, grad_h_n, grad_c_n, cache):
    """The loop t = T-1 .. 0; each term is the derivative of the equation it names. Returns (da of all steps as
    (4H, T*B), dh_0 and dc_0 feature-major, dW_hr or None)."""
    gates, c, masks, w_hr = cache.gates, cache.c, cache.masks, cache.w_hr
    steps, _, batch = gates.shape
    hidden = c.shape[1]
    cell_kernel = kernels.compiled(lstm_cell_backward, gates.dtype)  # None: NumPy only
    # da_t: the kernel writes it straight into grad_pre[:, t] of a (4H, T, B) block, the GEMMs' (4H, T*B); NumPy fills
    # (T, 4H, B) and transposes once after the loop (its passes over a strided (4H, B) view cost 3-7x more)
    grad_pre = np.empty_like(gates) if cell_kernel is None else np.empty((4 * hidden, steps, batch), gates.dtype)
    w_hh_t = _transposed(cache.w_hh)  # W_hh^T da_t, contiguous
    if w_hr is not None:  # dW_hr = sum_t dh_t m_t^T, after the loop
        grad_h_all = np.empty((w_hr.shape[0], steps, batch), gates.dtype)  # (P, T, B)
        m_all = np.empty((hidden, steps, batch), gates.dtype)  # (H, T, B)
    dh_next, dc_next = grad_h_n.T.copy(), grad_c_n.T.copy()  # (P, B), (H, B): dh_t, dc_{t+1} * f_{t+1} from step t+1
    tanh_c, dc, slope = np.empty_like(dc_next), np.empty_like(dc_next), np.empty_like(gates[0])  # per-step scratch
    for t in range(steps - 1, -1, -1):
        o = gates[t, 3 * hidden:]
        keep = None if masks is None else masks[t]  # (1, B)
        dh = dh_next + grad_output[t].T  # dh_t: from y_t and from step t+1
        dh_step = dh if keep is None else dh * keep
        dm = dh_step  # (L5): dm_t = dh_t, or W_hr^T dh_t
        if w_hr is not None:
            grad_h_all[:, t] = dh_step
            dm = w_hr.T @ dh_step
        np.tanh(c[t + 1], out=tanh_c)  # recomputed: cheaper than keeping it
        if w_hr is not None:
            np.multiply(o, tanh_c, out=m_all[:, t])
        dc_later = dc_next if keep is None else dc_next * keep  # (L3) of step t+1: dc_{t+1} * f_{t+1}
        if cell_kernel is None:
            da = grad_pre[t]
            dc_prev = _lstm_cell_backward(gates[t], c[t], tanh_c, dm, dc_later, da, dc, slope)
        else:  # the same terms in one compiled pass (recurrent_kernels.py)
            da, dc_prev = grad_pre[:, t], np.empty_like(dc)
            cell_kernel(gates[t], c[t], tanh_c, dm, dc_later, grad_pre, t, dc_prev)
        dh_prev = w_hh_t @ da  # (L1): dh_{t-1}
        if keep is not None:  # a finished row passes its state gradient straight through
            dh_prev += dh_next * (1 - keep)
            dc_prev += dc_next * (1 - keep)
        dh_next, dc_next = dh_prev, dc_prev
    rows = steps * batch
    grad_w_hr = grad_h_all.reshape(w_hr.shape[0], rows) @ m_all.reshape(hidden, rows).T if cache.needs["w_hr"] else None
    grad_2d = _rows(grad_pre) if cell_kernel is None else grad_pre.reshape(4 * hidden, rows)
    return grad_2d, dh_next, dc_next, grad_w_hr


def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, w_hr=None):
    """A single-layer, single-direction LSTM over a whole sequence: returns (output (T, B, P), h_T, c_T).

    Forward: (L1)-(L5) in the module docstring. Backward, t = T-1 .. 0 (_lstm_backward, same terms):
        dh_t = dL/dy_t + dh_t from step t+1 ;  dm_t = dh_t, or W_hr^T dh_t       (L5)
        do = dm_t * tanh(c_t) ;  dc_t = dm_t * o * (1 - tanh^2(c_t)) + dc_{t+1} * f_{t+1}   (L4), (L3)
        di = dc_t * g ;  df = dc_t * c_{t-1} ;  dg = dc_t * i                     (L3)
        da = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]               (L2)
        dh_{t-1} = W_hh^T da_t ;  dc_{t-1} = dc_t * f                             (L1), (L3)
    The cache (LSTMCache) holds the gates and the cell states, not their derivatives (the backward forms them).
    Saves `gates`, `c`, `w_hh`; `x` if w_ih needs a gradient, `w_ih` if x does, `h` if w_hh does, `w_hr`, `masks`."""
    inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    needs = _needs(("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr"), inputs)
    x_val, w_hh_val = array_of(x), array_of(w_hh)
    bias = _merged_bias(None if b_ih is None else array_of(b_ih), None if b_hh is None else array_of(b_hh))
    masks = _step_masks(lengths, x_val.shape[0], x_val.dtype)
    h, c_n, cache = _lstm_forward(x_val, array_of(h0), array_of(c0), array_of(w_ih), w_hh_val, bias,
                                  None if w_hr is None else array_of(w_hr), masks, needs)

    def lstm_sequence_backward(grads):
        return _lstm_backward(grads, cache)

    return record_multi(lstm_sequence, (_masked_output(h, masks), h[-1], c_n), inputs, lstm_sequence_backward,
                        saved=(x, h0, c0, w_ih, w_hh, w_hr))


def reverse_sequences(x, lengths=None):
    """Reverse each sequence of x (T, B, ...) in time, within its own length when `lengths` is given
    (positions past a sequence's end stay in place). A permutation that is its own inverse, so
    dL/dx = reverse_sequences(g). Used for the backward direction of bidirectional layers.
    Saves `source` and `columns` (the permutation) with lengths, else nothing."""
    x_val = array_of(x)
    steps, batch = x_val.shape[:2]
    if lengths is None:
        return record(reverse_sequences, x_val[::-1].copy(), (x,), lambda grad_out: (grad_out[::-1].copy(),))
    lengths = np.asarray(lengths)
    t = np.arange(steps)[:, None]
    source = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, B)
    columns = np.arange(batch)[None, :]
    return record(reverse_sequences, x_val[source, columns], (x,), lambda grad_out: (grad_out[source, columns],))
