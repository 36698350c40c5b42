"""Gradient checking a regularised network, Coursera style (Machine Learning, exercise 4).

Question: "My backprop for the 400-25-10 network with regularisation does not pass the gradient
check. How do I check each gradient numerically, and how do I find *which* one is wrong?"

The network: 400 inputs (20x20 pixel digits), 25 sigmoid hidden units, 10 sigmoid outputs, cost

    J = (1/m) sum_i sum_k [ -y_ik log h_ik - (1 - y_ik) log(1 - h_ik) ]
        + lambda / (2m) * (sum of squared weights of both layers, biases excluded)

whose regularisation gradient is (lambda / m) * W for the weights and 0 for the biases.
`autograd.gradcheck_model` perturbs parameter entries by +-eps (a seeded sample of 20 per parameter;
Coursera's checkNNGradients checks every entry of a tiny network instead), compares the central
differences (J(w + eps) - J(w - eps)) / 2 eps with backprop's gradient, and reports per parameter. We run it
twice: with the regulariser computed by the tape (passes), then with a hand-written backward
that has the classic bug -- forgetting the factor 2 of d(w^2)/dw -- on the output layer only.
The report fails and names that parameter.

    python examples/coursera_gradcheck.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F
from retrograd import autograd, nn


class CourseraNet(nn.Module):
    """400-25-10 with sigmoid units everywhere (the output is a probability per class)."""

    def __init__(self, n_in=400, n_hidden=25, n_out=10):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.output = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return rg.sigmoid(self.output(rg.sigmoid(self.hidden(x))))


def squared_sum(weight):
    """sum(W^2), differentiated by the tape: d/dW = 2 W."""
    return (weight * weight).sum()


class BuggySquaredSum(autograd.Function):
    """sum(W^2) with a hand-written backward that forgets the factor 2 (returns W, not 2 W)."""

    @staticmethod
    def forward(ctx, weight):
        ctx.save_for_backward(weight)
        return (weight * weight).sum()

    @staticmethod
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensors
        return grad_output * weight  # BUG: d(w^2)/dw = 2w


def coursera_cost(model, lam, output_penalty=squared_sum):
    """J(h, Y) as a loss function of (model output, one-hot targets); the regulariser reads the model's weights."""

    def cost(h, y):
        m = h.shape[0]
        data_term = F.binary_cross_entropy(h, y, reduction="sum") / m
        penalty = squared_sum(model.hidden.weight) + output_penalty(model.output.weight)
        return data_term + lam / (2 * m) * penalty

    return cost


def make_problem(m=20, seed=0):
    """Random inputs and labels (gradient checking does not need real digits), float64 model."""
    rng = np.random.default_rng(seed)
    rg.manual_seed(seed)
    model = CourseraNet().double()
    x = rg.tensor(rng.normal(size=(m, 400)), dtype=rg.float64)
    labels = rng.integers(0, 10, size=m)
    y = rg.tensor(np.eye(10)[labels], dtype=rg.float64)
    return model, x, y


def main(lam=3.0):
    results = {}
    model, x, y = make_problem()

    good = autograd.gradcheck_model(model, coursera_cost(model, lam), (x, y))
    print("1. regulariser differentiated by the tape")
    print(good)
    results["correct_passed"] = bool(good.passed)
    results["correct_rows"] = [(row.name, row.checked, row.total, row.max_abs_err, row.passed) for row in good]

    bad = autograd.gradcheck_model(model, coursera_cost(model, lam, BuggySquaredSum.apply), (x, y))
    print("\n2. hand-written regulariser backward for output.weight that forgets the factor 2")
    print(bad)
    results["buggy_passed"] = bool(bad.passed)
    results["buggy_rows"] = [(row.name, row.checked, row.total, row.max_abs_err, row.passed) for row in bad]
    results["buggy_failing"] = failing_parameters(bad)
    print(f"\nfailing parameters: {results['buggy_failing']} -- the bug's error is lambda/(2m) * W "
          f"= {lam / 40:.3f} * W per entry of output.weight, and nothing else is affected.")
    return results


def failing_parameters(report):
    """Names of the parameters whose row in a gradcheck_model report did not pass."""
    return [row.name for row in report.failed]


if __name__ == "__main__":
    main()
