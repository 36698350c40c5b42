"""Why is my no-hidden-layer MNIST classifier (sigmoid + cross-entropy) stuck at 10%?

The asker's model, written by hand: raw pixels (0..255) -> x @ W + b with W = randn(784, 10) ->
sigmoid -> CrossEntropyLoss. Two mistakes, together enough to stop it dead:
1. Unscaled inputs and weights: a sum of ~150 lit pixels x 255 x weights of +-1 puts the
   pre-activations at +-thousands, where sigmoid is exactly 0 or 1 (in floating point) and
   sigma' = 0: no gradient reaches the weights, and the tied outputs (several 1.0) predict the
   first of them: about 10% accuracy, forever.
2. Sigmoid before CrossEntropyLoss: the loss applies log_softmax itself, so it wants raw scores
   (logits). Softmax of numbers in (0, 1) can never be confident: p <= e / (e + 9) = 0.23, and
   the loss can never go below -ln 0.23 = 1.46.
The embedded MNIST digits (the 10,000 test images shipped with retrograd): 8,000 to train on,
2,000 held out.
"""
import math

import numpy as np

import retrograd as rg
from retrograd import diagnostics, nn
from retrograd.data.mnist import load_embedded_mnist
from retrograd.diagnostics.figures import save_figure

EPOCHS = 2
BATCH = 100
LR = 0.1


def load(scale):
    images, labels = load_embedded_mnist()
    x = images.reshape(len(images), -1).astype(np.float32)
    if scale:
        x /= 255.0
    return (rg.tensor(x[:8000]), rg.tensor(labels[:8000])), (rg.tensor(x[8000:]), rg.tensor(labels[8000:]))


def make_model(sigmoid, randn_weights):
    rg.manual_seed(0)
    layers = [nn.Linear(784, 10)] + ([nn.Sigmoid()] if sigmoid else [])
    if randn_weights:  # the hand-written habit: W = np.random.randn(784, 10), b = 0
        with rg.no_grad():
            layers[0].weight.copy_(rg.randn(10, 784))
            layers[0].bias.zero_()
    return nn.Sequential(*layers)


def accuracy(model, x, y):
    with rg.no_grad():
        return float((model(x).argmax(1) == y).float().mean().item())


def train(model, train_set, test_set):
    x, y = train_set
    loss_fn = nn.CrossEntropyLoss()
    optimizer = rg.optim.SGD(model.parameters(), lr=LR)
    curve = [accuracy(model, *test_set)]
    for _ in range(EPOCHS):
        for start in range(0, len(x), BATCH):
            optimizer.zero_grad()
            loss = loss_fn(model(x[start:start + BATCH]), y[start:start + BATCH])
            loss.backward()
            optimizer.step()
            if (start // BATCH) % 20 == 19:
                curve.append(accuracy(model, *test_set))
    return loss.item(), accuracy(model, *test_set), curve


def main():
    variants = {  # name: (pixels scaled to [0, 1], sigmoid before the loss, randn weights)
        "asker's: raw pixels, randn W, sigmoid + CE": (False, True, True),
        "pixels / 255, randn W, sigmoid + CE": (True, True, True),
        "pixels / 255, default init, sigmoid + CE": (True, True, False),
        "pixels / 255, default init, logits + CE": (True, False, False),
    }
    results, curves = {}, {}
    for name, (scale, sigmoid, randn_weights) in variants.items():
        train_set, test_set = load(scale)
        model = make_model(sigmoid, randn_weights)
        if name.startswith("asker's"):
            x, y = train_set[0][:BATCH], train_set[1][:BATCH]
            report = diagnostics.check_model(model, nn.CrossEntropyLoss(), (x, y))
            with rg.no_grad():
                z = model[0](x).numpy()
        loss, acc, curves[name] = train(model, train_set, test_set)
        results[name] = {"final_batch_loss": loss, "test_accuracy": acc, "accuracy_before": curves[name][0]}

    print(f"Linear(784, 10) on 8,000 embedded MNIST digits, SGD(lr={LR}), batch {BATCH}, {EPOCHS} epochs; "
          f"accuracy on 2,000 held-out digits\nbefore -> after training:\n")
    for name, r in results.items():
        print(f"  {name:<44} accuracy {r['accuracy_before']:6.1%} -> {r['test_accuracy']:6.1%}   "
              f"last batch loss {r['final_batch_loss']:.3f}")
    saturated = float(np.mean(np.abs(z) > 36.8))  # sigmoid(36.8) rounds to 1.0 in float32, sigma' to 0
    print("\nWhat diagnostics.check_model says about the asker's model before training (one batch):")
    print(report)
    print(f"\nmedian |pre-activation| {np.median(np.abs(z)):.0f}; {saturated:.0%} of them beyond +-36.8, where "
          f"sigmoid is exactly 0 or 1 in float32")
    floor = -math.log(math.e / (math.e + 9))
    print(f"sigmoid + CE can never go below -ln(e / (e + 9)) = {floor:.3f}, even when every digit is right")

    def draw(figure):
        ax = figure.subplots()
        for name, curve in curves.items():
            ax.plot(np.arange(len(curve)) * 20 * BATCH / 8000, curve, label=name)
        ax.set(xlabel="epoch", ylabel="held-out accuracy", ylim=(0, 1), title="no hidden layer, MNIST")
        ax.legend(fontsize=8)
    save_figure("accuracy.png", draw)
    return {"results": results, "check_model_problems": report.problems, "saturated_fraction": saturated,
            "median_abs_preactivation": float(np.median(np.abs(z))), "sigmoid_ce_floor": floor}


if __name__ == "__main__":
    main()
