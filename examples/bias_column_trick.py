"""Biases and dimensions: a column of ones in the input, or a separate bias vector?

Question: "Some tutorials append a 1 to every input and fold the bias into the weight matrix
(Theta is (out, in + 1)); others keep W (out, in) and b (out,). Do the two give the same
gradients, and what are the shapes of each?"

Answer: the same numbers. With X1 = [1 | X] (N, in + 1) and Theta = [b | W] (out, in + 1),
X1 Theta^T = X W^T + b exactly, so the loss is the same function and its gradient is too:

    dL/dTheta = delta^T X1 = [delta^T 1 | delta^T X] = [dL/db | dL/dW]

where delta = dL/dZ (N, out). The bias's gradient is the column of dL/dTheta that multiplies the
ones: the sum of delta over the batch (what `nn.Linear`'s backward computes as dL/db). The
trick changes where the numbers live, not the numbers. Two things that do differ in practice:
an L2 penalty on Theta also shrinks the bias (Coursera's ex4 skips column 0 for that reason), and
the ones column costs one more input column per layer (retrograd's fused RNN ops use the same
trick internally because one GEMM is faster than GEMM + add).

    python examples/bias_column_trick.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F
from retrograd import nn

N, IN, OUT = 6, 4, 3


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, IN)), rng.integers(0, OUT, size=N)


def separate_bias(x, y, seed=0):
    """nn.Linear(IN, OUT): weight (OUT, IN) and bias (OUT,), the PyTorch layout."""
    rg.manual_seed(seed)
    layer = nn.Linear(IN, OUT).double()
    F.cross_entropy(layer(rg.tensor(x)), rg.tensor(y)).backward()
    return layer, {"weight": layer.weight.grad.numpy(), "bias": layer.bias.grad.numpy()}


def bias_column(x, y, layer):
    """Theta = [b | W] (OUT, IN + 1) against X1 = [1 | X] (N, IN + 1): one matrix, no bias vector."""
    theta = rg.tensor(np.concatenate([layer.bias.detach().numpy()[:, None], layer.weight.detach().numpy()], 1),
                      requires_grad=True)
    x1 = rg.tensor(np.concatenate([np.ones((N, 1)), x], 1))
    logits = x1 @ theta.T
    F.cross_entropy(logits, rg.tensor(y)).backward()
    return theta.grad.numpy(), logits.detach().numpy()


def main():
    with np.printoptions(precision=5, suppress=True):  # this report only: the process keeps its settings
        x, y = make_problem()
        layer, separate = separate_bias(x, y)
        theta_grad, logits = bias_column(x, y, layer)
        with rg.no_grad():
            linear_logits = layer(rg.tensor(x)).numpy()
        print(f"a batch of N = {N} inputs of size {IN}, {OUT} classes, softmax + cross-entropy (mean)\n")
        print(f"separate bias: W {tuple(layer.weight.shape)}, b {tuple(layer.bias.shape)}, Z = X W^T + b")
        print(f"bias column:   Theta {tuple(theta_grad.shape)} = [b | W], X1 = [1 | X] {(N, IN + 1)}, Z = X1 Theta^T\n")
        print("dL/db (separate)      ", separate["bias"])
        print("dL/dTheta[:, 0]       ", theta_grad[:, 0])
        print("dL/dW[0] (separate)   ", separate["weight"][0])
        print("dL/dTheta[0, 1:]      ", theta_grad[0, 1:])
        result = {
            "logits_difference": float(np.max(np.abs(logits - linear_logits))),
            "bias_difference": float(np.max(np.abs(theta_grad[:, 0] - separate["bias"]))),
            "weight_difference": float(np.max(np.abs(theta_grad[:, 1:] - separate["weight"]))),
            "theta_shape": tuple(theta_grad.shape),
        }
        print(f"\nlargest differences: logits {result['logits_difference']:.1e}, bias gradient "
              f"{result['bias_difference']:.1e}, weight gradient {result['weight_difference']:.1e}")
        # dL/db is delta summed over the batch: the ones column turns the sum into a product with ones.
        delta = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True) - np.eye(OUT)[y]) / N  # dL/dZ
        result["bias_is_delta_sum"] = float(np.max(np.abs(delta.sum(0) - separate["bias"])))
        print(f"dL/db = sum over the batch of delta = dL/dZ: difference {result['bias_is_delta_sum']:.1e}")
        return result


if __name__ == "__main__":
    main()
