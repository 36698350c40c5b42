"""OpenAI-style evolution strategies (Salimans et al. 2017): a gradient estimate from loss values alone.

Each generation draws `popsize // 2` directions eps_i ~ N(0, I) and evaluates the antithetic pairs
theta + sigma eps_i and theta - sigma eps_i, plus theta itself (so that the best point seen
includes the mean, which is what ES optimises; one evaluation more per generation). The losses
are replaced by their centred ranks (in [-0.5, 0.5], 0 for the median: the update no longer
depends on the loss's scale or outliers), and

    g = 1 / (popsize * sigma) * sum_i (rank(theta + sigma eps_i) - rank(theta - sigma eps_i)) eps_i

estimates the gradient of the smoothed loss E[f(theta + sigma eps)]. The step on g is
retrograd's own `optim.Adam` (PyTorch's update rule, `weight_decay` as its L2 term) on theta held
as a float64 Parameter, as the paper's implementation used Adam.
"""
import numpy as np

from ..nn.module import Parameter
from ..optim.adam import Adam
from ..tensor import from_numpy


def evolution_strategy(tracker, x0, rng, popsize=50, sigma=0.05, lr=0.02, weight_decay=0.0):
    """OpenAI-ES from theta = x0 with `popsize` (even) perturbations per generation; runs until the budget ends."""
    if popsize < 2 or popsize % 2:
        raise ValueError(f"minimize(method='es'): popsize must be an even number >= 2 (antithetic pairs), "
                         f"got {popsize}")
    theta = Parameter(from_numpy(x0.copy()))
    optimizer = Adam([theta], lr=lr, weight_decay=weight_decay)
    half = popsize // 2
    while True:
        noise = rng.standard_normal((half, len(x0)))                          # (H, n)
        mean = theta.array
        candidates = np.vstack([mean + sigma * noise, mean - sigma * noise, mean[None, :]])  # (2H + 1, n)
        losses = tracker.evaluate_population(candidates)
        ranks = _centred_ranks(losses[:popsize])                                # (2H,)
        gradient = (ranks[:half] - ranks[half:]) @ noise / (popsize * sigma)   # (n,)
        theta.grad = from_numpy(gradient)
        optimizer.step()


def _centred_ranks(losses):
    """Ranks scaled to [-0.5, 0.5]: the lowest loss gets -0.5, the highest 0.5 (ties by position)."""
    ranks = np.empty(len(losses))
    ranks[np.argsort(losses, kind="stable")] = np.arange(len(losses))
    return ranks / (len(losses) - 1) - 0.5
