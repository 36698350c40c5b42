"""A genetic algorithm on real vectors: tournament selection, uniform crossover, Gaussian mutation, elitism.

Written here because it is short and every step should be visible: the maintained libraries
(DEAP, pygad) bring their own population objects and random state where this needs a (P, n) array
and one seeded Generator. One generation:

1. elitism: the `elite` best individuals pass unchanged (their losses are kept, not re-evaluated);
2. tournament selection: each parent is the best of `tournament` individuals drawn at random;
3. uniform crossover: with probability `crossover`, a child takes each gene from either parent
   with probability 1/2; otherwise it copies its first parent;
4. Gaussian mutation: each gene of a child moves by N(0, mutation_std^2) with probability `mutation_rate`.

The first generation is x0 and `popsize - 1` points x0 + init_std * N(0, I); it costs `popsize`
evaluations, every later one `popsize - elite`.
"""
import numpy as np


def genetic(tracker, x0, rng, popsize=50, elite=2, tournament=3, crossover=0.9, mutation_rate=0.1,
            mutation_std=0.1, init_std=0.1):
    """Evolve a population from x0 until the budget ends; returns why it stopped."""
    if not 0 <= elite < popsize or tournament < 1:
        raise ValueError(f"minimize(method='ga'): expected 0 <= elite < popsize and tournament >= 1, got "
                         f"elite={elite}, popsize={popsize}, tournament={tournament}")
    n = len(x0)
    population = np.vstack([x0, x0 + init_std * rng.standard_normal((popsize - 1, n))])  # (P, n)
    losses = tracker.evaluate_population(population)
    while True:
        order = np.argsort(losses, kind="stable")
        elites = order[:elite]
        first = _tournament(losses, popsize - elite, tournament, rng)    # (C,) parent indices
        second = _tournament(losses, popsize - elite, tournament, rng)   # (C,)
        children = _crossover(population[first], population[second], crossover, rng)  # (C, n)
        mutate = rng.random(children.shape) < mutation_rate
        children += mutate * (mutation_std * rng.standard_normal(children.shape))
        child_losses = tracker.evaluate_population(children)
        population = np.vstack([population[elites], children])
        losses = np.concatenate([losses[elites], child_losses])


def _tournament(losses, count, size, rng):
    """`count` winners, each the lowest loss among `size` individuals drawn with replacement."""
    entrants = rng.integers(0, len(losses), size=(count, size))  # (count, size)
    return entrants[np.arange(count), np.argmin(losses[entrants], axis=1)]


def _crossover(mothers, fathers, rate, rng):
    """Uniform crossover of each pair with probability `rate`; otherwise the child is the mother."""
    crossed = rng.random(len(mothers)) < rate                    # (C,)
    from_father = (rng.random(mothers.shape) < 0.5) & crossed[:, None]  # (C, n)
    return np.where(from_father, fathers, mothers)
