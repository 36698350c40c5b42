"""RNN/LSTM/GRU layers and cells against PyTorch with copied weights; fused ops against the composed cells;
packed sequences; Embedding."""
import itertools

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_module_parity, copy_torch_weights, numerical_check
from retrograd import nn
from retrograd.nn.utils import rnn as rnn_utils
from retrograd.ops import recurrent

rng = np.random.default_rng(0)
T, B, I, H = 5, 3, 4, 6

LAYERS = {"RNN": (nn.RNN, torch.nn.RNN), "LSTM": (nn.LSTM, torch.nn.LSTM), "GRU": (nn.GRU, torch.nn.GRU)}


def _initial_state(kind, layers, directions):
    h0 = rng.standard_normal((layers * directions, B, H))
    if kind == "LSTM":
        return h0, rng.standard_normal((layers * directions, B, H))
    return (h0,)


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_state",
                         list(itertools.product([1, 2], [False, True], [False, True], [False, True])))
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_state):
    ours_cls, theirs_cls = LAYERS[kind]
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    ours, theirs = ours_cls(I, H, **kwargs).double(), theirs_cls(I, H, **kwargs).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    directions = 2 if bidirectional else 1
    if not with_state:
        assert_module_parity(ours, theirs, x)
    elif kind == "LSTM":
        _parity_with_state(ours, theirs, x, _initial_state(kind, num_layers, directions))
    else:
        _parity_with_state(ours, theirs, x, _initial_state(kind, num_layers, directions)[0])


class _WithState(torch.nn.Module):
    """Wrap a layer so that the initial state is an input (and gets a gradient) in assert_module_parity."""

    def __init__(self, layer, lstm):
        super().__init__()
        self.layer, self.lstm = layer, lstm

    def forward(self, x, h, c=None):
        return self.layer(x, (h, c) if self.lstm else h)


class _RgWithState(nn.Module):
    def __init__(self, layer, lstm):
        super().__init__()
        self.layer, self.lstm = layer, lstm

    def forward(self, x, h, c=None):
        return self.layer(x, (h, c) if self.lstm else h)


def _parity_with_state(ours, theirs, x, state):
    lstm = isinstance(state, tuple)
    arrays = (x, *state) if lstm else (x, state)
    assert_module_parity(_RgWithState(ours, lstm), _WithState(theirs, lstm), *arrays)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_relu_rnn_and_no_bias(kind):
    if kind == "RNN":
        ours, theirs = nn.RNN(I, H, nonlinearity="relu").double(), torch.nn.RNN(I, H, nonlinearity="relu").double()
        assert_module_parity(ours, theirs, rng.standard_normal((T, B, I)))
    ours_cls, theirs_cls = LAYERS[kind]
    ours, theirs = ours_cls(I, H, bias=False).double(), theirs_cls(I, H, bias=False).double()
    assert_module_parity(ours, theirs, rng.standard_normal((T, B, I)))


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("bidirectional,enforce_sorted", [(False, True), (True, False), (False, False)])
def test_packed_variable_length_batches_match_torch(kind, bidirectional, enforce_sorted):
    ours_cls, theirs_cls = LAYERS[kind]
    ours, theirs = ours_cls(I, H, num_layers=2, bidirectional=bidirectional).double(), theirs_cls(
        I, H, num_layers=2, bidirectional=bidirectional).double()
    copy_torch_weights(ours, theirs)
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    x = rng.standard_normal((T, B, I))
    x_ours, x_theirs = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    packed_ours = rnn_utils.pack_padded_sequence(x_ours, lengths, enforce_sorted=enforce_sorted)
    packed_theirs = torch.nn.utils.rnn.pack_padded_sequence(x_theirs, torch.tensor(lengths),
                                                            enforce_sorted=enforce_sorted)
    np.testing.assert_allclose(packed_ours.data.array, packed_theirs.data.detach().numpy())
    np.testing.assert_array_equal(packed_ours.batch_sizes.array, packed_theirs.batch_sizes.numpy())
    out_ours, state_ours = ours(packed_ours)
    out_theirs, state_theirs = theirs(packed_theirs)
    padded_ours, len_ours = rnn_utils.pad_packed_sequence(out_ours, batch_first=True)
    padded_theirs, len_theirs = torch.nn.utils.rnn.pad_packed_sequence(out_theirs, batch_first=True)
    np.testing.assert_array_equal(len_ours.array, len_theirs.numpy())
    np.testing.assert_allclose(padded_ours.array, padded_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    states_ours = state_ours if kind == "LSTM" else (state_ours,)
    states_theirs = state_theirs if kind == "LSTM" else (state_theirs,)
    for a, b in zip(states_ours, states_theirs):
        np.testing.assert_allclose(a.array, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    dout = rng.standard_normal(padded_theirs.shape)
    dstates = [rng.standard_normal(s.shape) for s in states_theirs]
    loss_ours = (padded_ours * rg.tensor(dout)).sum()
    loss_theirs = (padded_theirs * torch.from_numpy(dout)).sum()
    for s_ours, s_theirs, d in zip(states_ours, states_theirs, dstates):
        loss_ours = loss_ours + (s_ours * rg.tensor(d)).sum()
        loss_theirs = loss_theirs + (s_theirs * torch.from_numpy(d)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    np.testing.assert_allclose(x_ours.grad.array, x_theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.array, theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


P = 2  # proj_size in the projection tests


@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_state",
                         list(itertools.product([1, 2], [False, True], [False, True], [False, True])))
def test_lstm_with_projection_matches_torch(num_layers, bidirectional, batch_first, with_state):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, proj_size=P)
    ours, theirs = nn.LSTM(I, H, **kwargs).double(), torch.nn.LSTM(I, H, **kwargs).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # weight_hr_l{k} after the biases
    assert ours.weight_hr_l0.shape == (P, H) and ours.weight_hh_l0.shape == (4 * H, P)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    directions = 2 if bidirectional else 1
    if with_state:  # h_0 has the projected size, c_0 the hidden size
        state = (rng.standard_normal((num_layers * directions, B, P)),
                 rng.standard_normal((num_layers * directions, B, H)))
        _parity_with_state(ours, theirs, x, state)
    else:
        assert_module_parity(ours, theirs, x)


def test_lstm_with_projection_on_packed_batches_and_gradcheck():
    lengths = [5, 3, 2]
    ours, theirs = nn.LSTM(I, H, proj_size=P).double(), torch.nn.LSTM(I, H, proj_size=P).double()
    copy_torch_weights(ours, theirs)
    x = rng.standard_normal((T, B, I))
    out_ours, (h_ours, c_ours) = ours(rnn_utils.pack_padded_sequence(rg.tensor(x), lengths))
    out_theirs, (h_theirs, c_theirs) = theirs(torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths))
    np.testing.assert_allclose(out_ours.data.array, out_theirs.data.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_ours.array, h_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_ours.array, c_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    w_ih, w_hh = rng.standard_normal((4 * H, I)) * 0.5, rng.standard_normal((4 * H, P)) * 0.5
    b_ih, b_hh, w_hr = rng.standard_normal(4 * H), rng.standard_normal(4 * H), rng.standard_normal((P, H)) * 0.5
    h0, c0 = rng.standard_normal((B, P)), rng.standard_normal((B, H))
    numerical_check(lambda x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr: recurrent.lstm_sequence(
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, np.array(lengths), w_hr)[0], x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)


def test_proj_size_errors_match_torch():
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN or GRU"):
        nn.GRU(4, 3, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(4, 3, proj_size=3)
    with pytest.raises(RuntimeError, match=r"LSTM: expected hidden state h_0 of shape \(1, 2, 2\), got \(1, 2, 3\)"):
        nn.LSTM(4, 3, proj_size=2)(rg.randn(5, 2, 4), (rg.zeros(1, 2, 3), rg.zeros(1, 2, 3)))
    assert "proj_size=2" in repr(nn.LSTM(4, 3, proj_size=2))


def test_fused_ops_gradcheck_with_lengths():
    lengths = np.array([5, 2, 3])
    x, h0, c0 = rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    w = {g: (rng.standard_normal((g * H, I)) * 0.5, rng.standard_normal((g * H, H)) * 0.5, rng.standard_normal(g * H),
             rng.standard_normal(g * H)) for g in (1, 3, 4)}
    numerical_check(lambda *a: recurrent.lstm_sequence(*a, lengths=lengths)[0], x, h0, c0, *w[4])
    numerical_check(lambda x, h0, *a: recurrent.gru_sequence(x, h0, *a, lengths=lengths)[0], x, h0, *w[3])
    numerical_check(lambda x, h0, *a: recurrent.rnn_sequence(x, h0, *a, lengths=lengths)[0], x, h0, *w[1])


@pytest.mark.parametrize("cell_kind", ["LSTM", "GRU", "RNN"])
def test_fused_sequence_op_equals_the_composed_cell_unrolled(cell_kind):
    """The slow twin: a cell made of primitive ops, unrolled by the tape, gives the same outputs and gradients."""
    layer = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[cell_kind](I, H).double()
    cell = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell, "RNN": nn.RNNCell}[cell_kind](I, H).double()
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = rng.standard_normal((T, B, I))
    dout = rg.tensor(rng.standard_normal((T, B, H)))
    out, _ = layer(rg.tensor(x))
    (out * dout).sum().backward()
    state = None
    outputs = []
    for t in range(T):
        state = cell(rg.tensor(x[t]), state)
        outputs.append(state[0] if cell_kind == "LSTM" else state)
    unrolled = rg.stack(outputs)
    (unrolled * dout).sum().backward()
    np.testing.assert_allclose(out.array, unrolled.array, rtol=1e-10)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(layer.get_parameter(name + "_l0").grad.array, p.grad.array, rtol=1e-9,
                                   err_msg=name)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell"])
@pytest.mark.parametrize("with_state", [False, True])
def test_cells_match_torch(kind, with_state):
    ours, theirs = getattr(nn, kind)(I, H).double(), getattr(torch.nn, kind)(I, H).double()
    x = rng.standard_normal((B, I))
    if not with_state:
        assert_module_parity(ours, theirs, x)
        return
    h, c = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    if kind == "LSTMCell":
        assert_module_parity(_RgWithState(ours, True), _WithState(theirs, True), x, h, c)
    else:
        assert_module_parity(_RgWithState(ours, False), _WithState(theirs, False), x, h)


def test_unbatched_input_matches_torch():
    ours, theirs = nn.GRU(I, H).double(), torch.nn.GRU(I, H).double()
    assert_module_parity(ours, theirs, rng.standard_normal((T, I)))


def test_dropout_between_layers_only_in_training():
    layer = nn.LSTM(I, H, num_layers=2, dropout=0.5).double()
    x = rg.tensor(rng.standard_normal((T, B, I)))
    layer.eval()
    first, _ = layer(x)
    second, _ = layer(x)
    np.testing.assert_array_equal(first.array, second.array)
    layer.train()
    rg.manual_seed(0)
    train_a, _ = layer(x)
    rg.manual_seed(1)
    train_b, _ = layer(x)
    assert not np.allclose(train_a.array, train_b.array)


def test_default_init_is_uniform_one_over_sqrt_hidden():
    rg.manual_seed(0)
    layer = nn.LSTM(10, 64)
    bound = 1 / np.sqrt(64)
    for name, p in layer.named_parameters():
        assert np.abs(p.array).max() <= bound and np.abs(p.array).max() > 0.95 * bound, name
    assert [n for n, _ in layer.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert layer.weight_ih_l0.shape == (256, 10)


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"LSTM\(input_size=4\): input.size\(-1\) must be equal to input_size, got 5"):
        nn.LSTM(4, 3)(rg.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"GRU: expected hidden state h_0 of shape \(1, 2, 3\), got \(1, 5, 3\)"):
        nn.GRU(4, 3)(rg.randn(6, 2, 4), rg.zeros(1, 5, 3))
    with pytest.raises(TypeError, match="LSTM: hx must be a tuple"):
        nn.LSTM(4, 3)(rg.randn(6, 2, 4), rg.zeros(1, 2, 3))
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(rg.randn(5, 3, 2), [2, 5, 3])


def test_pad_sequence_and_pack_sequence_match_torch():
    sequences = [rng.standard_normal((n, 2)) for n in (4, 2, 3)]
    ours = rnn_utils.pad_sequence([rg.tensor(s) for s in sequences], batch_first=True, padding_value=-1.0)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in sequences], batch_first=True,
                                             padding_value=-1.0)
    np.testing.assert_array_equal(ours.array, theirs.numpy())
    packed = rnn_utils.pack_sequence([rg.tensor(s) for s in sequences], enforce_sorted=False)
    packed_t = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in sequences], enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.array, packed_t.data.numpy())
    padded, lengths = rnn_utils.pad_packed_sequence(packed, padding_value=7.0, total_length=6)
    padded_t, lengths_t = torch.nn.utils.rnn.pad_packed_sequence(packed_t, padding_value=7.0, total_length=6)
    np.testing.assert_array_equal(padded.array, padded_t.numpy())
    np.testing.assert_array_equal(lengths.array, lengths_t.numpy())


@pytest.mark.parametrize("shape", [(200,), (4, 50), (0,)])
def test_embedding_gradient_sums_repeated_rows_like_torch(shape):
    """The backward groups positions by index (sort + reduceat): many repeats, unused rows, no indices."""
    ours, theirs = nn.Embedding(10, 4).double(), torch.nn.Embedding(10, 4).double()
    copy_torch_weights(ours, theirs)
    indices = rng.integers(0, 7, size=shape)  # rows 7..9 never used
    dout = rng.standard_normal(shape + (4,))
    (ours(rg.tensor(indices)) * rg.tensor(dout)).sum().backward()
    (theirs(torch.tensor(indices)) * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.array, theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_embedding_matches_torch_and_padding_row_gets_no_gradient():
    ours, theirs = nn.Embedding(7, 3, padding_idx=2).double(), torch.nn.Embedding(7, 3, padding_idx=2).double()
    copy_torch_weights(ours, theirs)
    indices = np.array([[0, 2, 2], [6, 0, 1]])
    out_ours, out_theirs = ours(rg.tensor(indices)), theirs(torch.tensor(indices))
    np.testing.assert_array_equal(out_ours.array, out_theirs.detach().numpy())
    dout = rng.standard_normal(out_theirs.shape)
    (out_ours * rg.tensor(dout)).sum().backward()
    (out_theirs * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.array, theirs.weight.grad.numpy())  # repeated 0 accumulates
    assert not ours.weight.grad.array[2].any()
    assert not nn.Embedding(5, 2, padding_idx=0).weight.array[0].any()
    frozen = nn.Embedding.from_pretrained(rg.tensor(np.eye(3)))
    assert not frozen.weight.requires_grad
    with pytest.raises(IndexError, match="embedding: index 9 is out of range for a table of 7 rows"):
        ours(rg.tensor([9]))


def test_embedding_lives_in_nn_sparse_like_pytorch():
    from retrograd.nn import sparse

    assert nn.Embedding is sparse.Embedding and nn.Embedding.__module__ == "retrograd.nn.sparse"
    assert torch.nn.Embedding.__module__ == "torch.nn.modules.sparse"


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_no_bias_stacked_bidirectional_batch_first_matches_torch(kind):
    """bias=False means no bias_ih and no bias_hh on every layer and direction, as in PyTorch."""
    ours_cls, theirs_cls = LAYERS[kind]
    kwargs = dict(num_layers=2, bidirectional=True, batch_first=True, bias=False)
    ours, theirs = ours_cls(I, H, **kwargs).double(), theirs_cls(I, H, **kwargs).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert not any("bias" in name for name in ours.state_dict())
    assert_module_parity(ours, theirs, rng.standard_normal((B, T, I)))


@pytest.mark.parametrize("kind,kwargs", [("LSTM", {}), ("LSTM", {"proj_size": 2}), ("GRU", {}), ("RNN", {})])
def test_an_empty_batch_runs_forward_and_backward_like_torch(kind, kwargs):
    ours, theirs = LAYERS[kind][0](I, H, **kwargs).double(), LAYERS[kind][1](I, H, **kwargs).double()
    copy_torch_weights(ours, theirs)
    x_ours = rg.zeros(T, 0, I, dtype=rg.float64, requires_grad=True)
    x_theirs = torch.zeros(T, 0, I, dtype=torch.float64, requires_grad=True)
    out_ours, out_theirs = ours(x_ours)[0], theirs(x_theirs)[0]
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert out_ours.shape == tuple(out_theirs.shape) and x_ours.grad.shape == tuple(x_theirs.grad.shape)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_array_equal(p.grad.array, theirs_params[name].grad.numpy(), err_msg=name)
