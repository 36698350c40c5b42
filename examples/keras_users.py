"""From Keras to PyTorch-style recurrent code: the five questions Keras users ask, answered with numbers.

1. LSTM(activation='relu'): PyTorch's nn.LSTM has no activation argument (its fused kernels, cuDNN's
   among them, hard-wire tanh). A custom cell does it: the same gates, with the activation as a
   parameter; with tanh it reproduces nn.LSTM exactly, which checks it.
2. TimeDistributed(Dense(n)): nn.Linear already applies to the last dimension of (B, T, H).
3. Embedding(mask_zero=True): Keras skips masked steps in the RNN and in the loss. In PyTorch,
   padding_idx only zeroes the padding's embedding (the LSTM still runs over it), packing makes the
   LSTM stop at each sequence's length, and ignore_index drops the padded targets from the loss.
4. stateful=True with the seed's numbers (125,973 sequences of 1,000 steps, k = 25) on paper, and a
   scaled-down run of retrograd.data.stateful_batches: row i of each batch continues row i of the
   previous one, so the state carried from batch to batch is the state of the same sequence.
5. "40 chunks of one sequence in one batch": every row starts from a zero state, so no state is
   carried at all.
"""
import math

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.data import stateful_batches
from retrograd.nn.utils.rnn import pack_padded_sequence

B, T, I, H = 3, 7, 4, 5


class LSTMWithActivation(nn.Module):
    """Keras' LSTM(activation=...): c_t = f * c + i * act(a_g), h_t = o * act(c_t); gates i, f, o are
    sigmoids. Parameters in nn.LSTM's layout (gates i, f, g, o), so its weights load unchanged."""

    def __init__(self, input_size, hidden_size, activation=rg.tanh):
        super().__init__()
        cell = nn.LSTMCell(input_size, hidden_size)  # PyTorch's initialisation of the same parameters
        self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh = (cell.weight_ih, cell.weight_hh,
                                                                      cell.bias_ih, cell.bias_hh)
        self.hidden_size, self.activation = hidden_size, activation

    def forward(self, x, state=None):  # x (B, T, I), batch first
        if state is None:
            state = (rg.zeros(x.shape[0], self.hidden_size, dtype=x.dtype),) * 2
        h, c = state
        outputs = []
        for t in range(x.shape[1]):
            gates = x[:, t] @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh  # (B, 4H)
            i, f, g, o = gates.chunk(4, dim=1)
            c = rg.sigmoid(f) * c + rg.sigmoid(i) * self.activation(g)
            h = rg.sigmoid(o) * self.activation(c)
            outputs.append(h)
        return rg.stack(outputs, dim=1), (h, c)


def custom_cell():
    rg.manual_seed(0)
    x = rg.randn(B, T, I, dtype=rg.float64)
    reference = nn.LSTM(I, H, batch_first=True).double()
    cell = LSTMWithActivation(I, H).double()
    cell.load_state_dict({name[:-3]: value for name, value in reference.state_dict().items()})  # drop "_l0"
    ours, (h, _) = cell(x)
    theirs, (h_ref, _) = reference(x)
    ours.sum().backward()
    theirs.sum().backward()
    output_diff = float(np.max(np.abs(ours.detach().numpy() - theirs.detach().numpy())))
    grad_diff = float(np.max(np.abs(cell.weight_hh.grad.numpy() - reference.weight_hh_l0.grad.numpy())))
    relu_cell = LSTMWithActivation(I, H, activation=rg.relu).double()
    relu_out, _ = relu_cell(x * 3)
    return output_diff, grad_diff, float(relu_out.detach().numpy().max()), float(theirs.detach().numpy().max())


def time_distributed():
    rg.manual_seed(0)
    dense = nn.Linear(H, 2).double()
    hidden = rg.randn(B, T, H, dtype=rg.float64)
    at_once = dense(hidden)  # (B, T, 2)
    step_by_step = rg.stack([dense(hidden[:, t]) for t in range(T)], dim=1)  # what TimeDistributed loops
    return tuple(at_once.shape), float(np.max(np.abs(at_once.detach().numpy() - step_by_step.detach().numpy())))


def masking():
    rg.manual_seed(0)
    lengths = [7, 4, 2]
    tokens = np.zeros((B, T), dtype=np.int64)  # 0 is the padding token, as with mask_zero=True
    rng = np.random.default_rng(0)
    for row, length in enumerate(lengths):
        tokens[row, :length] = rng.integers(1, 10, length)
    embedding = nn.Embedding(10, I, padding_idx=0).double()
    lstm = nn.LSTM(I, H, batch_first=True).double()
    padded_out, (h_padded, _) = lstm(embedding(rg.tensor(tokens)))
    _, (h_packed, _) = lstm(pack_padded_sequence(embedding(rg.tensor(tokens)), lengths, batch_first=True))
    alone = [lstm(embedding(rg.tensor(tokens[row:row + 1, :length])))[1][0] for row, length in enumerate(lengths)]
    alone = np.concatenate([h.detach().numpy()[0] for h in alone])
    padded_gap = float(np.max(np.abs(h_padded.detach().numpy()[0] - alone)))
    packed_gap = float(np.max(np.abs(h_packed.detach().numpy()[0] - alone)))
    # the loss: next-token targets, padding replaced by ignore_index (-100, PyTorch's default)
    head = nn.Linear(H, 10).double()
    targets = np.where(tokens > 0, tokens, -100)
    logits = head(padded_out)
    masked = nn.functional.cross_entropy(logits.reshape(-1, 10), rg.tensor(targets.reshape(-1)))
    real = [(row, t) for row, length in enumerate(lengths) for t in range(length)]
    by_hand = np.mean([nn.functional.cross_entropy(logits[row, t:t + 1], rg.tensor(tokens[row, t:t + 1])).item()
                       for row, t in real])
    embedding.weight.grad = None
    masked.backward()
    padding_row_grad = float(np.abs(embedding.weight.grad.numpy()[0]).max())
    return {"padded_state_gap": padded_gap, "packed_state_gap": packed_gap, "ignore_index_loss": masked.item(),
            "real_tokens_loss": float(by_hand), "padding_row_grad": padding_row_grad}


def stateful(sequences=12, steps=100, k=25, batch=4):
    """A stateful run over stateful_batches equals the whole-sequence forward pass; 40-chunks-in-a-batch does not."""
    rg.manual_seed(0)
    data = rg.randn(sequences, steps, I, dtype=rg.float64).numpy()
    lstm = nn.LSTM(I, H, batch_first=True).double()
    batches = stateful_batches(data, batch_size=batch, k=k, targets=np.zeros((sequences, steps)))
    outputs, state = [], None
    with rg.no_grad():
        for b in batches:
            state = None if b.reset.all() else state  # a new group of sequences starts from zeros
            out, state = lstm(b.inputs, state)
            outputs.append(out.numpy())
        full, _ = lstm(rg.tensor(data))
    groups = -(-sequences // batch)
    per_group = [np.concatenate(outputs[g * (steps // k):(g + 1) * (steps // k)], axis=1) for g in range(groups)]
    stateful_gap = float(np.max(np.abs(np.concatenate(per_group, axis=0) - full.numpy())))
    with rg.no_grad():  # one sequence cut into its chunks, stacked as the rows of one batch
        chunks_as_rows, _ = lstm(rg.tensor(data[0].reshape(steps // k, k, I)))
    chunk_gap = float(np.max(np.abs(chunks_as_rows.numpy().reshape(steps, H) - full.numpy()[0])))
    return len(batches), groups * math.ceil(steps / k), stateful_gap, chunk_gap


def main():
    output_diff, grad_diff, relu_max, tanh_max = custom_cell()
    print("1. LSTM(activation='relu'): a custom cell with nn.LSTM's parameters")
    print(f"   with tanh, against nn.LSTM (same weights): outputs differ by {output_diff:.1e}, dL/dW_hh by {grad_diff:.1e}")
    print(f"   with relu: runs; largest output {relu_max:.2f} (tanh's is bounded by 1: {tanh_max:.2f})")

    shape, td_diff = time_distributed()
    print(f"\n2. TimeDistributed(Dense(2)) on (B, T, H) = {(B, T, H)}: nn.Linear gives {shape} directly;")
    print(f"   the step-by-step loop differs by {td_diff:.1e}")

    m = masking()
    print("\n3. Embedding(mask_zero=True): lengths 7, 4, 2 padded with 0 to 7 steps; final hidden state vs each"
          " sequence run alone:")
    print(f"   padding_idx=0 only (the LSTM runs over the padding): off by {m['padded_state_gap']:.3f}")
    print(f"   pack_padded_sequence (stops at each length):         off by {m['packed_state_gap']:.1e}")
    print(f"   loss with ignore_index on padded targets {m['ignore_index_loss']:.6f} = mean over the real tokens "
          f"{m['real_tokens_loss']:.6f}; gradient reaching the padding row: {m['padding_row_grad']}")

    n_seq, t_seq, k, batch = 125_973, 1_000, 25, 64
    chunks = t_seq // k
    print(f"\n4. stateful=True, the seed's numbers: {n_seq:,} sequences x {t_seq:,} steps, k = {k}:")
    print(f"   {chunks} chunks per sequence; batch {batch}: {math.ceil(n_seq / batch):,} groups of {batch} sequences x "
          f"{chunks} chunks = {math.ceil(n_seq / batch) * chunks:,} updates per epoch")
    print(f"   each update backpropagates {batch} x {k} steps (memory) instead of {batch} x {t_seq:,}")
    count, expected, stateful_gap, chunk_gap = stateful()
    print(f"   scaled down (12 sequences x 100 steps, k = 25, batch 4): stateful_batches gives {count} batches "
          f"(= 3 x 4: {expected});")
    print(f"   carrying the state from batch to batch reproduces the whole-sequence forward pass: off by "
          f"{stateful_gap:.1e}")
    print(f"\n5. One sequence's 4 chunks as the 4 rows of one batch: each starts from zeros; off by {chunk_gap:.3f}")
    return {"custom_cell_output_diff": output_diff, "custom_cell_grad_diff": grad_diff, "relu_max": relu_max,
            "time_distributed_shape": shape, "time_distributed_diff": td_diff, "masking": m,
            "seed_updates_per_epoch": math.ceil(n_seq / batch) * chunks, "scaled_batches": count,
            "scaled_expected": expected, "stateful_gap": stateful_gap, "chunks_in_one_batch_gap": chunk_gap}


if __name__ == "__main__":
    main()
