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
GRU, per step t (r gates the *projected* previous state):
    (G1) r, z = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr), sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    (G2) hn_t = W_hn h_{t-1} + b_hn
    (G3) n = tanh(W_in x_t + b_in + r * hn_t)
    (G4) h_t = (1 - z) * n + z * h_{t-1}
RNN, per step t:
    (R1) h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu
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

With the `fast` extra (Numba; ops/kernels.py), the LSTM step's elementwise work, (L2)-(L3) forward and the
BPTT step's terms, runs as compiled scalar loops (recurrent_kernels.py) that do the same float operations in
the same order as the NumPy code here, so both give the same bits (tests/test_kernels.py); for the bench's
LSTM, 30 against 43 us per forward step and 19 against 48 us per BPTT step. NumPy keeps the GEMMs and tanh.

`lengths` (B,) makes a batch of variable-length sequences: at steps t >= lengths[b] row b's state
stops changing and its output is zero (what PyTorch's packed sequences do); the backward pass
lets the state gradient pass through those steps untouched.
"""
from typing import NamedTuple, Optional

import numpy as np

from . import kernels
from .base import array_of, needs_grad, record, record_multi
from .recurrent_kernels import gru_cell_backward, lstm_cell_backward, lstm_cell_forward


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
    tanh_c = np.empty((hidden, batch), x.dtype)
    cell_kernel = kernels.compiled(lstm_cell_forward, x.dtype)  # None: NumPy only
    for t in range(steps):
        a = gates[t]  # (4H, B)
        a += w_hh @ h[t]  # (L1)
        _lstm_cell(a, c[t], c[t + 1], cell_kernel)  # (L2), (L3)
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


def _lstm_cell(a, c_prev, c_next, cell_kernel):
    """(L2), (L3) in place: a (4H, B) becomes i, f, g, o and c_next = f * c_prev + i * g. With kernels on, one
    np.tanh over the block (tanh(a/2) for i, f, o: sigma(a) = (1 + tanh(a/2)) / 2) and one compiled pass."""
    hidden = c_prev.shape[0]
    if cell_kernel is not None:
        a[:2 * hidden] *= 0.5
        a[3 * hidden:] *= 0.5
        np.tanh(a, out=a)
        cell_kernel(a, c_prev, c_next)  # recurrent_kernels.lstm_cell_forward: the lines below, fused
        return
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
    w_hh_t = np.ascontiguousarray(cache.w_hh.T)  # W_hh^T da_t: 50 against 58 us a step through the transposed view
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


# ----- GRU -------------------------------------------------------------------------------------------------------
class GRUCache(NamedTuple):
    x: Optional[np.ndarray]  # (T, B, I), for dW_ih
    w_ih: Optional[np.ndarray]  # for dx
    w_hh: np.ndarray  # for dh_{t-1}
    gates: np.ndarray  # (T, 3H, B): r, z, n of every step
    hn: np.ndarray  # (T, H, B): W_hn h_{t-1} + b_hn
    h: np.ndarray  # (T + 1, B, H): h_0 .. h_T
    masks: Optional[np.ndarray]  # (T, 1, B), with lengths
    x_shape: tuple
    needs: dict


def _n_first(rows_rzn):
    """PyTorch's blocks r, z, n of 3H rows in the order n, r, z."""
    hidden = rows_rzn.shape[0] // 3
    return np.concatenate([rows_rzn[2 * hidden:], rows_rzn[:2 * hidden]])


def _n_last(rows_nrz):
    """Blocks n, r, z of 3H rows back in PyTorch's order r, z, n."""
    hidden = rows_nrz.shape[0] // 3
    return np.concatenate([rows_nrz[hidden:], rows_nrz[:hidden]])


def _gru_forward(x, h0, w_ih, w_hh, b_in, b_hn, masks, needs):
    """(G1)-(G4) for t = 0 .. T-1: returns (h (T + 1, B, H) time-major, cache).
    b_in: the input-side bias (b_ih, plus b_hh's r and z parts); b_hn: (H, 1) or None."""
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    gates = _input_projection(x, w_ih, b_in)  # (T, 3H, B): W_ih x_t + b_in, turned into r, z, n in place
    hn = np.empty((steps, hidden, batch), x.dtype)
    h = np.empty((steps + 1, hidden, batch), x.dtype)
    h[0] = h0.T
    for t in range(steps):
        recurrent = w_hh @ h[t]  # (3H, B): W_hr h, W_hz h, W_hn h
        r, z, n = gates[t].reshape(3, hidden, batch)
        rz = gates[t, :2 * hidden]
        rz += recurrent[:2 * hidden]
        _sigmoid_(rz)  # (G1)
        np.add(recurrent[2 * hidden:], 0 if b_hn is None else b_hn, out=hn[t])  # (G2)
        n += r * hn[t]
        np.tanh(n, out=n)  # (G3)
        np.subtract(h[t], n, out=h[t + 1])  # (G4): h_t = n + z * (h_{t-1} - n)
        h[t + 1] *= z
        h[t + 1] += n
        _keep_finished_rows(h[t + 1], h[t], None if masks is None else masks[t])
    h = _time_major(h)
    cache = GRUCache(x if needs["w_ih"] else None, w_ih if needs["x"] else None, w_hh, gates, hn, h, masks, x.shape,
                     needs)
    return h, cache


def _gru_cell_backward(gates, hn, h_prev, dh_step, grad_pre, tanh_slope, sigmoid_slope):
    """One BPTT step's elementwise terms, (G4) to (G1): fills grad_pre (4H, B) with rows da_n, da_r, da_z, dhn
    and returns dh_{t-1}'s direct term dh_t * z; tanh_slope (H, B) and sigmoid_slope (2H, B) are scratch."""
    hidden = hn.shape[0]
    r, z, n = gates.reshape(3, hidden, -1)
    da_n, da_r, da_z, dhn = grad_pre.reshape(4, hidden, -1)
    dh_prev = dh_step * z  # (G4): dh_{t-1} directly
    np.subtract(dh_step, dh_prev, out=da_n)  # (G4): dn = dh_t * (1 - z)
    np.multiply(n, n, out=tanh_slope)
    np.subtract(1, tanh_slope, out=tanh_slope)
    da_n *= tanh_slope  # (G3): da_n = dn * (1 - n^2)
    np.multiply(da_n, r, out=dhn)  # (G3): dhn = da_n * r
    np.multiply(da_n, hn, out=da_r)  # (G3): dr = da_n * hn_t
    np.subtract(h_prev, n, out=da_z)  # (G4): dz = dh_t * (h_{t-1} - n)
    da_z *= dh_step
    np.subtract(1, gates[:2 * hidden], out=sigmoid_slope)
    sigmoid_slope *= gates[:2 * hidden]
    grad_pre[hidden:3 * hidden] *= sigmoid_slope  # (G1): da_r, da_z = dr, dz times sigma' = s(1 - s)
    return dh_prev


def _gru_backward(grads, cache):
    """BPTT through (G1)-(G4), t = T-1 .. 0; each term is the derivative of the equation it names."""
    grad_output, grad_h_n = grads
    gates, hn, h, masks = cache.gates, cache.hn, cache.h, cache.masks
    steps, _, batch = gates.shape
    hidden = hn.shape[1]
    # rows da_n, da_r, da_z, dhn: the input side (n, r, z) is rows 0:3H and the hidden side (r, z, hn) rows H:4H,
    # each one block for its GEMMs (0.5 ms less per backward than a copy per step and split GEMMs, bench GRU)
    grad_pre = np.empty((steps, 4 * hidden, batch), gates.dtype)
    dh_next = grad_h_n.T.copy()  # (H, B): from step t+1
    tanh_slope, sigmoid_slope = np.empty_like(dh_next), np.empty_like(gates[0, :2 * hidden])  # per-step scratch
    cell_kernel = kernels.compiled(gru_cell_backward, gates.dtype)  # None: NumPy only
    # the kernel reads h_{t-1} feature-major: one transposing copy, then 16 against 79 us per step (bench GRU)
    h_prev_all = None if cell_kernel is None else np.ascontiguousarray(h.transpose(0, 2, 1))  # (T + 1, H, B)
    for t in range(steps - 1, -1, -1):
        keep = None if masks is None else masks[t]  # (1, B)
        dh = dh_next + grad_output[t].T  # dh_t: from y_t and from step t+1
        dh_step = dh if keep is None else dh * keep
        if cell_kernel is None:
            dh_prev = _gru_cell_backward(gates[t], hn[t], h[t].T, dh_step, grad_pre[t], tanh_slope, sigmoid_slope)
        else:  # the same terms in one compiled pass (recurrent_kernels.py)
            dh_prev = np.empty_like(dh_step)
            cell_kernel(gates[t], hn[t], h_prev_all[t], dh_step, grad_pre[t], dh_prev)
        dh_prev += cache.w_hh.T @ grad_pre[t, hidden:]  # (G1), (G2): dh_{t-1} through W_hh [da_r; da_z; dhn]
        if keep is not None:  # a finished row passes its state gradient straight through
            dh_prev += dh_next * (1 - keep)
        dh_next = dh_prev
    needs, rows = cache.needs, steps * batch
    grad_2d = _rows(grad_pre)  # (4H, T*B), rows n, r, z, hn
    w_ih_nrz = None if cache.w_ih is None else _n_first(cache.w_ih)
    grad_x, grad_w_ih, grad_b_ih = _input_side_gradients(grad_2d[:3 * hidden], cache.x, w_ih_nrz, cache.x_shape,
                                                         needs)
    grad_w_hh = grad_2d[hidden:] @ h[:-1].reshape(rows, hidden) if needs["w_hh"] else None
    grad_b_hh = _row_sums(grad_2d[hidden:]) if needs["b_hh"] else None
    return (grad_x, dh_next.T if needs["h0"] else None, None if grad_w_ih is None else _n_last(grad_w_ih), grad_w_hh,
            _n_last(grad_b_ih) if needs["b_ih"] else None, grad_b_hh)


def gru_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None):
    """A single-layer, single-direction GRU over a whole sequence: returns (output (T, B, H), h_T).

    Forward: (G1)-(G4) in the module docstring. Backward, t = T-1 .. 0 (_gru_backward, same terms):
        dn = dh_t * (1 - z) ;  dz = dh_t * (h_{t-1} - n) ;  dh_{t-1} = dh_t * z + ...  (G4)
        da_n = dn * (1 - n^2) ;  dr = da_n * hn_t ;  dhn = da_n * r               (G3)
        da_r = dr * r(1 - r) ;  da_z = dz * z(1 - z)                              (G1)
        dh_{t-1} = ... + W_hh^T [da_r; da_z; dhn]                                 (G1), (G2)
    The cache (GRUCache) holds r, z, n and hn of every step, not their derivatives (the backward forms them).
    Saves `gates`, `hn`, `h`, `w_hh`; `x` if w_ih needs a gradient, `w_ih` if x does, `masks` with lengths."""
    inputs = (x, h0, w_ih, w_hh, b_ih, b_hh)
    needs = _needs(("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"), inputs)
    x_val, w_hh_val = array_of(x), array_of(w_hh)
    hidden = w_hh_val.shape[1]
    b_hh_val = None if b_hh is None else array_of(b_hh)
    b_hh_rz = None if b_hh is None else np.concatenate([b_hh_val[:2 * hidden], np.zeros(hidden, b_hh_val.dtype)])
    b_in = _merged_bias(None if b_ih is None else array_of(b_ih), b_hh_rz)  # b_hn stays out: r multiplies it (G3)
    b_hn = None if b_hh is None else b_hh_val[2 * hidden:, None]
    masks = _step_masks(lengths, x_val.shape[0], x_val.dtype)
    h, cache = _gru_forward(x_val, array_of(h0), array_of(w_ih), w_hh_val, b_in, b_hn, masks, needs)

    def gru_sequence_backward(grads):
        return _gru_backward(grads, cache)

    return record_multi(gru_sequence, (_masked_output(h, masks), h[-1]), inputs, gru_sequence_backward,
                        saved=(x, h0, w_ih, w_hh))


# ----- RNN -------------------------------------------------------------------------------------------------------
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
    for t in range(steps):
        a = pre[t]
        a += w_hh @ h[t]  # (R1)
        if relu:
            np.maximum(a, 0, out=h[t + 1])
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
    if cache.relu:  # (R1): relu' = [h_t > 0] (0 at 0, as PyTorch)
        grad_pre = (h[1:] > 0).astype(h.dtype)
    else:  # (R1): tanh' = 1 - h_t^2
        grad_pre = np.multiply(h[1:], h[1:])
        np.subtract(1, grad_pre, out=grad_pre)
    # act' of all steps at once, above (0.15 against 0.21 ms with three calls per step, T=50, B=32, H=128);
    # the loop multiplies in dh_t, turning grad_pre[t] (B, H) into da_t
    dh_next = grad_h_n.copy()  # (B, H): from step t+1
    for t in range(steps - 1, -1, -1):
        keep = None if masks is None else masks[t].T  # (B, 1)
        dh = dh_next + grad_output[t]  # dh_t: from y_t and from step t+1
        da = grad_pre[t]
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
