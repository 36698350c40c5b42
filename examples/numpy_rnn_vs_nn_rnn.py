"""A NumPy RNN cell next to torch.nn.RNN and retrograd.nn.RNN: same weights, same numbers.

Question: "I wrote an RNN cell in NumPy from a tutorial (h = tanh(W x + U h + b)). How do I load
its weights into torch.nn.RNN to check my outputs and gradients, and why does nn.RNN have two
biases?"

Answer: nn.RNN (PyTorch's and retrograd's, the same layout) computes, for every step t,
    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
with `weight_ih_l0` (H, I), `weight_hh_l0` (H, H), `bias_ih_l0` (H,), `bias_hh_l0` (H,). A tutorial's
W (H, I) is weight_ih_l0, its U (H, H) is weight_hh_l0, and its single b is b_ih + b_hh: the two
biases are redundant for a plain RNN (only their sum matters, and both get the same gradient);
PyTorch keeps them for cuDNN's layout and because the GRU needs b_hn apart. Load the tutorial's b
into one of them and zeros into the other. With x batch-first (B, T, I) use batch_first=True;
the default is time-major (T, B, I).

Below: one set of weights (retrograd's default init after manual_seed(0), which is PyTorch's too),
a NumPy forward + BPTT written as a tutorial writes it, retrograd.nn.RNN and, if installed,
torch.nn.RNN: outputs and all four gradients agree to float64 rounding.

    python examples/numpy_rnn_vs_nn_rnn.py
"""
import numpy as np

import retrograd as rg
from retrograd import nn

T, B, I, H = 5, 2, 3, 4
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def numpy_rnn(x, W, U, b, grad_out):
    """Forward h_t = tanh(W x_t + U h_{t-1} + b) over x (T, B, I) from h_0 = 0, then BPTT with
    dL/dh_t = grad_out[t]. Returns the outputs (T, B, H) and dL/dW, dL/dU, dL/db."""
    hs = [np.zeros((x.shape[1], W.shape[0]))]
    for x_t in x:
        hs.append(np.tanh(x_t @ W.T + hs[-1] @ U.T + b))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros_like(hs[0])  # what step t + 1 sends back to h_t
    for t in reversed(range(len(x))):
        da = (dh + grad_out[t]) * (1 - hs[t + 1] ** 2)  # through tanh
        dW += da.T @ x[t]
        dU += da.T @ hs[t]
        db += da.sum(axis=0)
        dh = da @ U
    return np.stack(hs[1:]), {"W": dW, "U": dU, "b": db}


def torch_rnn(weights, x, grad_out):
    """torch.nn.RNN with the same weights: (outputs, {name: grad}, whether torch.manual_seed(0) gave the
    same initial weights as retrograd's), or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    rnn = torch.nn.RNN(I, H).double()
    same_init = all(np.array_equal(p.detach().numpy(), weights[name]) for name, p in rnn.named_parameters())
    rnn.load_state_dict({name: torch.tensor(value) for name, value in weights.items()})  # a no-op when same_init
    out, _ = rnn(torch.tensor(x))
    (out * torch.tensor(grad_out)).sum().backward()
    return out.detach().numpy(), {name: p.grad.numpy() for name, p in rnn.named_parameters()}, same_init


def main():
    rg.manual_seed(0)
    rnn = nn.RNN(I, H).double()  # PyTorch's default init: U(-1/sqrt(H), 1/sqrt(H)) for every weight
    weights = {name: p.detach().numpy().copy() for name, p in rnn.named_parameters()}
    print("nn.RNN's parameters:", ", ".join(f"{n} {tuple(v.shape)}" for n, v in weights.items()))
    rng = np.random.default_rng(0)
    x, grad_out = rng.normal(size=(T, B, I)), rng.normal(size=(T, B, H))  # loss = sum(output * grad_out)

    W, U, b = weights["weight_ih_l0"], weights["weight_hh_l0"], weights["bias_ih_l0"] + weights["bias_hh_l0"]
    out_np, grads_np = numpy_rnn(x, W, U, b, grad_out)
    out, h_n = rnn(rg.tensor(x))
    (out * rg.tensor(grad_out)).sum().backward()
    grads = {name: p.grad.numpy() for name, p in rnn.named_parameters()}
    tutorial = {"weight_ih_l0": grads_np["W"], "weight_hh_l0": grads_np["U"],
                "bias_ih_l0": grads_np["b"], "bias_hh_l0": grads_np["b"]}  # both biases get dL/db
    result = {"retrograd": {"output": float(np.max(np.abs(out.detach().numpy() - out_np)))}}
    result["retrograd"].update({name: float(np.max(np.abs(grads[name] - tutorial[name]))) for name in NAMES})
    print(f"x ({T}, {B}, {I}) time-major, loss = sum(output * R) for a random R\n")
    print("largest difference from the NumPy cell:")
    print("               output   " + "".join(f"{n:>14}" for n in NAMES))
    print("  retrograd  " + "".join(f"{v:9.1e}" if i == 0 else f"{v:14.1e}"
                                     for i, v in enumerate(result["retrograd"].values())))
    reference = torch_rnn(weights, x, grad_out)
    if reference is None:
        print("  (PyTorch not installed: torch.nn.RNN skipped)")
    else:
        t_out, t_grads, result["torch_same_init"] = reference
        result["torch"] = {"output": float(np.max(np.abs(t_out - out_np)))}
        result["torch"].update({name: float(np.max(np.abs(t_grads[name] - tutorial[name]))) for name in NAMES})
        print("  torch      " + "".join(f"{v:9.1e}" if i == 0 else f"{v:14.1e}"
                                         for i, v in enumerate(result["torch"].values())))
        print(f"torch.manual_seed(0) + torch.nn.RNN({I}, {H}) gives bit-identical initial weights: "
              f"{result['torch_same_init']}")
    result["h_n_is_last_output"] = bool(np.array_equal(h_n.detach().numpy()[0], out.detach().numpy()[-1]))
    print(f"\nh_n equals the last output step: {result['h_n_is_last_output']} (h_n is (num_layers, B, H))")
    print("bias_ih_l0 and bias_hh_l0 receive the same gradient, the tutorial's dL/db: only their sum matters.")
    return result


if __name__ == "__main__":
    main()
