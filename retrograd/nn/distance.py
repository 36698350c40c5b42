"""CosineSimilarity and PairwiseDistance: the options of ops/distance.py's functions (PyTorch's names)."""
from ..ops import distance
from .module import Module


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim."""

    _tensor_args = 2

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return distance.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) over `dim`."""

    _tensor_args = 2

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return distance.cosine_similarity(x1, x2, self.dim, self.eps)
