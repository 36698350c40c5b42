"""`torch.nn.modules.upsampling`'s path to retrograd's upsampling layers (`retrograd/nn/upsample.py`)."""
from ..upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
