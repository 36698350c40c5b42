"""AdaptiveAvgPool1d and AdaptiveMaxPool1d: the output length (and return_indices) of ops/pool_adaptive1d.py."""
from ..ops import pool_adaptive1d
from .module import Module


class AdaptiveAvgPool1d(Module):
    _tensor_args = 1

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return pool_adaptive1d.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(Module):
    _tensor_args = 1

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return pool_adaptive1d.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"
