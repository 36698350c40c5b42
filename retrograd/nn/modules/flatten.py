"""`torch.nn.modules.flatten`'s path to Flatten and Unflatten (`retrograd/nn/linear.py`)."""
from ..linear import Flatten, Unflatten  # noqa: F401
