"""How big should the minibatch be?

Measured on a 784-64-10 tanh MLP and 2,000 embedded MNIST digits:
1. Gradient noise: at one fixed point, the minibatch gradient g_B scatters around the full-batch
   gradient g with E||g_B - g||^2 = tr(Sigma) / B (sampling without replacement: times (N - B) /
   (N - 1)). Quadrupling the batch halves the noise's norm.
2. One epoch of SGD with each batch size at the same learning rate: small batches take many noisy
   steps (slow per epoch in Python/NumPy, where each step has a fixed overhead, and on any hardware
   that could process a bigger batch at once); big batches take few accurate steps and, per epoch,
   make less progress.
"""
import time

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.data.mnist import load_embedded_mnist
from retrograd.diagnostics.figures import save_figure

N = 2000
BATCH_SIZES = (1, 4, 16, 64, 256, 1024)
LR = 0.05
DRAWS = 20  # minibatches drawn per batch size to measure the noise


def make_data():
    images, labels = load_embedded_mnist()
    x = images[:N].reshape(N, -1).astype(np.float32) / 255
    return rg.tensor(x), rg.tensor(labels[:N])


def make_model():
    rg.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 64), nn.Tanh(), nn.Linear(64, 10))


def flat_gradient(model, x, y):
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])


def gradient_noise(model, x, y, rng):
    """{B: (measured E||g_B - g||^2, tr(Sigma) / B * (N - B) / (N - 1))} at the model's current weights."""
    full = flat_gradient(model, x, y)
    per_example = [flat_gradient(model, x[i:i + 1], y[i:i + 1]) for i in range(0, N, 10)]  # every 10th example
    trace_sigma = float(np.mean([np.sum((g - full) ** 2) for g in per_example]))
    noise = {}
    for b in BATCH_SIZES:
        draws = []
        for _ in range(DRAWS):
            idx = rng.choice(N, b, replace=False)  # one draw of b examples (inputs and their labels)
            draws.append(flat_gradient(model, x[idx], y[idx]))
        noise[b] = (float(np.mean([np.sum((g - full) ** 2) for g in draws])), trace_sigma / b * (N - b) / (N - 1))
    return noise, float(np.sum(full ** 2))


def one_epoch(batch_size, x, y):
    model = make_model()
    optimizer = rg.optim.SGD(model.parameters(), lr=LR)
    order = np.random.default_rng(0).permutation(N)
    step_times = []
    for i in range(0, N, batch_size):
        start = time.perf_counter()
        idx = order[i:i + batch_size]
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        optimizer.step()
        step_times.append(time.perf_counter() - start)
    # the median step x the number of steps: on a shared machine a few steps can take 10x longer
    seconds = float(np.median(step_times)) * len(step_times)
    with rg.no_grad():
        loss = nn.functional.cross_entropy(model(x), y).item()
    return seconds, loss


def main():
    x, y = make_data()
    noise, full_norm2 = gradient_noise(make_model(), x, y, np.random.default_rng(0))
    print(f"Gradient noise at the initial weights (784-64-10 tanh MLP, cross-entropy, {N} MNIST digits);"
          f" ||g||^2 of the full gradient = {full_norm2:.4f}\n")
    print("  batch   E||g_B - g||^2   tr(Sigma)/B (N-B)/(N-1)   noise/signal")
    for b, (measured, predicted) in noise.items():
        print(f"  {b:>5}   {measured:14.5f}   {predicted:23.5f}   {measured / full_norm2:12.3f}")
    epochs = {b: one_epoch(b, x, y) for b in BATCH_SIZES}
    print(f"\nOne epoch of SGD(lr={LR}) from the same initial weights:\n")
    print("  batch   steps   seconds/epoch (median step x steps)   loss after the epoch")
    for b, (seconds, loss) in epochs.items():
        print(f"  {b:>5}   {-(-N // b):>5}   {seconds:35.3f}   {loss:20.4f}")

    def draw(figure):
        left, right = figure.subplots(1, 2)
        sizes = list(noise)
        left.loglog(sizes, [noise[b][0] for b in sizes], "o-", label="measured")
        left.loglog(sizes, [noise[b][1] for b in sizes], "k--", label="tr(Sigma)/B (N-B)/(N-1)")
        left.set(xlabel="batch size", ylabel="E||g_B - g||^2", title="gradient noise")
        left.legend()
        right.semilogx(sizes, [epochs[b][1] for b in sizes], "o-")
        right.set(xlabel="batch size", ylabel="loss after one epoch", title="progress per epoch")
    save_figure("batch_size.png", draw, size=(10, 4))
    return {"noise": noise, "full_norm2": full_norm2, "epochs": epochs}


if __name__ == "__main__":
    main()
