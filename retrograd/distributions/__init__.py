"""retrograd.distributions: PyTorch's `torch.distributions` for Categorical, OneHotCategorical, Bernoulli,
Normal, MultivariateNormal, Uniform, Laplace, Exponential, Gamma, Chi2, Beta, Dirichlet and Independent.

Same constructors, properties, shapes and numbers: `log_prob`, `entropy`, `cdf`/`icdf`, `mean`, `mode`,
`variance`, `stddev`, `expand`, `sample` (PyTorch's draws after the same `manual_seed`), `rsample` where
PyTorch reparameterises, `kl_divergence` and `register_kl`. Everything differentiable is composed of
retrograd's ops, so `-(log_prob * advantage).sum()` is a policy-gradient loss whose backward reaches the
network that made the logits.
"""
from . import constraints  # noqa: F401
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .chi2 import Chi2
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from . import kl_gamma_family  # noqa: F401 (registers the Gamma, Beta and Dirichlet pairs)
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = ["Distribution", "Categorical", "OneHotCategorical", "Bernoulli", "Normal", "Uniform", "Laplace",
           "Exponential", "Gamma", "Chi2", "Beta", "Dirichlet", "Independent", "MultivariateNormal",
           "kl_divergence", "register_kl", "constraints"]
