"""How far back does the gradient reach? ||dL/dh_t|| across 100 steps for a tanh RNN and an LSTM.

Question: "LSTMs are said to fix the vanishing gradient of vanilla RNNs. Can I see it -- the
gradient of a loss at the last step with respect to each earlier hidden state?"

Method: unroll with nn.RNNCell / nn.LSTMCell (a fused whole-sequence layer keeps its per-step
states inside one op, out of reach), call `.retain_grad()` on every h_t, put the loss on the last
step only, L = MSE(h_T, target), and read h_t.grad for t = 0 .. T-1 after one backward pass.
T = 100, H = 64, 8 inputs, batch 16, float64, PyTorch's default initialisation.

What it shows:
- tanh RNN: dL/dh_{t-1} = W_hh^T (tanh'(.) * dL/dh_t). With U(-1/8, 1/8) weights W_hh's spectral
  radius is ~0.58, so the gradient shrinks ~0.55-0.6x per step: ~1e-24 after 100 steps.
- LSTM at PyTorch's default init: the cell path carries dL/dc_{t-1} = f_t * dL/dc_t, but with the
  forget-gate bias at ~0 the forget gate is ~0.5, so it *also* shrinks the gradient ~0.6x per step. An
  LSTM is not immune by construction; it can *learn* to keep its forget gate open.
- LSTM with the forget-gate bias set to 1 (Gers et al. 2000; Jozefowicz et al. 2015; Keras'
  unit_forget_bias default): f ~ 0.73 and the gradient still reaches step 0 many orders of
  magnitude stronger than in the RNN.

    python examples/rnn_vs_lstm_gradients.py
"""
import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.diagnostics.figures import save_figure


def state_gradient_norms(kind, steps=100, hidden=64, inputs=8, batch=16, forget_bias=None, seed=0):
    """||dL/dh_t|| (Frobenius over the batch) for t = 0 .. steps-1; L = MSE(h_{T-1}, target)."""
    rg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rg.tensor(rng.normal(size=(steps, batch, inputs)), dtype=rg.float64)
    target = rg.tensor(rng.normal(size=(batch, hidden)), dtype=rg.float64)
    cell = (nn.RNNCell if kind == "rnn" else nn.LSTMCell)(inputs, hidden).double()
    if forget_bias is not None:  # gates are ordered i, f, g, o: the forget gate is rows H .. 2H
        with rg.no_grad():
            cell.bias_ih[hidden:2 * hidden] = forget_bias
            cell.bias_hh[hidden:2 * hidden] = 0.0
    h = rg.zeros(batch, hidden, dtype=rg.float64)
    c = rg.zeros(batch, hidden, dtype=rg.float64)
    states = []
    for t in range(steps):
        if kind == "rnn":
            h = cell(x[t], h)
        else:
            h, c = cell(x[t], (h, c))
        h.retain_grad()  # keep dL/dh_t, which the tape would otherwise free
        states.append(h)
    nn.MSELoss()(h, target).backward()
    return np.array([np.linalg.norm(state.grad.numpy()) for state in states])


def summarise(norms):
    ratio = norms[0] / norms[-1]
    return {"ratio_first_last": float(ratio),
            "ratio_10_back": float(norms[-11] / norms[-1]),
            "per_step_factor": float(ratio ** (1 / (len(norms) - 1)))}


def draw_state_gradients(runs):
    """Plot ||dL/dh_t|| / ||dL/dh_99|| against t, log y, for each of `runs` ({label: ||dL/dh_t|| for t = 0 ..
    99}); saved only when the docs build asks for figures."""
    def draw(figure):
        axes = figure.add_subplot()
        for label, norms in runs.items():
            axes.plot(np.arange(len(norms)), norms / norms[-1], label=label)
        axes.set(xlabel="time step t", ylabel="||dL/dh_t|| / ||dL/dh_99||", yscale="log",
                 title="loss at the last step")
        axes.legend()
    save_figure("state_gradients.png", draw, size=(6, 3.5))


def main():
    runs = {"rnn": state_gradient_norms("rnn"),
            "lstm": state_gradient_norms("lstm"),
            "lstm_forget_bias_1": state_gradient_norms("lstm", forget_bias=1.0)}
    results = {name: summarise(norms) for name, norms in runs.items()}
    results["norms"] = {name: norms.tolist() for name, norms in runs.items()}
    print("||dL/dh_t|| relative to ||dL/dh_99||, loss on the last step only (T = 100, H = 64)")
    print("      t     tanh RNN        LSTM   LSTM (forget bias 1)")
    for t in (99, 89, 74, 49, 24, 0):
        row = [runs[name][t] / runs[name][-1] for name in ("rnn", "lstm", "lstm_forget_bias_1")]
        print(f"   {t:4d}   {row[0]:10.2e}  {row[1]:10.2e}  {row[2]:12.2e}")
    for name, label in (("rnn", "tanh RNN"), ("lstm", "LSTM"), ("lstm_forget_bias_1", "LSTM, forget bias 1")):
        r = results[name]
        print(f"   {label:20s} t=0 / t=99: {r['ratio_first_last']:.1e}, "
              f"shrinking {r['per_step_factor']:.3f}x per step")
    print("The RNN's gradient has all but vanished 100 steps back. The LSTM's default init shrinks it ~0.6x per")
    print("step too (forget gate ~0.5); with the forget bias at 1 it reaches step 0 "
          f"{results['lstm_forget_bias_1']['ratio_first_last'] / results['rnn']['ratio_first_last']:.0e} times stronger.")
    draw_state_gradients({label: runs[name] for name, label in
                          (("rnn", "tanh RNN"), ("lstm", "LSTM"), ("lstm_forget_bias_1", "LSTM, forget bias 1"))})
    return results


if __name__ == "__main__":
    main()
