"""`torch.nn.modules.container`'s path to retrograd's containers (`retrograd/nn/containers.py`)."""
from ..containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
