"""My hand-written 3-hidden-unit network stalls: the loss stops falling long before it fits. Why?

Question: "I wrote backprop by hand in NumPy for a small network (3 inputs, 3 sigmoid hidden units,
3 sigmoid outputs, squared error). It learns a little, then the loss stays flat however long I
train. The gradient norms look fine. What is wrong?"

The bug: the hidden layer's delta is sent back through the wrong weight matrix. The error at the
hidden units is delta_h = (delta_out @ W_out) * h (1 - h): it comes back through the weights it
went out through, the output layer's. The code below uses the hidden layer's own W_hidden; both
are 3 x 3, so nothing crashes and the output layer's gradient is still right, so the loss falls
at first (the output layer learns) and then stalls (the hidden layer follows a wrong direction).

retrograd's tools, in the order a person would use them:
  1. `diagnostics.training_stalled` on the loss history: stalled (and by how much it still falls);
  2. `diagnostics.check_model` on the same network: "no problems found" -- the network is healthy,
     nothing vanishes or saturates: it checks the model, not the hand-written backward;
  3. `diagnostics.compare_gradients(my_backward, model, loss_fn, batch)`: runs the hand-written
     backward and autograd side by side and names the first layer whose gradient differs: `hidden`.
The fix is one matrix; with it the same training goes on falling.

    python examples/stalled_network.py
"""
import numpy as np

import retrograd as rg
from retrograd import diagnostics, nn
from retrograd.diagnostics.figures import save_figure

STEPS, LR = 20_000, 2.0
WINDOW = 500  # training_stalled judges the last 500 steps: is the loss still falling over that many?


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def make_data(seed=0):
    """64 points in [-2, 2]^3 and the outputs of a random 3-3-3 sigmoid 'teacher' network: a 3-hidden-unit
    student can fit them exactly, so a loss that stops falling is the training's fault, not the model's."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (64, 3))
    w1, b1, w2, b2 = rng.normal(size=(3, 3)) * 2, rng.normal(size=3), rng.normal(size=(3, 3)) * 2, rng.normal(size=3)
    return x, sigmoid(sigmoid(x @ w1.T + b1) @ w2.T + b2)


def initial_params(seed=1):
    """PyTorch's names and layouts ((out, in) weights), so that retrograd's twin model loads them unchanged."""
    rng = np.random.default_rng(seed)
    return {"hidden.weight": rng.uniform(-0.5, 0.5, (3, 3)), "hidden.bias": rng.uniform(-0.5, 0.5, 3),
            "output.weight": rng.uniform(-0.5, 0.5, (3, 3)), "output.bias": rng.uniform(-0.5, 0.5, 3)}


def forward(params, x):
    hidden = sigmoid(x @ params["hidden.weight"].T + params["hidden.bias"])  # (N, 3)
    return hidden, sigmoid(hidden @ params["output.weight"].T + params["output.bias"])  # (N, 3)


def loss_of(params, x, y):
    return float(np.mean((forward(params, x)[1] - y) ** 2))


def buggy_backward(params, x, y):
    """The asker's backward pass, as written: the hidden delta goes back through the hidden layer's weights."""
    hidden, out = forward(params, x)
    delta_out = 2 * (out - y) / y.size * out * (1 - out)  # dL/dz_out of mean((out - y)^2): (N, 3)
    delta_hidden = (delta_out @ params["hidden.weight"]) * hidden * (1 - hidden)  # BUG: should be output.weight
    return {"hidden.weight": delta_hidden.T @ x, "hidden.bias": delta_hidden.sum(axis=0),
            "output.weight": delta_out.T @ hidden, "output.bias": delta_out.sum(axis=0)}


def fixed_backward(params, x, y):
    """The same pass with the one-matrix fix: delta_h = (delta_out @ W_out) * h (1 - h)."""
    hidden, out = forward(params, x)
    delta_out = 2 * (out - y) / y.size * out * (1 - out)
    delta_hidden = (delta_out @ params["output.weight"]) * hidden * (1 - hidden)
    return {"hidden.weight": delta_hidden.T @ x, "hidden.bias": delta_hidden.sum(axis=0),
            "output.weight": delta_out.T @ hidden, "output.bias": delta_out.sum(axis=0)}


def train(backward, x, y, steps=STEPS):
    """Full-batch gradient descent with a hand-written backward; returns the final parameters and the losses."""
    params = initial_params()
    losses = []
    for _ in range(steps):
        losses.append(loss_of(params, x, y))
        grads = backward(params, x, y)
        for name in params:
            params[name] -= LR * grads[name]
    return params, losses


class Net(nn.Module):
    """retrograd's twin of the hand-written network (same names, so compare_gradients can pair them)."""

    def __init__(self):
        super().__init__()
        self.hidden, self.hidden_act = nn.Linear(3, 3), nn.Sigmoid()
        self.output, self.output_act = nn.Linear(3, 3), nn.Sigmoid()

    def forward(self, x):
        return self.output_act(self.output(self.hidden_act(self.hidden(x))))


def twin(params):
    model = Net().double()
    model.load_state_dict({name: rg.tensor(value, dtype=rg.float64) for name, value in params.items()})
    return model


def draw_losses(buggy_losses, fixed_losses):
    """The two loss curves, saved only when the docs build asks for figures."""
    def draw(figure):
        axes = figure.subplots()
        axes.semilogy(buggy_losses, label="hidden delta through W_hidden (bug)")
        axes.semilogy(fixed_losses, label="hidden delta through W_out (fixed)")
        axes.set(xlabel="step", ylabel="mean squared error", title="3-hidden-unit network")
        axes.legend()
    save_figure("stalled_network.png", draw, size=(6, 3.5))


def main():
    x, y = make_data()
    buggy_params, buggy_losses = train(buggy_backward, x, y)
    stalled, stalled_reason = diagnostics.training_stalled(buggy_losses, window=WINDOW)
    print(f"1. The hand-written network, {STEPS:,} steps of gradient descent (lr {LR}):")
    checkpoints = (0, 2_000, 5_000, 10_000, STEPS - 1)
    print("   " + ", ".join(f"step {step:,}: {buggy_losses[step]:.4f}" for step in checkpoints))
    print(f"   training_stalled: {stalled} ({stalled_reason})")

    model = twin(buggy_params)
    health = diagnostics.check_model(model, nn.MSELoss(), (rg.tensor(x), rg.tensor(y)))
    print("\n2. check_model on the same network (autograd's own gradients):")
    print("   " + str(health).replace("\n", "\n   "))

    comparison = diagnostics.compare_gradients(buggy_backward, model, nn.MSELoss(), (x, y))
    print("\n3. compare_gradients(buggy_backward, model, nn.MSELoss(), (x, y)):")
    print("   " + str(comparison).replace("\n", "\n   "))

    fixed_comparison = diagnostics.compare_gradients(fixed_backward, model, nn.MSELoss(), (x, y))
    worst_fixed = max(row["relative_error"] for row in fixed_comparison.rows)
    fixed_params, fixed_losses = train(fixed_backward, x, y)
    fixed_stalled, fixed_reason = diagnostics.training_stalled(fixed_losses, window=WINDOW)
    print("\n4. The fix: delta_hidden = (delta_out @ W_out) * h * (1 - h)")
    print(f"   compare_gradients: {'no problems found' if fixed_comparison.healthy else fixed_comparison.problems}"
          f" (largest relative error {worst_fixed:.1e})")
    print(f"   loss after {STEPS:,} steps: {fixed_losses[-1]:.2e} against {buggy_losses[-1]:.2e} with the bug "
          f"({buggy_losses[-1] / fixed_losses[-1]:.0f}x lower)")
    print(f"   training_stalled: {fixed_stalled} ({fixed_reason})")
    draw_losses(buggy_losses, fixed_losses)
    first = comparison.first_difference
    return {"buggy_final_loss": buggy_losses[-1], "fixed_final_loss": fixed_losses[-1],
            "buggy_stalled": stalled, "fixed_stalled": fixed_stalled, "check_model_healthy": health.healthy,
            "first_layer": first["layer"], "first_parameter": first["parameter"],
            "first_relative_error": first["relative_error"],
            "differing": [row["parameter"] for row in comparison.rows if row["verdict"] != "ok"],
            "fixed_healthy": fixed_comparison.healthy, "fixed_worst_relative_error": worst_fixed}


if __name__ == "__main__":
    main()
