"""Grad mode: whether ops record themselves on the tape.

`no_grad`, `enable_grad` and `set_grad_enabled` work as context managers and as
decorators, exactly as in PyTorch. The flag is read by `ops.base.record` on
every op, so it lives in a plain module-level list (one attribute load).
"""
import functools

# _state[0]: grad mode on/off. A one-element list so that readers can bind it once.
_state = [True]


def is_grad_enabled():
    return _state[0]


class _GradModeContext:
    """Base for the grad-mode context managers; also usable as a decorator."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.previous = []

    def __enter__(self):
        self.previous.append(_state[0])
        _state[0] = self.enabled
        return self

    def __exit__(self, *exc_info):
        _state[0] = self.previous.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradModeContext(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Disable recording: results of ops have no grad_fn and do not require grad."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradModeContext):
    """Re-enable recording inside a `no_grad` block."""

    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradModeContext):
    """`set_grad_enabled(False)` acts like `no_grad()`. Called as a function it
    sets the mode immediately (like PyTorch) and also works as a context."""

    def __init__(self, mode):
        super().__init__(bool(mode))
        self.previous.append(_state[0])
        _state[0] = self.enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _state[0] = self.previous.pop()
        return False
