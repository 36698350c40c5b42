"""PyTorch's `torch.utils` path, so that `torch.utils.data` code runs with retrograd: see `utils/data.py`."""
from . import data  # noqa: F401  (torch.utils.data is reachable as an attribute after `import torch`)
