"""How the error reaches each LSTM gate and the cell state: the fused backward, step by step.

Question: "In an LSTM, how does the gradient get to the input, forget and output gates, the
candidate g, and the cell state? Where is dc_t, and why does the cell state carry the gradient
further than h does?"

Answer: retrograd's LSTM is one fused op (`retrograd.ops.recurrent.lstm_sequence`), whose
backward is written out in its docstring and code, term by term, against the forward equations
(L1)-(L5). For one step, from dh_t (what arrives at h_t):
    do = dh_t * tanh(c_t)                                  the output gate sees the squashed cell
    dc_t = dh_t * o * (1 - tanh^2(c_t)) + dc_{t+1} * f_{t+1}   the cell collects h's error and the next cell's
    di = dc_t * g ;  dg = dc_t * i ;  df = dc_t * c_{t-1}   each gate gets the cell's error times its partner
    da = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]   through the gates' sigmoid / tanh
    dh_{t-1} = W_hh^T da ;  dc_{t-1} = dc_t * f                   on to the previous step
The last line is the answer to "why the cell state": dc_{t-1} = dc_t * f passes only through the
forget gate -- no weight matrix, no tanh' -- while dh_{t-1} goes through W_hh and four
derivatives of squashing functions.

We print `retrograd.explain`'s trace of the backward pass (one node, LstmSequenceBackward,
for the whole sequence), then the per-gate gradients da_i, da_f, da_g, da_o of one step three ways:
  1. the fused op: with one step and a batch of one, dL/db_ih is exactly da = [da_i, da_f, da_g, da_o];
  2. an unrolled cell built from primitive ops (matmul, sigmoid, tanh, *, +) on the tape, with
     `retain_grad()` on each gate's pre-activation;
  3. the docstring's formulas above, in NumPy.

    python examples/lstm_gate_gradients.py
"""
import inspect

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.ops.recurrent import lstm_sequence

I, H = 3, 2
GATES = ("i", "f", "g", "o")


def make_lstm(seed=0):
    rg.manual_seed(seed)
    lstm = nn.LSTM(I, H).double()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1, 1, I))  # one step, a batch of one
    h0, c0 = rng.normal(size=(1, 1, H)), rng.normal(size=(1, 1, H))  # a non-zero c_{t-1}, so df != 0
    weight = rng.normal(size=(1, 1, H))  # loss = sum(h_1 * weight): a dL/dh_t that is not all ones
    return lstm, x, h0, c0, weight


def fused(lstm, x, h0, c0, weight):
    """nn.LSTM (the fused op): the loss, dL/db_ih (= da for one step and one row) and dL/dc_0."""
    c0 = rg.tensor(c0, requires_grad=True)
    out, _ = lstm(rg.tensor(x), (rg.tensor(h0), c0))
    loss = (out * rg.tensor(weight)).sum()
    trace = rg.explain(loss)
    loss.backward()
    return trace, lstm.bias_ih_l0.grad.numpy().reshape(4, H), c0.grad.numpy()[0, 0]


def unrolled(lstm, x, h0, c0, weight):
    """One LSTM step from primitive ops, PyTorch's equations; retain_grad on each gate's pre-activation."""
    w_ih, w_hh = (rg.tensor(p.detach().numpy(), requires_grad=True) for p in (lstm.weight_ih_l0, lstm.weight_hh_l0))
    bias = rg.tensor(lstm.bias_ih_l0.detach().numpy() + lstm.bias_hh_l0.detach().numpy())
    x_t, h_prev = rg.tensor(x[0]), rg.tensor(h0[0])
    c_prev = rg.tensor(c0[0], requires_grad=True)
    a = x_t @ w_ih.T + h_prev @ w_hh.T + bias  # (L1): (1, 4H)
    pre = [a[:, k * H:(k + 1) * H] for k in range(4)]
    for p in pre:
        p.retain_grad()
    i, f, g, o = rg.sigmoid(pre[0]), rg.sigmoid(pre[1]), rg.tanh(pre[2]), rg.sigmoid(pre[3])  # (L2)
    c = f * c_prev + i * g  # (L3)
    h = o * rg.tanh(c)  # (L4)
    (h * rg.tensor(weight[0])).sum().backward()
    return np.stack([p.grad.numpy()[0] for p in pre]), c_prev.grad.numpy()[0]


def by_formula(lstm, x, h0, c0, weight):
    """The docstring's backward of one step in NumPy: da for each gate, dc_t and dc_{t-1}."""
    w_ih, w_hh = lstm.weight_ih_l0.detach().numpy(), lstm.weight_hh_l0.detach().numpy()
    bias = lstm.bias_ih_l0.detach().numpy() + lstm.bias_hh_l0.detach().numpy()
    a = (w_ih @ x[0, 0] + w_hh @ h0[0, 0] + bias).reshape(4, H)
    sigma = 1 / (1 + np.exp(-a))
    i, f, g, o = sigma[0], sigma[1], np.tanh(a[2]), sigma[3]
    c_prev = c0[0, 0]
    c = f * c_prev + i * g
    dh = weight[0, 0]  # dL/dh_t
    do = dh * np.tanh(c)
    dc = dh * o * (1 - np.tanh(c) ** 2)  # no dc_{t+1}: this is the last step
    di, dg, df = dc * g, dc * i, dc * c_prev
    da = np.stack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)])
    return da, dc, dc * f, {"i": i, "f": f, "g": g, "o": o, "c": c}


def main():
    with np.printoptions(precision=6, suppress=True):  # this report only: the process keeps its settings
        lstm, x, h0, c0, weight = make_lstm()
        trace, da_fused, dc_prev_fused = fused(lstm, x, h0, c0, weight)
        print("retrograd.explain(loss) for loss = sum(nn.LSTM(3, 2)(x)[0] * weight), one step:")
        print(trace)
        print("\nthe fused op's backward, as its docstring (retrograd/ops/recurrent.py, lstm_sequence) writes it:")
        doc = inspect.getdoc(lstm_sequence).splitlines()
        start = next(number for number, line in enumerate(doc) if line.startswith("Forward"))
        print("\n".join("   " + line for line in doc[start:] if not line.startswith("Saves")))

        da_tape, dc_prev_tape = unrolled(lstm, x, h0, c0, weight)
        da_hand, dc, dc_prev_hand, values = by_formula(lstm, x, h0, c0, weight)
        print("\none step: gate values and the gradient of each gate's pre-activation")
        print("  gate   value (per unit)         fused op (dL/db_ih)      unrolled tape            formula")
        for k, name in enumerate(GATES):
            print(f"  {name:<5}  {str(values[name]):<23}  {str(da_fused[k]):<23}  {str(da_tape[k]):<23}  {da_hand[k]}")
        print(f"  dc_t = dh_t * o * (1 - tanh^2(c_t)) = {dc}")
        print(f"  dc_(t-1) = dc_t * f = {dc_prev_hand}  (fused: c0.grad = {dc_prev_fused}, tape: {dc_prev_tape})")
        errors = {"fused_vs_formula": float(np.max(np.abs(da_fused - da_hand))),
                  "tape_vs_formula": float(np.max(np.abs(da_tape - da_hand))),
                  "cell_fused_vs_formula": float(np.max(np.abs(dc_prev_fused - dc_prev_hand))),
                  "cell_tape_vs_formula": float(np.max(np.abs(dc_prev_tape - dc_prev_hand)))}
        print("\nlargest differences: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
        return {"errors": errors, "da": da_hand, "dc": dc, "dc_prev": dc_prev_hand, "gates": values,
                "trace_names": [step["name"] for step in trace]}


if __name__ == "__main__":
    main()
