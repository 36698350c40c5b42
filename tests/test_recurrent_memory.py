"""The fused recurrent ops keep only what their backward reads.

The docstring's "Saves" line names exactly the arrays the VJP captures (a Tensor is never among
them), the intermediates of the forward pass are freed when it returns, and the bytes held between
forward and backward are what the backward's equations read: the gates and the states."""
import weakref

import numpy as np
import pytest

import retrograd as rg
from helpers import closure_arrays, saves_names
from retrograd.ops import recurrent, recurrent_common, recurrent_gru, recurrent_rnn

rng = np.random.default_rng(0)
T, B, I, H, P = 5, 3, 4, 6, 2
LENGTHS = np.array([5, 2, 3])


def _tensor(*shape, grad=True):
    return rg.tensor(rng.standard_normal(shape) * 0.5, requires_grad=grad)


def _call(kind, grad_x=True, grad_weights=True, lengths=None, projection=False, biases=(True, True)):
    """Run one fused op on float64 inputs; returns (outputs, inputs)."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    state = P if projection else H
    x, h0 = _tensor(T, B, I, grad=grad_x), _tensor(B, state, grad=grad_x)
    w_ih, w_hh = _tensor(gates * H, I, grad=grad_weights), _tensor(gates * H, state, grad=grad_weights)
    b_ih, b_hh = (_tensor(gates * H, grad=grad_weights) if given else None for given in biases)
    if kind == "lstm":
        c0 = _tensor(B, H, grad=grad_x)
        w_hr = _tensor(P, H, grad=grad_weights) if projection else None
        inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        return recurrent.lstm_sequence(*inputs, lengths=lengths, w_hr=w_hr), inputs + (w_hr,)
    inputs = (x, h0, w_ih, w_hh, b_ih, b_hh)
    op = recurrent.gru_sequence if kind == "gru" else recurrent.rnn_sequence
    return op(*inputs, lengths=lengths), inputs


OPS = {"lstm": recurrent.lstm_sequence, "gru": recurrent.gru_sequence, "rnn": recurrent.rnn_sequence}


@pytest.mark.parametrize("kind", sorted(OPS))
def test_saves_line_names_exactly_the_closure_arrays(kind):
    outputs, _ = _call(kind, lengths=LENGTHS, projection=kind == "lstm")
    assert set(closure_arrays(outputs[0].grad_fn.backward_fn)) == saves_names(OPS[kind])[0]


@pytest.mark.parametrize("kind", sorted(OPS))
def test_what_is_saved_depends_on_which_inputs_need_a_gradient(kind):
    """Decided before the VJP is built (HIPS autograd's way): frozen weights drop x; a constant x drops w_ih."""
    saves = saves_names(OPS[kind])[0]
    frozen, _ = _call(kind, grad_weights=False)
    held = set(closure_arrays(frozen[0].grad_fn.backward_fn))
    assert held <= saves and "x" not in held and "w_ih" in held and "masks" not in held
    constant_x, _ = _call(kind, grad_x=False)
    held = set(closure_arrays(constant_x[0].grad_fn.backward_fn))
    assert held <= saves and "x" in held and "w_ih" not in held


def _distinct_bytes(arrays, excluded):
    """Bytes of the distinct buffers behind `arrays`, not counting those of the `excluded` arrays."""
    def owner(a):
        while isinstance(a.base, np.ndarray):
            a = a.base
        return a
    skip = {id(owner(a)) for a in excluded}
    buffers = {id(owner(a)): owner(a) for a in arrays if id(owner(a)) not in skip}
    return sum(a.nbytes for a in buffers.values())


@pytest.mark.parametrize("kind,expected_values", [
    ("lstm", T * 4 * H * B + (T + 1) * H * B + (T + 1) * B * H),  # gates i, f, g, o; c_0 .. c_T; h_0 .. h_T
    ("gru", T * 3 * H * B + T * H * B + (T + 1) * B * H),  # gates n, r, z; hn; h_0 .. h_T
    ("rnn", (T + 1) * B * H),  # h_0 .. h_T
])
def test_bytes_held_between_forward_and_backward_are_the_gates_and_states(kind, expected_values):
    """Beyond its inputs, a node holds what its backward reads and nothing else: no derivative blocks
    precomputed in the forward, no copy of x, no pre-activation block."""
    outputs, inputs = _call(kind)
    arrays = closure_arrays(outputs[0].grad_fn.backward_fn).values()
    held = _distinct_bytes(arrays, excluded=[t.array for t in inputs if t is not None])
    assert held == expected_values * 8  # float64


@pytest.mark.parametrize("kind", sorted(OPS))
def test_the_ones_column_copy_of_x_is_freed_after_the_forward(kind, monkeypatch):
    """The bias joins the projection GEMM as a column of ones beside x; the backward reads x itself."""
    refs = []
    make = recurrent_common._with_ones_column
    monkeypatch.setattr(recurrent_common, "_with_ones_column",
                        lambda x: refs.append(weakref.ref(out := make(x))) or out)
    outputs, _ = _call(kind)
    assert len(refs) == 1 and refs[0]() is None
    assert outputs[0].grad_fn is not None  # the graph is alive; only the copy is gone


def test_the_rnn_pre_activations_are_freed_after_the_forward(monkeypatch):
    """tanh' and relu' need only h_t, so the (T, H, B) block of W_ih x_t + W_hh h_{t-1} + b is not kept;
    the LSTM and GRU turn that block into their gates in place, and keep it as the gates."""
    refs = []
    project = recurrent_common._input_projection
    for module in (recurrent, recurrent_gru, recurrent_rnn):  # each op's module calls it
        monkeypatch.setattr(module, "_input_projection",
                            lambda *a: refs.append(weakref.ref(out := project(*a))) or out)
    outputs, _ = _call("rnn")
    assert refs[0]() is None and outputs[0].grad_fn is not None
    for kind in ("lstm", "gru"):
        outputs, _ = _call(kind)
        assert refs[-1]() is closure_arrays(outputs[0].grad_fn.backward_fn)["gates"]


@pytest.mark.parametrize("kind", sorted(OPS))
@pytest.mark.parametrize("biases", [(True, False), (False, True)])
def test_either_bias_may_be_none(kind, biases):
    """A missing bias counts as zero (as the GRU always allowed): same outputs and gradients as a zero bias."""
    seed = rng.integers(1 << 30)
    results = []
    for zeros_for_missing in (False, True):
        local = np.random.default_rng(seed)
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
        x, h0, c0 = (rg.tensor(local.standard_normal(s), requires_grad=True) for s in ((T, B, I), (B, H), (B, H)))
        w_ih = rg.tensor(local.standard_normal((gates * H, I)) * 0.5, requires_grad=True)
        w_hh = rg.tensor(local.standard_normal((gates * H, H)) * 0.5, requires_grad=True)
        b = [rg.tensor(local.standard_normal(gates * H), requires_grad=True) if given
             else (rg.zeros(gates * H, dtype=rg.float64) if zeros_for_missing else None) for given in biases]
        if kind == "lstm":
            out = recurrent.lstm_sequence(x, h0, c0, w_ih, w_hh, *b, lengths=LENGTHS)
        else:
            out = OPS[kind](x, h0, w_ih, w_hh, *b, lengths=LENGTHS)
        dout = local.standard_normal(out[0].shape)
        (out[0] * rg.tensor(dout)).sum().backward()
        given = next(t for t in b if t is not None and t.requires_grad)
        results.append([out[0].array, out[1].array, x.grad.array, h0.grad.array, w_ih.grad.array, w_hh.grad.array,
                        given.grad.array])
    for ours, reference in zip(*results):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(1024, 256), (768, 256), (33, 5), (31, 7), (1, 4), (4, 1), (0, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_blocked_transposing_copy_is_w_transposed(shape, dtype):
    """The BPTT's W_hh^T, copied in blocks of rows (a row count that is not a multiple of the block included):
    the same values as W.T, C-contiguous, and a copy that a later update of W leaves alone."""
    w = rng.standard_normal(shape).astype(dtype)
    w_t = recurrent_common._transposed(w)
    assert w_t.flags.c_contiguous and w_t.dtype == dtype and w_t.shape == shape[::-1]
    np.testing.assert_array_equal(w_t, w.T)
    w += 1
    assert not np.shares_memory(w_t, w) and (w_t.size == 0 or not np.array_equal(w_t, w.T))
