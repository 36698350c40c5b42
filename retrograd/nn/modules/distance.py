"""`torch.nn.modules.distance`'s path to CosineSimilarity and PairwiseDistance (`retrograd/nn/distance.py`)."""
from ..distance import CosineSimilarity, PairwiseDistance  # noqa: F401
