"""`torch.nn.modules.module`'s path to Module (`retrograd/nn/module.py`)."""
from ..module import Module, Parameter  # noqa: F401
