"""PyTorch's `torch.utils` path: `retrograd.utils.data` is `retrograd.data`, so `torch.utils.data` code runs."""
import sys

from .. import data  # noqa: F401

sys.modules[__name__ + ".data"] = data
