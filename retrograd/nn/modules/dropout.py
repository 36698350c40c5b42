"""`torch.nn.modules.dropout`'s path to retrograd's dropout layers (`retrograd/nn/dropout.py`)."""
from ..dropout import Dropout, Dropout1d, Dropout2d  # noqa: F401
