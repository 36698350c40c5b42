"""`torch.nn.modules.normalization`'s path to LayerNorm (`retrograd/nn/normalization.py`)."""
from ..normalization import LayerNorm  # noqa: F401
from ..normalization_groups import GroupNorm, LocalResponseNorm, RMSNorm  # noqa: F401
