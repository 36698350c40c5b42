"""`torch.nn.modules.fold`'s path to Fold and Unfold (`retrograd/nn/fold.py`)."""
from ..fold import Fold, Unfold  # noqa: F401
