"""Backpropagation through time three ways, and what truncation (Theano's truncate_gradient) changes.

Question: "In Theano I write the recurrence with scan() and T.grad gives me BPTT; with
scan(truncate_gradient=k) it gives truncated BPTT. What exactly is computed, and how does it
relate to writing BPTT by hand?"

A tanh RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), with the loss L = sum_t <R_t, h_t>
for a fixed random R (every step's output has a gradient, and not an all-ones one). We compute
dL/d(everything) three ways and they agree to rounding:

  1. the tape: the recurrence unrolled step by step in Python (what scan + T.grad builds),
  2. the fused op `retrograd.ops.recurrent.rnn_sequence`, whose backward is hand-written BPTT,
  3. `numpy_bptt` below: twenty lines of NumPy.

Truncation to k steps (Theano's scan(truncate_gradient=k)) runs the backward recursion over the
last k steps only. On the tape that is: compute the first T - k steps without recording
(no_grad), so the state entering the last k steps is a constant (as if detached), and record the
last k. Then, exactly:
  - dL/dx_t equals the full gradient for the last k steps and is 0 before them;
  - the weight gradient equals the sum of the full BPTT's per-step terms dW_t = da_t^T (.) over
    the last k steps only: the earlier terms are the part truncation throws away,
so the difference from the full gradient grows as k shrinks.

    python examples/theano_scan_bptt.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F
from retrograd.ops.recurrent import rnn_sequence

T, B, I, H = 20, 3, 4, 6


def numpy_bptt(x, h0, w_ih, w_hh, bias, grad_out, k=None):
    """Forward and BPTT for h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + bias) with dL/dh_t = grad_out[t].
    k: backpropagate through the last k steps only. Returns the gradients and the per-step terms of dW_hh."""
    hs = [h0]  # hs[t + 1] = h_t
    for x_t in x:
        hs.append(np.tanh(x_t @ w_ih.T + hs[-1] @ w_hh.T + bias))
    first = 0 if k is None else len(x) - k  # the backward recursion stops here
    grads = {"w_ih": np.zeros_like(w_ih), "w_hh": np.zeros_like(w_hh), "bias": np.zeros_like(bias),
             "x": np.zeros_like(x)}
    w_hh_terms = np.zeros((len(x),) + w_hh.shape)
    dh = np.zeros_like(h0)  # dL/dh_t arriving from step t + 1
    for t in reversed(range(first, len(x))):
        dh = dh + grad_out[t]  # plus the loss's own gradient at step t
        da = dh * (1 - hs[t + 1] ** 2)  # through tanh: (B, H)
        grads["w_ih"] += da.T @ x[t]
        w_hh_terms[t] = da.T @ hs[t]
        grads["w_hh"] += w_hh_terms[t]
        grads["bias"] += da.sum(axis=0)
        grads["x"][t] = da @ w_ih
        dh = da @ w_hh  # on to h_{t-1}
    grads["h0"] = dh if first == 0 else np.zeros_like(h0)
    return grads, w_hh_terms


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.normal(size=(T, B, I)), "h0": rng.normal(size=(B, H)) * 0.5,
              "w_ih": rng.normal(size=(H, I)) * 0.5, "w_hh": rng.normal(size=(H, H)) * 0.4,
              "b_ih": rng.normal(size=H) * 0.1, "b_hh": rng.normal(size=H) * 0.1}
    grad_out = rng.normal(size=(T, B, H))  # R: dL/dh_t for every step
    return arrays, grad_out


def leaves(arrays):
    return {name: rg.tensor(a, dtype=rg.float64, requires_grad=True) for name, a in arrays.items()}


def grads_of(params):
    g = {name: p.grad.numpy() if p.grad is not None else np.zeros(p.shape) for name, p in params.items()}
    g["bias"] = g["b_ih"]  # b_ih and b_hh enter the sum the same way: equal gradients
    return g


def tape_unrolled(arrays, grad_out, k=None):
    """The recurrence unrolled on the tape; with k, the first T - k steps run under no_grad."""
    p = leaves(arrays)
    r = rg.tensor(grad_out, dtype=rg.float64)
    first = 0 if k is None else T - k
    h, loss = p["h0"], 0.0
    for t in range(T):
        if t < first:
            with rg.no_grad():  # not recorded: the state entering step `first` is a constant
                h = rg.tanh(F.linear(p["x"][t], p["w_ih"], p["b_ih"]) + F.linear(h, p["w_hh"], p["b_hh"]))
        else:
            h = rg.tanh(F.linear(p["x"][t], p["w_ih"], p["b_ih"]) + F.linear(h, p["w_hh"], p["b_hh"]))
        loss = loss + (h * r[t]).sum()
    loss.backward()
    return grads_of(p)


def fused(arrays, grad_out, k=None):
    """The fused op; with k, run it on the last k steps from the detached state h_{T-k}."""
    p = leaves(arrays)
    h0 = p["h0"]
    first = 0 if k is None else T - k
    if first > 0:
        with rg.no_grad():
            _, h_first = rnn_sequence(p["x"][:first], h0, p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
        h0 = h_first.detach()
    out, _ = rnn_sequence(p["x"][first:], h0, p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
    (out * rg.tensor(grad_out[first:], dtype=rg.float64)).sum().backward()
    return grads_of(p)


def max_difference(a, b, names=("w_ih", "w_hh", "bias", "x", "h0")):
    return max(float(np.max(np.abs(a[n] - b[n]))) for n in names)


def main():
    arrays, grad_out = make_problem()
    bias = arrays["b_ih"] + arrays["b_hh"]
    args = (arrays["x"], arrays["h0"], arrays["w_ih"], arrays["w_hh"], bias, grad_out)
    results = {}

    full_np, terms = numpy_bptt(*args)
    full_tape = tape_unrolled(arrays, grad_out)
    full_fused = fused(arrays, grad_out)
    results["tape_vs_numpy"] = max_difference(full_tape, full_np)
    results["fused_vs_numpy"] = max_difference(full_fused, full_np)
    results["tape_vs_fused"] = max_difference(full_tape, full_fused)
    print(f"1. full BPTT, T = {T}: largest difference between any two of the three gradients")
    print(f"   tape vs NumPy {results['tape_vs_numpy']:.1e}, fused op vs NumPy {results['fused_vs_numpy']:.1e}, "
          f"tape vs fused op {results['tape_vs_fused']:.1e}")

    print("\n2. truncated to the last k steps (scan(truncate_gradient=k))")
    print("      k   tape vs NumPy(k)   fused(k) vs NumPy(k)   dL/dx last k == full   dW_hh == last k terms   "
          "||dW_hh(k) - dW_hh|| / ||dW_hh||")
    results["truncated"] = {}
    full_norm = np.linalg.norm(full_np["w_hh"])
    for k in (20, 15, 10, 5, 2, 1):
        trunc_np, _ = numpy_bptt(*args, k=k)
        trunc_tape = tape_unrolled(arrays, grad_out, k)
        trunc_fused = fused(arrays, grad_out, k)
        row = {
            "tape_vs_numpy": max_difference(trunc_tape, trunc_np),
            "fused_vs_numpy": max_difference(trunc_fused, trunc_np),
            # the last k steps' input gradients are the full ones; earlier ones are exactly 0
            "x_last_k_vs_full": float(np.max(np.abs(trunc_tape["x"][T - k:] - full_np["x"][T - k:]))),
            "x_before_max_abs": float(np.max(np.abs(trunc_tape["x"][:T - k]))) if k < T else 0.0,
            # the weight gradient is the full BPTT's per-step terms, summed over the last k steps
            "w_hh_vs_last_k_terms": float(np.max(np.abs(trunc_tape["w_hh"] - terms[T - k:].sum(axis=0)))),
            "relative_difference": float(np.linalg.norm(trunc_tape["w_hh"] - full_np["w_hh"]) / full_norm),
        }
        results["truncated"][k] = row
        print(f"   {k:4d}   {row['tape_vs_numpy']:14.1e}   {row['fused_vs_numpy']:18.1e}   "
              f"{row['x_last_k_vs_full']:19.1e}   {row['w_hh_vs_last_k_terms']:20.1e}   "
              f"{row['relative_difference']:12.3f}")
    print("   (dL/dx_t before the last k steps is exactly 0 in every truncated run.)")
    print("Truncation keeps the last k steps' contributions exactly and drops the rest; the smaller k,")
    print("the more of the gradient is lost. retrograd.train.tbptt does this bookkeeping for training.")
    return results


if __name__ == "__main__":
    main()
