"""The BPTT derivation exercises: dL/dU, dL/dW, dL/db of a vanilla RNN, and a recurrence that explodes.

Question: "Derive the gradients of a vanilla RNN, s_t = tanh(U x_t + W s_{t-1} + b), o_t = V s_t + c,
with a cross-entropy loss at every step. And: if I make the recurrence residual,
h_t = h_{t-1} + g(h_{t-1}, x_t), why do the gradients explode, and what fixes it?"

Part 1, the derivation. With a_t = U x_t + W s_{t-1} + b and L = sum_t CE(o_t, y_t):
    delta_o_t = softmax(o_t) - onehot(y_t)                    dL/do_t, each step's own loss
    dL/dV = sum_t delta_o_t s_t^T ;  dL/dc = sum_t delta_o_t
    ds_t = V^T delta_o_t + W^T da_{t+1}                         the step's loss, plus what step t+1 sends back
    da_t = ds_t * (1 - s_t^2)                                   through tanh
    dL/dU = sum_t da_t x_t^T ;  dL/dW = sum_t da_t s_{t-1}^T ;  dL/db = sum_t da_t
The sums over t are the point: U, W and b are shared by every step, so each gets one term per step.
`numpy_bptt` below is these lines; retrograd's nn.RNN + nn.Linear gives the same numbers.

Part 2, the residual recurrence h_t = h_{t-1} + g_t, g_t = tanh(W h_{t-1} + U x_t). Its Jacobian is
    dh_t/dh_{t-1} = I + diag(1 - g_t^2) W
and dL/dh_0 = J_1^T ... J_T^T dL/dh_T. Where tanh is not saturated J is close to I + W, and every
eigenvalue lambda of W with a positive real part gives it an eigenvalue 1 + lambda of modulus above 1,
so the product grows with T: the skip connection that saves a *feed-forward* ResNet (where each
layer has its own W) makes a recurrence, which multiplies the same W T times, explode. The fix
that keeps the residual form (AntisymmetricRNN, Chang et al., ICLR 2019): use W - W^T - gamma I
(eigenvalues purely imaginary, shifted slightly left) and a small step eps,
h_t = h_{t-1} + eps * tanh((W - W^T - gamma I) h_{t-1} + U x_t): the Jacobian's eigenvalues stay
near modulus 1 and the gradient neither explodes nor vanishes over these lengths; with eps = 1 it
explodes again. (Gradient clipping, examples/exploding.py, bounds the step but not the product.)
We measure ||dL/dh_0|| against T for a tanh RNN, the residual recurrence and its antisymmetric fix.

    python examples/bptt_derivation.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F
from retrograd import nn
from retrograd.diagnostics.figures import save_figure

T, I, H, C = 6, 3, 5, 4
LENGTHS = (5, 10, 20, 50, 100)
STATE = 16  # the hidden size of part 2


def numpy_bptt(x, y, U, W, b, V, c):
    """Forward and backward of the vanilla RNN with one example, in the derivation's notation."""
    s = [np.zeros(W.shape[0])]  # s[t + 1] = s_t, s[0] = the zero initial state
    deltas = []
    for x_t, y_t in zip(x, y):
        s.append(np.tanh(U @ x_t + W @ s[-1] + b))
        o = V @ s[-1] + c
        p = np.exp(o - o.max()) / np.exp(o - o.max()).sum()
        deltas.append(p - np.eye(len(c))[y_t])  # delta_o_t
    grads = {name: np.zeros_like(value) for name, value in (("U", U), ("W", W), ("b", b), ("V", V), ("c", c))}
    da_next = np.zeros_like(b)  # da_{t+1}: nothing after the last step
    for t in reversed(range(len(x))):
        grads["V"] += np.outer(deltas[t], s[t + 1])
        grads["c"] += deltas[t]
        ds = V.T @ deltas[t] + W.T @ da_next
        da = ds * (1 - s[t + 1] ** 2)
        grads["U"] += np.outer(da, x[t])
        grads["W"] += np.outer(da, s[t])
        grads["b"] += da
        da_next = da
    return grads


def retrograd_bptt(x, y, rnn, head):
    """The same network with nn.RNN + nn.Linear and a summed cross-entropy over the steps."""
    out, _ = rnn(rg.tensor(x[:, None, :]))  # (T, 1, H)
    F.cross_entropy(head(out[:, 0]), rg.tensor(y), reduction="sum").backward()
    return {"U": rnn.weight_ih_l0.grad.numpy(), "W": rnn.weight_hh_l0.grad.numpy(),
            "b": rnn.bias_ih_l0.grad.numpy(), "V": head.weight.grad.numpy(), "c": head.bias.grad.numpy()}


def derivation_check(seed=0):
    rg.manual_seed(seed)
    rnn, head = nn.RNN(I, H).double(), nn.Linear(H, C).double()
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(T, I)), rng.integers(0, C, size=T)
    U, W = rnn.weight_ih_l0.detach().numpy(), rnn.weight_hh_l0.detach().numpy()
    b = rnn.bias_ih_l0.detach().numpy() + rnn.bias_hh_l0.detach().numpy()  # nn.RNN's two biases add up
    by_hand = numpy_bptt(x, y, U, W, b, head.weight.detach().numpy(), head.bias.detach().numpy())
    by_tape = retrograd_bptt(x, y, rnn, head)
    return {name: float(np.max(np.abs(by_hand[name] - by_tape[name]))) for name in by_hand}


def gradient_norm(kind, steps, gamma=0.01, seed=0):
    """||dL/dh_0|| for L = <r, h_T>, r random, with the recurrence `kind` run for `steps` steps."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, (STATE, STATE)) / np.sqrt(STATE)  # PyTorch's default RNN init range
    eps = {"antisym., eps 1": 1.0, "antisym., eps 0.1": 0.1}.get(kind)
    if eps is not None:
        w = w - w.T - gamma * np.eye(STATE)
    w, u = rg.tensor(w), rg.tensor(rng.uniform(-1, 1, (STATE, 4)) / np.sqrt(STATE))
    x = rg.tensor(rng.normal(size=(steps, 4)))
    h0 = rg.zeros(STATE, dtype=rg.float64, requires_grad=True)
    h = h0
    for t in range(steps):
        g = rg.tanh(w @ h + u @ x[t])
        h = g if kind == "tanh RNN" else h + g if kind == "residual" else h + eps * g
    (h * rg.tensor(np.random.default_rng(seed + 1).normal(size=STATE))).sum().backward()
    return float(np.linalg.norm(h0.grad.numpy()))


def draw_norms(norms):
    """Plot ||dL/dh_0|| against T (saved only when the docs build asks for figures)."""
    def draw(figure):
        axes = figure.add_subplot()
        for kind, values in norms.items():
            axes.plot(LENGTHS, values, marker="o", label=kind)
        axes.set(xlabel="sequence length T", ylabel="||dL/dh_0||", xscale="log", yscale="log",
                 title="gradient reaching the first state")
        axes.legend()
    save_figure("bptt_residual_norms.png", draw, size=(6, 3.5))


def main():
    errors = derivation_check()
    print(f"Part 1: vanilla RNN, T = {T} steps, input {I}, hidden {H}, {C} classes, cross-entropy at every step")
    print("largest difference, NumPy derivation vs retrograd (nn.RNN + nn.Linear):")
    print("  " + ", ".join(f"dL/d{name} {value:.1e}" for name, value in errors.items()))

    kinds = ("tanh RNN", "residual", "antisym., eps 1", "antisym., eps 0.1")
    norms = {kind: [gradient_norm(kind, steps) for steps in LENGTHS] for kind in kinds}
    print(f"\nPart 2: ||dL/dh_0|| for L = <r, h_T>, hidden size {STATE} (||r|| = "
          f"{np.linalg.norm(np.random.default_rng(1).normal(size=STATE)):.2f}, what T = 0 would give)")
    print("  T      " + "".join(f"{kind:>19}" for kind in kinds))
    for row, steps in enumerate(LENGTHS):
        print(f"  {steps:<5}  " + "".join(f"{norms[kind][row]:19.3g}" for kind in kinds))
    print("\nh_t = tanh(...) vanishes, h_t = h_{t-1} + tanh(...) explodes, and the antisymmetric residual")
    print("h_t = h_{t-1} + eps tanh((W - W^T - 0.01 I) h_{t-1} + U x_t) keeps the gradient of the same order with")
    print("a small step (eps = 0.1); with eps = 1 it explodes again (forward Euler on a rotation spirals outwards).")
    draw_norms(norms)
    return {"errors": errors, "norms": norms}


if __name__ == "__main__":
    main()
