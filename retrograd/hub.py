"""`retrograd.hub`: torch.hub's import path for what scripts take from it without downloading anything.

pytorch/examples' vision_transformer writes `from torch.hub import tqdm` (torch.hub re-exports tqdm's
progress bar); retrograd has no model hub to load from, so only that name is here."""
from tqdm import tqdm  # noqa: F401

__all__ = ["tqdm"]
