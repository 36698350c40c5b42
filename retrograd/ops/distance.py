"""Vector norms put to work: F.normalize, F.cosine_similarity and F.pairwise_distance (PyTorch's formulas).

All three are composed from `norm`, `clamp`, `div`, `mul` and `sum`, which give them their gradients
(and `explain` its steps). The one op of its own is `eps_floor`: cosine_similarity raises each norm to
eps outside the graph, as PyTorch does (`clamp_min_` under no_grad), so the gradient keeps flowing
through a norm below eps instead of stopping as clamp's would.
"""
import numpy as np

from .activation import clamp
from .base import array_of, check_broadcast, record
from .elementwise import add, div, mul, sub
from .reduce import norm
from .reduce import sum as reduce_sum
from .shape import expand


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """y = x / max(||x||_p, eps), the norm taken over `dim` and broadcast back (PyTorch's F.normalize).

    Composed: dL/dx comes from div, clamp (which passes the gradient at eps, as PyTorch's clamp_min) and
    norm (0 at a zero norm)."""
    result = div(input, clamp(norm(input, p, dim, keepdim=True), min=eps))
    if out is not None:
        out.copy_(result)
        return out
    return result


def eps_floor(x, eps):
    """y = max(x, eps) ;  dL/dx = g everywhere: the floor is applied outside the graph, as PyTorch's
    cosine_similarity clamps its norms in place under no_grad, so a norm below eps still passes its
    gradient. Saves nothing."""
    x_val = array_of(x)
    return record(eps_floor, np.maximum(x_val, np.asarray(eps, x_val.dtype)), (x,), lambda grad_out: (grad_out,))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """y = sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) over `dim` (x1, x2 broadcast to one shape).

    PyTorch 2.13's formula: each input is divided by its own floored norm before the product, which keeps y
    within [-1, 1]; the floors pass the gradient (`eps_floor`). The rest is composed."""
    shape = check_broadcast("cosine_similarity", x1.shape, x2.shape)
    if x1.dtype.kind not in "fc" and x2.dtype.kind not in "fc":
        raise RuntimeError(f"cosine_similarity: expected common dtype to be floating point, yet common dtype is "
                           f"{np.result_type(x1.dtype, x2.dtype)}")
    x1, x2 = expand(x1, shape), expand(x2, shape)
    x1_norm = eps_floor(norm(x1, 2, dim, keepdim=True), eps)
    x2_norm = eps_floor(norm(x2, 2, dim, keepdim=True), eps)
    return reduce_sum(mul(div(x1, x1_norm), div(x2, x2_norm)), dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """y = ||x1 - x2 + eps||_p over the last dim of the broadcast shape (PyTorch's F.pairwise_distance:
    eps is added to the difference, not to the norm). Composed from sub, add and norm."""
    last_dim = max(x1.ndim, x2.ndim) - 1
    return norm(add(sub(x1, x2), eps), p, last_dim, keepdim)
