"""Max-pool ties: which input gets the gradient when a window has several maxima, and does it matter?

Question: "In max-pooling backprop the gradient goes to the position of the maximum. What if
two entries of a window are equal? Does the choice change training?"

Answer: max is not differentiable at a tie; every convex combination of the tied entries'
gradients is a valid subgradient. PyTorch gives the whole gradient to the first maximum in
row-major window order; retrograd does the same by default and lets you choose:
`nn.MaxPool2d(2, ties="first" | "split" | "random")` (`F.max_pool2d(..., ties=...)`): the first
maximum, an equal share to each tied maximum, or one tied maximum chosen at random.

Ties are rare with real-valued activations but frequent with binary inputs (identical input patches
give bit-identical convolution outputs), after a ReLU (ties among zeros) and with quantised
activations. We train the same small CNN (from the same initial weights) on 8x8 binary images with
each policy, in three variants: ReLU then pool, pool then ReLU, and ReLU + quantisation then pool.
Where the tied entries carry no gradient (zeros after a ReLU) or the same weight gradient (identical
patches), the policies train bit-for-bit alike; with quantised activations they part, the final
losses differ by tens of percent, and which policy ends lowest changes with the initial weights: each is a
valid subgradient, and the choice is not a question of correctness.

    python examples/maxpool_ties.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F
from retrograd import nn
from retrograd.diagnostics.figures import save_figure

POLICIES = ("first", "split", "random")
ORDERS = ("ReLU then pool", "pool then ReLU", "ReLU, quantise, pool")
STEPS = 150


def one_window():
    """The gradient of a 2x2 window [[1, 3], [3, 0]] (two tied maxima) under each policy, and PyTorch's."""
    grads = {}
    for ties in POLICIES:
        rg.manual_seed(0)
        x = rg.tensor([[[[1.0, 3.0], [3.0, 0.0]]]], requires_grad=True)
        F.max_pool2d(x, 2, ties=ties).sum().backward()
        grads[ties] = x.grad.numpy()[0, 0]
    try:
        import torch
    except ImportError:
        return grads
    x = torch.tensor([[[[1.0, 3.0], [3.0, 0.0]]]], requires_grad=True)
    torch.nn.functional.max_pool2d(x, 2).sum().backward()
    grads["pytorch"] = x.grad.numpy()[0, 0]
    return grads


def make_images(n=256, seed=0):
    """8x8 binary images: a horizontal (class 0) or vertical (class 1) bar of 1s, plus 3 random pixels set."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    images = np.zeros((n, 1, 8, 8), np.float32)
    for i, (label, where) in enumerate(zip(labels, rng.integers(0, 7, size=n))):
        if label == 0:
            images[i, 0, where:where + 2, :] = 1
        else:
            images[i, 0, :, where:where + 2] = 1
    noise = rng.integers(0, 64, size=(n, 3))
    np.put_along_axis(images.reshape(n, 64), noise, 1.0, axis=1)
    return rg.tensor(images), rg.tensor(labels)


def quantise(a, step=0.5):
    """round(a / step) * step forward, identity backward (the straight-through estimator of quantised training)."""
    return a + (rg.round(a / step) * step - a).detach()


class SmallCNN(nn.Module):
    """conv 3x3 -> ReLU -> max-pool 2x2 -> linear, with one of three orders around the pool:
    "ReLU then pool"; "pool then ReLU" (the same function: max and ReLU commute, but the ties are
    between conv outputs, not zeros); "ReLU, quantise, pool" (activations rounded to steps of 0.5)."""

    def __init__(self, ties, order="ReLU then pool"):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2, ties=ties)
        self.fc = nn.Linear(4 * 3 * 3, 2)
        self.order = order

    def forward(self, x):
        a = self.conv(x)
        if self.order == "pool then ReLU":
            a = F.relu(self.pool(a))
        elif self.order == "ReLU, quantise, pool":
            a = self.pool(quantise(F.relu(a)))
        else:
            a = self.pool(F.relu(a))
        return self.fc(a.flatten(1))


def tie_fractions(model, images):
    """The fraction of pooling windows whose maximum is shared by two or more entries: of the ReLU's
    output (ties among zeros included), and of the conv output with a positive tied maximum."""
    with rg.no_grad():
        a = model.conv(images).numpy()[:, :, :6, :6]
    windows = a.reshape(*a.shape[:2], 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    relu_windows = np.maximum(windows, 0)
    tied = (relu_windows == relu_windows.max(1, keepdims=True)).sum(1) > 1
    tied_positive = ((windows == windows.max(1, keepdims=True)).sum(1) > 1) & (windows.max(1) > 0)
    return float(np.mean(tied)), float(np.mean(tied_positive))


def train(ties, images, labels, order, seed=0):
    rg.manual_seed(seed)  # the same initial weights for every policy
    model = SmallCNN(ties, order)
    optimizer = rg.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
    return model, losses


def draw_losses(curves):
    """Plot the loss curve of each tie policy (saved only when the docs build asks for figures)."""
    def draw(figure):
        axes = figure.add_subplot()
        for ties, losses in curves.items():
            axes.plot(losses, label=f'ties="{ties}"')
        axes.set(xlabel="SGD step", ylabel="training loss", yscale="log",
                 title="max-pool tie policies, quantised activations")
        axes.legend()
    save_figure("maxpool_ties.png", draw, size=(6, 3.5))


def main():
    grads = one_window()
    print("the window [[1, 3], [3, 0]] has two maxima; the gradient each entry receives (g = 1):")
    for name, grad in grads.items():
        print(f"  {name:<8} {grad.ravel()}")
    images, labels = make_images()
    rg.manual_seed(0)
    all_tied, positive_tied = tie_fractions(SmallCNN("first"), images)
    print(f"\n8x8 binary bar images, conv 3x3, ReLU and max-pool 2x2, linear; {STEPS} SGD steps from the same init")
    print(f"pooling windows with a tie at the start: {all_tied:.0%} after the ReLU, {positive_tied:.0%} with a "
          "positive tied maximum")
    finals, curves = {}, {}
    print("                          final loss, by tie policy")
    print("  order                   " + "".join(f"{t:>10}" for t in POLICIES) + "    spread")
    for order in ORDERS:
        finals[order] = {}
        for ties in POLICIES:
            _, losses = train(ties, images, labels, order)
            finals[order][ties] = losses[-1]
            curves[order, ties] = losses
        values = list(finals[order].values())
        spread = (max(values) - min(values)) / min(values)
        finals[order]["spread"] = spread
        print(f"  {order:<22}  " + "".join(f"{finals[order][t]:10.4f}" for t in POLICIES) + f"    {spread:.1%}")
    with rg.no_grad():
        rg.manual_seed(0)
        quantised = quantise(F.relu(SmallCNN("first").conv(images))).numpy()[:, :, :6, :6]
    windows = quantised.reshape(-1, 4, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    quantised_tied = float(np.mean(((windows == windows.max(1, keepdims=True)).sum(1) > 1) & (windows.max(1) > 0)))
    winners = []
    for seed in (1, 2):
        losses = {ties: train(ties, images, labels, "ReLU, quantise, pool", seed)[1][-1] for ties in POLICIES}
        winners.append(min(losses, key=losses.get))
        print(f"  quantised, init seed {seed}: " + ", ".join(f"{t} {v:.4f}" for t, v in losses.items()))
    print("\nReLU then pool: the ties are among zeros, where relu'(0) = 0 stops the gradient whichever entry gets")
    print("it. Pool then ReLU is the same function, its ties are between positive conv outputs, and still the")
    print("policies agree: entries tied because their input patches are identical give the same weight gradient")
    print("(dL/dw sums g * patch) whichever of them receives g. Quantised activations tie entries whose patches")
    print(f"differ ({quantised_tied:.0%} of the windows hold a positive tie at the start): there the policies train")
    print("differently, and which ends lowest changes with the initial weights. Each is a valid subgradient.")
    draw_losses({ties: curves["ReLU, quantise, pool", ties] for ties in POLICIES})
    return {"window_grads": grads, "tie_fraction": all_tied, "positive_tie_fraction": positive_tied,
            "quantised_positive_tie_fraction": quantised_tied, "final_losses": finals,
            "quantised_winners": [min(POLICIES, key=finals["ReLU, quantise, pool"].get)] + winners,
            "first_loss": curves["ReLU then pool", "first"][0]}


if __name__ == "__main__":
    main()
