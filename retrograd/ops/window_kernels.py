"""Compiled twins of the window passes of pool.py and conv.py (the `fast` extra; see kernels.py).

Plain scalar loops over the windows of ops/window.py's geometry, whose bodies are its equations:
    window (i, j), offset (u, v) -- row-major offset o = u*kw + v -- reads x[n, c, i*s_h + u*d_h, j*s_w + v*d_w]
A max-pool kernel makes one pass per window where the NumPy code makes kh*kw passes over the whole batch
(one per offset); the im2col kernel writes the columns in their order, where NumPy's strided copy runs along
rows only Wo entries long. The scatter-adds (col2im) keep NumPy's order of operations, offsets outer in
row-major order, so that each input entry receives its windows' terms in the order window.col2im adds them:
every kernel gives the NumPy code's bits (tests/test_window_kernels.py). The GEMMs stay with NumPy's BLAS;
conv's bias add, the one pass after them, is here too (bias_add, which needs no geometry).

Each kernel takes its arrays (and flags), then the geometry kh, kw, sh, sw, dh, dw, and writes into the output
arrays it is given. These functions are plain Python until kernels.compiled_for() compiles them; it compiles
a geometry in as constants once the calls with it have visited enough window entries (Numba then unrolls the
window loops and vectorises along a row of windows: about 5x faster than with run-time integers).
"""


def max_pool_first(x, y, offset, kh, kw, sh, sw, dh, dw):
    """y[n, c, i, j] = the maximum of window (i, j) (NaN if it holds one); offset[n, c, i, j] = the offset o of
    its first maximum (a strict > lets a later entry win only when it is larger), or of its last NaN."""
    batch, channels, ho, wo = y.shape
    for n in range(batch):
        for c in range(channels):
            for i in range(ho):
                for j in range(wo):
                    best, first, last_nan = x[n, c, i * sh, j * sw], 0, -1
                    for u in range(kh):
                        for v in range(kw):
                            value = x[n, c, i * sh + u * dh, j * sw + v * dw]
                            larger = value > best  # False once best is NaN: NaN stays the maximum
                            best = value if larger or value != value else best
                            first = u * kw + v if larger else first
                            last_nan = u * kw + v if value != value else last_nan
                    y[n, c, i, j] = best
                    offset[n, c, i, j] = last_nan if last_nan >= 0 else first


def max_pool_tied(x, y, tied, kh, kw, sh, sw, dh, dw):
    """tied[o, n, c, i, j] = whether window (i, j)'s entry at offset o equals its maximum y (NaN ties with NaN)."""
    batch, channels, ho, wo = y.shape
    for n in range(batch):
        for c in range(channels):
            for i in range(ho):
                for j in range(wo):
                    best = y[n, c, i, j]
                    for u in range(kh):
                        for v in range(kw):
                            value = x[n, c, i * sh + u * dh, j * sw + v * dw]
                            tied[u * kw + v, n, c, i, j] = value == best or (value != value and best != best)


def max_pool_random_pick(x, y, keys, choice, kh, kw, sh, sw, dh, dw):
    """choice[n, c, i, j] = argmax over o of keys[o, n, c, i, j] * tied[o, n, c, i, j], the first one when equal
    (np.argmax's rule): the tied maximum holding the largest uniform key, a uniform pick among them."""
    batch, channels, ho, wo = y.shape
    zero = keys.dtype.type(0)
    for n in range(batch):
        for c in range(channels):
            for i in range(ho):
                for j in range(wo):
                    best = y[n, c, i, j]
                    pick, pick_key = 0, zero - 1
                    for u in range(kh):
                        for v in range(kw):
                            value = x[n, c, i * sh + u * dh, j * sw + v * dw]
                            tie = value == best or (value != value and best != best)
                            key = keys[u * kw + v, n, c, i, j] if tie else zero
                            pick = u * kw + v if key > pick_key else pick
                            pick_key = key if key > pick_key else pick_key
                    choice[n, c, i, j] = pick


def max_pool_backward(grad_out, choice, disjoint, grad, kh, kw, sh, sw, dh, dw):
    """grad (N, C, Hp, Wp) = col2im of the parts [g if choice == o else +0.0], o = K-1 down to 0: each window's g
    added at the entry it chose, as pool._window_gradient's col2im loop does it: offsets outer, last first, so
    that an entry adds its windows' g in row-major window order (PyTorch's); an unchosen entry gets +0.0
    whatever g is. Disjoint windows assign 0 + term, one term per entry (so a chosen -0.0 lands as +0.0, as when
    added into zeros), walked row by row. grad must be zero on entry unless disjoint windows cover it. g is read
    before the select: read inside it, the read is conditional and Numba no longer vectorises the loop (1.3x
    slower)."""
    batch, channels, ho, wo = grad_out.shape
    zero = grad.dtype.type(0)
    for n in range(batch):
        for c in range(channels):
            if disjoint:
                for i in range(ho):
                    for u in range(kh):
                        for j in range(wo):
                            for v in range(kw):
                                g = grad_out[n, c, i, j]
                                term = g if choice[n, c, i, j] == u * kw + v else zero
                                grad[n, c, i * sh + u * dh, j * sw + v * dw] = term + zero
                continue
            for u in range(kh - 1, -1, -1):  # offsets outer, last first, as pool._window_gradient's loop
                for v in range(kw - 1, -1, -1):
                    for i in range(ho):
                        for j in range(wo):
                            g = grad_out[n, c, i, j]
                            term = g if choice[n, c, i, j] == u * kw + v else zero
                            grad[n, c, i * sh + u * dh, j * sw + v * dw] += term


def max_pool_backward_split(share, tied, disjoint, grad, kh, kw, sh, sw, dh, dw):
    """max_pool_backward for ties="split": share = g / (number of tied maxima) goes to each tied maximum."""
    batch, channels, ho, wo = share.shape
    zero = grad.dtype.type(0)
    for n in range(batch):
        for c in range(channels):
            if disjoint:
                for i in range(ho):
                    for u in range(kh):
                        for j in range(wo):
                            for v in range(kw):
                                g = share[n, c, i, j]
                                term = g if tied[u * kw + v, n, c, i, j] else zero
                                grad[n, c, i * sh + u * dh, j * sw + v * dw] = term + zero
                continue
            for u in range(kh - 1, -1, -1):
                for v in range(kw - 1, -1, -1):
                    for i in range(ho):
                        for j in range(wo):
                            g = share[n, c, i, j]
                            term = g if tied[u * kw + v, n, c, i, j] else zero
                            grad[n, c, i * sh + u * dh, j * sw + v * dw] += term


def im2col(x, cols, kh, kw, sh, sw, dh, dw):
    """cols[n, (c*kh + u)*kw + v, i, j] = x[n, c, i*s_h + u*d_h, j*s_w + v*d_w]: conv's columns (N, C*kh*kw, Ho, Wo),
    written in their own order (one contiguous Ho x Wo block per channel and offset)."""
    batch, channels = x.shape[:2]
    ho, wo = cols.shape[2:]
    for n in range(batch):
        for c in range(channels):
            for u in range(kh):
                for v in range(kw):
                    row = (c * kh + u) * kw + v
                    for i in range(ho):
                        for j in range(wo):
                            cols[n, row, i, j] = x[n, c, i * sh + u * dh, j * sw + v * dw]


def col2im(grad_cols, disjoint, grad, kh, kw, sh, sw, dh, dw):
    """grad[n, c, i*s_h + u*d_h, j*s_w + v*d_w] += grad_cols[n, (c*kh + u)*kw + v, i, j]: the adjoint of im2col,
    offsets outer as window.col2im adds them; disjoint windows assign. grad (N, C, Hp, Wp) must be zero on
    entry unless disjoint windows cover it."""
    batch, channels = grad.shape[:2]
    ho, wo = grad_cols.shape[2:]
    for n in range(batch):
        for c in range(channels):
            for u in range(kh):
                for v in range(kw):
                    row = (c * kh + u) * kw + v
                    for i in range(ho):
                        for j in range(wo):
                            if disjoint:
                                grad[n, c, i * sh + u * dh, j * sw + v * dw] = grad_cols[n, row, i, j]
                            else:
                                grad[n, c, i * sh + u * dh, j * sw + v * dw] += grad_cols[n, row, i, j]


def bias_add(y, bias):
    """y[n, o, q] += b[o] in place: conv's epilogue, one pass over y (N, O, Ho*Wo) where NumPy's broadcast add
    runs about 5x slower. (The activation after it is a separate op: fusing it would mean matching the graph.)"""
    batch, channels, pixels = y.shape
    for n in range(batch):
        for o in range(channels):
            for q in range(pixels):
                y[n, o, q] += bias[o]
