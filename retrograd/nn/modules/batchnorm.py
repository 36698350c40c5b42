"""`torch.nn.modules.batchnorm`'s path to retrograd's batch norm layers (`retrograd/nn/normalization.py`)."""
from ..normalization import BatchNorm1d, BatchNorm2d, SyncBatchNorm, _BatchNorm  # noqa: F401
