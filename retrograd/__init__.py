"""retrograd: backpropagation you can read, with PyTorch's numbers.

`import retrograd as torch` runs PyTorch-style code for the features retrograd has.
"""
from .tensor import (  # noqa: F401
    Size, Tensor, arange, as_tensor, bool, default_generator, double, empty, empty_like, eye, float, float16,
    float32, float64, from_numpy, full, full_like, get_default_dtype, get_rng_state, half, int, int8, int16,
    int32, int64, is_tensor, linspace, long, manual_seed, ones, ones_like, rand, rand_like, randint, randn,
    randn_like, randperm, set_default_dtype, set_rng_state, short, tensor, uint8, zeros, zeros_like,
)
from . import _methods  # noqa: F401,E402  (binds Tensor methods and operators)
from . import autograd, nn, optim  # noqa: F401,E402
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401,E402
from .ops.elementwise import (  # noqa: F401,E402
    abs, add, cos, div, eq, exp, expm1, floor, ge, gt, isfinite, isnan, le, log, log1p, log2, logical_not,
    lt, maximum, minimum, mul, ne, neg, pow, reciprocal, round, rsqrt, sign, sin, sqrt, square, sub, where,
)
from .ops.activation import (  # noqa: F401,E402
    clamp, elu, gelu, hardtanh, leaky_relu, log_softmax, logsigmoid, relu, relu6, sigmoid, silu, softmax, softmin,
    softplus, tanh,
)
from .ops.linalg import matmul  # noqa: F401,E402
from .ops.reduce import (  # noqa: F401,E402
    all, amax, amin, any, argmax, argmin, count_nonzero, cumsum, logsumexp, max, mean, min, norm, prod, std, sum,
    var,
)
from .ops.shape import (  # noqa: F401,E402
    cat, chunk, clone, flatten, flip, gather, index_put, index_select, masked_fill, movedim, narrow, permute,
    reshape, roll, scatter_add, split, squeeze, stack, t, transpose, tril, triu, unbind, unsqueeze,
)
from . import data, diagnostics, models, train, utils  # noqa: F401,E402
from .explain import explain  # noqa: F401,E402
from .serialization import CheckpointError, load, save  # noqa: F401,E402

clip = clamp
moveaxis = movedim
mm = bmm = matmul
concat = concatenate = cat
__version__ = "0.1.0"
