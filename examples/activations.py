"""Activations: same-sign gradients, vanishing gradients, and why tanh trains faster than sigmoid.

1. A layer's weight gradient for one example is dL/dW[j, i] = delta_j * h_i. When its inputs h
   are all positive (sigmoid or ReLU outputs), every weight into unit j moves in the same direction
   (the sign of delta_j): the update can only zig-zag towards a target that needs some weights up
   and others down. With tanh (zero-centred) inputs the signs mix.
2. Backprop multiplies by the activation's derivative at every layer: sigmoid' <= 1/4, so ten sigmoid
   layers shrink the gradient by >= 4^10 ~ 1e6 whatever the weights' scale allows; tanh' <= 1 and
   ReLU' = 1 on active units keep it, given an initialisation matched to them (Xavier/Glorot for
   tanh, He/Kaiming for ReLU).
3. Same network, same data, same learning rate: the tanh network's loss falls faster than the
   sigmoid network's (both reasons above).
Numbers on the embedded MNIST digits.
"""
import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.data.mnist import load_embedded_mnist
from retrograd.diagnostics.figures import save_figure

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def make_data(n):
    images, labels = load_embedded_mnist()
    return rg.tensor(images[:n].reshape(n, -1).astype(np.float32) / 255), rg.tensor(labels[:n])


def mlp(widths, activation, init=None, seed=0):
    rg.manual_seed(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if init is not None:
            init(layers[-1].weight)
            nn.init.zeros_(layers[-1].bias)
        if i < len(widths) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def same_sign_fraction(activation, x, y):
    """Fraction of (example, output unit) rows of dL/dW2 with no two entries of opposite sign."""
    model = mlp((784, 32, 10), activation)
    rows = []
    for i in range(len(x)):  # one example at a time: the per-example gradient
        model.zero_grad()
        nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        grad = model[2].weight.grad.numpy()  # (10, 32): delta_j * h_i
        rows += [np.all(row >= 0) or np.all(row <= 0) for row in grad]  # zeros (inactive ReLUs) have no sign
    return float(np.mean(rows))


def layer_gradient_norms(activation, x, y, depth=10):
    init = {"sigmoid": nn.init.xavier_normal_, "tanh": nn.init.xavier_normal_,
            "relu": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")}[activation]
    model = mlp((784,) + (64,) * (depth - 1) + (10,), activation, init=init)
    nn.functional.cross_entropy(model(x), y).backward()
    return [float(np.linalg.norm(layer.weight.grad.numpy())) for layer in model if isinstance(layer, nn.Linear)]


def training_curve(activation, x, y, epochs=4, batch=50, lr=0.1):
    model = mlp((784, 64, 64, 10), activation)
    optimizer = rg.optim.SGD(model.parameters(), lr=lr)
    curve = []
    for _ in range(epochs):
        for start in range(0, len(x), batch):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[start:start + batch]), y[start:start + batch])
            loss.backward()
            optimizer.step()
        with rg.no_grad():
            curve.append(nn.functional.cross_entropy(model(x), y).item())
    return curve


def main():
    x, y = make_data(2000)
    same_sign = {name: same_sign_fraction(name, x[:100], y[:100]) for name in ACTIVATIONS}
    print("1. Per-example gradient of the output layer's weights, dL/dW2[j, :] = delta_j * h (100 digits):")
    for name, fraction in same_sign.items():
        print(f"   hidden {name:<8} {fraction:6.1%} of the rows have no two entries of opposite sign")

    norms = {name: layer_gradient_norms(name, x[:256], y[:256]) for name in ACTIVATIONS}
    print("\n2. ||dL/dW|| per layer of a 10-layer, 64-wide MLP at init (Xavier for sigmoid/tanh, He for ReLU):")
    print("   layer   " + "".join(f"{name:>12}" for name in norms))
    for layer in range(10):
        print(f"   {layer + 1:>5}   " + "".join(f"{norms[name][layer]:12.2e}" for name in norms))
    ratios = {name: n[0] / n[-1] for name, n in norms.items()}
    print("   first/last " + "".join(f"{ratios[name]:12.2e}" for name in norms))

    curves = {name: training_curve(name, x, y) for name in ACTIVATIONS}
    print("\n3. 784-64-64-10 MLP, SGD(lr=0.1), batch 50, 2,000 digits: training loss after each epoch")
    for name, curve in curves.items():
        print(f"   {name:<8} " + "  ".join(f"{loss:.3f}" for loss in curve))

    def draw(figure):
        left, right = figure.subplots(1, 2)
        for name in norms:
            left.semilogy(range(1, 11), norms[name], "o-", label=name)
            right.plot(range(1, len(curves[name]) + 1), curves[name], "o-", label=name)
        left.set(xlabel="layer", ylabel="||dL/dW||", title="gradient per layer at init")
        right.set(xlabel="epoch", ylabel="training loss", title="training curve")
        left.legend()
        right.legend()
    save_figure("activations.png", draw, size=(10, 4))
    return {"same_sign": same_sign, "norms": norms, "first_last_ratio": ratios, "curves": curves}


if __name__ == "__main__":
    main()
