"""Divergence and the initial loss: why is the first loss ln C, and what does divergence look like?

1. A freshly initialised classifier has small logits, so softmax gives every one of the C classes
   about 1/C and the cross-entropy -ln p_y is about ln C (2.303 for 10 classes). A first loss far
   above ln C means the initial logits are large (weights too big, inputs not scaled): the model is
   confidently wrong before it learned anything.
2. A learning-rate sweep on the same MLP: too small crawls, a good one drops fast, too large
   oscillates above ln C (worse than guessing) or blows up to inf/NaN: divergence.
"""
import math

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.data.mnist import load_embedded_mnist
from retrograd.diagnostics.figures import save_figure

LEARNING_RATES = (0.01, 0.1, 0.5, 2.0, 20.0, 1000.0)
STEPS = 60


def make_data(n=2000):
    images, labels = load_embedded_mnist()
    return rg.tensor(images[:n].reshape(n, -1).astype(np.float32) / 255), rg.tensor(labels[:n])


def make_mlp(weight_scale=1.0, seed=0):
    rg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    with rg.no_grad():
        for p in model.parameters():
            p.mul_(weight_scale)
    return model


def initial_losses():
    """{C: (first cross-entropy of a Linear(32, C) classifier at PyTorch's default init, variance of its logits)}."""
    rg.manual_seed(0)
    x = rg.randn(512, 32)
    losses = {}
    for classes in (2, 10, 100, 1000):
        y = rg.randint(0, classes, (512,))
        with rg.no_grad():
            logits = nn.Linear(32, classes)(x)
            losses[classes] = (nn.functional.cross_entropy(logits, y).item(), float(logits.numpy().var()))
    return losses


def sweep(x, y, batch=100):
    curves = {}
    for lr in LEARNING_RATES:
        model = make_mlp()
        optimizer = rg.optim.SGD(model.parameters(), lr=lr)
        curve = []
        with np.errstate(over="ignore", invalid="ignore"):
            for step in range(STEPS):
                start = (step * batch) % len(x)
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(x[start:start + batch]), y[start:start + batch])
                loss.backward()
                optimizer.step()
                curve.append(loss.item())
                if not math.isfinite(curve[-1]):
                    break
        curves[lr] = curve
    return curves


def main():
    by_classes = initial_losses()
    print("1. First cross-entropy of a fresh Linear(32, C) classifier (default init) on 512 random inputs;")
    print("   for logits of small variance v, the expected loss is ~ ln C + (1 - 1/C) v / 2:")
    for classes, (loss, variance) in by_classes.items():
        print(f"   C = {classes:>4}   loss {loss:.4f}   ln C = {math.log(classes):.4f}   logit variance {variance:.3f}"
              f"   ln C + (1 - 1/C) v/2 = {math.log(classes) + (1 - 1 / classes) * variance / 2:.4f}")
    x, y = make_data()
    with rg.no_grad():
        first = {scale: nn.functional.cross_entropy(make_mlp(scale)(x), y).item() for scale in (1.0, 10.0)}
    print(f"   784-64-10 ReLU MLP on MNIST: {first[1.0]:.4f} at the default init; with every weight x 10: "
          f"{first[10.0]:.2f} (logits 100x larger: confidently wrong)")

    curves = sweep(x, y)
    print(f"\n2. Learning-rate sweep: SGD, batch 100, {STEPS} steps (loss of the batch):")
    print("        lr     step 1    step 10    step 30       last    highest   verdict")
    verdicts = {}
    for lr, curve in curves.items():
        picks = [curve[i] if i < len(curve) else float("nan") for i in (0, 9, 29)] + [curve[-1], max(curve)]
        if not math.isfinite(curve[-1]):
            verdicts[lr] = f"diverged: inf/NaN at step {len(curve)}"
        elif max(curve) > 10 * curve[0]:
            verdicts[lr] = "diverged: the loss exploded"
        elif np.mean(curve[-10:]) > math.log(10):
            verdicts[lr] = "diverged: worse than guessing (> ln 10)"
        elif curve[-1] > 0.5 * curve[0]:
            verdicts[lr] = "barely learns"
        else:
            verdicts[lr] = "trains"
        print(f"   {lr:7.2f}   " + "  ".join(f"{v:9.3g}" for v in picks) + f"   {verdicts[lr]}")
    print("   (the first loss is the same for every lr: it is measured before the first update)")

    def draw(figure):
        ax = figure.subplots()
        for lr, curve in curves.items():
            ax.plot(range(1, len(curve) + 1), np.minimum(curve, 20), label=f"lr = {lr}")
        ax.axhline(math.log(10), color="k", linestyle="--", label="ln 10")
        ax.set(xlabel="step", ylabel="batch loss (clipped at 20)", ylim=(0, 20), title="learning-rate sweep")
        ax.legend()
    save_figure("lr_sweep.png", draw)
    return {"initial_by_classes": by_classes, "initial_mlp": first, "curves": curves, "verdicts": verdicts}


if __name__ == "__main__":
    main()
