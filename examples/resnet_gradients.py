"""Why residual connections let very deep networks train: the gradient reaches the first layer.

Question: "Why do ResNets train at depths where plain networks don't? What does the identity
shortcut do to the gradient?"

Answer: in a plain network dL/dx_0 = J_1^T J_2^T ... J_L^T dL/dx_L, a product of L layer Jacobians.
With tanh units and PyTorch's default init (weights ~ U(-1/sqrt(n), 1/sqrt(n)), i.e. a gain of
about 1/sqrt(3)), each factor shrinks the gradient, so it decays geometrically with depth. A
residual layer computes x + f(x), whose Jacobian is I + J_f: the product expands into a sum of
paths, one of which is the identity all the way down, so the gradient arrives at the first layer
undiminished (here it even grows a little, as the paths through the layers add up).

Part 1 measures it: a 30-layer tanh MLP of width 64, batch 32, float64, with and without
residual connections (the same weights both times), and the ratio
||dL/dW_first|| / ||dL/dW_last||. Part 2 runs the reusable convolutional ResNet in
retrograd.models (BasicBlock: conv-BN-ReLU-conv-BN plus identity or 1x1-projection shortcut)
on a batch of 1x28x28 images and prints the gradient norm of each of its layers.

    python examples/resnet_gradients.py
"""
import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.diagnostics.figures import save_figure
from retrograd.models import resnet_small


class DeepTanhMLP(nn.Module):
    """`depth` tanh layers of `width` units: x <- tanh(W x + b), or x <- x + tanh(W x + b) if residual."""

    def __init__(self, depth=30, width=64):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.residual = False

    def forward(self, x):
        for layer in self.layers:
            x = x + rg.tanh(layer(x)) if self.residual else rg.tanh(layer(x))
        return x


def layer_gradient_norms(model, x, y):
    """||dL/dW|| of every layer's weight after one backward pass of the MSE loss."""
    model.zero_grad()
    nn.MSELoss()(model(x), y).backward()
    return np.array([np.linalg.norm(layer.weight.grad.numpy()) for layer in model.layers])


def deep_mlp_ratios(depth=30, width=64, batch=32, seed=0):
    rg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = DeepTanhMLP(depth, width).double()  # PyTorch's default Linear init
    x = rg.tensor(rng.normal(size=(batch, width)), dtype=rg.float64)
    y = rg.tensor(rng.normal(size=(batch, width)), dtype=rg.float64)
    norms = {}
    for residual in (False, True):
        model.residual = residual
        norms["residual" if residual else "plain"] = layer_gradient_norms(model, x, y)
    return norms


def draw_layer_gradients(norms):
    """Plot ||dL/dW_layer|| against the layer, log y, for each network in `norms` ({name: the norms of layers
    1 .. L}); saved only when the docs build asks for figures."""
    def draw(figure):
        axes = figure.add_subplot()
        for name, values in norms.items():
            axes.plot(np.arange(1, len(values) + 1), values, label=name)
        axes.set(xlabel="layer", ylabel="||dL/dW_layer||", yscale="log", title="30-layer tanh MLP")
        axes.legend()
    save_figure("layer_gradients.png", draw, size=(6, 3.5))


def main():
    results = {}
    norms = deep_mlp_ratios()
    for name, values in norms.items():
        results[f"ratio_{name}"] = float(values[0] / values[-1])
        results[f"norms_{name}"] = values.tolist()
    results["gap"] = results["ratio_residual"] / results["ratio_plain"]
    print("1. 30-layer tanh MLP, width 64, batch 32, PyTorch default init: ||dL/dW_l|| per layer l")
    print("      layer        plain     residual")
    for layer in (30, 25, 20, 15, 10, 5, 1):
        print(f"   {layer:8d}   {norms['plain'][layer - 1]:10.2e}   {norms['residual'][layer - 1]:10.2e}")
    print(f"   first / last layer: plain {results['ratio_plain']:.1e}, residual {results['ratio_residual']:.2f}")
    print(f"   The plain network's first layer gets ~{1 / results['ratio_plain']:.0e} times less gradient than its")
    print("   last, so it barely learns; with x + tanh(Wx + b) the gradient reaches it at full strength.")
    draw_layer_gradients(norms)

    # Part 2: the convolutional ResNet for 28x28 digits, one forward/backward on random images.
    rg.manual_seed(0)
    rng = np.random.default_rng(0)
    model = resnet_small(num_classes=10).double()
    images = rg.tensor(rng.normal(size=(8, 1, 28, 28)), dtype=rg.float64)
    labels = rg.tensor(rng.integers(0, 10, size=8))
    logits = model(images)
    nn.CrossEntropyLoss()(logits, labels).backward()
    conv_norms = {name: float(np.linalg.norm(p.grad.numpy())) for name, p in model.named_parameters()
                  if p.ndim >= 2}
    results["resnet_logits_shape"] = tuple(logits.shape)
    results["resnet_parameters"] = sum(p.numel() for p in model.parameters())
    results["resnet_weight_grad_norms"] = conv_norms
    print(f"\n2. retrograd.models.resnet_small: {results['resnet_parameters']} parameters, logits of shape "
          f"{results['resnet_logits_shape']} for 8 images of 1x28x28; ||dL/dW|| per weight:")
    for name, value in conv_norms.items():
        print(f"   {name:28s} {value:.3e}")
    return results


if __name__ == "__main__":
    main()
