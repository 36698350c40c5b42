"""Exploding gradients in a vanilla RNN, and gradient-norm clipping.

Question: "My RNN's loss suddenly becomes huge or NaN. Is that an exploding gradient, and does
clip_grad_norm_ fix it?"

Answer: backprop through time multiplies the gradient by W_hh^T diag(tanh') once per step. When
W_hh is large (here: orthogonal times a gain, so every singular value equals the gain) that
product grows geometrically with the sequence length while the states are not yet saturated.
Part 1 measures the gradient norm at initialisation as the gain grows. Part 2 trains the same
network (gain 1.5) twice with SGD: without clipping one huge step throws the weights far away and
the loss blows up; with `nn.utils.clip_grad_norm_(params, 1.0)` -- rescale the whole gradient
to norm 1 when it is longer (Pascanu et al., 2013) -- every step is bounded and it learns.

Task: tanh RNN (8 inputs, 64 hidden, 50 steps, batch 32), a linear read-out of the last state,
target = sum of input feature 0 over the last 5 steps, MSE loss, float64.

    python examples/exploding.py
"""
import math

import numpy as np

import retrograd as rg
from retrograd import nn, optim

STEPS, INPUTS, HIDDEN, BATCH = 50, 8, 64, 32


class Regressor(nn.Module):
    def __init__(self, gain):
        super().__init__()
        self.rnn = nn.RNN(INPUTS, HIDDEN)  # time-major: (T, B, I)
        self.head = nn.Linear(HIDDEN, 1)
        nn.init.orthogonal_(self.rnn.weight_hh_l0, gain=gain)  # all singular values = gain

    def forward(self, x):
        _, h_last = self.rnn(x)
        return self.head(h_last[0])


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(STEPS, BATCH, INPUTS))
    y = x[-5:, :, 0].sum(axis=0)[:, None]
    return rg.tensor(x, dtype=rg.float64), rg.tensor(y, dtype=rg.float64)


def gradient_norm(params):
    """The global 2-norm over all parameters' gradients (what clip_grad_norm_ measures)."""
    return math.sqrt(sum(float(np.sum(p.grad.numpy() ** 2)) for p in params))


def norm_at_init(gain, seed=0):
    rg.manual_seed(seed)
    model = Regressor(gain).double()
    x, y = make_data(seed)
    nn.MSELoss()(model(x), y).backward()
    return gradient_norm(list(model.parameters()))


def train(clip, gain=1.5, lr=0.1, steps=100, seed=0):
    """SGD on the task; returns (losses, gradient norms before clipping)."""
    rg.manual_seed(seed)
    model = Regressor(gain).double()
    params = list(model.parameters())
    optimizer = optim.SGD(params, lr=lr)
    x, y = make_data(seed)
    losses, norms = [], []
    with np.errstate(all="ignore"):  # the unclipped run overflows on purpose
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.MSELoss()(model(x), y)
            loss.backward()
            if clip is None:
                norms.append(gradient_norm(params))
            else:
                norms.append(float(nn.utils.clip_grad_norm_(params, clip)))
            optimizer.step()
            losses.append(float(loss.item()))
    return losses, norms


def main():
    results = {"norm_at_init": {}}
    print("1. gradient norm at initialisation, W_hh = orthogonal * gain")
    for gain in (0.5, 1.0, 1.5, 2.0, 3.0):
        results["norm_at_init"][gain] = norm_at_init(gain)
        print(f"   gain {gain:3.1f}: ||grad|| = {results['norm_at_init'][gain]:.3e}")

    print("\n2. training, gain 1.5, SGD lr 0.1, 100 steps")
    for name, clip in (("no_clip", None), ("clip", 1.0)):
        losses, norms = train(clip)
        finite = [v for v in losses if math.isfinite(v)]
        results[name] = {"first_loss": losses[0], "final_loss": losses[-1], "min_loss": min(finite),
                         "max_loss": max(finite), "max_grad_norm": max(v for v in norms if math.isfinite(v)),
                         "all_finite": all(math.isfinite(v) for v in losses)}
        r = results[name]
        label = "without clipping" if clip is None else "clip_grad_norm_(params, 1.0)"
        print(f"   {label:30s} loss {r['first_loss']:.3f} -> {r['final_loss']:.3e} (largest {r['max_loss']:.2e}), "
              f"largest gradient norm {r['max_grad_norm']:.2e}, all finite: {r['all_finite']}")
    print("The unclipped gradient is long enough that one SGD step moves the weights far out; the loss")
    print("explodes. Clipping keeps the direction and bounds the step, so the same run converges.")
    return results


if __name__ == "__main__":
    main()
