"""Whole-sequence RNN, LSTM and GRU as fused ops, with backpropagation through time written out.

Legend: T time steps, B batch, I input size, H hidden size. Inputs are time-major:
x (T, B, I), states (B, H). Weights use PyTorch's layout and gate order:
    LSTM  w_ih (4H, I), w_hh (4H, H), gates i, f, g, o
    GRU   w_ih (3H, I), w_hh (3H, H), gates r, z, n
    RNN   w_ih (H, I),  w_hh (H, H)
The input projection of all T steps is one matmul before the recurrence (for LSTM and GRU
a batched one, W_ih @ x_t^T for every t, so that each step's gates are one contiguous block);
the weight gradients are one GEMM each after it. Only the recurrence itself loops over time.

`lengths` (B,) makes a batch of variable-length sequences: at steps t >= lengths[b]
row b's state stops changing and its output is zero (what PyTorch's packed sequences
do); the backward pass lets the state gradient pass through those steps untouched.
"""
import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from .base import array_of, needs_grad, record, record_multi


def _step_masks(lengths, steps, dtype):
    """(T, B, 1) masks: 1 where step t is inside sequence b, else 0; None when all are full length."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    return (np.arange(steps)[:, None] < lengths[None, :]).astype(dtype)[:, :, None]


def _input_projection(x_val, w_ih, bias):
    """x @ w_ih^T + bias for all T steps at once: (T*B, I) @ (I, G*H) -- one GEMM."""
    steps, batch, _ = x_val.shape
    projected = x_val.reshape(steps * batch, x_val.shape[-1]) @ w_ih.T
    if bias is not None:
        projected += bias
    return projected.reshape(steps, batch, projected.shape[-1])


def _weight_gradients(grad_pre, inputs, states, need_ih, need_hh):
    """dL/dw_ih = sum_t dpre_t^T x_t and dL/dw_hh = sum_t dpre_t^T h_{t-1}, each one GEMM over all T*B rows."""
    rows = grad_pre.shape[0] * grad_pre.shape[1]
    flat = grad_pre.reshape(rows, grad_pre.shape[-1])
    grad_w_ih = flat.T @ inputs.reshape(rows, inputs.shape[-1]) if need_ih else None
    grad_w_hh = flat.T @ states.reshape(rows, states.shape[-1]) if need_hh else None
    return grad_w_ih, grad_w_hh


def _with_ones_column(x_val):
    """[x, 1] as (T*B, I + 1): a bias becomes one more weight column of the input-projection GEMM,
    and its gradient one more column of the weight-gradient GEMM."""
    steps, batch, size = x_val.shape
    inputs = np.empty((steps, batch, size + 1), x_val.dtype)
    inputs[..., :size] = x_val
    inputs[..., size] = 1
    return inputs.reshape(steps * batch, size + 1)


def _wants_backward(inputs):
    """Whether an op's result will be on the tape (grad mode on and some input requires grad)."""
    return is_grad_enabled() and any(needs_grad(t) for t in inputs)


def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, w_hr=None):
    """A single-layer, single-direction LSTM over a whole sequence: returns (output (T, B, P), h_T, c_T).

    Forward, per step t (PyTorch's equations):
        i, f, g, o = sigma(a_i), sigma(a_f), tanh(a_g), sigma(a_o),  a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)                 or, with a projection w_hr (P, H):  h_t = W_hr m_t,  m_t = o * tanh(c_t)
    P is the state size: H, or proj_size with a projection (then W_hh is (4H, P)).
    Local derivatives of step t, computed in the forward pass while the step's values are in cache
    and saved for the backward pass (which then needs only f among the gates):
        dc/da = [g * i(1-i), c_{t-1} * f(1-f), i * (1-g^2)]   for a_i, a_f, a_g   (c_t through each gate)
        dh/da_o = tanh(c_t) * o(1-o) ;  dh/dc = o * (1 - tanh(c_t)^2)
    Backward, from t = T-1 down to 0 (BPTT), with dh_t = dL/dy_t + (gradient from step t+1):
        dm_t = dh_t, or W_hr^T dh_t with a projection (then dW_hr = sum_t dh_t m_t^T)
        dc_t = dm_t * dh/dc + dc_{t+1} * f_{t+1}       (from h_t, and from c_{t+1})
        da = [dc_t * dc/da_i, dc_t * dc/da_f, dc_t * dc/da_g, dm_t * dh/da_o]
        dh_{t-1} = W_hh^T da  (+ the output gradient at t-1) ;  dc_t * f_t is carried to step t-1
        dW_ih = sum_t da_t x_t^T ;  dW_hh = sum_t da_t h_{t-1}^T ;  db_ih = db_hh = sum_t da_t
        dx_t = W_ih^T da_t

    Two choices for speed, neither changing the mathematics:
    - the recurrence runs feature-major: states (H, B) and gates (4H, B), so each gate is a
      contiguous block and the per-step GEMM is W_hh (4H, H) @ h (H, B), the faster orientation
      for a small batch; results are transposed back to (T, B, H) once, after the loop;
    - sigma(a) = (1 + tanh(a/2)) / 2, so one tanh serves all four gates: the i, f, o rows of the
      weights and biases are halved once per call (exact in floating point)."""
    x_val, w_ih_val, w_hh_val = array_of(x), array_of(w_ih), array_of(w_hh)
    w_hr_val = None if w_hr is None else array_of(w_hr)
    steps, batch, _ = x_val.shape
    hidden = w_hh_val.shape[0] // 4
    state_size = w_hh_val.shape[1]  # P
    dtype = x_val.dtype
    masks = _step_masks(lengths, steps, dtype)
    keep_fm = None if masks is None else masks.transpose(0, 2, 1)  # (T, 1, B)
    backward_needed = _wants_backward((x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr))
    rows_i, rows_f, rows_g, rows_o = (slice(k * hidden, (k + 1) * hidden) for k in range(4))
    sigmoid_rows = (slice(0, 2 * hidden), rows_o)  # i, f and o

    half = np.ones((4 * hidden, 1), dtype)
    for rows in sigmoid_rows:
        half[rows] = 0.5
    # the input projection, bias included: [W_ih | b_ih + b_hh] @ [x_t; 1] for every t, as (T, 4H, B)
    # (T*B, I [+1]); explicit sizes, not -1, so that a batch of 0 reshapes too
    inputs = _with_ones_column(x_val) if b_ih is not None else x_val.reshape(steps * batch, x_val.shape[-1])
    w_in = w_ih_val if b_ih is None else np.concatenate([w_ih_val, (array_of(b_ih) + array_of(b_hh))[:, None]], 1)
    gates_all = np.matmul(w_in * half, inputs.reshape(steps, batch, inputs.shape[-1]).transpose(0, 2, 1))
    w_hh_half = w_hh_val * half  # (4H, H)

    h_all = np.empty((steps + 1, state_size, batch), dtype)  # feature-major: h_all[t + 1] = h_t^T
    c_all = np.empty((steps + 1, hidden, batch), dtype)
    h_all[0], c_all[0] = array_of(h0).T, array_of(c0).T
    tanh_c = np.empty((hidden, batch), dtype)
    if backward_needed:
        local = np.empty((steps, 4 * hidden, batch), dtype)  # [dc/da_i, dc/da_f, dc/da_g, dh/da_o]
        dh_dc = np.empty((steps, hidden, batch), dtype)
    if w_hr is not None:
        m_all = np.empty((hidden, steps, batch), dtype)  # m_t = o * tanh(c_t); as (H, T*B) it follows x's rows
    for t in range(steps):
        gates = gates_all[t]  # (4H, B)
        gates += w_hh_half @ h_all[t]
        np.tanh(gates, out=gates)  # tau = tanh(a/2) for i, f, o; g itself
        if backward_needed:  # slopes: sigma' = (1 - tau^2) / 4, tanh' = 1 - g^2
            slopes = local[t]
            np.multiply(gates, gates, out=slopes)
            np.subtract(1, slopes, out=slopes)
            for rows in sigmoid_rows:
                slopes[rows] *= 0.25
        for rows in sigmoid_rows:  # sigma = (1 + tau) / 2
            gates[rows] *= 0.5
            gates[rows] += 0.5
        i, f, g, o = gates[rows_i], gates[rows_f], gates[rows_g], gates[rows_o]
        c = c_all[t + 1]
        np.multiply(f, c_all[t], out=c)
        np.multiply(i, g, out=tanh_c)
        c += tanh_c
        np.tanh(c, out=tanh_c)
        if w_hr is None:
            h = np.multiply(o, tanh_c, out=h_all[t + 1])
        else:
            m = np.multiply(o, tanh_c, out=m_all[:, t])
            h = np.matmul(w_hr_val, m, out=h_all[t + 1])  # the projection, (P, H) @ (H, B)
        if backward_needed:
            slopes[rows_i] *= g
            slopes[rows_f] *= c_all[t]
            slopes[rows_g] *= i
            slopes[rows_o] *= tanh_c
            np.multiply(tanh_c, tanh_c, out=dh_dc[t])
            np.subtract(1, dh_dc[t], out=dh_dc[t])
            dh_dc[t] *= o
        if keep_fm is not None:  # finished sequences keep their state
            keep = keep_fm[t]
            c[...] = keep * c + (1 - keep) * c_all[t]
            h[...] = keep * h + (1 - keep) * h_all[t]
    del c_all
    h_all = np.ascontiguousarray(h_all.transpose(0, 2, 1))  # (T + 1, B, P), time-major again
    c_n = c.T.copy()
    output = h_all[1:] if masks is None else h_all[1:] * masks

    def lstm_sequence_backward(grads):
        grad_output, grad_h_n, grad_c_n = grads
        if masks is not None:
            grad_output = grad_output * masks
        grad_pre = np.empty((steps, 4 * hidden, batch), dtype)  # dL/da_t: a contiguous block per step
        grad_h = grad_h_n.T.copy()  # (P, B): dL/dh_t arriving from step t+1
        if w_hr is not None:
            grad_h_all = np.empty((state_size, steps, batch), dtype)  # dh_t, for dW_hr
        grad_c = grad_c_n.T.copy()  # (H, B): dL/dc_t arriving from step t+1
        for t in range(steps - 1, -1, -1):
            f = gates_all[t, rows_f]
            keep = None if keep_fm is None else keep_fm[t]
            dh = grad_h + grad_output[t].T  # (P, B)
            dh_step = dh if keep is None else dh * keep
            if w_hr is None:
                dm = dh_step
            else:
                grad_h_all[:, t] = dh_step
                dm = w_hr_val.T @ dh_step  # back through the projection
            dc = dm * dh_dc[t]  # dc_t: from h_t ...
            dc += grad_c if keep is None else grad_c * keep  # ... and from c_{t+1}
            da = grad_pre[t]  # (4H, B)
            np.multiply(local[t, :3 * hidden].reshape(3, hidden, batch), dc,
                        out=da[:3 * hidden].reshape(3, hidden, batch))  # da_i, da_f, da_g
            np.multiply(dm, local[t, rows_o], out=da[rows_o])  # da_o
            grad_h_prev = w_hh_val.T @ da  # dh_{t-1} through the recurrent weights
            grad_c_prev = dc * f  # dc_{t-1} through the forget gate
            if keep is not None:  # a finished row passes its state gradient straight through
                grad_h_prev += dh * (1 - keep)
                grad_c_prev += grad_c * (1 - keep)
            grad_h, grad_c = grad_h_prev, grad_c_prev
        rows = steps * batch
        # (4H, T*B), its columns in x's row order, for the GEMMs over all steps: one transposing copy,
        # cheaper than writing each step's dL/da_t as 4H rows of B values scattered across it
        grad_2d = np.ascontiguousarray(grad_pre.transpose(1, 0, 2)).reshape(4 * hidden, rows)
        grad_w_in = None  # [dW_ih | db]: the bias gradient is the GEMM's column for the ones
        if needs_grad(w_ih) or needs_grad(b_ih) or needs_grad(b_hh):
            grad_w_in = grad_2d @ inputs
        grad_w_ih = grad_w_in[:, :x_val.shape[2]] if needs_grad(w_ih) else None
        grad_w_hh = grad_2d @ h_all[:-1].reshape(rows, state_size) if needs_grad(w_hh) else None
        grad_bias = grad_w_in[:, -1] if b_ih is not None and grad_w_in is not None else None
        grad_x = (grad_2d.T @ w_ih_val).reshape(x_val.shape) if needs_grad(x) else None
        grad_w_hr = None
        if w_hr is not None and needs_grad(w_hr):
            grad_w_hr = grad_h_all.reshape(state_size, rows) @ m_all.reshape(hidden, rows).T  # sum_t dh_t m_t^T
        return (grad_x, grad_h.T if needs_grad(h0) else None, grad_c.T if needs_grad(c0) else None, grad_w_ih,
                grad_w_hh, grad_bias if needs_grad(b_ih) else None, grad_bias if needs_grad(b_hh) else None, grad_w_hr)

    return record_multi(lstm_sequence, (output, h_all[-1], c_n), (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr),
                        lstm_sequence_backward, saved=(x, h0, c0, w_ih, w_hh, w_hr))


def gru_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None):
    """A single-layer, single-direction GRU over a whole sequence: returns (output (T, B, H), h_T).

    Forward, per step (PyTorch's equations; r gates the *projected* previous state):
        r = sigma(W_ir x + b_ir + W_hr h + b_hr) ;  z = sigma(W_iz x + b_iz + W_hz h + b_hz)
        hn = W_hn h + b_hn ;  n = tanh(W_in x + b_in + r * hn)
        h_t = (1 - z) * n + z * h_{t-1}
    Local derivatives of h_t, computed in the forward pass while the step's values are in cache:
        dh/da_n = (1 - z)(1 - n^2)                 (a_n = W_in x + b_in + r * hn)
        dh/da_r = dh/da_n * hn * r(1 - r) ;  dh/da_z = (h_{t-1} - n) * z(1 - z) ;  dh/dhn = dh/da_n * r
    Backward, with dh = dL/dh_t (output gradient + gradient from step t+1):
        input side:  d(W_i x + b_i) = dh * [dh/da_r, dh/da_z, dh/da_n]
        hidden side: d(W_h h + b_h) = dh * [dh/da_r, dh/da_z, dh/dhn]
        dh_{t-1} = dh * z + W_hh^T (hidden side)
    Both sides are one (4H, B) block per step, rows [n, r, z, hn]: the input side is its first
    three blocks and the hidden side its last three, so each weight gradient is one GEMM.
    Like lstm_sequence, the recurrence runs feature-major ((H, B) states, one contiguous block
    per gate), and sigma(a) = (1 + tanh(a/2)) / 2 with the r and z rows of the weights and
    biases halved once per call (exact in floating point)."""
    x_val, w_ih_val, w_hh_val = array_of(x), array_of(w_ih), array_of(w_hh)
    steps, batch, _ = x_val.shape
    hidden = w_hh_val.shape[1]
    dtype = x_val.dtype
    masks = _step_masks(lengths, steps, dtype)
    keep_fm = None if masks is None else masks.transpose(0, 2, 1)  # (T, 1, B)
    backward_needed = _wants_backward((x, h0, w_ih, w_hh, b_ih, b_hh))
    rows_n = slice(2 * hidden, 3 * hidden)  # in PyTorch's order r, z, n

    # the input side in the order n, r, z (see the docstring), with r and z halved for the tanh form
    input_order = np.r_[2 * hidden:3 * hidden, 0:2 * hidden]
    half_in = np.full((3 * hidden, 1), 0.5, dtype)
    half_in[:hidden] = 1
    w_ih_in = w_ih_val[input_order]
    projected = np.matmul(w_ih_in * half_in, x_val.transpose(0, 2, 1))  # (T, 3H, B), rows n, r, z
    if b_ih is not None:
        per_step = projected.reshape(steps, 3 * hidden * batch)  # a view: the += lands in projected
        per_step += np.repeat(array_of(b_ih)[input_order] * half_in[:, 0], batch)
    half_hh = np.full((3 * hidden, 1), 0.5, dtype)
    half_hh[rows_n] = 1
    w_hh_half = w_hh_val * half_hh  # (3H, H), rows r, z, n
    b_hh_block = None if b_hh is None else np.repeat(array_of(b_hh)[:, None] * half_hh, batch, axis=1)

    h_all = np.empty((steps + 1, hidden, batch), dtype)  # feature-major: h_all[t + 1] = h_t^T
    h_all[0] = array_of(h0).T
    if backward_needed:
        local = np.empty((steps, 4 * hidden, batch), dtype)  # [dh/da_n, dh/da_r, dh/da_z, dh/dhn]
    for t in range(steps):
        h_prev = h_all[t]
        recurrent = w_hh_half @ h_prev  # (3H, B): halved r and z parts, then hn
        if b_hh_block is not None:
            recurrent += b_hh_block
        rz = projected[t, hidden:]
        rz += recurrent[:2 * hidden]
        np.tanh(rz, out=rz)
        rz *= 0.5  # sigma = (1 + tau) / 2
        rz += 0.5
        r, z, hn = rz[:hidden], rz[hidden:], recurrent[rows_n]
        n = projected[t, :hidden]
        n += r * hn
        np.tanh(n, out=n)
        h = h_all[t + 1]
        diff = h_prev - n
        np.multiply(z, diff, out=h)
        h += n  # (1 - z) * n + z * h_prev
        if backward_needed:
            da_n, da_r, da_z, dhn = (local[t, k * hidden:(k + 1) * hidden] for k in range(4))
            one_minus_z = 1 - z
            np.multiply(n, n, out=da_n)
            np.subtract(1, da_n, out=da_n)
            da_n *= one_minus_z
            np.multiply(z, one_minus_z, out=da_z)
            da_z *= diff
            np.subtract(1, r, out=da_r)
            da_r *= r
            da_r *= hn
            da_r *= da_n
            np.multiply(da_n, r, out=dhn)
        if keep_fm is not None:  # finished sequences keep their state
            keep = keep_fm[t]
            h[...] = keep * h + (1 - keep) * h_prev
    h_all = np.ascontiguousarray(h_all.transpose(0, 2, 1))  # (T + 1, B, H), time-major again
    output = h_all[1:] if masks is None else h_all[1:] * masks

    def gru_sequence_backward(grads):
        grad_output, grad_h_n = grads
        if masks is not None:
            grad_output = grad_output * masks
        grad_pre = np.empty((steps, 4 * hidden, batch), dtype)  # rows [n, r, z, hn]: a contiguous block per step
        grad_h = grad_h_n.T.copy()  # (H, B)
        for t in range(steps - 1, -1, -1):
            keep = None if keep_fm is None else keep_fm[t]
            dh = grad_h + grad_output[t].T
            dh_step = dh if keep is None else dh * keep
            da = grad_pre[t]  # (4H, B)
            np.multiply(local[t].reshape(4, hidden, batch), dh_step, out=da.reshape(4, hidden, batch))
            grad_h_prev = dh_step * projected[t, 2 * hidden:]  # through z * h_{t-1}
            grad_h_prev += w_hh_val.T @ da[hidden:]  # and through the recurrent weights
            if keep is not None:
                grad_h_prev += dh * (1 - keep)
            grad_h = grad_h_prev
        rows = steps * batch
        grad_2d = np.ascontiguousarray(grad_pre.transpose(1, 0, 2)).reshape(4 * hidden, rows)  # as in lstm_sequence
        grad_in, grad_rec = grad_2d[:3 * hidden], grad_2d[hidden:]  # rows n, r, z and r, z, hn
        pytorch_order = np.argsort(input_order)  # n, r, z -> r, z, n
        grad_w_ih = (grad_in @ x_val.reshape(rows, x_val.shape[-1]))[pytorch_order] if needs_grad(w_ih) else None
        grad_w_hh = grad_rec @ h_all[:-1].reshape(rows, hidden) if needs_grad(w_hh) else None
        ones = np.ones(rows, dtype)
        grad_b_ih = (grad_in @ ones)[pytorch_order] if b_ih is not None and needs_grad(b_ih) else None
        grad_b_hh = grad_rec @ ones if b_hh is not None and needs_grad(b_hh) else None
        grad_x = (grad_in.T @ w_ih_in).reshape(x_val.shape) if needs_grad(x) else None
        return grad_x, grad_h.T if needs_grad(h0) else None, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh

    return record_multi(gru_sequence, (output, h_all[-1]), (x, h0, w_ih, w_hh, b_ih, b_hh), gru_sequence_backward,
                        saved=(x, h0, w_ih, w_hh))


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
        grad_rows = grad_pre.reshape(steps * batch, grad_pre.shape[-1])
        grad_x = (grad_rows @ w_ih_val).reshape(x_val.shape) if needs_grad(x) else None
        return (grad_x, grad_h if needs_grad(h0) else None, grad_w_ih, grad_w_hh,
                grad_bias if needs_grad(b_ih) else None, grad_bias if needs_grad(b_hh) else None)

    return record_multi(rnn_sequence, (output, h_all[-1]), (x, h0, w_ih, w_hh, b_ih, b_hh), rnn_sequence_backward,
                        saved=(x, h0, w_ih, w_hh))


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
