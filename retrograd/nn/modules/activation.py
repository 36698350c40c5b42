"""`torch.nn.modules.activation`'s path to retrograd's activation layers (`retrograd/nn/activation.py`)."""
from ..activation import (  # noqa: F401
    ELU, GELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, ReLU6, SiLU, Sigmoid, Softmax, Softmin,
    Softplus, Tanh, Threshold,
)
from ..activation_more import (  # noqa: F401
    CELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Mish, PReLU, RReLU, Softmax2d, Softshrink, Softsign,
    Tanhshrink,
)
from ..attention import MultiheadAttention  # noqa: F401  (PyTorch keeps it in this file too)
