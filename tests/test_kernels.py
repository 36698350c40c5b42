"""The optional compiled kernels (the fast extra, Numba) against their NumPy reference, and the switch.

Each kernel of ops/recurrent_kernels.py (LSTM forward and backward, GRU backward) is held to the NumPy code it
replaces in ops/recurrent.py, bit for bit: it performs the same float operations in the same order (constants in
the arrays' dtype, no fused multiply-add), so float32 and float64, batch 1 and odd sizes all give the same bits.
The whole-sequence ops are then compared across the two modes, masks and a projection included; CI also runs
test_rnn.py with Numba blocked (.ci/run), i.e. in the NumPy-only mode, while the main run has the kernels on.
"""
import subprocess
import sys

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity
from retrograd.ops import kernels, recurrent, recurrent_gru, recurrent_kernels

SHAPES = [(1, 1), (1, 5), (3, 1), (7, 5), (33, 17)]  # (H, B): batch 1, odd sizes, more than one SIMD width
DTYPES = [np.float32, np.float64]


@pytest.fixture
def kernels_on():
    """Kernels on for this test, whatever RETROGRAD_KERNELS says; restores the process's choice."""
    previous = kernels.set_enabled(True)
    yield
    kernels.set_enabled(previous)


def _cell_inputs(hidden, batch, dtype, seed):
    rng = np.random.default_rng(seed)
    pre = (3 * rng.standard_normal((4 * hidden, batch))).astype(dtype)  # gate pre-activations, some saturated
    c_prev = rng.standard_normal((hidden, batch)).astype(dtype)
    return pre, c_prev


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden,batch", SHAPES)
def test_lstm_cell_forward_kernel_matches_numpy_bit_for_bit(kernels_on, hidden, batch, dtype):
    pre, c_prev = _cell_inputs(hidden, batch, dtype, seed=hidden * 100 + batch)
    w_hh_h = np.random.default_rng(hidden).standard_normal(pre.shape).astype(dtype)  # (L1)'s recurrent term
    compiled = recurrent._lstm_cell_kernels(dtype)  # lstm_gates_in, lstm_cell_forward
    assert compiled is not None
    results = []
    for cell_kernels in (None, compiled):
        gates, c_next = pre.copy(), np.empty_like(c_prev)
        recurrent._lstm_cell(gates, w_hh_h, c_prev, c_next, cell_kernels)
        results.append((gates, c_next))
    (gates_np, c_np), (gates_k, c_k) = results
    assert c_k.dtype == dtype and gates_k.dtype == dtype
    np.testing.assert_array_equal(gates_k, gates_np)  # i, f, g, o
    np.testing.assert_array_equal(c_k, c_np)  # c_t = f * c_{t-1} + i * g


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden,batch", SHAPES)
def test_lstm_cell_backward_kernel_matches_numpy_bit_for_bit(kernels_on, hidden, batch, dtype):
    pre, c_prev = _cell_inputs(hidden, batch, dtype, seed=hidden * 100 + batch + 1)
    gates, c_next = pre.copy(), np.empty_like(c_prev)
    recurrent._lstm_cell(gates, np.zeros_like(gates), c_prev, c_next, None)
    rng = np.random.default_rng(hidden + batch)
    tanh_c = np.tanh(c_next)
    dm, dc_later = (rng.standard_normal((2, hidden, batch))).astype(dtype)
    grad_np, dc, slope = np.empty_like(gates), np.empty_like(c_prev), np.empty_like(gates)
    dc_prev_np = recurrent._lstm_cell_backward(gates, c_prev, tanh_c, dm, dc_later, grad_np, dc, slope)
    grad_all, dc_prev_k = np.full((4 * hidden, 3, batch), np.nan, dtype), np.empty_like(c_prev)  # (4H, T, B), T = 3
    kernel = kernels.compiled(recurrent_kernels.lstm_cell_backward, dtype)
    kernel(gates, c_prev, tanh_c, dm, dc_later, grad_all, 1, dc_prev_k)  # step t = 1's column block
    assert grad_all.dtype == dtype and dc_prev_k.dtype == dtype
    np.testing.assert_array_equal(grad_all[:, 1], grad_np)  # da_i, da_f, da_g, da_o
    assert np.isnan(grad_all[:, [0, 2]]).all()  # the other steps' columns are left alone
    np.testing.assert_array_equal(dc_prev_k, dc_prev_np)  # dc_{t-1} = dc_t * f


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden,batch", SHAPES)
def test_gru_cell_backward_kernel_matches_numpy_bit_for_bit(kernels_on, hidden, batch, dtype):
    rng = np.random.default_rng(hidden * 100 + batch + 2)
    gates = np.concatenate([1 / (1 + np.exp(-3 * rng.standard_normal((2 * hidden, batch)))),  # r, z
                            np.tanh(3 * rng.standard_normal((hidden, batch)))]).astype(dtype)  # n
    hn, dh_step = rng.standard_normal((2, hidden, batch)).astype(dtype)
    h_prev = rng.standard_normal((batch, hidden)).astype(dtype).T  # a transposed view, as the backward reads h
    grad_np, tanh_slope, sigmoid_slope = np.empty((4 * hidden, batch), dtype), np.empty_like(hn), gates[:2 * hidden] * 0
    dh_prev_np = recurrent_gru._gru_cell_backward(gates, hn, h_prev, dh_step, grad_np, tanh_slope, sigmoid_slope)
    grad_all, dh_prev_k = np.full((4 * hidden, 3, batch), np.nan, dtype), np.empty_like(hn)  # (4H, T, B), T = 3
    kernels.compiled(recurrent_kernels.gru_cell_backward, dtype)(gates, hn, h_prev, dh_step, grad_all, 1, dh_prev_k)
    assert grad_all.dtype == dtype and dh_prev_k.dtype == dtype
    np.testing.assert_array_equal(grad_all[:, 1], grad_np)  # da_n, da_r, da_z, dhn of step t = 1
    assert np.isnan(grad_all[:, [0, 2]]).all()  # the other steps' columns are left alone
    np.testing.assert_array_equal(dh_prev_k, dh_prev_np)  # dh_t * z


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden,batch", SHAPES)
def test_gru_cell_forward_kernels_match_numpy_bit_for_bit(kernels_on, hidden, batch, dtype):
    rng = np.random.default_rng(hidden * 100 + batch + 3)
    pre, recurrent = (3 * rng.standard_normal((2, 3 * hidden, batch))).astype(dtype)  # some gates saturated
    b_hn, h_prev = rng.standard_normal((hidden, 1)).astype(dtype), rng.standard_normal((hidden, batch)).astype(dtype)
    compiled = recurrent_gru._gru_cell_kernels(dtype)
    assert compiled is not None
    results = []
    for cell_kernels in (None, compiled):
        gates, hn, h_next = pre.copy(), np.empty_like(h_prev), np.empty_like(h_prev)
        recurrent_gru._gru_cell(gates, recurrent, b_hn, hn, h_prev, h_next, cell_kernels)
        results.append((gates, hn, h_next))
    for ours, reference in zip(*results):  # r, z, n; hn = W_hn h + b_hn; h_t = (h_{t-1} - n) * z + n
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours, reference)


def _gru_run(dtype, batch, lengths=None, seed=0):
    """Output, h_T and every input's gradient of gru_sequence, with a random cotangent."""
    rng = np.random.default_rng(seed)
    steps, size, hidden = 6, 5, 7

    def leaf(*shape):
        return rg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)

    inputs = [leaf(steps, batch, size), leaf(batch, hidden), leaf(3 * hidden, size), leaf(3 * hidden, hidden),
              leaf(3 * hidden), leaf(3 * hidden)]
    out, h_n = recurrent.gru_sequence(*inputs, lengths=lengths)
    loss = sum((t * rg.tensor(rng.standard_normal(t.shape).astype(dtype))).sum() for t in (out, h_n))
    loss.backward()
    return [t.detach().numpy() for t in (out, h_n)] + [t.grad.numpy() for t in inputs]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,lengths", [(1, None), (3, None), (4, [6, 2, 5, 1])])
def test_gru_sequence_gives_the_same_bits_with_kernels_on_and_off(dtype, batch, lengths):
    previous = kernels.set_enabled(True)
    try:
        with_kernels = _gru_run(dtype, batch, lengths)
        assert {"gru_gates_in", "gru_candidate_in", "gru_state_update", "gru_cell_backward"} <= set(kernels.used())
        kernels.set_enabled(False)
        numpy_only = _gru_run(dtype, batch, lengths)
    finally:
        kernels.set_enabled(previous)
    for ours, reference in zip(with_kernels, numpy_only):
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours, reference)


def _lstm_run(dtype, batch, lengths=None, proj=None, seed=0):
    """Output, h_T, c_T and every input's gradient of lstm_sequence, with a random cotangent."""
    rng = np.random.default_rng(seed)
    steps, size, hidden = 6, 5, 7
    state = proj or hidden

    def leaf(*shape):
        return rg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)

    inputs = [leaf(steps, batch, size), leaf(batch, state), leaf(batch, hidden), leaf(4 * hidden, size),
              leaf(4 * hidden, state), leaf(4 * hidden), leaf(4 * hidden)] + ([leaf(proj, hidden)] if proj else [])
    w_hr = inputs[7] if proj else None
    out, h_n, c_n = recurrent.lstm_sequence(*inputs[:7], lengths=lengths, w_hr=w_hr)
    cotangents = [rng.standard_normal(t.shape).astype(dtype) for t in (out, h_n, c_n)]
    loss = sum((t * rg.tensor(g)).sum() for t, g in zip((out, h_n, c_n), cotangents))
    loss.backward()
    return [t.detach().numpy() for t in (out, h_n, c_n)] + [t.grad.numpy() for t in inputs]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,lengths,proj", [(1, None, None), (3, None, None), (4, [6, 2, 5, 1], None),
                                                (3, None, 4), (4, [3, 6, 1, 6], 4)])
def test_lstm_sequence_gives_the_same_bits_with_kernels_on_and_off(dtype, batch, lengths, proj):
    previous = kernels.set_enabled(True)
    try:
        with_kernels = _lstm_run(dtype, batch, lengths, proj)
        assert {"lstm_gates_in", "lstm_cell_forward", "lstm_cell_backward"} <= set(kernels.used())
        kernels.set_enabled(False)
        numpy_only = _lstm_run(dtype, batch, lengths, proj)
    finally:
        kernels.set_enabled(previous)
    for ours, reference in zip(with_kernels, numpy_only):
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours, reference)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden,batch", SHAPES)
def test_rnn_relu_forward_kernel_matches_numpy_bit_for_bit(kernels_on, hidden, batch, dtype):
    rng = np.random.default_rng(hidden * 100 + batch + 4)
    a, recurrent = rng.standard_normal((2, hidden, batch)).astype(dtype)
    a.flat[::3], recurrent.flat[::3] = -0.0, -0.0  # sums of exactly -0.0: relu keeps -0.0, as PyTorch's
    a.flat[-1] = np.nan  # NaN goes through, as np.maximum lets it
    reference = np.maximum(0, a + recurrent)  # the NumPy code of recurrent_rnn._rnn_forward
    ours = np.empty_like(a)
    kernels.compiled(recurrent_kernels.rnn_relu_forward, dtype)(a, recurrent, ours)
    assert ours.dtype == dtype
    bits = np.uint32 if dtype == np.float32 else np.uint64  # -0.0 and NaN compared as bits, not as numbers
    np.testing.assert_array_equal(ours.view(bits), reference.view(bits))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("hidden,batch", SHAPES)
def test_rnn_cell_backward_kernel_matches_numpy_bit_for_bit(kernels_on, hidden, batch, relu, dtype):
    rng = np.random.default_rng(hidden * 100 + batch + 5)
    h_next = rng.standard_normal((batch, hidden)).astype(dtype)
    h_next = np.maximum(h_next, 0) if relu else np.tanh(h_next)
    dh_next, dy = rng.standard_normal((2, batch, hidden)).astype(dtype)
    keep = (rng.random((batch, 1)) < 0.7).astype(dtype)
    kernel = kernels.compiled(recurrent_kernels.rnn_cell_backward, dtype)
    for mask in (np.ones_like(keep), keep):  # no lengths (all kept), and rows past their sequence's end
        slope = (h_next > 0).astype(dtype) if relu else np.subtract(1, np.multiply(h_next, h_next))
        dh = dh_next + dy  # the NumPy code of recurrent_rnn._rnn_backward: da = act' * dh_t (* keep)
        reference = slope * (dh if mask is not keep else dh * keep)
        ours = np.empty_like(h_next)
        kernel(h_next, dh_next, dy, mask, relu, ours)
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours, reference)


def _rnn_run(dtype, batch, nonlinearity, lengths=None, seed=0):
    """Output, h_T and every input's gradient of rnn_sequence, with a random cotangent."""
    rng = np.random.default_rng(seed)
    steps, size, hidden = 6, 5, 7

    def leaf(*shape):
        return rg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)

    inputs = [leaf(steps, batch, size), leaf(batch, hidden), leaf(hidden, size), leaf(hidden, hidden), leaf(hidden),
              leaf(hidden)]
    out, h_n = recurrent.rnn_sequence(*inputs, nonlinearity=nonlinearity, lengths=lengths)
    loss = sum((t * rg.tensor(rng.standard_normal(t.shape).astype(dtype))).sum() for t in (out, h_n))
    loss.backward()
    return [t.detach().numpy() for t in (out, h_n)] + [t.grad.numpy() for t in inputs]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batch,lengths", [(1, None), (3, None), (4, [6, 2, 5, 1])])
def test_rnn_sequence_gives_the_same_bits_with_kernels_on_and_off(dtype, nonlinearity, batch, lengths, monkeypatch):
    monkeypatch.setattr(kernels, "_used", set())  # this process's other tests ran kernels too
    previous = kernels.set_enabled(True)
    try:
        with_kernels = _rnn_run(dtype, batch, nonlinearity, lengths)
        # tanh stays with NumPy's np.tanh: only relu's forward step has a kernel
        assert kernels.used() == ["rnn_cell_backward"] + (["rnn_relu_forward"] if nonlinearity == "relu" else [])
        kernels.set_enabled(False)
        numpy_only = _rnn_run(dtype, batch, nonlinearity, lengths)
    finally:
        kernels.set_enabled(previous)
    for ours, reference in zip(with_kernels, numpy_only):
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours, reference)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_the_layer_matches_torch_in_both_modes(mode, kind):
    theirs = getattr(torch.nn, kind)(4, 6, num_layers=2).double()
    ours = getattr(rg.nn, kind)(4, 6, num_layers=2).double()
    assert_module_parity(ours, theirs, np.random.default_rng(1).standard_normal((5, 3, 4)))


def test_report_names_the_kernels_used_or_why_none(monkeypatch):
    monkeypatch.setattr(kernels, "_used", set())  # this process's other tests ran kernels too
    previous = kernels.set_enabled(True)
    try:
        rg.nn.LSTM(3, 4)(rg.randn(2, 1, 3))[0].sum().backward()
        assert kernels.report() == "lstm_cell_backward, lstm_cell_forward, lstm_gates_in (Numba)"
        kernels.set_enabled(False)
        assert kernels.report() == "none (NumPy only: RETROGRAD_KERNELS=numpy)"
        monkeypatch.setitem(sys.modules, "numba", None)  # as if the fast extra were not installed
        assert kernels.report() == 'none (NumPy only; pip install "retrograd[fast]")'
        with pytest.raises(ImportError, match=r'compiled kernels need Numba: pip install "retrograd\[fast\]"'):
            kernels.set_enabled(True)
    finally:
        monkeypatch.undo()
        kernels.set_enabled(previous)


@pytest.mark.parametrize("value,numba_blocked,expected", [("", False, True), ("numpy", False, False),
                                                          ("NumPy", False, False), ("numba", False, True),
                                                          ("", True, False), ("numpy", True, False)])
def test_the_environment_variable_decides(monkeypatch, value, numba_blocked, expected):
    monkeypatch.setenv("RETROGRAD_KERNELS", value)
    if numba_blocked:
        monkeypatch.setitem(sys.modules, "numba", None)
    assert kernels._decide() is expected


def test_the_environment_variable_errors_name_the_variable_and_the_fix(monkeypatch):
    monkeypatch.setenv("RETROGRAD_KERNELS", "cuda")
    with pytest.raises(ValueError, match=r"RETROGRAD_KERNELS='cuda': expected one of numba, numpy \(or unset\)"):
        kernels._decide()
    monkeypatch.setenv("RETROGRAD_KERNELS", "numba")
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.raises(ImportError, match=r'RETROGRAD_KERNELS=numba needs Numba: pip install "retrograd\[fast\]"'):
        kernels._decide()


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_float16_runs_the_numpy_code_with_kernels_on(kernels_on, kind):
    """Numba has no float16 arithmetic: such a layer takes the NumPy path and gives its bits."""
    assert kernels.compiled(recurrent_kernels.lstm_cell_forward, np.float16) is None
    x = rg.tensor(np.random.default_rng(3).standard_normal((4, 2, 3)), dtype=rg.float16)
    rg.manual_seed(0)
    out = getattr(rg.nn, kind)(3, 5).half()(x)[0]
    out.sum().backward()  # the backward takes the NumPy path too
    kernels.set_enabled(False)
    rg.manual_seed(0)
    reference = getattr(rg.nn, kind)(3, 5).half()(x)[0]
    assert out.dtype == rg.float16
    np.testing.assert_array_equal(out.detach().numpy(), reference.detach().numpy())


def test_importing_retrograd_does_not_import_numba():
    code = "import sys, retrograd, retrograd.nn; print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
