"""Truncated backpropagation through time, TBPTT(k1, k2) (Williams & Peng, 1990).

Run a recurrent model along a long sequence; every k1 steps, backpropagate the losses of
those k1 steps through the last k2 steps and update the parameters. The state entering
the k2-step window is detached, so the graph never reaches further back and memory
depends on k2, not on the sequence length.

    k1 = k2 = k   the common chunked form: what Keras `stateful=True` with k-step batches and
                  a manual `state = state.detach()` every k steps in PyTorch both do
    k1 = k2 = T   full BPTT: one update after the whole sequence
    k1 < k2       overlapping windows: each update still looks k2 steps back
    k1 > k2       Theano's truncation: each update's loss covers its k1 steps, but only the
                  last k2 are recorded; the steps before them run under no_grad, so their
                  outputs enter the loss as constants (their losses carry no gradient) and
                  the state entering the last k2 steps is a constant too

With k1 < k2 a window [t - k2, t) overlaps steps already used by the previous update,
which changed the weights since. retrograd recomputes the window's forward pass with
the current weights (from the detached state saved at t - k2), so each update is an
exact gradient of its truncated objective; the extra forward work is (k2 - k1) / k1.
The state entering a window is the one its predecessor's forward pass reached at that
step, detached.
PyTorch has no parameter for any of this; Theano's `scan(truncate_gradient=k)` is the
k1 = T, k2 = k case: the cost still sums (or averages) over all T steps, but the backward
recursion runs over the last k only, so dL/dx_t is 0 before them and the weight gradient keeps
the last k steps' terms (examples/theano_scan_bptt.py derives it; with a mean loss each kept
term is scaled by 1/k1, as Theano's mean over T scales it by 1/T).

The model is any callable `model(inputs, state) -> (outputs, new_state)`; `nn.RNN`,
`nn.LSTM` and `nn.GRU` already have that form (state None means zeros). Inputs and
targets are indexed along `time_dim` (1 for batch-first data, 0 for time-major).
"""
from dataclasses import dataclass, field

from ..autograd.grad_mode import no_grad
from ..memory import retain_for_training
from ..nn.utils import clip_grad_norm_
from ..ops import shape
from ..tensor import Tensor


def detach_state(state):
    """Cut a recurrent state (a Tensor or nested tuples/lists of them) from the tape."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected Tensors or tuples of them, got {type(state).__name__}")


@dataclass
class TBPTTResult:
    """What one `tbptt` call did: the loss of each update, the number of updates and the final state
    (detached: pass it as `state=` to the next call to continue a stateful run)."""

    losses: list = field(default_factory=list)
    state: object = None
    updates: int = 0
    grad_norms: list = field(default_factory=list)

    @property
    def mean_loss(self):
        return sum(self.losses) / len(self.losses) if self.losses else float("nan")


_UNSET = object()  # "no state recorded yet" (None is a valid state: zeros)


def _window_pieces(start, grad_start, loss_start, next_start, end):
    """Split [start, end) at the step boundaries where the recording, a state or the loss begins."""
    cuts = sorted({start, grad_start, loss_start, next_start, end})
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if a < b]


def tbptt(model, loss_fn, optimizer, inputs, targets, k1, k2=None, state=None, clip=None, time_dim=1):
    """Train `model` along `inputs` with TBPTT(k1, k2); see the module docstring.

    Every k1 steps (and at the end of the sequence): loss_fn(outputs of those steps, their
    targets), backward through at most k2 steps, optional `clip_grad_norm_(params, clip)`,
    optimizer.step(). Returns a TBPTTResult with the final detached state."""
    k2 = k1 if k2 is None else k2
    if not (isinstance(k1, int) and isinstance(k2, int) and k1 >= 1 and k2 >= 1):
        raise ValueError(f"tbptt: k1 and k2 must be integers >= 1, got k1={k1!r}, k2={k2!r}")
    steps = inputs.shape[time_dim]
    if targets.shape[time_dim] != steps:
        raise ValueError(f"tbptt: inputs have {steps} steps along dim {time_dim} but targets have "
                         f"{targets.shape[time_dim]}")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    result = TBPTTResult()
    retain_for_training()  # freed arrays' pages stay for the next window (retrograd/memory.py)

    def run(first, last, start_state):
        return model(shape.narrow(inputs, time_dim, first, last - first), start_state)

    window_start, window_state = 0, detach_state(state)
    update_end = min(k1, steps)
    while window_start < steps:
        loss_start = max(update_end - k1, window_start)
        grad_start = max(update_end - k2, window_start)  # k1 > k2: the steps before it are not recorded
        # where the next window will begin: k2 - k1 steps back (k1 < k2), or at this update's end (k1 >= k2)
        next_start = min(max(update_end + k1 - k2, window_start), update_end)
        next_state, outputs, current = _UNSET, [], window_state
        for first, last in _window_pieces(window_start, grad_start, loss_start, next_start, update_end):
            if first == next_start:
                next_state = detach_state(current)
            if last <= grad_start:
                with no_grad():
                    out, current = run(first, last, current)
            else:
                entering = detach_state(current) if first == grad_start > window_start else current
                out, current = run(first, last, entering)
            if first >= loss_start:
                outputs.append(out)
        if next_state is _UNSET:  # the next window starts at this update's end
            next_state = detach_state(current)
        predictions = outputs[0] if len(outputs) == 1 else shape.cat(outputs, dim=time_dim)
        loss = loss_fn(predictions, shape.narrow(targets, time_dim, loss_start, update_end - loss_start))

        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            result.grad_norms.append(float(clip_grad_norm_(params, clip)))
        optimizer.step()
        result.losses.append(float(loss.item()))
        result.updates += 1

        if update_end >= steps:
            result.state = detach_state(current)
            break
        window_start, window_state = next_start, next_state
        update_end = min(update_end + k1, steps)
    return result
