"""The strong-Wolfe line search of LBFGS, ported from PyTorch's `torch/optim/lbfgs.py` (itself from
minFunc / torch7's `lswolfe.lua` and `polyinterp.lua`), branch for branch so the iterates match.

Along a direction d from x, phi(t) = f(x + t d) and phi'(t) = grad f(x + t d) . d. A step t satisfies the
strong Wolfe conditions when

    phi(t) <= phi(0) + c1 t phi'(0)            (sufficient decrease, "Armijo")
    |phi'(t)| <= -c2 phi'(0)                    (the slope has flattened: curvature)

The search first grows t until it brackets such a point (or finds one), then zooms into the bracket,
each trial step the minimiser of the cubic through the bracket's two ends (values and slopes).

Rounding as PyTorch rounds: in PyTorch the slopes g . d are 0-d tensors, and so is every step length
computed from them, while losses are Python floats; a Python float divided by a 0-d tensor is
computed as float * (1 / tensor), rounded twice. Here np.float64 plays the 0-d tensor (slopes are
`g @ d`, never converted to float) and `cubic_interpolate` divides the PyTorch way where PyTorch
would, so the trial steps agree to the last bit instead of drifting apart on a hard problem.
"""
import math

import numpy as np


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to `bounds`
    (default: between x1 and x2); the bounds' midpoint when the cubic has no minimum:

        d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2)
        d2 = sqrt(d1^2 - g1 g2)
        t  = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)       (for x1 <= x2; mirrored otherwise)
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - _divide_as_torch(3 * (f1 - f2), x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _divide_as_torch(numerator, denominator):
    """numerator / denominator, rounded as PyTorch rounds a Python float over a 0-d tensor (np.float64)."""
    if type(denominator) is np.float64 and type(numerator) is not np.float64:
        return numerator * (1.0 / denominator)
    return numerator / denominator


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """(f_new, g_new, t, evaluations): a step t along d meeting the strong Wolfe conditions, or the best
    bracket end after `max_ls` evaluations. `obj_func(x, t, d)` returns (f, flat gradient) at x + t d;
    f, g and gtd are the value, gradient and slope g . d at t = 0."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new @ d

    # bracket phase: grow t until [t_prev, t] holds a point meeting the conditions, or t meets them
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):  # no sufficient decrease
            bracket, bracket_f, bracket_g = [t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:  # both conditions hold: done
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:  # the slope turned positive: a minimum lies behind t
            bracket, bracket_f, bracket_g = [t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        # extrapolate: the cubic's minimiser, between 1.01 t and 10 t (t_prev < t)
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
    if ls_iter == max_ls:  # out of evaluations: the bracket from 0 to the last t
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom phase: shrink the bracket around a point meeting the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # the bracket is too small to refine
            break
        t, insuf_progress = _zoom_trial_step(bracket, bracket_f, bracket_gtd, insuf_progress)
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # no sufficient decrease, or not below the low end: t becomes the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:  # the Wolfe conditions hold
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:  # the old high becomes the new low
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new  # t becomes the new low
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _zoom_trial_step(bracket, bracket_f, bracket_gtd, insuf_progress):
    """(t, insuf_progress): the cubic's minimiser in the bracket, moved to 10% of the bracket's length
    from the nearer end when it lands that close to an end twice in a row (or on/outside an end)."""
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
    eps = 0.1 * (max(bracket) - min(bracket))
    if min(max(bracket) - t, t - min(bracket)) < eps:  # close to an end
        if insuf_progress or t >= max(bracket) or t <= min(bracket):
            if abs(t - max(bracket)) < abs(t - min(bracket)):
                t = max(bracket) - eps
            else:
                t = min(bracket) + eps
            return t, False
        return t, True
    return t, False
