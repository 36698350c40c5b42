"""Why gradients rather than metaheuristics? Backprop against genetic algorithms: a rule of thumb?

Question: "Why does everyone train networks with gradients rather than with a genetic algorithm or another
metaheuristic? Is there a rule of thumb for when backprop wins?"

Answer: a loss evaluation tells you one number; a backward pass tells you all n partial derivatives, for the
price of about two more forward passes. Anything that learns a direction from loss values alone needs on the
order of n evaluations per step: a finite-difference gradient exactly 2n, a population method (ES, CMA-ES, a
GA) a population and many generations whose count grows with n. Measured here on one problem at growing n:

    1. the price of a gradient: the time of forward + backward over the time of a forward pass (~2-3x)
    2. loss evaluations to bring the loss of an n-parameter linear regression below 1% of its start:
       backprop (gradient descent), gradient descent on central differences (2n evaluations a step),
       OpenAI-ES and CMA-ES (retrograd.gradfree at their defaults); backprop's stay flat (~5 steps),
       finite differences' and CMA-ES's grow about in proportion to n, and at n = 100 they need ~160x and
       ~500x backprop's evaluations, ES over 1,000x

The rule of thumb: with a gradient, the cost of a step does not depend on n; without one it grows with n, so
past a few hundred parameters backprop wins by orders of magnitude whenever the loss is differentiable. The
metaheuristics earn their cost where there is no gradient (a simulator, a non-differentiable metric, discrete
choices) or where a population's evaluations run in parallel on many machines.

    python examples/gradients_vs_metaheuristics.py
"""
import time

import numpy as np

import retrograd as rg
from retrograd import gradfree, nn
from retrograd.nn.utils import parameters_to_vector, vector_to_parameters

TARGET = 0.01  # stop when the loss is below 1% of the loss at the start


def regression(n, seed=0):
    """A linear model Linear(n, 1) and its MSE objective on 4n samples of y = x . w* (a zero-loss answer): with
    4n standard normal inputs the Hessian's eigenvalues lie in about [0.5, 4.5] at every n (Marchenko-Pastur),
    so gradient descent with one learning rate (0.4) converges at the same rate whatever n."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4 * n, n))
    y = x @ rng.standard_normal((n, 1))
    rg.manual_seed(seed)
    model = nn.Linear(n, 1, bias=False).double()
    return model, gradfree.BatchLoss(nn.MSELoss(), x, y)


def seconds(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def gradient_price(hidden=256, batch=256, features=64, rounds=15):
    """(forward seconds, forward + backward seconds, their ratio) for one step of a features-hidden-10 MLP: the
    median over `rounds` of each, and the median of the per-round ratios, the two timed back to back (on a shared
    machine a single call may wait for a core; the ratio within a round is what carries over)."""
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, 10))
    x, y = rg.randn(batch, features), rg.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def forward():
        with rg.no_grad():
            loss_fn(model(x), y)

    def forward_backward():
        model.zero_grad()
        loss_fn(model(x), y).backward()

    times = np.array([(seconds(forward), seconds(forward_backward)) for _ in range(rounds + 5)])[5:]  # 5 warm-ups
    return float(np.median(times[:, 0])), float(np.median(times[:, 1])), float(np.median(times[:, 1] / times[:, 0]))


def descend(model, objective, target, lr, budget, finite_differences=False, eps=1e-6):
    """Gradient descent until the loss is below `target`: the gradient from backprop (one evaluation a step) or
    from central differences (2n evaluations a step); returns the evaluations used (None past the budget)."""
    parameters = list(model.parameters())
    evaluations = 0
    while evaluations <= budget:
        model.zero_grad()
        loss = objective(model)
        evaluations += 1
        if loss.item() < target:
            return evaluations
        if finite_differences:
            gradient, evaluations = central_differences(model, objective, parameters, eps), evaluations + 2 * sum(
                p.numel() for p in parameters)
        else:
            loss.backward()
            gradient = parameters_to_vector([p.grad for p in parameters]).numpy()
        with rg.no_grad():
            vector = parameters_to_vector(parameters).numpy() - lr * gradient
            vector_to_parameters(rg.from_numpy(vector), parameters)
    return None


def central_differences(model, objective, parameters, eps):
    """(f(w + eps e_i) - f(w - eps e_i)) / 2 eps for every i: 2n loss evaluations for one gradient."""
    with rg.no_grad():
        w = parameters_to_vector(parameters).numpy().copy()
        gradient = np.empty_like(w)
        for i in range(len(w)):
            losses = []
            for sign in (1, -1):
                shifted = w.copy()
                shifted[i] += sign * eps
                vector_to_parameters(rg.from_numpy(shifted), parameters)
                losses.append(objective(model).item())
            gradient[i] = (losses[0] - losses[1]) / (2 * eps)
        vector_to_parameters(rg.from_numpy(w), parameters)
    return gradient


def population(model, objective, target, method, budget):
    """Evaluations `gradfree.minimize` needed to get below `target` (None: not within the budget)."""
    result = gradfree.minimize(model, objective, method=method, budget=budget, seed=0, progress=False,
                               callback=lambda row: row["best"] < target)
    history = result.history
    reached = history.best < target
    return int(history.nfev[np.argmax(reached)]) if reached.any() else None


def main(sizes=(10, 30, 100), budget=10_000):
    forward, forward_backward, price = gradient_price()
    print(f"1. a 64-256-10 MLP on a batch of 256: forward {forward * 1e3:.2f} ms, forward + backward "
          f"{forward_backward * 1e3:.2f} ms (medians): one gradient, all {64 * 256 + 256 + 2570:,} partial "
          f"derivatives, costs {price:.1f} forward passes.")
    print(f"\n2. evaluations of the loss until it is below {TARGET:.0%} of its start, linear regression with n "
          f"parameters (4n samples); '-' = not within {budget:,}:")
    methods = ("backprop", "finite differences", "es", "cma")
    print(f"   {'n':>5} " + " ".join(f"{name:>18}" for name in methods))
    table = {}
    for n in sizes:
        model, objective = regression(n)
        with rg.no_grad():
            target = TARGET * objective(model).item()
        start = [p.detach().clone() for p in model.parameters()]
        row = {}
        for method in methods:
            with rg.no_grad():
                for parameter, value in zip(model.parameters(), start):
                    parameter.copy_(value)
            if method in ("backprop", "finite differences"):
                row[method] = descend(model, objective, target, lr=0.4, budget=budget,
                                      finite_differences=method == "finite differences")
            else:
                row[method] = population(model, objective, target, method, budget)
        table[n] = row
        print(f"   {n:>5} " + " ".join(f"{'-' if row[m] is None else format(row[m], ','):>18}" for m in methods))
    low, high = sizes[0], sizes[-1]
    growth = {m: table[high][m] / table[low][m] for m in methods if table[high][m] and table[low][m]}
    times_backprop = {m: table[high][m] / table[high]["backprop"] for m in methods[1:] if table[high][m]}
    print(f"\nFrom n = {low} to n = {high} ({high // low}x the parameters) the evaluations grow " +
          ", ".join(f"{growth[m]:.1f}x ({m})" for m in growth) + ";")
    print(f"at n = {high} the methods that see only loss values need " +
          ", ".join(f"{times_backprop[m]:,.0f}x ({m})" for m in times_backprop) + " backprop's evaluations.")
    print("Backprop's count does not depend on n; finite differences pay 2n + 1 evaluations for each of its steps; "
          "CMA-ES needs more generations as n grows; ES, at its default step size, is slow already at n = 10.")
    return {"forward_s": forward, "forward_backward_s": forward_backward, "gradient_price": price,
            "evaluations": table, "growth": growth, "times_backprop": times_backprop}


if __name__ == "__main__":
    main()
