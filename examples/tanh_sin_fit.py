"""Why can't my tanh network fit sin(x)?

The asker's network: x in [0, 2 pi] goes through tanh first ("to normalise it"), then a hidden tanh
layer, then a tanh output, no biases anywhere; after 10,000 iterations it still cannot fit sin(x).

Two bugs, which retrograd's diagnostics find:
1. tanh on the raw input: tanh(x) > 0.99 for every x > 2.65, so 58% of the inputs reach the
   network as (almost) the same number 1.0: from there on sin(3) = 0.14 and sin(3 pi / 2) = -1 are
   indistinguishable. `diagnostics.activation_health` reports that input layer as saturated.
2. no biases: every unit computes tanh(w * input) through the origin, an odd function of its input,
   and nothing can shift it; with the input squashed into (0, 1) the network cannot bend back down.
Scaling the input to [-1, 1] instead of squashing it fixes most of it; biases fix the rest (the tanh
output is fine for a target in [-1, 1]).
"""
import math
import time

import numpy as np

import retrograd as rg
from retrograd import diagnostics, nn
from retrograd.diagnostics.figures import save_figure

STEPS = 4000  # the asker ran 10,000: their loss only creeps (printed below)
HIDDEN = 16


def make_data(n=200):
    x = np.linspace(0, 2 * math.pi, n).reshape(-1, 1)
    return rg.tensor(x), rg.tensor(np.sin(x))


class ScaleInput(nn.Module):
    """The fix for the input: map [0, 2 pi] linearly onto [-1, 1] (no squashing)."""

    def forward(self, x):
        return x / math.pi - 1


def make_model(input_layer, bias, seed=0):
    rg.manual_seed(seed)
    return nn.Sequential(input_layer, nn.Linear(1, HIDDEN, bias=bias), nn.Tanh(),
                         nn.Linear(HIDDEN, 1, bias=bias), nn.Tanh()).double()


def train(model, x, y, steps=STEPS):
    optimizer = rg.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def main():
    x, y = make_data()
    variants = {  # name: (input layer, biases)
        "asker's: tanh(x) input, no biases": (nn.Tanh(), False),
        "input scaled to [-1, 1], no biases": (ScaleInput(), False),
        "tanh(x) input, biases": (nn.Tanh(), True),
        "input scaled to [-1, 1], biases": (ScaleInput(), True),
    }
    results, curves, models = {}, {}, {}
    start = time.perf_counter()
    for name, (input_layer, bias) in variants.items():
        model = make_model(input_layer, bias)
        curves[name] = train(model, x, y)
        models[name] = model
        results[name] = curves[name][-1]
    seconds = time.perf_counter() - start

    asker, fixed = models["asker's: tanh(x) input, no biases"], models["input scaled to [-1, 1], biases"]
    health = diagnostics.activation_health(asker, x)
    report = diagnostics.check_model(asker, nn.functional.mse_loss, (x, y))  # gradient flow + activation health
    squashed = float(np.mean(np.tanh(x.numpy()) > 0.99))
    print(f"sin(x) on 200 points of [0, 2 pi], {HIDDEN} hidden tanh units, Adam(lr=0.01), {STEPS} full-batch steps "
          f"({seconds:.1f} s for all four):\n")
    for name, loss in results.items():
        print(f"  {name:<38} final MSE {loss:.2e}")
    plateau = curves[next(iter(curves))]
    fixed_curve = curves["input scaled to [-1, 1], biases"]
    print(f"\nthe asker's loss at steps 1000, 2000, 4000: {plateau[999]:.4f}, {plateau[1999]:.4f}, {plateau[-1]:.4f}"
          f" (creeping); the fixed network's at step 1000: {fixed_curve[999]:.4f}")
    print(f"\n{squashed:.0%} of the inputs leave tanh(x) above 0.99. diagnostics.check_model on the asker's network"
          f" (after training):")
    print(report)
    print("\nThe fixed network, checked the same way:")
    print(diagnostics.activation_health(fixed, x))
    with rg.no_grad():
        worst = float(np.max(np.abs(fixed(x).numpy() - y.numpy())))
        asker_worst = float(np.max(np.abs(asker(x).numpy() - y.numpy())))
    print(f"\nlargest error |f(x) - sin(x)|: asker's {asker_worst:.2f}, fixed {worst:.3f}")

    def draw(figure):
        left, right = figure.subplots(1, 2)
        with rg.no_grad():
            for name in (next(iter(models)), "input scaled to [-1, 1], biases"):
                left.plot(x.numpy(), models[name](x).numpy(), label=name)
        left.plot(x.numpy(), y.numpy(), "k--", label="sin(x)")
        left.set(xlabel="x", title="fit after training")
        left.legend(fontsize=7)
        for name, curve in curves.items():
            right.semilogy(curve, label=name)
        right.set(xlabel="step", ylabel="MSE", title="training loss")
        right.legend(fontsize=7)
    save_figure("fit.png", draw, size=(10, 4))
    return {"final_mse": results, "input_saturated_fraction": squashed,
            "health_problems": health.problems, "check_model_problems": report.problems, "fixed_health_problems": diagnostics.activation_health(fixed, x).problems,
            "asker_plateau": (plateau[999], plateau[1999], plateau[-1]), "fixed_at_1000": fixed_curve[999], "max_error_asker": asker_worst, "max_error_fixed": worst}


if __name__ == "__main__":
    main()
