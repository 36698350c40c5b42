"""`torch.nn.modules.conv`'s path to retrograd's convolution layers (`retrograd/nn/conv.py`)."""
from ..conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, _ConvNd  # noqa: F401
