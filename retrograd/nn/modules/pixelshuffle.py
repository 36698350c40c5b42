"""`torch.nn.modules.pixelshuffle`'s path to retrograd's pixel shuffles (`retrograd/nn/upsample.py`)."""
from ..upsample import PixelShuffle, PixelUnshuffle  # noqa: F401
