"""retrograd.special: PyTorch's `torch.special` for what retrograd has, each the op under its other name
(`gammaln` is `lgamma`, `psi` is `digamma`, `gammainc` is `igamma`, `expit` is `sigmoid`): one
implementation, one gradient, whichever name a script uses."""
from .ops.activation import log_softmax, sigmoid as expit, softmax
from .ops.elementwise import expm1, log1p
from .ops.gamma_functions import digamma, digamma as psi, igamma as gammainc, lgamma as gammaln, polygamma
from .ops.reduce import logsumexp
from .ops.special import erf, erfinv, xlogy

__all__ = ["digamma", "erf", "erfinv", "expit", "expm1", "gammainc", "gammaln", "log1p", "log_softmax",
           "logsumexp", "polygamma", "psi", "softmax", "xlogy"]
