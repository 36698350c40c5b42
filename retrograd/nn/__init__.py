"""retrograd.nn: modules with PyTorch's names, parameter layouts and default initialisation."""
from . import functional, init  # noqa: F401
from .activation import (  # noqa: F401
    ELU, GELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, ReLU6, SiLU, Sigmoid, Softmax, Softmin,
    Softplus, Tanh,
)
from .containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .linear import Flatten, Identity, Linear, Unflatten  # noqa: F401
from .module import Module, Parameter  # noqa: F401
