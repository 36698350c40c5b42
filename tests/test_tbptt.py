"""Truncated BPTT: the chunked loop against PyTorch, tbptt(k, k), tbptt(T, T), tbptt(k1 < k2) and tbptt(k1 > k2)
against independent step-by-step references, tbptt(T, k) against the Theano example's truncated NumPy BPTT,
stateful continuation, clipping, and memory bounded by k2."""
import tracemalloc

import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import copy_torch_weights
from retrograd import nn
from retrograd.nn import functional as F
from retrograd.train import tbptt

rng = np.random.default_rng(0)
B, T, I, H, C = 3, 12, 4, 5, 6


class RgTagger(nn.Module):
    """LSTM + Linear at every step; batch-first; forward(x, state) -> (logits, state)."""

    def __init__(self, cell="LSTM"):
        super().__init__()
        self.rnn = getattr(nn, cell)(I, H, batch_first=True)
        self.head = nn.Linear(H, C)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


class TorchTagger(torch.nn.Module):
    def __init__(self, cell="LSTM"):
        super().__init__()
        self.rnn = getattr(torch.nn, cell)(I, H, batch_first=True)
        self.head = torch.nn.Linear(H, C)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


def rg_loss(logits, targets):
    return F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1))


def torch_loss(logits, targets):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, C), targets.reshape(-1))


def _pair(cell="LSTM"):
    theirs = TorchTagger(cell).double()
    ours = copy_torch_weights(RgTagger(cell).double(), theirs)
    return ours, theirs


def _data(steps=T):
    return rng.standard_normal((B, steps, I)), rng.integers(0, C, (B, steps))


def _detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def _torch_chunked_loop(model, x, y, k, lr=0.1):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    state = None
    for start in range(0, x.shape[1], k):
        logits, state = model(torch.from_numpy(x[:, start:start + k]), state)
        state = _detach(state)
        loss = torch_loss(logits, torch.from_numpy(y[:, start:start + k]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def _rg_chunked_loop(model, x, y, k, lr=0.1):
    optimizer = rg.optim.SGD(model.parameters(), lr=lr)
    state = None
    for start in range(0, x.shape[1], k):
        logits, state = model(rg.tensor(x[:, start:start + k]), state)
        state = _detach(state)
        loss = rg_loss(logits, rg.tensor(y[:, start:start + k]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def _assert_same_parameters(ours, theirs, rtol=1e-10):
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.array, theirs_params[name].detach().numpy(), rtol=rtol, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_manual_detach_every_k_loop_matches_pytorch(cell):
    ours, theirs = _pair(cell)
    x, y = _data()
    _assert_same_parameters(_rg_chunked_loop(ours, x, y, 4), _torch_chunked_loop(theirs, x, y, 4))


@pytest.mark.parametrize("k", [1, 4, 5])
def test_tbptt_k_k_equals_the_chunked_loop(k):
    reference, _ = _pair()
    ours = RgTagger().double()
    ours.load_state_dict(reference.state_dict())
    x, y = _data()
    _rg_chunked_loop(reference, x, y, k)
    result = tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), k, k)
    assert result.updates == -(-T // k)
    for (name, p), q in zip(ours.named_parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=name)


def test_tbptt_full_length_is_full_bptt():
    ours, theirs = _pair()
    x, y = _data()
    result = tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), T, T)
    assert result.updates == 1
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1)
    logits, _ = theirs(torch.from_numpy(x))
    loss = torch_loss(logits, torch.from_numpy(y))
    loss.backward()
    optimizer.step()
    assert result.losses[0] == pytest.approx(loss.item(), rel=1e-12)
    _assert_same_parameters(ours, theirs)


def _torch_naive_tbptt(model, x, y, k1, k2, lr=0.1):
    """Williams & Peng's TBPTT(k1, k2) written step by step in PyTorch, independently of retrograd's pieces:
    every k1 steps, rerun the last k2 steps one step at a time from the state stored when the previous window
    passed that step, and backpropagate the losses of the last k1 steps."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps = x.shape[1]
    stored = {0: None}  # step -> detached state entering that step
    ends = list(range(k1, steps, k1)) + [steps]
    window_start = 0
    for end in ends:
        state = stored[window_start]
        logits = []
        for t in range(window_start, end):
            if t > window_start:  # the latest pass over a step defines the state stored there
                stored[t] = _detach(state)
            out, state = model(torch.from_numpy(x[:, t:t + 1]), state)
            logits.append(out)
        loss_start = max(end - k1, window_start)
        loss = torch_loss(torch.cat(logits[loss_start - window_start:], dim=1),
                          torch.from_numpy(y[:, loss_start:end]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        next_start = max(end + k1 - k2, window_start)
        if next_start == end:
            stored[end] = _detach(state)
        stored = {t: s for t, s in stored.items() if t >= next_start}
        window_start = next_start
    return model


@pytest.mark.parametrize("k1,k2", [(2, 5), (3, 4), (4, 8), (1, 3), (5, 12)])
def test_tbptt_k1_less_than_k2_matches_a_naive_reference(k1, k2):
    ours, theirs = _pair()
    x, y = _data()
    tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), k1, k2)
    _assert_same_parameters(ours, _torch_naive_tbptt(theirs, x, y, k1, k2), rtol=1e-9)


def _torch_theano_tbptt(model, x, y, k1, k2, lr=0.1):
    """TBPTT(k1 > k2) with Theano's truncate_gradient semantics, step by step in PyTorch: every k1 steps, the
    loss of all k1 steps, of which only the last k2 are recorded (the earlier ones run under no_grad, so their
    losses carry no gradient and the state entering the last k2 steps is a constant)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps, state = x.shape[1], None
    for start in range(0, steps, k1):
        end = min(start + k1, steps)
        logits = []
        for t in range(start, end):
            if t < end - k2:
                with torch.no_grad():
                    out, state = model(torch.from_numpy(x[:, t:t + 1]), state)
            else:
                if t == end - k2:
                    state = _detach(state)
                out, state = model(torch.from_numpy(x[:, t:t + 1]), state)
            logits.append(out)
        loss = torch_loss(torch.cat(logits, dim=1), torch.from_numpy(y[:, start:end]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        state = _detach(state)
    return model


@pytest.mark.parametrize("k1,k2", [(5, 2), (4, 1), (12, 3), (7, 4), (3, 2)])
def test_tbptt_k1_greater_than_k2_matches_theanos_truncation_step_by_step(k1, k2):
    ours, theirs = _pair()
    x, y = _data()
    result = tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), k1, k2)
    assert result.updates == -(-T // k1)
    _assert_same_parameters(ours, _torch_theano_tbptt(theirs, x, y, k1, k2), rtol=1e-9)


def test_tbptt_k1_greater_than_k2_differs_from_full_windows():
    """The truncation is real: k2 < k1 moves the weights differently from k2 = k1 (same updates, same losses)."""
    truncated, _ = _pair()
    full = RgTagger().double()
    full.load_state_dict(truncated.state_dict())
    x, y = _data()
    first = tbptt(truncated, rg_loss, rg.optim.SGD(truncated.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), 6, 2)
    second = tbptt(full, rg_loss, rg.optim.SGD(full.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), 6, 6)
    assert first.losses[0] == second.losses[0]  # the first update's loss: same weights, same k1 steps
    difference = max(float(np.max(np.abs(p.array - q.array))) for p, q in zip(truncated.parameters(),
                                                                                full.parameters()))
    assert difference > 1e-4


def _theano_example():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "theano_scan_bptt.py"
    spec = importlib.util.spec_from_file_location("retrograd_example_theano_scan_bptt_tbptt", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("k", [1, 5, 12, 20])
def test_tbptt_whole_sequence_truncated_to_k_is_theanos_truncate_gradient(k):
    """tbptt(k1 = T, k2 = k), one update with SGD lr = 1, moves the weights by exactly the NumPy BPTT of the
    Theano example truncated to the last k steps (scan(truncate_gradient=k))."""
    example = _theano_example()
    arrays, grad_out = example.make_problem()
    rnn = nn.RNN(example.I, example.H).double()  # time-major, like scan
    for name, key in [("weight_ih_l0", "w_ih"), ("weight_hh_l0", "w_hh"), ("bias_ih_l0", "b_ih"),
                      ("bias_hh_l0", "b_hh")]:
        getattr(rnn, name).array[...] = arrays[key]
    start = {name: p.array.copy() for name, p in rnn.named_parameters()}
    result = tbptt(rnn, lambda out, r: (out * r).sum(), rg.optim.SGD(rnn.parameters(), lr=1.0),
                   rg.tensor(arrays["x"]), rg.tensor(grad_out), example.T, k, state=rg.tensor(arrays["h0"][None]),
                   time_dim=0)
    assert result.updates == 1
    expected, _ = example.numpy_bptt(arrays["x"], arrays["h0"], arrays["w_ih"], arrays["w_hh"],
                                     arrays["b_ih"] + arrays["b_hh"], grad_out, k=k)
    moved = {name: start[name] - p.array for name, p in rnn.named_parameters()}
    for name, key in [("weight_ih_l0", "w_ih"), ("weight_hh_l0", "w_hh"), ("bias_ih_l0", "bias"),
                      ("bias_hh_l0", "bias")]:
        np.testing.assert_allclose(moved[name], expected[key], rtol=1e-10, atol=1e-12, err_msg=name)


def test_stateful_continuation_across_calls_equals_one_call():
    """Two tbptt calls over the halves of a sequence, passing the state on, equal one call over the whole."""
    x, y = _data(16)
    whole, _ = _pair()
    halves = RgTagger().double()
    halves.load_state_dict(whole.state_dict())
    tbptt(whole, rg_loss, rg.optim.SGD(whole.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), 4)
    optimizer = rg.optim.SGD(halves.parameters(), lr=0.1)
    first = tbptt(halves, rg_loss, optimizer, rg.tensor(x[:, :8]), rg.tensor(y[:, :8]), 4)
    assert all(not s.requires_grad for s in first.state)
    tbptt(halves, rg_loss, optimizer, rg.tensor(x[:, 8:]), rg.tensor(y[:, 8:]), 4, state=first.state)
    for p, q in zip(whole.parameters(), halves.parameters()):
        np.testing.assert_array_equal(p.array, q.array)


def test_clipping_reports_the_norm_before_clipping():
    ours, _ = _pair()
    x, y = _data()
    result = tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), 4,
                   clip=1e-3)
    assert len(result.grad_norms) == result.updates == 3
    assert all(norm > 1e-3 for norm in result.grad_norms)


def test_bad_k_values_are_rejected():
    ours, _ = _pair()
    x, y = _data()
    with pytest.raises(ValueError, match="k1 and k2 must be integers >= 1, got k1=0, k2=3"):
        tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), 0, 3)
    with pytest.raises(ValueError, match="got k1=4, k2=2.5"):
        tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y), 4, 2.5)
    with pytest.raises(ValueError, match="targets have"):
        tbptt(ours, rg_loss, rg.optim.SGD(ours.parameters(), lr=0.1), rg.tensor(x), rg.tensor(y[:, :5]), 4)


class _Tagger(nn.Module):
    def __init__(self, inputs=16, hidden=128, classes=10):
        super().__init__()
        self.rnn, self.head = nn.LSTM(inputs, hidden, batch_first=True), nn.Linear(hidden, classes)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


def _peak_bytes(steps, k2):
    """Peak bytes allocated while a tbptt run over `steps` steps trains (the data itself is allocated before)."""
    rg.manual_seed(0)
    model = _Tagger()
    x = rg.tensor(np.random.default_rng(1).standard_normal((32, steps, 16)).astype(np.float32))
    y = rg.tensor(np.random.default_rng(2).integers(0, 10, (32, steps)))
    optimizer = rg.optim.SGD(model.parameters(), lr=0.01)

    def loss_fn(logits, targets):
        return F.cross_entropy(logits.reshape(-1, 10), targets.reshape(-1))

    # warm up first: .grad arrays and CPython's free lists reach their steady size, which is not the graph's
    tbptt(model, loss_fn, optimizer, x[:, :500], y[:, :500], k1=k2 // 2, k2=k2)
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    result = tbptt(model, loss_fn, optimizer, x, y, k1=k2 // 2, k2=k2)
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    assert result.updates == steps // (k2 // 2)
    return peak


def test_memory_is_bounded_by_k2_not_by_sequence_length():
    short, long = _peak_bytes(1_000, 20), _peak_bytes(10_000, 20)
    assert abs(long - short) <= 0.10 * short, f"peak {short} bytes for T=1,000 vs {long} for T=10,000"
