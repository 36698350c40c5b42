"""The learning rate and the 1/m factor: mean or sum over the batch, and the effective learning rate.

Question: "Andrew Ng's cost has 1/m in front of the sum and his gradient has 1/m too; other code
sums the losses. Where does the 1/m go, and why does my learning rate that worked for 100
examples make training blow up on 10,000?"

Answer: with J_sum = sum_i l_i and J_mean = J_sum / m, the gradients differ by exactly m, so
gradient descent with learning rate lr on J_mean takes the same steps as lr / m on J_sum: the
1/m is part of the *effective* learning rate. Averaging keeps the step's size independent of m;
summing makes it grow with m, so a learning rate tuned on a small batch diverges on a large one.
examples/reduction_scaling.py shows the exact factor for every parameter entry (m for
CrossEntropyLoss, m x outputs for MSELoss); here we train with both and watch it.

Least squares on m examples, y = X w_true + noise, full-batch gradient descent with lr = 0.1 for
50 steps, from w = 0:
  - on the mean loss the final loss is the same small number for every m;
  - on the summed loss the Hessian is 2 X^T X, so gradient descent diverges once lr > 1 / lambda_max(X^T X),
    a bound that shrinks like 1/m: the same lr works for a tiny batch and blows up on a large one;
  - on the summed loss with lr / m it is step for step the mean-loss run.

    python examples/learning_rate_and_batch_mean.py
"""
import numpy as np

import retrograd as rg
from retrograd import nn

FEATURES, STEPS, LR = 5, 50, 0.1


def make_problem(m, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, FEATURES))
    w_true = rng.normal(size=(FEATURES, 1))
    return rg.tensor(x), rg.tensor(x @ w_true + 0.1 * rng.normal(size=(m, 1)))


def train(x, y, reduction, lr):
    """Full-batch gradient descent on MSELoss(reduction); returns the final mean squared error."""
    model = nn.Linear(FEATURES, 1, bias=False).double()
    with rg.no_grad():
        model.weight.zero_()
    optimizer = rg.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss(reduction=reduction)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    with rg.no_grad():
        final = float(nn.MSELoss()(model(x), y).item())
    return final, model.weight.detach().numpy().copy()


def main():
    results = {}
    print(f"least squares, {FEATURES} features, {STEPS} steps of full-batch gradient descent, lr = {LR}")
    print("final mean squared error:")
    print("       m    mean loss, lr    sum loss, lr    sum loss, lr / m    |w(mean) - w(sum, lr/m)|"
          "    largest stable lr on the sum")
    for m in (2, 10, 100, 1000, 10000):
        x, y = make_problem(m)
        mean_loss, mean_w = train(x, y, "mean", LR)
        with np.errstate(over="ignore", invalid="ignore"):
            sum_loss, _ = train(x, y, "sum", LR)
        scaled_loss, scaled_w = train(x, y, "sum", LR / m)
        gap = float(np.max(np.abs(mean_w - scaled_w)))
        critical = float(1 / np.linalg.eigvalsh(x.numpy().T @ x.numpy()).max())  # 1 / lambda_max(X^T X)
        results[m] = {"mean": mean_loss, "sum": sum_loss, "sum_scaled": scaled_loss, "weight_gap": gap,
                      "critical_lr_sum": critical}
        print(f"   {m:5d}    {mean_loss:13.4g}    {sum_loss:12.4g}    {scaled_loss:16.4g}    {gap:22.1e}"
              f"    {critical:.2g}")
    print("\nThe mean loss's gradient is the sum's divided by m, so lr on the mean is lr / m on the sum: the")
    print(f"same weights to rounding. With the sum and a fixed lr = {LR} the step grows with m: it diverges as")
    print("soon as lr exceeds 1 / lambda_max(X^T X), which falls like 1/m. Per-example SGD with lr makes m steps")
    print("per epoch, each of the size a full-batch step on the mean makes once: the sum's scale, spread over time.")
    return results


if __name__ == "__main__":
    main()
