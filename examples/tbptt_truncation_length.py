"""Truncated BPTT: why a longer truncation helps, measured.

Question: "With truncated backpropagation through time I backpropagate k steps. The hidden state
still carries information from further back, so why does k matter? How long should it be?"

Answer: the forward pass carries the state across the cut, but the gradient does not: a loss at
step t can only teach the weights to *use* information from steps t - k2 .. t. A dependency longer
than the truncation is invisible to training, however long the state could remember it.

The task: a stream of random bits x_t, and the target at step t is x_{t - D}, the bit D = 5 steps
back (an echo). An RNN (hidden 16) + linear read-out, trained with `retrograd.train.tbptt` along
one long stream (batch of 16 streams, stateful: the state passes from window to window), with
k1 = k2 = k, Adam, the same number of updates for every k. Then we measure the accuracy of
recalling x_{t - D} on a fresh stream, run without truncation. For k <= D no loss in a window has
its source bit inside the same window, so the gradient never sees the dependency and the accuracy
stays near chance (0.5); once k > D it is learned, and more of each window's losses see their source
as k grows.

    python examples/tbptt_truncation_length.py
"""
import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.diagnostics.figures import save_figure
from retrograd.train import tbptt

DELAY, HIDDEN, BATCH, UPDATES = 5, 16, 16, 150
TRUNCATIONS = (2, 4, 8, 16, 32)


def make_stream(steps, seed):
    """Random bits (BATCH, steps, 1) and the echo target x_{t - DELAY} (0 for the first DELAY steps)."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(BATCH, steps, 1)).astype(np.float32)
    target = np.zeros_like(bits)
    target[:, DELAY:] = bits[:, :-DELAY]
    return rg.tensor(bits), rg.tensor(target)


class Echo(nn.Module):
    """model(inputs, state) -> (logits, state): the form tbptt drives."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(1, HIDDEN, batch_first=True)
        self.readout = nn.Linear(HIDDEN, 1)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.readout(out), state


def train(k, seed=0):
    """UPDATES updates of TBPTT(k, k) along one stream; returns the model and the loss of each update."""
    rg.manual_seed(seed)
    model = Echo()
    optimizer = rg.optim.Adam(model.parameters(), lr=0.01)
    inputs, targets = make_stream(UPDATES * k, seed=seed + 1)
    result = tbptt(model, nn.BCEWithLogitsLoss(), optimizer, inputs, targets, k1=k, k2=k)
    return model, result.losses


def recall_accuracy(model, steps=500, seed=99):
    """The fraction of bits x_{t - DELAY} recalled (logit > 0) on a fresh stream, no truncation."""
    inputs, targets = make_stream(steps, seed)
    with rg.no_grad():
        logits, _ = model(inputs)
    hits = (logits.numpy()[:, DELAY:] > 0) == (targets.numpy()[:, DELAY:] > 0.5)
    return float(hits.mean())


def draw_losses(curves):
    """Plot the loss per update of each truncation length (saved only when the docs build asks for figures)."""
    def draw(figure):
        axes = figure.add_subplot()
        for k, losses in curves.items():
            axes.plot(np.convolve(losses, np.ones(10) / 10, mode="valid"), label=f"k = {k}")
        axes.set(xlabel="update", ylabel="training loss (10-update mean)",
                 title=f"TBPTT(k, k) on an echo of {DELAY} steps")
        axes.legend()
    save_figure("tbptt_truncation.png", draw, size=(6, 3.5))


def main():
    print(f"echo task: predict the bit {DELAY} steps back; RNN({HIDDEN}) + linear, Adam, {UPDATES} updates of "
          f"TBPTT(k, k), batch {BATCH}")
    print("    k   loss, first 10 updates   loss, last 10 updates   updates to loss 0.1   recall accuracy")
    results, curves = {}, {}
    for k in TRUNCATIONS:
        model, losses = train(k)
        curves[k] = losses
        smoothed = np.convolve(losses, np.ones(10) / 10, mode="valid")
        below = np.flatnonzero(smoothed < 0.1)
        results[k] = {"first_loss": float(np.mean(losses[:10])), "final_loss": float(np.mean(losses[-10:])),
                      "accuracy": recall_accuracy(model),
                      "updates_to_0.1": int(below[0]) + 10 if below.size else None}
        row = results[k]
        reached = "never" if row["updates_to_0.1"] is None else str(row["updates_to_0.1"])
        print(f"  {k:3d}   {row['first_loss']:22.3f}   {row['final_loss']:21.3f}   {reached:>18}   "
              f"{row['accuracy']:14.3f}")
    print(f"\nln 2 = {np.log(2):.3f} is the loss of guessing (recall accuracy on a fresh stream, without truncation).")
    print(f"With k <= {DELAY} no loss of a window has its source bit inside the window: the recurrence is never taught")
    print("to keep the bit, and the recall stays near chance (what is above 0.5 comes from the read-out, trained at")
    print("every step without BPTT, decoding what the untrained recurrence happens to keep: an echo-state effect).")
    print(f"With k > {DELAY} the echo is learned, the sooner the larger the share of each window's losses whose source")
    print("lies inside it (k - D of k).")
    draw_losses(curves)
    return results


if __name__ == "__main__":
    main()
