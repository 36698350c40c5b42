"""Whole-sequence RNN, LSTM and GRU as fused ops, with backpropagation through time written out.

Legend: T time steps, B batch, I input size, H hidden size. Inputs are time-major:
x (T, B, I), states (B, H). Weights use PyTorch's layout and gate order:
    LSTM  w_ih (4H, I), w_hh (4H, H), gates i, f, g, o
    GRU   w_ih (3H, I), w_hh (3H, H), gates r, z, n
    RNN   w_ih (H, I),  w_hh (H, H)
The input projection of all T steps is one GEMM before the recurrence; the weight
gradients are one GEMM each after it. Only the recurrence itself loops over time.

`lengths` (B,) makes a batch of variable-length sequences: at steps t >= lengths[b]
row b's state stops changing and its output is zero (what PyTorch's packed sequences
do); the backward pass lets the state gradient pass through those steps untouched.
"""
import numpy as np

from .base import array_of, needs_grad, record, record_multi


def _sigmoid(a, out=None):
    """sigma(a) = (1 + tanh(a / 2)) / 2: no overflow for large |a|."""
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def _step_masks(lengths, steps, dtype):
    """(T, B, 1) masks: 1 where step t is inside sequence b, else 0; None when all are full length."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    return (np.arange(steps)[:, None] < lengths[None, :]).astype(dtype)[:, :, None]


def _input_projection(x_val, w_ih, bias):
    """x @ w_ih^T + bias for all T steps at once: (T*B, I) @ (I, G*H) -- one GEMM."""
    steps, batch, _ = x_val.shape
    projected = x_val.reshape(steps * batch, -1) @ w_ih.T
    if bias is not None:
        projected += bias
    return projected.reshape(steps, batch, -1)


def _weight_gradients(grad_pre, inputs, states, need_ih, need_hh):
    """dL/dw_ih = sum_t dpre_t^T x_t and dL/dw_hh = sum_t dpre_t^T h_{t-1}, each one GEMM over all T*B rows."""
    rows = grad_pre.shape[0] * grad_pre.shape[1]
    flat = grad_pre.reshape(rows, -1)
    grad_w_ih = flat.T @ inputs.reshape(rows, -1) if need_ih else None
    grad_w_hh = flat.T @ states.reshape(rows, -1) if need_hh else None
    return grad_w_ih, grad_w_hh


def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None):
    """A single-layer, single-direction LSTM over a whole sequence: returns (output (T, B, H), h_T, c_T).

    Forward, per step t (PyTorch's equations):
        i, f, g, o = sigma(a_i), sigma(a_f), tanh(a_g), sigma(a_o),  a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)
    Backward, from t = T-1 down to 0 (BPTT), with dh_t = dL/dy_t + (gradient from step t+1):
        do_t = dh_t * tanh(c_t)
        dc_t = dh_t * o * (1 - tanh(c_t)^2) + dc_{t+1} * f_{t+1}   (from h_t, and from c_{t+1})
        di_t = dc_t * g ;  df_t = dc_t * c_{t-1} ;  dg_t = dc_t * i
        da = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]     (through the gate nonlinearities)
        dh_{t-1} = da @ W_hh  (+ the output gradient at t-1)
        dW_ih = sum_t da_t^T x_t ;  dW_hh = sum_t da_t^T h_{t-1} ;  db_ih = db_hh = sum_t da_t
        dx_t = da_t @ W_ih
    Saves the gate activations, the cell states, tanh(c_t) and the hidden states."""
    x_val, w_ih_val, w_hh_val = array_of(x), array_of(w_ih), array_of(w_hh)
    steps, batch, _ = x_val.shape
    hidden = w_hh_val.shape[1]
    dtype = x_val.dtype
    bias = None
    if b_ih is not None:
        bias = array_of(b_ih) + array_of(b_hh)
    masks = _step_masks(lengths, steps, dtype)

    pre = _input_projection(x_val, w_ih_val, bias)  # (T, B, 4H), becomes the gate activations in place
    h_all = np.empty((steps + 1, batch, hidden), dtype)  # h_all[t + 1] = h_t; h_all[0] = h0
    c_all = np.empty((steps + 1, batch, hidden), dtype)
    tanh_c = np.empty((steps, batch, hidden), dtype)
    h_all[0], c_all[0] = array_of(h0), array_of(c0)
    w_hh_t = w_hh_val.T
    for t in range(steps):
        gates = pre[t]  # (B, 4H)
        gates += h_all[t] @ w_hh_t
        _sigmoid(gates[:, :2 * hidden], out=gates[:, :2 * hidden])  # i, f
        np.tanh(gates[:, 2 * hidden:3 * hidden], out=gates[:, 2 * hidden:3 * hidden])  # g
        _sigmoid(gates[:, 3 * hidden:], out=gates[:, 3 * hidden:])  # o
        i, f, g, o = gates[:, :hidden], gates[:, hidden:2 * hidden], gates[:, 2 * hidden:3 * hidden], \
            gates[:, 3 * hidden:]
        c = f * c_all[t]
        c += i * g
        np.tanh(c, out=tanh_c[t])
        h = o * tanh_c[t]
        if masks is not None:  # finished sequences keep their state
            keep = masks[t]
            c = keep * c + (1 - keep) * c_all[t]
            h = keep * h + (1 - keep) * h_all[t]
        c_all[t + 1], h_all[t + 1] = c, h
    output = h_all[1:] if masks is None else h_all[1:] * masks

    def lstm_sequence_backward(grads):
        grad_output, grad_h_n, grad_c_n = grads
        grad_pre = np.empty_like(pre)  # (T, B, 4H): dL/da at every step
        grad_h = grad_h_n.copy()  # (B, H): dL/dh_t arriving from step t+1
        grad_c = grad_c_n.copy()  # (B, H): dL/dc_t arriving from step t+1
        w_hh_val_local = w_hh_val
        for t in range(steps - 1, -1, -1):
            i, f, g, o = pre[t, :, :hidden], pre[t, :, hidden:2 * hidden], pre[t, :, 2 * hidden:3 * hidden], \
                pre[t, :, 3 * hidden:]
            keep = None if masks is None else masks[t]
            dh = grad_h + (grad_output[t] if keep is None else grad_output[t] * keep)  # (B, H)
            dh_step = dh if keep is None else dh * keep
            dc = grad_c if keep is None else grad_c * keep
            dc = dc + dh_step * o * (1 - tanh_c[t] * tanh_c[t])  # dc_t: from h_t and from c_{t+1}
            da = grad_pre[t]
            np.multiply(dc * g, i * (1 - i), out=da[:, :hidden])  # term di
            np.multiply(dc * c_all[t], f * (1 - f), out=da[:, hidden:2 * hidden])  # term df
            np.multiply(dc * i, 1 - g * g, out=da[:, 2 * hidden:3 * hidden])  # term dg
            np.multiply(dh_step * tanh_c[t], o * (1 - o), out=da[:, 3 * hidden:])  # term do
            grad_h_prev = da @ w_hh_val_local  # dh_{t-1} through the recurrent weights
            grad_c_prev = dc * f  # dc_{t-1} through the forget gate
            if keep is not None:  # a finished row passes its state gradient straight through
                grad_h_prev += dh * (1 - keep)
                grad_c_prev += grad_c * (1 - keep)
            grad_h, grad_c = grad_h_prev, grad_c_prev
        grad_w_ih, grad_w_hh = _weight_gradients(grad_pre, x_val, h_all[:-1], needs_grad(w_ih), needs_grad(w_hh))
        grad_bias = grad_pre.sum(axis=(0, 1)) if b_ih is not None else None
        grad_x = (grad_pre.reshape(steps * batch, -1) @ w_ih_val).reshape(x_val.shape) if needs_grad(x) else None
        return (grad_x, grad_h if needs_grad(h0) else None, grad_c if needs_grad(c0) else None, grad_w_ih,
                grad_w_hh, grad_bias if needs_grad(b_ih) else None, grad_bias if needs_grad(b_hh) else None)

    return record_multi(lstm_sequence, (output, h_all[-1], c_all[-1]), (x, h0, c0, w_ih, w_hh, b_ih, b_hh),
                        lstm_sequence_backward)


def gru_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None):
    """A single-layer, single-direction GRU over a whole sequence: returns (output (T, B, H), h_T).

    Forward, per step (PyTorch's equations; r gates the *projected* previous state):
        r = sigma(W_ir x + b_ir + W_hr h + b_hr) ;  z = sigma(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}
    Backward, with dh = dL/dh_t (output gradient + gradient from step t+1) and hn = W_hn h + b_hn:
        dn = dh * (1 - z) ;  dz = dh * (h_{t-1} - n)
        da_n = dn * (1 - n^2) ;  dr = da_n * hn ;  da_r = dr * r(1-r) ;  da_z = dz * z(1-z)
        input side:  d(W_i x + b_i) = [da_r, da_z, da_n]
        hidden side: d(W_h h + b_h) = [da_r, da_z, da_n * r]
        dh_{t-1} = dh * z + (hidden side) @ W_hh
    Saves r, z, n, hn and the hidden states."""
    x_val, w_ih_val, w_hh_val = array_of(x), array_of(w_ih), array_of(w_hh)
    steps, batch, _ = x_val.shape
    hidden = w_hh_val.shape[1]
    dtype = x_val.dtype
    b_ih_val = None if b_ih is None else array_of(b_ih)
    b_hh_val = None if b_hh is None else array_of(b_hh)
    masks = _step_masks(lengths, steps, dtype)

    projected = _input_projection(x_val, w_ih_val, b_ih_val)  # (T, B, 3H)
    gates = np.empty((steps, batch, 3 * hidden), dtype)  # r, z, n after their nonlinearities
    hidden_n = np.empty((steps, batch, hidden), dtype)  # hn = W_hn h + b_hn, needed by dr
    h_all = np.empty((steps + 1, batch, hidden), dtype)
    h_all[0] = array_of(h0)
    w_hh_t = w_hh_val.T
    for t in range(steps):
        h_prev = h_all[t]
        recurrent = h_prev @ w_hh_t  # (B, 3H)
        if b_hh_val is not None:
            recurrent += b_hh_val
        rz = gates[t, :, :2 * hidden]
        np.add(projected[t, :, :2 * hidden], recurrent[:, :2 * hidden], out=rz)
        _sigmoid(rz, out=rz)
        r, z = rz[:, :hidden], rz[:, hidden:]
        hidden_n[t] = recurrent[:, 2 * hidden:]
        n = gates[t, :, 2 * hidden:]
        np.multiply(r, hidden_n[t], out=n)
        n += projected[t, :, 2 * hidden:]
        np.tanh(n, out=n)
        h = n + z * (h_prev - n)  # (1 - z) * n + z * h_prev
        if masks is not None:
            keep = masks[t]
            h = keep * h + (1 - keep) * h_prev
        h_all[t + 1] = h
    del projected
    output = h_all[1:] if masks is None else h_all[1:] * masks

    def gru_sequence_backward(grads):
        grad_output, grad_h_n = grads
        grad_in = np.empty((steps, batch, 3 * hidden), dtype)  # d(W_i x + b_i) per step
        grad_rec = np.empty((steps, batch, 3 * hidden), dtype)  # d(W_h h + b_h) per step
        grad_h = grad_h_n.copy()
        for t in range(steps - 1, -1, -1):
            r, z, n = gates[t, :, :hidden], gates[t, :, hidden:2 * hidden], gates[t, :, 2 * hidden:]
            h_prev = h_all[t]
            keep = None if masks is None else masks[t]
            dh = grad_h + (grad_output[t] if keep is None else grad_output[t] * keep)
            dh_step = dh if keep is None else dh * keep
            da_n = dh_step * (1 - z) * (1 - n * n)  # through n = tanh(.)
            da_r = da_n * hidden_n[t] * r * (1 - r)
            da_z = dh_step * (h_prev - n) * z * (1 - z)
            grad_in[t, :, :hidden], grad_in[t, :, hidden:2 * hidden], grad_in[t, :, 2 * hidden:] = da_r, da_z, da_n
            grad_rec[t, :, :hidden], grad_rec[t, :, hidden:2 * hidden] = da_r, da_z
            np.multiply(da_n, r, out=grad_rec[t, :, 2 * hidden:])
            grad_h_prev = dh_step * z + grad_rec[t] @ w_hh_val
            if keep is not None:
                grad_h_prev += dh * (1 - keep)
            grad_h = grad_h_prev
        rows = steps * batch
        grad_w_ih = grad_in.reshape(rows, -1).T @ x_val.reshape(rows, -1) if needs_grad(w_ih) else None
        grad_w_hh = grad_rec.reshape(rows, -1).T @ h_all[:-1].reshape(rows, -1) if needs_grad(w_hh) else None
        grad_b_ih = grad_in.sum(axis=(0, 1)) if b_ih is not None and needs_grad(b_ih) else None
        grad_b_hh = grad_rec.sum(axis=(0, 1)) if b_hh is not None and needs_grad(b_hh) else None
        grad_x = (grad_in.reshape(rows, -1) @ w_ih_val).reshape(x_val.shape) if needs_grad(x) else None
        return grad_x, grad_h if needs_grad(h0) else None, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh

    return record_multi(gru_sequence, (output, h_all[-1]), (x, h0, w_ih, w_hh, b_ih, b_hh), gru_sequence_backward)


def rnn_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", lengths=None):
    """A single-layer, single-direction Elman RNN: returns (output (T, B, H), h_T).

    Forward:  h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu
    Backward: da_t = dh_t * act'(.)  with tanh' = 1 - h_t^2 and relu' = [h_t > 0] (0 at 0, as PyTorch)
              dh_{t-1} = da_t @ W_hh ;  dW_ih = sum_t da_t^T x_t ;  dW_hh = sum_t da_t^T h_{t-1}
    The repeated product of W_hh^T and act' in dh_{t-1} is why gradients vanish or explode over
    long sequences. Saves the hidden states (the derivative needs only them)."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')")
    x_val, w_ih_val, w_hh_val = array_of(x), array_of(w_ih), array_of(w_hh)
    steps, batch, _ = x_val.shape
    hidden = w_hh_val.shape[1]
    dtype = x_val.dtype
    bias = None if b_ih is None else array_of(b_ih) + array_of(b_hh)
    masks = _step_masks(lengths, steps, dtype)

    pre = _input_projection(x_val, w_ih_val, bias)  # (T, B, H)
    h_all = np.empty((steps + 1, batch, hidden), dtype)
    h_all[0] = array_of(h0)
    w_hh_t = w_hh_val.T
    for t in range(steps):
        a = pre[t]
        a += h_all[t] @ w_hh_t
        h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
        if masks is not None:
            keep = masks[t]
            h = keep * h + (1 - keep) * h_all[t]
        h_all[t + 1] = h
    del pre
    output = h_all[1:] if masks is None else h_all[1:] * masks

    def rnn_sequence_backward(grads):
        grad_output, grad_h_n = grads
        grad_pre = np.empty((steps, batch, hidden), dtype)
        grad_h = grad_h_n.copy()
        for t in range(steps - 1, -1, -1):
            h = h_all[t + 1]
            keep = None if masks is None else masks[t]
            dh = grad_h + (grad_output[t] if keep is None else grad_output[t] * keep)
            dh_step = dh if keep is None else dh * keep
            if nonlinearity == "tanh":
                np.multiply(dh_step, 1 - h * h, out=grad_pre[t])
            else:
                np.multiply(dh_step, h > 0, out=grad_pre[t])
            grad_h_prev = grad_pre[t] @ w_hh_val
            if keep is not None:
                grad_h_prev += dh * (1 - keep)
            grad_h = grad_h_prev
        grad_w_ih, grad_w_hh = _weight_gradients(grad_pre, x_val, h_all[:-1], needs_grad(w_ih), needs_grad(w_hh))
        grad_bias = grad_pre.sum(axis=(0, 1)) if b_ih is not None else None
        grad_x = (grad_pre.reshape(steps * batch, -1) @ w_ih_val).reshape(x_val.shape) if needs_grad(x) else None
        return (grad_x, grad_h if needs_grad(h0) else None, grad_w_ih, grad_w_hh,
                grad_bias if needs_grad(b_ih) else None, grad_bias if needs_grad(b_hh) else None)

    return record_multi(rnn_sequence, (output, h_all[-1]), (x, h0, w_ih, w_hh, b_ih, b_hh), rnn_sequence_backward)


def reverse_sequences(x, lengths=None):
    """Reverse each sequence of x (T, B, ...) in time, within its own length when `lengths` is given
    (positions past a sequence's end stay in place). A permutation that is its own inverse, so
    dL/dx = reverse_sequences(g). Used for the backward direction of bidirectional layers."""
    x_val = array_of(x)
    steps, batch = x_val.shape[:2]
    if lengths is None:
        return record(reverse_sequences, x_val[::-1].copy(), (x,), lambda grad_out: (grad_out[::-1].copy(),))
    lengths = np.asarray(lengths)
    t = np.arange(steps)[:, None]
    source = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, B)
    columns = np.arange(batch)[None, :]
    return record(reverse_sequences, x_val[source, columns], (x,), lambda grad_out: (grad_out[source, columns],))
