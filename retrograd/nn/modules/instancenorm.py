"""`torch.nn.modules.instancenorm`'s path to the InstanceNorm layers (`retrograd/nn/instancenorm.py`)."""
from ..instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm  # noqa: F401
