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
    "__pow__": elementwise.pow, "__rpow__": elementwise.rpow,
    "__matmul__": linalg.matmul, "__rmatmul__": linalg.rmatmul,
    "__neg__": elementwise.neg, "__abs__": elementwise.abs,
    "__lt__": elementwise.lt, "__le__": elementwise.le, "__gt__": elementwise.gt, "__ge__": elementwise.ge,
    "__eq__": elementwise.eq, "__ne__": elementwise.ne,
    "__invert__": elementwise.logical_not,
    "__getitem__": indexing.getitem, "__setitem__": inplace.setitem,
    # elementwise
    "add": elementwise.add, "sub": elementwise.sub, "mul": elementwise.mul, "div": elementwise.div,
    "subtract": elementwise.sub, "multiply": elementwise.mul, "divide": elementwise.div,
    "true_divide": elementwise.div, "neg": elementwise.neg, "negative": elementwise.neg,
    "pow": elementwise.pow, "square": elementwise.square, "abs": elementwise.abs, "sign": elementwise.sign,
    "sqrt": elementwise.sqrt, "rsqrt": elementwise.rsqrt, "reciprocal": elementwise.reciprocal,
    "exp": elementwise.exp, "expm1": elementwise.expm1, "log": elementwise.log, "log2": elementwise.log2,
    "log1p": elementwise.log1p, "sin": elementwise.sin, "cos": elementwise.cos,
    "erf": special.erf, "erfinv": special.erfinv, "xlogy": special.xlogy,
    "lgamma": gamma_functions.lgamma, "digamma": gamma_functions.digamma, "polygamma": _polygamma,
    "igamma": gamma_functions.igamma,
    "maximum": elementwise.maximum, "minimum": elementwise.minimum,
    "eq": elementwise.eq, "ne": elementwise.ne, "lt": elementwise.lt, "le": elementwise.le,
    "gt": elementwise.gt, "ge": elementwise.ge, "isnan": elementwise.isnan, "isfinite": elementwise.isfinite,
    "logical_not": elementwise.logical_not, "floor": elementwise.floor, "round": elementwise.round,
    "isclose": compare.isclose, "allclose": compare.allclose, "equal": compare.equal,
    "matmul": linalg.matmul, "mm": linalg.matmul, "bmm": linalg.matmul, "mv": products.mv,
    "dot": products.dot, "outer": products.outer, "ger": products.outer, "inner": products.inner,
    "kron": products.kron, "trace": products.trace, "addmm": products.addmm, "addmv": products.addmv,
    "addbmm": products.addbmm, "baddbmm": products.baddbmm, "addr": products.addr, "addcmul": products.addcmul,
    "addcdiv": products.addcdiv,
    "inverse": inverse.inv, "det": inverse.det, "slogdet": matrix_functions.torch_slogdet,
    "logdet": matrix_functions.logdet, "matrix_power": matrix_functions.matrix_power, "pinverse": pinv.pinverse,
    "svd": matrix_functions.svd, "qr": matrix_functions.torch_qr, "cross": matrix_functions.cross,
    "dist": cdist.dist,
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
    "__iadd__": elementwise.add, "__isub__": elementwise.sub, "__imul__": elementwise.mul,
    "__itruediv__": elementwise.div, "__ipow__": elementwise.pow,
}


PROPERTIES = {"T": _T, "mT": _mT}

for _name, _op in METHODS.items():
    setattr(Tensor, _name, _op)
for _name, _op in INPLACE.items():
    setattr(Tensor, _name, inplace.in_place_method(_op, _name))
for _name, _getter in PROPERTIES.items():
    setattr(Tensor, _name, property(_getter))
