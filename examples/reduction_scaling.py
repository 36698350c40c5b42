"""reduction='sum' vs reduction='mean': the gradient differs by exactly the number of averaged terms.

Question: "My gradients are N times larger when I sum the loss over the batch instead of averaging
it. Is that expected, and what should I do with the learning rate?"

Answer: yes. L_mean = L_sum / N, and differentiation is linear, so every gradient of the mean is
the gradient of the sum divided by N -- for every parameter and every entry. N is the number of
terms the mean averages over: the batch size for CrossEntropyLoss (one term per example), but
the number of *elements* (batch x outputs) for MSELoss. A step with lr on the mean loss equals a
step with lr / N on the summed loss, so summing needs a learning rate N times smaller, which
then depends on the batch size; averaging keeps the gradient's scale independent of it.

    python examples/reduction_scaling.py
"""
import numpy as np

import retrograd as rg
from retrograd import nn


def gradient_ratios(loss_class, batch_size, n_out=3, seed=0):
    """sum-gradient / mean-gradient for every parameter entry of a Linear(5, n_out) model: (min, max)."""
    rng = np.random.default_rng(seed + batch_size)
    rg.manual_seed(seed)
    model = nn.Linear(5, n_out).double()
    x = rg.tensor(rng.normal(size=(batch_size, 5)), dtype=rg.float64)
    if loss_class is nn.CrossEntropyLoss:
        target = rg.tensor(rng.integers(0, n_out, size=batch_size))
    else:
        target = rg.tensor(rng.normal(size=(batch_size, n_out)), dtype=rg.float64)
    grads = {}
    for reduction in ("sum", "mean"):
        model.zero_grad()
        loss_class(reduction=reduction)(model(x), target).backward()
        grads[reduction] = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
    ratio = grads["sum"] / grads["mean"]
    return float(ratio.min()), float(ratio.max())


def same_step(batch_size=8, lr=0.1, seed=0):
    """One SGD step with lr on the mean loss vs lr / N on the summed loss: max weight difference."""
    rng = np.random.default_rng(seed)
    x = rg.tensor(rng.normal(size=(batch_size, 5)), dtype=rg.float64)
    target = rg.tensor(rng.integers(0, 3, size=batch_size))
    weights = []
    for reduction, step in (("mean", lr), ("sum", lr / batch_size)):
        rg.manual_seed(seed)
        model = nn.Linear(5, 3).double()
        nn.CrossEntropyLoss(reduction=reduction)(model(x), target).backward()
        with rg.no_grad():
            for p in model.parameters():
                p -= step * p.grad
        weights.append(np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
    return float(np.max(np.abs(weights[0] - weights[1])))


def main():
    results = {"cross_entropy": {}, "mse": {}}
    print("gradient(sum) / gradient(mean), min and max over every entry of Linear(5, 3)'s weight and bias")
    print("      N   CrossEntropyLoss          MSELoss (3 outputs)")
    for n in (1, 3, 8, 32, 100):
        ce = gradient_ratios(nn.CrossEntropyLoss, n)
        mse = gradient_ratios(nn.MSELoss, n)
        results["cross_entropy"][n] = ce
        results["mse"][n] = mse
        print(f"   {n:4d}   {ce[0]:9.6f} .. {ce[1]:9.6f}   {mse[0]:10.6f} .. {mse[1]:10.6f}")
    print("CrossEntropyLoss averages over the N examples, so the ratio is N; MSELoss averages over all")
    print("N x 3 elements, so the ratio is 3N. The ratio is the same for every parameter entry.")
    results["same_step_max_difference"] = same_step()
    print(f"\nOne SGD step with lr = 0.1 on the mean loss and lr = 0.1 / 8 on the summed loss (N = 8): the "
          f"weights differ by at most {results['same_step_max_difference']:.1e}.")
    return results


if __name__ == "__main__":
    main()
