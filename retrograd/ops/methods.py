"""Tensor's math methods and operators: the ops of this package under PyTorch's method names.

`x.tanh()` is `activation.tanh(x)`, `x + y` is `elementwise.add(x, y)`, `x.add_(y)` is `add` followed by
the in-place rules of `inplace.py`. Tensor (tensor.py) cannot import the ops, which are built on it, so
this one table binds them when `retrograd.ops` is imported; nothing else attaches methods to Tensor.
"""
import numpy as np

from ..autograd.engine import register_post_accumulate_grad_hook
from ..autograd.functional import backward
from .. import random
from ..tensor import Tensor
from . import activation, compare, elementwise, gamma_functions, indexing, inplace, linalg, reduce, shape, sort, special
from . import activation_more
from . import cdist, inverse, matrix_functions, pinv, products
from . import binary_math, index_search, logical, order_stats, reduce_composed, scan, selection, shape_composed
from . import unary_math


def _backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(self)/d(leaf) * gradient into `.grad` of every leaf that requires grad."""
    backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)


def _type(self, dtype=None):
    """The type's name, or a copy cast to `dtype` (whose gradient is cast back)."""
    if dtype is None:
        return f"retrograd.{self.array.dtype}"
    return shape.cast(self, np.dtype(dtype))


def _T(self):
    return shape.permute(self, *reversed(range(self.ndim)))


def _mT(self):
    return shape.transpose(self, -2, -1)


def _polygamma(self, n):
    """x.polygamma(n): PyTorch's method takes n after the tensor."""
    return gamma_functions.polygamma(n, self)


METHODS = {
    # operators
    "__add__": elementwise.add, "__radd__": elementwise.add,
    "__sub__": elementwise.sub, "__rsub__": elementwise.rsub,
    "__mul__": elementwise.mul, "__rmul__": elementwise.mul,
    "__truediv__": elementwise.div, "__rtruediv__": elementwise.rdiv,
    "__floordiv__": elementwise.floor_divide, "__rfloordiv__": elementwise.rfloor_divide,
    "__pow__": elementwise.pow, "__rpow__": elementwise.rpow,
    "__matmul__": linalg.matmul, "__rmatmul__": linalg.rmatmul,
    "__neg__": elementwise.neg, "__abs__": elementwise.abs,
    "__lt__": elementwise.lt, "__le__": elementwise.le, "__gt__": elementwise.gt, "__ge__": elementwise.ge,
    "__eq__": elementwise.eq, "__ne__": elementwise.ne,
    "__invert__": elementwise.logical_not,
    "__mod__": binary_math.remainder, "__rmod__": binary_math.rremainder,
    "__and__": logical.bitwise_and, "__rand__": logical.bitwise_and, "__or__": logical.bitwise_or,
    "__ror__": logical.bitwise_or, "__xor__": logical.bitwise_xor, "__rxor__": logical.bitwise_xor,
    "__lshift__": logical.bitwise_left_shift, "__rshift__": logical.bitwise_right_shift,
    "__getitem__": indexing.getitem, "__setitem__": inplace.setitem,
    # elementwise
    "add": elementwise.add, "sub": elementwise.sub, "mul": elementwise.mul, "div": elementwise.div,
    "subtract": elementwise.sub, "multiply": elementwise.mul, "divide": elementwise.div,
    "true_divide": elementwise.div, "floor_divide": elementwise.floor_divide, "neg": elementwise.neg,
    "negative": elementwise.neg,
    "pow": elementwise.pow, "square": elementwise.square, "abs": elementwise.abs, "sign": elementwise.sign,
    "sqrt": elementwise.sqrt, "rsqrt": elementwise.rsqrt, "reciprocal": elementwise.reciprocal,
    "exp": elementwise.exp, "expm1": elementwise.expm1, "log": elementwise.log, "log2": elementwise.log2,
    "log1p": elementwise.log1p, "sin": elementwise.sin, "cos": elementwise.cos,
    "erf": special.erf, "erfinv": special.erfinv,
    "lgamma": gamma_functions.lgamma, "digamma": gamma_functions.digamma, "polygamma": _polygamma,
    "igamma": gamma_functions.igamma,
    "maximum": elementwise.maximum, "minimum": elementwise.minimum,
    "eq": elementwise.eq, "ne": elementwise.ne, "lt": elementwise.lt, "le": elementwise.le,
    "gt": elementwise.gt, "ge": elementwise.ge, "isnan": elementwise.isnan, "isfinite": elementwise.isfinite,
    "logical_not": elementwise.logical_not, "floor": elementwise.floor, "round": elementwise.round,
    "isclose": compare.isclose, "allclose": compare.allclose, "equal": compare.equal,
    "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm, "mv": products.mv,
    "dot": products.dot, "outer": products.outer, "ger": products.outer, "inner": products.inner,
    "kron": products.kron, "trace": products.trace, "addmm": products.addmm, "addmv": products.addmv,
    "addbmm": products.addbmm, "baddbmm": products.baddbmm, "addr": products.addr, "addcmul": products.addcmul,
    "addcdiv": products.addcdiv,
    "inverse": inverse.inv, "det": inverse.det, "slogdet": matrix_functions.torch_slogdet,
    "logdet": matrix_functions.logdet, "matrix_power": matrix_functions.matrix_power, "pinverse": pinv.pinverse,
    "svd": matrix_functions.svd, "qr": matrix_functions.torch_qr, "cross": matrix_functions.cross,
    "dist": cdist.dist,
    "tan": unary_math.tan, "asin": unary_math.asin, "acos": unary_math.acos, "atan": unary_math.atan,
    "arcsin": unary_math.asin, "arccos": unary_math.acos, "arctan": unary_math.atan,
    "sinh": unary_math.sinh, "cosh": unary_math.cosh, "asinh": unary_math.asinh, "acosh": unary_math.acosh,
    "atanh": unary_math.atanh, "arcsinh": unary_math.asinh, "arccosh": unary_math.acosh,
    "arctanh": unary_math.atanh, "log10": unary_math.log10, "exp2": unary_math.exp2,
    "deg2rad": unary_math.deg2rad, "rad2deg": unary_math.rad2deg, "ceil": unary_math.ceil,
    "trunc": unary_math.trunc, "fix": unary_math.trunc, "frac": unary_math.frac, "sgn": unary_math.sgn,
    "signbit": unary_math.signbit, "isinf": unary_math.isinf, "isposinf": unary_math.isposinf,
    "isneginf": unary_math.isneginf, "isreal": unary_math.isreal, "nan_to_num": unary_math.nan_to_num,
    "fmod": binary_math.fmod, "remainder": binary_math.remainder, "atan2": binary_math.atan2,
    "arctan2": binary_math.atan2, "hypot": binary_math.hypot, "logaddexp": binary_math.logaddexp,
    "logaddexp2": binary_math.logaddexp2, "xlogy": binary_math.xlogy, "lerp": binary_math.lerp,
    "float_power": binary_math.float_power, "copysign": binary_math.copysign, "heaviside": binary_math.heaviside,
    "logical_and": logical.logical_and, "logical_or": logical.logical_or, "logical_xor": logical.logical_xor,
    "bitwise_and": logical.bitwise_and, "bitwise_or": logical.bitwise_or, "bitwise_xor": logical.bitwise_xor,
    "bitwise_not": logical.bitwise_not, "bitwise_left_shift": logical.bitwise_left_shift,
    "bitwise_right_shift": logical.bitwise_right_shift,
    # activations
    "sigmoid": activation.sigmoid, "tanh": activation.tanh, "relu": activation.relu,
    "clamp": activation.clamp, "clip": activation.clamp,
    "softmax": activation.softmax, "log_softmax": activation.log_softmax, "softmin": activation.softmin,
    "logsigmoid": activation.logsigmoid, "silu": activation.silu,
    # reductions
    "sum": reduce.sum, "mean": reduce.mean, "prod": reduce.prod, "var": reduce.var, "std": reduce.std,
    "max": reduce.max, "min": reduce.min, "amax": reduce.amax, "amin": reduce.amin,
    "logsumexp": reduce.logsumexp, "norm": reduce.norm, "argmax": reduce.argmax, "argmin": reduce.argmin,
    "cumsum": reduce.cumsum, "count_nonzero": reduce.count_nonzero, "all": reduce.all, "any": reduce.any,
    "cumprod": scan.cumprod, "cummax": scan.cummax, "cummin": scan.cummin, "logcumsumexp": scan.logcumsumexp,
    "median": order_stats.median, "nanmedian": order_stats.nanmedian, "mode": order_stats.mode,
    "quantile": order_stats.quantile, "nanquantile": order_stats.nanquantile, "diff": reduce_composed.diff,
    "nansum": reduce_composed.nansum, "nanmean": reduce_composed.nanmean, "aminmax": reduce_composed.aminmax,
    # sorting
    "sort": sort.sort, "argsort": sort.argsort, "msort": sort.msort, "topk": sort.topk, "kthvalue": sort.kthvalue,
    # shape
    "reshape": shape.reshape, "view": shape.reshape, "flatten": shape.flatten, "squeeze": shape.squeeze,
    "unsqueeze": shape.unsqueeze, "transpose": shape.transpose, "permute": shape.permute,
    "expand": shape.expand, "repeat": shape.repeat, "split": shape.split, "chunk": shape.chunk,
    "gather": indexing.gather, "index_select": indexing.index_select, "masked_fill": indexing.masked_fill,
    "unbind": shape.unbind, "expand_as": shape.expand_as, "reshape_as": shape.reshape_as,
    "view_as": shape.reshape_as, "t": shape.t, "swapaxes": shape.transpose,
    "flip": shape.flip, "roll": shape.roll, "narrow": shape.narrow, "movedim": shape.movedim,
    "moveaxis": shape.movedim, "tril": shape.tril, "triu": shape.triu, "scatter_add": indexing.scatter_add,
    "index_put": indexing.index_put, "diag": shape.diag, "unfold": shape.unfold,
    "broadcast_to": shape_composed.broadcast_to, "tile": shape_composed.tile, "fliplr": shape_composed.fliplr,
    "flipud": shape_composed.flipud, "rot90": shape_composed.rot90, "swapdims": shape_composed.swapdims,
    "diagonal": shape_composed.diagonal, "diag_embed": shape_composed.diag_embed,
    "repeat_interleave": selection.repeat_interleave, "take": selection.take,
    "take_along_dim": selection.take_along_dim, "masked_select": selection.masked_select,
    "select": selection.select, "scatter": selection.scatter, "nonzero": index_search.nonzero,
    "argwhere": index_search.argwhere, "unique": index_search.unique,
    "unique_consecutive": index_search.unique_consecutive, "bincount": index_search.bincount,
    "histc": index_search.histc,
    # in-place
    "zero_": inplace.zero_, "fill_": inplace.fill_, "copy_": inplace.copy_, "normal_": inplace.normal_,
    "uniform_": inplace.uniform_, "bernoulli_": inplace.bernoulli_, "exponential_": inplace.exponential_,
    "random_": inplace.random_,
    # random draws
    "bernoulli": random.bernoulli, "multinomial": random.multinomial,
    # conversions and autograd
    "type": _type, "clone": shape.clone, "backward": _backward,
    "register_post_accumulate_grad_hook": register_post_accumulate_grad_hook,
    "prelu": activation_more.prelu, "hardshrink": activation_more.hardshrink,
}

INPLACE = {
    "add_": elementwise.add, "sub_": elementwise.sub, "mul_": elementwise.mul, "div_": elementwise.div,
    "pow_": elementwise.pow, "neg_": elementwise.neg, "abs_": elementwise.abs, "sqrt_": elementwise.sqrt,
    "exp_": elementwise.exp, "log_": elementwise.log, "clamp_": activation.clamp, "clip_": activation.clamp,
    "sigmoid_": activation.sigmoid, "tanh_": activation.tanh, "relu_": activation.relu,
    "leaky_relu_": activation.leaky_relu, "elu_": activation.elu, "hardtanh_": activation.hardtanh,
    "relu6_": activation.relu6, "silu_": activation.silu,
    "masked_fill_": indexing.masked_fill, "tril_": shape.tril, "triu_": shape.triu,
    "scatter_add_": indexing.scatter_add, "index_put_": indexing.index_put,
    "addcmul_": products.addcmul, "addcdiv_": products.addcdiv, "addmm_": products.addmm, "addmv_": products.addmv,
    "addbmm_": products.addbmm, "baddbmm_": products.baddbmm, "addr_": products.addr,
    "scatter_": selection.scatter,
    "ceil_": unary_math.ceil, "trunc_": unary_math.trunc, "fix_": unary_math.trunc, "frac_": unary_math.frac,
    "tan_": unary_math.tan, "sinh_": unary_math.sinh, "cosh_": unary_math.cosh, "asin_": unary_math.asin,
    "acos_": unary_math.acos, "atan_": unary_math.atan, "asinh_": unary_math.asinh, "acosh_": unary_math.acosh,
    "atanh_": unary_math.atanh, "log10_": unary_math.log10, "exp2_": unary_math.exp2,
    "deg2rad_": unary_math.deg2rad, "rad2deg_": unary_math.rad2deg, "sgn_": unary_math.sgn,
    "nan_to_num_": unary_math.nan_to_num, "fmod_": binary_math.fmod, "remainder_": binary_math.remainder,
    "atan2_": binary_math.atan2, "hypot_": binary_math.hypot, "xlogy_": binary_math.xlogy,
    "lerp_": binary_math.lerp, "copysign_": binary_math.copysign,
    "__iadd__": elementwise.add, "__isub__": elementwise.sub, "__imul__": elementwise.mul,
    "__itruediv__": elementwise.div, "__ipow__": elementwise.pow,
    "__imod__": binary_math.remainder, "__iand__": logical.bitwise_and, "__ior__": logical.bitwise_or,
    "__ixor__": logical.bitwise_xor, "__ilshift__": logical.bitwise_left_shift,
    "__irshift__": logical.bitwise_right_shift, "bitwise_and_": logical.bitwise_and,
    "bitwise_or_": logical.bitwise_or, "bitwise_xor_": logical.bitwise_xor,
}


PROPERTIES = {"T": _T, "mT": _mT}

for _name, _op in METHODS.items():
    setattr(Tensor, _name, _op)
for _name, _op in INPLACE.items():
    setattr(Tensor, _name, inplace.in_place_method(_op, _name))
for _name, _getter in PROPERTIES.items():
    setattr(Tensor, _name, property(_getter))
