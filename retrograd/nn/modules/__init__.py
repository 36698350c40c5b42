"""`retrograd.nn.modules`: PyTorch's `torch.nn.modules` import paths for retrograd's layers.

PyTorch scripts import layers and their base classes by submodule (`from torch.nn.modules.loss import
_Loss`, `torch.nn.modules.module.Module`, `torch.nn.modules.batchnorm._BatchNorm`). Each submodule here
is a plain module re-exporting retrograd's classes under PyTorch's file name; the layers themselves
live one level up (`retrograd/nn/loss.py`, ...). A layer added to `retrograd.nn` gets a line in its
PyTorch submodule here (tests/test_nn_namespaces.py checks that none is missing).
"""
from . import (  # noqa: F401
    activation, batchnorm, container, conv, dropout, flatten, linear, loss, module, normalization, pixelshuffle,
    pooling, rnn, sparse, transformer, upsampling, utils,
)
from . import distance, fold, instancenorm, padding  # noqa: F401
from .activation import (  # noqa: F401
    ELU, GELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, ReLU6, SiLU, Sigmoid, Softmax, Softmin,
    Softplus, Tanh, Threshold,
)
from .activation import MultiheadAttention  # noqa: F401
from .activation import (  # noqa: F401
    CELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Mish, PReLU, RReLU, Softmax2d, Softshrink, Softsign,
    Tanhshrink,
)
from .distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from .fold import Fold, Unfold  # noqa: F401
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d  # noqa: F401
from .normalization import GroupNorm, LocalResponseNorm, RMSNorm  # noqa: F401
from .padding import (  # noqa: F401
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, ReflectionPad1d,
    ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
    ZeroPad3d,
)
from .pooling import AdaptiveAvgPool1d, AdaptiveMaxPool1d  # noqa: F401
from .batchnorm import BatchNorm1d, BatchNorm2d, SyncBatchNorm  # noqa: F401
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from .dropout import Dropout, Dropout1d, Dropout2d  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .linear import Identity, Linear  # noqa: F401
from .linear import Bilinear  # noqa: F401
from .loss import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss,
)
from .loss import (  # noqa: F401
    CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss, MarginRankingLoss, MultiLabelSoftMarginLoss,
    MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss,
)
from .module import Module  # noqa: F401
from .normalization import LayerNorm  # noqa: F401
from .pooling import (  # noqa: F401
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from .sparse import Embedding  # noqa: F401
from .transformer import (  # noqa: F401
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
)
from .pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
