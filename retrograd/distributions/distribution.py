"""Distribution: the base class of retrograd's distributions, PyTorch's `torch.distributions.Distribution`.

A distribution has a `batch_shape` (independent distributions side by side, from the parameters' shape)
and an `event_shape` (the shape of one draw: () for the scalar distributions here). `sample(sample_shape)`
returns draws of shape `sample_shape + batch_shape + event_shape` without a graph; `rsample` (where the
distribution has it) returns reparameterised draws that carry the gradient to the parameters.

`validate_args` (on by default, as in PyTorch: Python's `__debug__`) checks the parameters against
`arg_constraints` when the distribution is made, and the values given to `log_prob` against the shapes and
the `support`, raising ValueError with PyTorch's messages.
"""

import warnings

import numpy as np

from ..autograd import no_grad
from ..tensor import Size, Tensor
from .utils import lazy_property


class Distribution:
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        """Switch argument validation on or off for every distribution made after (default: on)."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self):
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:  # a user's subclass that declares none: PyTorch warns and checks nothing
            warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set `arg_constraints = {{}}` "
                          f"or initialize the distribution with `validate_args=False` to turn off validation.",
                          stacklevel=3)
            return
        for name, constraint in arg_constraints.items():
            if name not in self.__dict__ and isinstance(getattr(type(self), name), lazy_property):
                continue  # computed from the other parameter, which is checked
            value = getattr(self, name)
            if not np.all(constraint.check(value)):
                raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape {tuple(value.shape)}) "
                                 f"of distribution {self!r} to satisfy the constraint {constraint!r}, but found "
                                 f"invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None):
        """A new distribution with batch_shape `batch_shape` (the parameters expanded, no copy, no new checks);
        `_instance` is the half-made object of a subclass whose own expand calls this one."""
        raise NotImplementedError

    def _get_checked_instance(self, cls, _instance=None):
        """The object an `expand` fills in: `_instance`, or a bare instance of this distribution's class (a
        subclass with its own __init__ must write its own expand, since cls's cannot know its attributes)."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                                      f"__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def _finish_expand(self, new, batch_shape, event_shape=None):
        """The end of every expand, as PyTorch writes it: the shapes set without validating again, and this
        distribution's validate_args carried over."""
        Distribution.__init__(new, batch_shape, self._event_shape if event_shape is None else event_shape,
                              validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        """Draws of shape sample_shape + batch_shape + event_shape, with no graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no rsample: its draws cannot be reparameterised")

    def sample_n(self, n):
        """Deprecated as in PyTorch: sample((n,))."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.", FutureWarning, stacklevel=2)
        return self.sample(Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        """The cumulative distribution function at `value`."""
        raise NotImplementedError

    def icdf(self, value):
        """The inverse of the cumulative distribution function at `value`."""
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()):
        return Size(tuple(Size(sample_shape)) + self._batch_shape + self._event_shape)

    def _validate_sample(self, value):
        """The value given to log_prob: a Tensor whose trailing axes broadcast with batch_shape + event_shape,
        inside the support."""
        if not isinstance(value, Tensor):
            raise ValueError(f"The value argument to log_prob must be a Tensor, got {type(value).__name__}")
        event_start = value.dim() - len(self._event_shape)
        if value.shape[event_start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {value.shape} vs "
                             f"{self._event_shape}.")
        expected = Size(self._batch_shape + self._event_shape)
        for got, want in zip(reversed(value.shape), reversed(expected)):
            if got != 1 and want != 1 and got != want:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {value.shape} vs "
                                 f"{expected}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample validation. Please "
                          f"initialize the distribution with `validate_args=False` to turn off validation.",
                          stacklevel=3)
            return
        if not np.all(support.check(value)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({support!r}) of the distribution {self!r}, but found "
                             f"invalid values:\n{value}")

    def __repr__(self):
        names = [name for name in self.arg_constraints if name in self.__dict__]
        shown = [f"{name}: {value if value.numel() == 1 else value.shape}"  # f-string: 0-d as its number
                 for name, value in ((name, self.__dict__[name]) for name in names)]
        return f"{type(self).__name__}({', '.join(shown)})"
