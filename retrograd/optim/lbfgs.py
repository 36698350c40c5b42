"""L-BFGS with PyTorch's closure protocol, fixed step or strong-Wolfe line search (PyTorch's algorithm)."""
import numpy as np

from .line_search import strong_wolfe
from .optimizer import Optimizer
from ..tensor import Tensor


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Nocedal, 1980; PyTorch's port of minFunc). `step(closure)` runs up to
    `max_iter` iterations on the flat vector x of all parameters, with f and g = grad f from the
    closure (which zeroes the grads, computes the loss, calls backward and returns the loss):

        s_k = x_{k+1} - x_k,  y_k = g_{k+1} - g_k,  rho_k = 1 / (y_k . s_k)
                                  (a pair is kept only if y_k . s_k > 1e-10; at most history_size pairs)
        d = -H g, by the two-loop recursion over the kept pairs, newest first then oldest first:
            q <- -g;  a_i = rho_i s_i . q;  q <- q - a_i y_i
            r <- gamma q   with gamma = (y . s) / (y . y) of the newest pair  (1 before any pair)
            b_i = rho_i y_i . r;  r <- r + (a_i - b_i) s_i;   d = r
        x <- x + t d,  t = lr  (the first iteration ever: t = min(1, 1 / sum|g|) * lr)
              or t from a strong-Wolfe line search (line_search_fn="strong_wolfe", see line_search.py)

    It stops when max|g| <= tolerance_grad, g . d > -tolerance_change, max|t d| <= tolerance_change,
    |f_new - f_old| < tolerance_change, or after max_iter iterations or max_eval closure calls
    (default max_iter * 5 // 4). `step` returns the loss of its first closure call.

    One parameter group only. The state lives under the first parameter, as in PyTorch:
    'func_evals', 'n_iter' (counts over all steps), the direction 'd', the step 't', the pairs
    'old_dirs' (y) and 'old_stps' (s), 'ro', 'H_diag' (gamma), 'prev_flat_grad', 'prev_loss' and
    'al' (the two-loop's a_i, kept for reuse). It costs (2 history_size + 3) copies of the parameters.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: only 'strong_wolfe' is supported as line_search_fn (or None for fixed "
                             f"steps), got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _check_param_state(self, key, param, value, saved_group):
        """LBFGS's state is global (flat vectors of all parameters, lists of them): check its entries'
        names and that every vector has the total number of elements."""
        unknown = set(value) - set(_STATE_ENTRIES)
        if unknown:
            raise ValueError(f"LBFGS.load_state_dict: state[{key!r}] holds {sorted(unknown)}, which LBFGS does "
                             f"not keep (it keeps {list(_STATE_ENTRIES)}): a state dict of another optimizer?")
        numel = sum(p.array.size for p in self._params)
        vectors = [("d", value.get("d")), ("prev_flat_grad", value.get("prev_flat_grad"))]
        vectors += [(f"{name}[{i}]", v) for name in ("old_dirs", "old_stps") for i, v in enumerate(value.get(name) or [])]
        for name, vector in vectors:
            shape = getattr(vector, "shape", None)
            if vector is not None and tuple(shape or ()) != (numel,):
                raise ValueError(f"LBFGS.load_state_dict: state[{key!r}][{name}] should be a flat vector of the "
                                 f"{numel} parameter elements, got {_describe(vector)}")

    def load_state_dict(self, state_dict):
        """Restore a saved state (see Optimizer.load_state_dict); the history lists are copied too, and
        PyTorch's 0-d tensors ('t', 'H_diag', 'ro', 'al') become numbers."""
        super().load_state_dict(state_dict)
        state = self.state.get(self._params[0])
        if not state:
            return
        dtype = self._params[0].array.dtype
        for name in ("old_dirs", "old_stps"):
            if state.get(name) is not None:
                state[name] = [Tensor._from_array(np.array(_as_array(v), dtype=dtype)) for v in state[name]]
        for name in ("ro", "al"):
            if state.get(name) is not None:
                state[name] = [None if v is None else float(_as_array(v)) for v in state[name]]
        for name in ("t", "H_diag", "prev_loss"):
            if isinstance(state.get(name), (Tensor, np.ndarray)):
                state[name] = float(_as_array(state[name]))

    # ----- the parameters as one flat vector ---------------------------------------------
    def _gather_flat_grad(self):
        """All gradients as one new flat array (zeros for a parameter without one)."""
        return np.concatenate([np.zeros(p.array.size, p.array.dtype) if p.grad is None else p.grad.array.ravel()
                               for p in self._params])

    def _add_grad(self, step_size, update):
        """x <- x + step_size * update, parameter by parameter."""
        offset = 0
        for p in self._params:
            numel = p.array.size
            _add_scaled_(p.array, step_size, update[offset:offset + numel].reshape(p.array.shape))
            p._bump_version()  # a graph that saved this weight can no longer run its backward
            offset += numel

    def _set_param(self, arrays):
        for p, array in zip(self._params, arrays):
            p.array[...] = array
            p._bump_version()

    def _directional_evaluate(self, closure, x, t, d):
        """(f, flat g) at x + t d; the parameters are back at x afterwards."""
        self._add_grad(t, d)
        loss = float(self._evaluate(closure))
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ----- the iteration -----------------------------------------------------------------
    def step(self, closure):
        """Up to max_iter L-BFGS iterations; returns the loss of the first closure call."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        d, prev_flat_grad = _array_or_none(d), _array_or_none(prev_flat_grad)
        n_iter, opt_cond = 0, False
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            d = self._direction(state, flat_grad, prev_flat_grad, d, t, group["history_size"])
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # the step length: a first guess, then the line search or a fixed step
            # (np.float64 values stand for PyTorch's 0-d tensors: see line_search.py on rounding)
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad @ d  # the slope along d
            if gtd > -tolerance_change:
                break
            if group["line_search_fn"] == "strong_wolfe":
                x_init = [p.array.copy() for p in self._params]

                def obj_func(x, step, direction):
                    return self._directional_evaluate(closure, x, step, direction)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                 max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                ls_func_evals = 0
                if n_iter != max_iter:  # no closure call after the last iteration (stochastic settings)
                    loss = float(self._evaluate(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break  # no progress

        state.update(d=_tensor_or_none(d), t=t, prev_flat_grad=_tensor_or_none(prev_flat_grad),
                     prev_loss=prev_loss)
        return orig_loss

    def _direction(self, state, flat_grad, prev_flat_grad, d, t, history_size):
        """d = -H g: steepest descent at the very first iteration, else the two-loop recursion after
        adding the newest (y, s) pair to the history (state's old_dirs, old_stps, ro, H_diag, al)."""
        if state["n_iter"] == 1:
            state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1)
            return np.negative(flat_grad)
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        y = flat_grad - prev_flat_grad
        s = d * t
        ys = float(y @ s)
        if ys > 1e-10:  # keep the pair only where the curvature is positive (H stays positive definite)
            if len(old_dirs) == history_size:
                old_dirs.pop(0)
                old_stps.pop(0)
                ro.pop(0)
            old_dirs.append(Tensor._from_array(y))
            old_stps.append(Tensor._from_array(s))
            ro.append(1.0 / ys)
            state["H_diag"] = ys / float(y @ y)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        num_old = len(old_dirs)
        q = np.negative(flat_grad)
        for i in range(num_old - 1, -1, -1):  # newest pair first
            al[i] = float(old_stps[i].array @ q) * ro[i]
            _add_scaled_(q, -al[i], old_dirs[i].array)
        r = q * state["H_diag"]
        for i in range(num_old):  # oldest pair first
            be_i = float(old_dirs[i].array @ r) * ro[i]
            _add_scaled_(r, al[i] - be_i, old_stps[i].array)
        return r


def _add_scaled_(out, scale, vector):
    """out <- out + scale * vector rounded once, as PyTorch's `add_(vector, alpha=scale)` does (a fused
    multiply-add). NumPy has no fma, so the product's and the sum's rounding errors are computed exactly
    (Dekker's two-product, Knuth's two-sum) and added back: one rounding instead of two. It matters
    here because Rosenbrock's valley turns a last-bit difference into a visible one within steps.
    (Float64 only: the splitting constant is float64's; other dtypes take the plain two roundings.)"""
    if out.dtype != np.float64:
        out += scale * vector
        return
    product = scale * vector
    scale_hi, scale_lo = _split(np.float64(scale))
    vector_hi, vector_lo = _split(vector)
    product_error = ((scale_hi * vector_hi - product) + scale_hi * vector_lo + scale_lo * vector_hi) \
        + scale_lo * vector_lo
    total = out + product
    product_part = total - out
    sum_error = (out - (total - product_part)) + (product - product_part)
    np.add(total, sum_error + product_error, out=out)


def _split(value):
    """(hi, lo) with hi + lo = value exactly and each half of 26 significant bits (Veltkamp's split)."""
    scaled = 134217729.0 * value  # 2^27 + 1
    hi = scaled - (scaled - value)
    return hi, value - hi


_STATE_ENTRIES = ("func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
                  "prev_loss", "al")


def _as_array(value):
    return value.array if isinstance(value, Tensor) else np.asarray(value)


def _describe(value):
    return f"an array of shape {tuple(value.shape)}" if hasattr(value, "shape") else type(value).__name__


def _array_or_none(value):
    return None if value is None else value.array


def _tensor_or_none(array):
    return None if array is None else Tensor._from_array(array)
