"""Plain simulated annealing (Kirkpatrick et al. 1983): Gaussian steps, Metropolis acceptance.

This is the classic form people mean by "train the weights with simulated annealing": from the
current point x, propose x' = x + (step / sqrt(n)) * N(0, I) (a move of length about `step`), accept
it if it lowers the loss, or else with probability exp(-(f(x') - f(x)) / T); the temperature falls
geometrically from `initial_temp` to `final_temp` over the budget, one notch per evaluation.

Why ship it beside SciPy's `dual_annealing` ('annealing'): that one cools once per Markov chain of
2n evaluations and jumps across a bounded box, so at n = 10,000 parameters a budget under 20,000
evaluations never lowers its temperature at all; this one cools on any budget and moves locally,
which is the seed's classic form. It is a dozen lines, so it is written here.
"""
import numpy as np


def metropolis(tracker, x0, rng, step=0.5, initial_temp=1e-2, final_temp=1e-5):
    """Metropolis simulated annealing from x0; returns why it stopped (it runs until the budget ends)."""
    if not (step > 0 and initial_temp > 0 and final_temp > 0):
        raise ValueError(f"minimize(method='metropolis'): step, initial_temp and final_temp must be positive, got "
                         f"step={step}, initial_temp={initial_temp}, final_temp={final_temp}")
    x, loss = x0, tracker(x0)
    scale = step / np.sqrt(len(x0))
    cooling = (final_temp / initial_temp) ** (1.0 / max(tracker.budget - 1, 1))  # T_k = T_0 * cooling^k
    temperature = initial_temp
    while True:
        proposal = x + scale * rng.standard_normal(len(x))
        proposal_loss = tracker(proposal)
        # accept downhill always, uphill with probability exp(-increase / T)
        if proposal_loss <= loss or rng.random() < np.exp((loss - proposal_loss) / temperature):
            x, loss = proposal, proposal_loss
        temperature *= cooling
