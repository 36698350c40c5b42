"""`torch.nn.modules.sparse`'s path to Embedding (`retrograd/nn/sparse.py`)."""
from ..sparse import Embedding  # noqa: F401
