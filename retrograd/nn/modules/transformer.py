"""`torch.nn.modules.transformer`'s path to the Transformer layers (`retrograd/nn/transformer.py`)."""
from ..transformer import (  # noqa: F401
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
)
