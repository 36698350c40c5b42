"""The job behind `retrograd explain`: one backward pass of a built-in model, traced step by step.

    retrograd explain --model mlp     a 784-16-10 ReLU MLP on 4 embedded MNIST digits
    retrograd explain --model cnn     conv -> max-pool -> linear on 2 digits (the fused conv and pool formulas)
    retrograd explain --model lstm    embedding -> LSTM -> linear on 12 characters of the embedded text

Each model ends in softmax + cross-entropy, so the trace's first step is the fused cross_entropy op,
whose gradient to the logits is the famous output delta a - y (a = softmax(z), y one-hot), divided by
the batch size for the mean. The trace is printed with the parameters' names and every formula in full;
then the job checks that delta against the values the trace recorded and prints one row of it.
"""
from collections import OrderedDict

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F

MODELS = ("mlp", "cnn", "lstm")


class _CharTagger(nn.Module):
    """embedding -> LSTM -> linear at every step (the char-LSTM job's model, small)."""

    def __init__(self, vocab_size, embed=4, hidden=8):
        super().__init__()
        self.embed, self.lstm, self.head = nn.Embedding(vocab_size, embed), nn.LSTM(embed, hidden), nn.Linear(hidden,
                                                                                                             vocab_size)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out)


def _mnist_batch(count):
    from retrograd.data.mnist import load_embedded_mnist

    images, labels = load_embedded_mnist()
    return images[:count].astype(np.float32) / 255, labels[:count].astype(np.int64)


def build(model):
    """(module, logits, targets) for one of MODELS, the forward pass done (seeded: the same numbers every run)."""
    rg.manual_seed(0)
    if model == "mlp":
        images, labels = _mnist_batch(4)
        net = nn.Sequential(OrderedDict(fc1=nn.Linear(784, 16), relu=nn.ReLU(), fc2=nn.Linear(16, 10)))
        return net, net(rg.tensor(images.reshape(4, 784))), rg.tensor(labels)
    if model == "cnn":
        images, labels = _mnist_batch(2)
        net = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 5), relu=nn.ReLU(), pool=nn.MaxPool2d(2),
                                        flatten=nn.Flatten(), fc=nn.Linear(4 * 12 * 12, 10)))
        return net, net(rg.tensor(images[:, None])), rg.tensor(labels)
    if model == "lstm":
        from retrograd.data import text

        corpus = text.load_text()[:13]
        vocab = text.CharVocab(corpus)
        tokens = np.asarray(vocab.encode(corpus), dtype=np.int64)[:, None]  # (T, B=1), time-major
        net = _CharTagger(len(vocab))
        logits = net(rg.tensor(tokens[:-1]))  # predict each next character
        return net, logits.reshape(-1, len(vocab)), rg.tensor(tokens[1:, 0])
    raise ValueError(f"retrograd explain: unknown model {model!r}; choose from {', '.join(MODELS)}")


def run(model="mlp", max_formula_lines=None, dot=None, render=None, log=print):
    """Trace one backward pass of `model`; print it and the output-delta check. Returns the numbers."""
    net, logits, targets = build(model)
    loss = F.cross_entropy(logits, targets)
    trace = rg.explain(loss, max_formula_lines=max_formula_lines, module=net, values=True)
    log(f"retrograd explain --model {model}: loss = cross_entropy(logits {tuple(logits.shape)}, targets) = "
        f"{loss.item():.4f}\n")
    log(str(trace))
    delta = check_output_delta(trace, logits, targets)
    log(f"\nthe output delta: step 1 sends dL/dz = (a - y) / N to the logits, a = softmax(z), y = onehot(targets), "
        f"N = {len(targets.array)}: the trace's gradient differs from (a - y) / N by at most {delta['max_diff']:.1e}")
    log(f"   row 0, a - y: {np.array2string(delta['row0'], precision=3, max_line_width=10_000)}")
    if dot:
        with open(dot, "w") as file:
            file.write(trace.to_dot(values=True, grads=True))
        log(f"graph (DOT): {dot}")
    if render:
        log(f"graph: {trace.render(render, values=True, grads=True)}")
    return {"trace": trace, "loss": loss.item(), **delta}


def check_output_delta(trace, logits, targets):
    """The gradient the cross_entropy step sent to the logits against (softmax(z) - onehot(y)) / N."""
    step = trace[0]
    sent = step["grad_input_values"][0]
    z = logits.array.astype(np.float64)
    a = np.exp(z - z.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)
    y = np.eye(z.shape[1])[targets.array]
    return {"step": step["name"], "max_diff": float(np.max(np.abs(sent - (a - y) / len(z)))), "row0": (a - y)[0]}
