"""The hidden layer's error: delta_h = (W2^T delta_out) * f'(z_h), with numbers.

Question: "I understand the output error delta_out = a - y. How does the error of a hidden
layer come out of it, and why is it W2 transposed times delta_out, times f'?"

A 3-4-2 network on one example: z_h = W1 x + b1, h = sigmoid(z_h), z_out = W2 h + b2, and
softmax + cross-entropy on z_out. The chain rule, one layer back:

    delta_out = dL/dz_out = softmax(z_out) - onehot(y)               (2,)
    dL/dh     = W2^T delta_out    (each hidden unit collects the errors of the outputs it feeds,
                                   weighted by the weights it feeds them with)       (4,)
    delta_h   = dL/dz_h = (W2^T delta_out) * sigmoid'(z_h),  sigmoid' = h (1 - h)   (4,)
    dL/dW1    = delta_h x^T,  dL/db1 = delta_h;  dL/dW2 = delta_out h^T,  dL/db2 = delta_out

Every intermediate is printed and compared with what retrograd's tape computes
(`retain_grad()` on z_h and z_out). The two classic mistakes are measured too: using W2
without the transpose (a shape error here, since W2 is 2x4) and forgetting f'(z_h).

    python examples/hidden_layer_error.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F


def make_network(seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4) * 0.1,
            "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=2) * 0.1,
            "x": np.array([0.5, -1.0, 2.0]), "y": 1}


def by_hand(net):
    """The deltas and weight gradients written out in NumPy, one layer at a time."""
    z_h = net["W1"] @ net["x"] + net["b1"]
    h = 1 / (1 + np.exp(-z_h))
    z_out = net["W2"] @ h + net["b2"]
    a = np.exp(z_out - z_out.max()) / np.exp(z_out - z_out.max()).sum()
    delta_out = a - np.eye(2)[net["y"]]  # softmax + cross-entropy: a - y
    back = net["W2"].T @ delta_out  # dL/dh
    slope = h * (1 - h)  # sigmoid'(z_h)
    delta_h = back * slope
    return {"a": a, "delta_out": delta_out, "W2T_delta_out": back, "f_prime": slope, "delta_h": delta_h,
            "dW1": np.outer(delta_h, net["x"]), "db1": delta_h, "dW2": np.outer(delta_out, h), "db2": delta_out}


def by_tape(net):
    """The same network on retrograd's tape; z_h and z_out keep their gradients (retain_grad)."""
    params = {name: rg.tensor(net[name], requires_grad=True) for name in ("W1", "b1", "W2", "b2")}
    x = rg.tensor(net["x"])
    z_h = params["W1"] @ x + params["b1"]
    z_h.retain_grad()
    z_out = params["W2"] @ rg.sigmoid(z_h) + params["b2"]
    z_out.retain_grad()
    loss = F.cross_entropy(z_out.unsqueeze(0), rg.tensor([net["y"]]))
    loss.backward()
    grads = {f"d{name}": p.grad.numpy() for name, p in params.items()}
    return {"delta_out": z_out.grad.numpy(), "delta_h": z_h.grad.numpy(), **grads}


def main():
    with np.printoptions(precision=5, suppress=True):  # this report only: the process keeps its settings
        net = make_network()
        hand, tape = by_hand(net), by_tape(net)
        print("A 3-4-2 sigmoid network, softmax + cross-entropy, one example x =", net["x"], "with class y = 1\n")
        print("delta_out = softmax(z_out) - onehot(y)   ", hand["delta_out"])
        print("W2^T delta_out  (dL/dh)                   ", hand["W2T_delta_out"])
        print("f'(z_h) = h (1 - h)                       ", hand["f_prime"])
        print("delta_h = (W2^T delta_out) * f'(z_h)      ", hand["delta_h"])
        print("retrograd's z_h.grad                      ", tape["delta_h"])
        errors = {name: float(np.max(np.abs(hand[name] - tape[name])))
                  for name in ("delta_out", "delta_h", "dW1", "db1", "dW2", "db2")}
        print("\nlargest difference, hand vs tape:", ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))

        # The two classic mistakes: W2 without the transpose, and f'(z_h) forgotten.
        try:
            net["W2"] @ hand["delta_out"]
            transpose_error = None
        except ValueError as error:  # (2, 4) @ (2,): the shapes say which matrix is right
            transpose_error = str(error)
        print(f"\nW2 @ delta_out without the transpose: ValueError ({transpose_error.split(':')[0]})")
        no_slope, right = hand["W2T_delta_out"], hand["delta_h"]
        relative = float(np.linalg.norm(no_slope - right) / np.linalg.norm(right))
        mistakes = {"without_slope_relative_error": relative,
                    "without_slope_min_overstatement": float(np.min(np.abs(no_slope / right)))}
        print(f"forgetting f'(z_h): delta_h off by {relative:.2f} (relative), every entry at least "
              f"{mistakes['without_slope_min_overstatement']:.1f}x too large, since sigmoid' <= 1/4")
        return {"errors": errors, "mistakes": mistakes, "transpose_error": transpose_error,
                "hand": hand, "tape": tape}


if __name__ == "__main__":
    main()
