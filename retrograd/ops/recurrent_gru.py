"""The whole-sequence GRU as one fused op, gru_sequence (recurrent.py exports it too).

Legend: T time steps, B batch, I input size, H hidden size; x (T, B, I) time-major, states (B, H),
w_ih (3H, I), w_hh (3H, H), gates r, z, n in PyTorch's order; sigma is the logistic sigmoid, * is elementwise.

GRU, per step t (r gates the *projected* previous state):
    (G1) r, z = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr), sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    (G2) hn_t = W_hn h_{t-1} + b_hn
    (G3) n = tanh(W_in x_t + b_in + r * hn_t)
    (G4) h_t = (1 - z) * n + z * h_{t-1}
Each backward walks t = T-1 .. 0 with dh_t = dL/dy_t + (what step t+1 sent back); its terms are
numbered in the code against these equations. The weight gradients are one GEMM each over all steps, as
recurrent.py's module docstring says, which also gives the bias strategy and the layouts all three ops share.
"""
from typing import NamedTuple, Optional

import numpy as np

from . import kernels
from .base import array_of, record_multi
from .recurrent_common import (
    _input_projection, _input_side_gradients, _keep_finished_rows, _masked_output, _merged_bias, _needs, _row_sums,
    _rows, _sigmoid_, _step_masks, _time_major, _transposed)
from .recurrent_kernels import gru_candidate_in, gru_cell_backward, gru_gates_in, gru_state_update


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
    cell_kernels = _gru_cell_kernels(x.dtype)  # None: NumPy only
    recurrent, zero = np.empty((3 * hidden, batch), x.dtype), np.zeros((hidden, 1), x.dtype)
    for t in range(steps):
        np.matmul(w_hh, h[t], out=recurrent)  # (3H, B): W_hr h, W_hz h, W_hn h
        _gru_cell(gates[t], recurrent, zero if b_hn is None else b_hn, hn[t], h[t], h[t + 1], cell_kernels)
        _keep_finished_rows(h[t + 1], h[t], None if masks is None else masks[t])
    h = _time_major(h)
    cache = GRUCache(x if needs["w_ih"] else None, w_ih if needs["x"] else None, w_hh, gates, hn, h, masks, x.shape,
                     needs)
    return h, cache


def _gru_cell_kernels(dtype):
    """The compiled (gru_gates_in, gru_candidate_in, gru_state_update) for this dtype, or None: NumPy only."""
    compiled = [kernels.compiled(kernel, dtype) for kernel in (gru_gates_in, gru_candidate_in, gru_state_update)]
    return None if compiled[0] is None else compiled


def _gru_cell(gates, recurrent, b_hn, hn, h_prev, h_next, cell_kernels):
    """(G1)-(G4) of one step: gates (3H, B) holds W_ih x_t + b_in and becomes r, z, n in place; recurrent (3H, B) is
    W_hh h_{t-1}; fills hn (H, B) and h_next. With kernels on, three compiled passes around NumPy's two tanh calls."""
    hidden = hn.shape[0]
    r, z, n = gates.reshape(3, hidden, -1)
    if cell_kernels is not None:  # recurrent_kernels.gru_gates_in, gru_candidate_in, gru_state_update: the lines below
        gates_in, candidate_in, state_update = cell_kernels
        gates_in(gates, recurrent, b_hn, hn)
        np.tanh(gates[:2 * hidden], out=gates[:2 * hidden])
        candidate_in(gates, hn)
        np.tanh(n, out=n)
        state_update(gates, h_prev, h_next)
        return
    rz = gates[:2 * hidden]
    rz += recurrent[:2 * hidden]
    _sigmoid_(rz)  # (G1)
    np.add(recurrent[2 * hidden:], b_hn, out=hn)  # (G2)
    n += r * hn
    np.tanh(n, out=n)  # (G3)
    np.subtract(h_prev, n, out=h_next)  # (G4): h_t = n + z * (h_{t-1} - n)
    h_next *= z
    h_next += n


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
    cell_kernel = kernels.compiled(gru_cell_backward, gates.dtype)  # None: NumPy only
    # the kernel writes da_t straight into grad_pre[:, t] of a (4H, T, B) block, the GEMMs' (4H, T*B); NumPy fills
    # (T, 4H, B) and transposes once after the loop (as the LSTM's backward does)
    grad_pre = np.empty((steps, 4 * hidden, batch) if cell_kernel is None else (4 * hidden, steps, batch), gates.dtype)
    w_hh_t = _transposed(cache.w_hh)  # W_hh^T @ [da_r; da_z; dhn]: a contiguous copy, as the LSTM's
    dh_next = grad_h_n.T.copy()  # (H, B): from step t+1
    tanh_slope, sigmoid_slope = np.empty_like(dh_next), np.empty_like(gates[0, :2 * hidden])  # per-step scratch
    # the kernel reads h_{t-1} feature-major: one transposing copy, then 16 against 79 us per step (bench GRU)
    h_prev_all = None if cell_kernel is None else np.ascontiguousarray(h.transpose(0, 2, 1))  # (T + 1, H, B)
    for t in range(steps - 1, -1, -1):
        keep = None if masks is None else masks[t]  # (1, B)
        dh = dh_next + grad_output[t].T  # dh_t: from y_t and from step t+1
        dh_step = dh if keep is None else dh * keep
        if cell_kernel is None:
            da = grad_pre[t]
            dh_prev = _gru_cell_backward(gates[t], hn[t], h[t].T, dh_step, da, tanh_slope, sigmoid_slope)
        else:  # the same terms in one compiled pass (recurrent_kernels.py)
            da, dh_prev = grad_pre[:, t], np.empty_like(dh_step)
            cell_kernel(gates[t], hn[t], h_prev_all[t], dh_step, grad_pre, t, dh_prev)
        dh_prev += w_hh_t @ da[hidden:]  # (G1), (G2): dh_{t-1} through W_hh [da_r; da_z; dhn]
        if keep is not None:  # a finished row passes its state gradient straight through
            dh_prev += dh_next * (1 - keep)
        dh_next = dh_prev
    needs, rows = cache.needs, steps * batch
    grad_2d = _rows(grad_pre) if cell_kernel is None else grad_pre.reshape(4 * hidden, rows)  # rows n, r, z, hn
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
