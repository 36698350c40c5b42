"""Compiled twins of the LSTM, GRU and RNN steps' elementwise work in recurrent.py, recurrent_gru.py and
recurrent_rnn.py (the `fast` extra; see kernels.py).

Plain scalar loops over a feature-major (H, B) block (the RNN's backward: batch-major (B, H)) whose bodies
are those modules' equations, (L1)-(L5), (G1)-(G4), (R1), in the same order of operations as their NumPy
code, so that the results are the same bits (tests/test_kernels.py checks both against NumPy). The GEMMs
stay with NumPy's BLAS, and so do the tanh calls: Numba's scalar tanh (libm, no SIMD without Intel's SVML)
measured 25-90x slower than NumPy's vectorised np.tanh (1.2 ms against 14 us for 40,960 float32 values), so a
kernel that took the tanh in would lose. A kernel gets whole arrays and writes into the output arrays it is
given; these functions are plain Python until kernels.compiled() compiles them. Constants take the arrays' dtype
(`one`, `half`): a bare 1 or 0.5 would make Numba compute a float32 step in float64.
"""


def lstm_gates_in(gates, recurrent):
    """(L1)'s sum in place on gates (4H, B), which holds W_ih x_t + b; recurrent (4H, B) = W_hh h_{t-1}; rows i, f, o
    are halved for sigma(a) = (1 + tanh(a/2)) / 2 (NumPy's tanh of the whole block comes next):
        a_t = W_ih x_t + b + W_hh h_{t-1} ;  a_i / 2, a_f / 2, a_g, a_o / 2"""
    four_hidden, batch = gates.shape
    hidden = four_hidden // 4
    half = gates.dtype.type(0.5)
    for k in range(four_hidden):
        g_row = 2 * hidden <= k < 3 * hidden
        for b in range(batch):
            a = gates[k, b] + recurrent[k, b]  # (L1)
            gates[k, b] = a if g_row else a * half


def lstm_cell_forward(gates, c_prev, c_next):
    """(L2) from tanh'd gate rows, then (L3), in place on gates (4H, B): on entry rows i, f, o hold
    tanh(a/2) and rows g hold tanh(a_g) (one np.tanh over the block); sigma(a) = (1 + tanh(a/2)) / 2."""
    hidden, batch = c_prev.shape
    half = c_prev.dtype.type(0.5)
    for k in range(hidden):
        for b in range(batch):
            i = gates[k, b] * half + half  # (L2)
            f = gates[hidden + k, b] * half + half
            g = gates[2 * hidden + k, b]
            gates[k, b], gates[hidden + k, b] = i, f
            gates[3 * hidden + k, b] = gates[3 * hidden + k, b] * half + half
            c_next[k, b] = f * c_prev[k, b] + i * g  # (L3)


def lstm_cell_backward(gates, c_prev, tanh_c, dm, dc_next, grad_pre, t, dc_prev):
    """One BPTT step's elementwise terms, (L4) to (L2), into grad_pre[:, t] of grad_pre (4H, T, B), which the
    weight-gradient GEMMs read as (4H, T*B) with no transposing copy, and into dc_prev (H, B):
        dc = dm * o * (1 - tanh^2(c_t)) + dc_{t+1} * f_{t+1}    (dc_next holds the second term)
        da_i = dc * g * i(1-i) ;  da_f = dc * c_{t-1} * f(1-f)
        da_g = dc * i * (1-g^2) ;  da_o = dm * tanh(c_t) * o(1-o)
        dc_{t-1} = dc * f"""
    hidden, batch = c_prev.shape
    one = c_prev.dtype.type(1)
    for k in range(hidden):
        for b in range(batch):
            i, f = gates[k, b], gates[hidden + k, b]
            g, o = gates[2 * hidden + k, b], gates[3 * hidden + k, b]
            dc = (one - tanh_c[k, b] * tanh_c[k, b]) * o * dm[k, b] + dc_next[k, b]  # (L4), (L3)
            grad_pre[k, t, b] = dc * g * ((one - i) * i)  # (L3), (L2)
            grad_pre[hidden + k, t, b] = dc * c_prev[k, b] * ((one - f) * f)
            grad_pre[2 * hidden + k, t, b] = dc * i * (one - g * g)
            grad_pre[3 * hidden + k, t, b] = dm[k, b] * tanh_c[k, b] * ((one - o) * o)  # (L4), (L2)
            dc_prev[k, b] = dc * f  # (L3)


def gru_cell_backward(gates, hn, h_prev, dh, grad_pre, t, dh_prev):
    """One GRU BPTT step's elementwise terms, (G4) to (G1), into grad_pre[:, t] of grad_pre (4H, T, B), rows da_n,
    da_r, da_z, dhn (the weight-gradient GEMMs read it as (4H, T*B)), and into dh_prev (H, B), which gets
    dh_{t-1}'s direct term (the caller adds W_hh^T [da_r; da_z; dhn]):
        da_n = dh_t * (1 - z) * (1 - n^2) ;  da_r = da_n * hn_t * r(1-r) ;  da_z = dh_t * (h_{t-1} - n) * z(1-z)
        dhn = da_n * r ;  dh_{t-1} = dh_t * z + ..."""
    hidden, batch = hn.shape
    one = hn.dtype.type(1)
    for k in range(hidden):
        for b in range(batch):
            r, z, n = gates[k, b], gates[hidden + k, b], gates[2 * hidden + k, b]
            direct = dh[k, b] * z  # (G4)
            da_n = (dh[k, b] - direct) * (one - n * n)  # (G4), (G3)
            grad_pre[k, t, b] = da_n
            grad_pre[hidden + k, t, b] = da_n * hn[k, b] * ((one - r) * r)  # (G3), (G1)
            grad_pre[2 * hidden + k, t, b] = (h_prev[k, b] - n) * dh[k, b] * ((one - z) * z)  # (G4), (G1)
            grad_pre[3 * hidden + k, t, b] = da_n * r  # (G3)
            dh_prev[k, b] = direct


def gru_gates_in(gates, recurrent, b_hn, hn):
    """(G1)'s sums for r and z, halved for sigma(a) = (1 + tanh(a/2)) / 2, in place on rows 0 .. 2H-1 of gates (3H, B)
    (NumPy's tanh comes next), and (G2) into hn (H, B); recurrent (3H, B) = W_hh h_{t-1}, b_hn (H, 1):
        a_r = W_ir x_t + b_ir + W_hr h_{t-1} + b_hr (the input side already in gates), a_z alike
        hn_t = W_hn h_{t-1} + b_hn"""
    hidden, batch = hn.shape
    half = hn.dtype.type(0.5)
    for k in range(2 * hidden):
        for b in range(batch):
            gates[k, b] = (gates[k, b] + recurrent[k, b]) * half  # (G1), halved
    for k in range(hidden):
        for b in range(batch):
            hn[k, b] = recurrent[2 * hidden + k, b] + b_hn[k, 0]  # (G2)


def gru_candidate_in(gates, hn):
    """(G1) from the tanh'd halves in rows r, z, then (G3)'s argument in rows n of gates (3H, B), in place
    (NumPy's tanh of rows n comes next):  r, z = (1 + tanh(a/2)) / 2 ;  W_in x_t + b_in + r * hn_t"""
    hidden, batch = hn.shape
    half = hn.dtype.type(0.5)
    for k in range(hidden):
        for b in range(batch):
            r = gates[k, b] * half + half  # (G1)
            gates[k, b] = r
            gates[hidden + k, b] = gates[hidden + k, b] * half + half
            gates[2 * hidden + k, b] = gates[2 * hidden + k, b] + r * hn[k, b]  # (G3), before its tanh


def gru_state_update(gates, h_prev, h_next):
    """(G4) into h_next (H, B) from z and n of gates (3H, B):  h_t = n + z * (h_{t-1} - n), as (h_{t-1} - n) * z + n"""
    hidden, batch = h_prev.shape
    for k in range(hidden):
        for b in range(batch):
            n = gates[2 * hidden + k, b]
            h_next[k, b] = (h_prev[k, b] - n) * gates[hidden + k, b] + n  # (G4)


def rnn_relu_forward(a, recurrent, h_next):
    """(R1) with act = relu into h_next (H, B), from a (H, B) = W_ih x_t + b and recurrent = W_hh h_{t-1}:
        h_t = max(0, a + recurrent), NaN and -0.0 kept (np.maximum(0, .)'s rule, PyTorch's relu)"""
    hidden, batch = h_next.shape
    zero = h_next.dtype.type(0)
    for k in range(hidden):
        for b in range(batch):
            pre = a[k, b] + recurrent[k, b]  # (R1)
            h_next[k, b] = zero if zero > pre else pre


def rnn_cell_backward(h_next, dh_next, dy, keep, relu, da):
    """One BPTT step's elementwise terms of (R1), batch-major, into da (B, H); keep (B, 1) is 1 inside a sequence,
    0 past its end:  dh_t = (dh_t from step t+1 + dL/dy_t) * keep ;  da_t = act' * dh_t with
    tanh' = 1 - h_t^2 and relu' = [h_t > 0] (0 at 0, as PyTorch)"""
    batch, hidden = da.shape
    one, zero = da.dtype.type(1), da.dtype.type(0)
    for b in range(batch):
        for k in range(hidden):
            dh = (dh_next[b, k] + dy[b, k]) * keep[b, 0]
            h = h_next[b, k]
            slope = (one if h > zero else zero) if relu else one - h * h  # (R1): act'
            da[b, k] = slope * dh
