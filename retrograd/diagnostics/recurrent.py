"""||dL/dh_t|| at every time step of a recurrent layer: the picture behind "why do RNN gradients vanish?".

    norms = recurrent_gradient_norms(rnn, x, lambda outputs: loss_fn(head(outputs[-1]), y))
    plot_recurrent_gradient_norms(norms, "grad_norms.png")

h_t feeds two things: the output at step t (and through it the loss) and the next step's state. Its
total derivative dL/dh_t is the sum of both paths, which the fused sequence op hides (it takes the
whole sequence at once, so the gradient of its output tensor at step t is only the first path).
So the layer is run one step at a time, each step's output and carried state are kept, and
autograd.grad returns the gradient that reaches each: their sum is dL/dh_t. Nothing accumulates
into `.grad`.
"""
import numpy as np

from ..autograd.functional import grad
from ..nn.rnn import RNNBase
from ..ops import shape


def recurrent_gradient_norms(rnn, inputs, loss_fn, state=None):
    """||dL/dh_t|| (over batch and hidden units) for each step t of `rnn`'s top layer, as a float64 array of
    length T. `loss_fn(outputs)` maps the layer's output sequence (the shape `rnn(inputs)[0]` has) to a
    scalar loss; `state` is the initial state (None: zeros). Works for nn.RNN, nn.LSTM and nn.GRU."""
    if not isinstance(rnn, RNNBase):
        raise TypeError(f"recurrent_gradient_norms: expected an nn.RNN, nn.LSTM or nn.GRU, got {type(rnn).__name__}")
    if rnn.bidirectional:
        raise ValueError("recurrent_gradient_norms: a bidirectional layer has two h_t per step; pass a "
                         "unidirectional one")
    time_dim = 1 if rnn.batch_first else 0
    if inputs.ndim != 3:
        raise ValueError(f"recurrent_gradient_norms: expected a batched (3-D) input sequence, got shape "
                         f"{tuple(inputs.shape)}")
    outputs, carried = [], []
    for t in range(inputs.shape[time_dim]):
        output, state = rnn(shape.narrow(inputs, time_dim, t, 1), state)
        outputs.append(output)  # h_t on the path to the loss at step t
        carried.append(state[0] if isinstance(state, tuple) else state)  # h_t on the path to step t + 1
    loss = loss_fn(shape.cat(outputs, dim=time_dim))
    found = grad(loss, outputs + carried[:-1], allow_unused=True)  # one backward pass for both paths
    through_output, through_state = found[:len(outputs)], found[len(outputs):]
    norms = []
    for t, direct in enumerate(through_output):
        total = np.zeros(outputs[t].shape, np.float64) if direct is None else direct.array.astype(np.float64)
        total = np.squeeze(total, axis=time_dim)  # (B, H)
        if t < len(through_state) and through_state[t] is not None:
            total = total + through_state[t].array[-1]  # the top layer's carried state
        norms.append(float(np.linalg.norm(total)))
    return np.asarray(norms)


def plot_recurrent_gradient_norms(norms, path, labels=None, title="||dL/dh_t|| against t"):
    """Save ||dL/dh_t|| against t (log scale) to `path`; `norms` is one array, or several with `labels`.

    Draws on its own Figure with the Agg canvas (pyplot's state stays as it was). Needs matplotlib:
    `pip install "retrograd[plot]"`."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plot_recurrent_gradient_norms needs matplotlib: pip install "retrograd[plot]"') from None
    curves = [norms] if np.ndim(norms[0]) == 0 else list(norms)
    labels = labels or [None] * len(curves)
    fig = Figure(figsize=(6, 3.5))
    FigureCanvasAgg(fig)  # attaches itself to fig: savefig renders with Agg whatever the backend
    ax = fig.subplots()
    for curve, label in zip(curves, labels):
        ax.semilogy(np.arange(len(curve)), curve, label=label)
    ax.set(xlabel="time step t", ylabel="||dL/dh_t||", title=title)
    if any(labels):
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
