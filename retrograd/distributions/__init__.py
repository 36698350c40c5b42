"""retrograd.distributions: PyTorch's `torch.distributions` for Categorical, Bernoulli and Normal.

Same constructors, properties, shapes and numbers: `log_prob`, `entropy`, `mean`, `variance`, `stddev`,
`sample` (PyTorch's draws after the same `manual_seed`), `rsample` for Normal, `kl_divergence` and
`register_kl`. Everything differentiable is composed of retrograd's ops, so `-(log_prob * advantage).sum()`
is a policy-gradient loss whose backward reaches the network that made the logits.
"""
from . import constraints  # noqa: F401
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .kl import kl_divergence, register_kl
from .normal import Normal

__all__ = ["Distribution", "Categorical", "Bernoulli", "Normal", "kl_divergence", "register_kl", "constraints"]
