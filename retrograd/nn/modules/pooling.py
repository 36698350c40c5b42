"""`torch.nn.modules.pooling`'s path to retrograd's pooling layers (`retrograd/nn/pooling.py`)."""
from ..pooling import (  # noqa: F401
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool2d, _AvgPoolNd,
    _MaxPoolNd,
)
from ..pooling_adaptive1d import AdaptiveAvgPool1d, AdaptiveMaxPool1d  # noqa: F401
