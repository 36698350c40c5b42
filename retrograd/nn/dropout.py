"""Dropout (inverted: survivors are scaled by 1/(1-p) in training; identity in eval)."""
from .module import Module
from . import functional as F


class Dropout(Module):
    _tensor_args = 1

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zeroes whole channels: each (sample, channel) sequence of an (N, C, L) input, or each channel of an
    unbatched (C, L) one, is dropped with probability p and the survivors are scaled by 1/(1-p)."""

    def forward(self, x):
        return F.dropout1d(x, self.p, self.training)


class Dropout2d(Dropout):
    """Zeroes whole channels: each (sample, channel) map of an (N, C, H, W) input is dropped with
    probability p and the survivors are scaled by 1/(1-p). A 3-D input is read as (N, C, L) with PyTorch's
    warning, as PyTorch 2.13 does (see F.dropout2d)."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)
