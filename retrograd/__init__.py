"""retrograd: backpropagation you can read, with PyTorch's numbers.

`import retrograd as torch` runs PyTorch-style code for the features retrograd has.

The modules import one way: device, dtypes -> tensor -> random -> autograd -> ops -> nn, optim, data ->
train, diagnostics, explain, jobs. This namespace is PyTorch's, so some names here (float, int, bool,
abs, sum, max, ...) are retrograd's on purpose; no module inside the package shadows a builtin.
"""
from .dtypes import (  # noqa: F401
    bool_ as bool, double, float16, float32, float32 as float, float64, get_default_dtype, half, int8, int16, int32,
    int32 as int, int64, long, set_default_dtype, short, uint8,
)
from .tensor import (  # noqa: F401
    Size, Tensor, arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, is_tensor, linspace, ones,
    ones_like, tensor, zeros, zeros_like,
)
from ._tensor_str import set_printoptions  # noqa: F401  (PyTorch's; it has no public get_printoptions)
from .legacy_tensors import (  # noqa: F401
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor,
)
from .random import (  # noqa: F401
    Generator, bernoulli, default_generator, get_rng_state, initial_seed, manual_seed, multinomial, normal, rand,
    rand_like, randint, randint_like, randn, randn_like, randperm, seed, set_rng_state,
)
from .device import device, get_default_device, set_default_device  # noqa: F401  (the class, over its module)
from . import autograd, ops  # noqa: F401  (importing ops binds Tensor's math methods)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .ops.activation import (  # noqa: F401
    clamp, elu, gelu, hardtanh, leaky_relu, log_softmax, logsigmoid, relu, relu6, sigmoid, silu, softmax, softmin,
    softplus, tanh,
)
from .ops.activation_more import celu, hardshrink, prelu, rrelu, selu  # noqa: F401
from .ops.bilinear import bilinear  # noqa: F401
from .ops.compare import allclose, equal, isclose  # noqa: F401
from .ops.distance import cosine_similarity, pairwise_distance  # noqa: F401
from .ops.norm_groups import rms_norm  # noqa: F401
from .ops.pool_adaptive1d import adaptive_avg_pool1d  # noqa: F401
from .ops.elementwise import (  # noqa: F401
    abs, add, cos, div, eq, exp, expm1, floor, floor_divide, ge, gt, isfinite, isnan, le, log, log1p, log2, logical_not,
    lt, maximum, minimum, mul, ne, neg, pow, reciprocal, round, rsqrt, sign, sin, sqrt, square, sub, where,
)
from .ops.unary_math import (  # noqa: F401
    acos, acos as arccos, acosh, acosh as arccosh, asin, asin as arcsin, asinh, asinh as arcsinh, atan,
    atan as arctan, atanh, atanh as arctanh, ceil, cosh, deg2rad, exp2, frac, isinf, isneginf, isposinf, isreal,
    log10, nan_to_num, rad2deg, sgn, signbit, sinh, tan, trunc, trunc as fix,
)
from .ops.binary_math import (  # noqa: F401
    atan2, atan2 as arctan2, copysign, float_power, fmod, heaviside, hypot, lerp, logaddexp, logaddexp2, remainder,
    xlogy,
)
from .ops.logical import (  # noqa: F401
    bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, logical_and,
    logical_or, logical_xor,
)
from .ops.scan import cummax, cummin, cumprod, logcumsumexp  # noqa: F401
from .ops.order_stats import median, mode, nanmedian, nanquantile, quantile  # noqa: F401
from .ops.reduce_composed import aminmax, diff, nanmean, nansum, numel, std_mean, var_mean  # noqa: F401
from .ops.shape_composed import (  # noqa: F401
    atleast_1d, atleast_2d, atleast_3d, block_diag, broadcast_shapes, broadcast_tensors, broadcast_to,
    cartesian_prod, column_stack, combinations, diag_embed, diagonal, dstack, fliplr, flipud, hstack, meshgrid,
    rot90, row_stack, swapaxes, swapdims, tile, vstack,
)
from .ops.selection import (  # noqa: F401
    masked_select, repeat_interleave, scatter, select, take, take_along_dim,
)
from .ops.index_search import (  # noqa: F401
    argwhere, bincount, bucketize, histc, nonzero, searchsorted, tril_indices, triu_indices, unique,
    unique_consecutive,
)
from .ops.ranges import logspace, vander  # noqa: F401
from .ops.integrate import cumulative_trapezoid, trapezoid, trapz  # noqa: F401
from .ops.indexing import gather, index_put, index_select, masked_fill, scatter_add  # noqa: F401
from .ops.linalg import bmm, matmul, mm  # noqa: F401
from .ops.reduce import (  # noqa: F401
    all, amax, amin, any, argmax, argmin, count_nonzero, cumsum, logsumexp, max, mean, min, norm, prod, std, sum,
    var,
)
from .ops.shape import (  # noqa: F401
    cat, chunk, clone, diag, flatten, flip, movedim, narrow, permute, reshape, roll, split, squeeze, stack, t,
    transpose, tril, triu, unbind, unsqueeze,
)
from .ops.sort import argsort, kthvalue, msort, sort, topk  # noqa: F401
from .ops.factorization import cholesky_inverse  # noqa: F401
from .ops.cdist import cdist, dist, pdist  # noqa: F401
from .ops.einsum import einsum  # noqa: F401
from .ops.inverse import det, inv as inverse  # noqa: F401
from .ops.matrix_functions import (  # noqa: F401
    cross, logdet, matrix_power, svd, torch_qr as qr, torch_slogdet as slogdet,
)
from .ops.pinv import pinverse  # noqa: F401
from .ops.products import (  # noqa: F401
    addbmm, addcdiv, addcmul, addmm, addmv, addr, baddbmm, chain_matmul, dot, ger, inner, kron, mv, outer, tensordot,
    trace,
)
from .ops.special import erf, erfinv  # noqa: F401
from .ops.gamma_functions import digamma, igamma, lgamma, polygamma  # noqa: F401
from . import data, diagnostics, models, nn, optim, train, utils  # noqa: F401
from . import linalg  # noqa: F401  (torch.linalg: factorizations, inverses, solves, norms; see linalg.py)
from . import special  # noqa: F401  (torch.special: gammaln, digamma/psi, polygamma, gammainc, xlogy, erf)
from . import distributions  # noqa: F401  (torch.distributions: Categorical, Bernoulli, Normal, kl_divergence)
from . import distributed  # noqa: F401  (torch.distributed's API over MPI; imports mpi4py only when used)
from . import accelerator, backends, cuda, xpu  # noqa: F401  (CPU-only answers to PyTorch's device queries)
from . import hub, onnx  # noqa: F401  (torch.hub's tqdm; torch.onnx's import path, export refuses by name)
from .explain import explain  # noqa: F401
from .serialization import CheckpointError, load, save  # noqa: F401
from .interop import from_torch, to_torch  # noqa: F401  (PyTorch is imported only when they are called)
from . import testing  # noqa: F401

clip = clamp
moveaxis = movedim
true_divide = div
concat = concatenate = cat
__version__ = "0.1.0"
