"""`torch.nn.modules.linear`'s path to Linear and Identity (`retrograd/nn/linear.py`)."""
from ..linear import Identity, Linear  # noqa: F401
from ..bilinear import Bilinear  # noqa: F401
