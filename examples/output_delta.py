"""The output delta dL/dz: why cross-entropy learns fast where squared error stalls.

Question: "For a sigmoid output unit a = sigma(z), backprop's output error is delta = a - y with
cross-entropy but (a - y) * sigma'(z) with squared error. Why the difference, and does it matter?"

Answer, shown with numbers below:

  cross-entropy   L = -[y log a + (1 - y) log(1 - a)]   dL/dz = a - y
  squared error   L = (a - y)^2 / 2                     dL/dz = (a - y) * sigma'(z),  sigma'(z) = a (1 - a)

Cross-entropy's dL/da = (a - y) / (a (1 - a)) cancels sigma'(z) exactly; squared error keeps it.
sigma'(z) <= 1/4 and it is ~0 when the unit saturates (|z| large), so a confidently *wrong*
output gets almost no gradient under squared error: learning slows to a crawl just when the
error is largest. The same cancellation makes softmax + cross-entropy give softmax(z) - onehot(y).

    python examples/output_delta.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F
from retrograd import autograd, optim


def as_input(values):
    """A float64 leaf tensor we can differentiate with respect to (float64: gradcheck needs it)."""
    return rg.tensor(np.asarray(values, dtype=np.float64), dtype=rg.float64, requires_grad=True)


def cross_entropy_of_sigmoid(z, y):
    return F.binary_cross_entropy(rg.sigmoid(z), y, reduction="sum")


def squared_error_of_sigmoid(z, y):
    return 0.5 * ((rg.sigmoid(z) - y) ** 2).sum()


class SigmoidCrossEntropy(autograd.Function):
    """The textbook formula as a backward pass: dL/dz = a - y. gradcheck tests it against finite differences."""

    @staticmethod
    def forward(ctx, z, y):
        a = rg.sigmoid(z)
        ctx.save_for_backward(a, y)
        return F.binary_cross_entropy(a, y, reduction="sum")

    @staticmethod
    def backward(ctx, grad_output):
        a, y = ctx.saved_tensors
        return grad_output * (a - y), None


class SigmoidSquaredError(autograd.Function):
    """The textbook formula for squared error: dL/dz = (a - y) * a * (1 - a)."""

    @staticmethod
    def forward(ctx, z, y):
        a = rg.sigmoid(z)
        ctx.save_for_backward(a, y)
        return 0.5 * ((a - y) ** 2).sum()

    @staticmethod
    def backward(ctx, grad_output):
        a, y = ctx.saved_tensors
        return grad_output * (a - y) * a * (1 - a), None


def delta(loss_fn, z_values, y):
    """dL/dz computed by the tape (autograd.grad), as a NumPy array."""
    z = as_input(z_values)
    (grad,) = autograd.grad(loss_fn(z, y), z)
    return grad.numpy()


def train_one_neuron(loss_fn, steps, lr=0.15):
    """Nielsen's single neuron (Neural Networks and Deep Learning, ch. 3): input 1, target 0,
    w = b = 2 at the start, so a = sigma(4) = 0.98 -- saturated and wrong. Returns a after each step."""
    w, b = as_input([2.0]), as_input([2.0])
    x, y = rg.tensor([1.0], dtype=rg.float64), rg.tensor([0.0], dtype=rg.float64)
    optimizer = optim.SGD([w, b], lr=lr)
    outputs = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(w * x + b, y).backward()
        optimizer.step()
        outputs.append(float(rg.sigmoid(w * x + b).item()))
    return outputs


def main():
    results = {}
    rng = np.random.default_rng(0)

    # 1. A small batch: the tape's dL/dz against the two formulas.
    z_values = rng.uniform(-4, 4, size=8)
    y = rg.tensor(rng.integers(0, 2, size=8).astype(np.float64), dtype=rg.float64)
    a = 1 / (1 + np.exp(-z_values))
    delta_ce = delta(cross_entropy_of_sigmoid, z_values, y)
    delta_se = delta(squared_error_of_sigmoid, z_values, y)
    results["sigmoid_ce_formula_error"] = float(np.max(np.abs(delta_ce - (a - y.numpy()))))
    results["sigmoid_se_formula_error"] = float(np.max(np.abs(delta_se - (a - y.numpy()) * a * (1 - a))))
    # ...and the formulas, written as backward passes, against central differences.
    results["gradcheck_ce_formula"] = bool(autograd.gradcheck(lambda z: SigmoidCrossEntropy.apply(z, y),
                                                              (as_input(z_values),)))
    results["gradcheck_se_formula"] = bool(autograd.gradcheck(lambda z: SigmoidSquaredError.apply(z, y),
                                                              (as_input(z_values),)))
    print("1. sigmoid output, batch of 8, float64")
    print(f"   z        = {np.array2string(z_values, precision=2)}")
    print(f"   y        = {y.numpy()}")
    print(f"   CE delta = {np.array2string(delta_ce, precision=3)}   max |autograd - (a - y)| = "
          f"{results['sigmoid_ce_formula_error']:.1e}")
    print(f"   SE delta = {np.array2string(delta_se, precision=3)}   max |autograd - (a - y) a (1 - a)| = "
          f"{results['sigmoid_se_formula_error']:.1e}")
    print(f"   gradcheck of 'dL/dz = a - y' as a backward pass: {results['gradcheck_ce_formula']}; "
          f"of 'dL/dz = (a - y) a (1 - a)': {results['gradcheck_se_formula']}")

    # 2. A saturated, wrong output: target 1, z very negative (a ~ 0).
    print("\n2. target y = 1, output saturated at the wrong end: |dL/dz| under each loss")
    print("      z         a     |CE delta|   |SE delta|   CE / SE")
    one = rg.tensor([1.0], dtype=rg.float64)
    saturated = {}
    for z0 in (0.0, -2.0, -5.0, -10.0):
        ce = abs(delta(cross_entropy_of_sigmoid, [z0], one)[0])
        se = abs(delta(squared_error_of_sigmoid, [z0], one)[0])
        saturated[z0] = {"ce": float(ce), "se": float(se), "ratio": float(ce / se)}
        print(f"   {z0:6.1f}  {1 / (1 + np.exp(-z0)):8.2e}  {ce:10.3e}  {se:11.3e}  {ce / se:9.1f}")
    results["saturated"] = saturated
    print("   Cross-entropy's gradient stays ~1 however wrong the unit is; squared error's shrinks with")
    print("   sigma'(z): at z = -10 it is ~22,000 times smaller.")

    # 3. What that does to learning: one neuron, 30 SGD steps, lr = 0.15.
    ce_outputs = train_one_neuron(cross_entropy_of_sigmoid, 30)
    se_outputs = train_one_neuron(squared_error_of_sigmoid, 30)
    results["neuron_output_after_30_steps"] = {"ce": ce_outputs[-1], "se": se_outputs[-1]}
    print("\n3. learning slowdown: one neuron, input 1, target 0, starting output a = sigma(4) = 0.982")
    print(f"   after 30 SGD steps (lr 0.15): cross-entropy a = {ce_outputs[-1]:.3f}, "
          f"squared error a = {se_outputs[-1]:.3f} (barely moved)")

    # 4. Softmax + cross-entropy: dL/dz = softmax(z) - onehot(y), per row.
    logits = rng.normal(size=(4, 5)) * 2
    labels = rg.tensor(np.array([0, 3, 1, 4]))
    onehot = np.eye(5)[labels.numpy()]
    z = as_input(logits)
    (grad_sum,) = autograd.grad(F.cross_entropy(z, labels, reduction="sum"), z)
    (grad_mean,) = autograd.grad(F.cross_entropy(z, labels), z)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    results["softmax_ce_formula_error"] = float(np.max(np.abs(grad_sum.numpy() - (softmax - onehot))))
    results["softmax_ce_mean_formula_error"] = float(np.max(np.abs(grad_mean.numpy() - (softmax - onehot) / 4)))
    results["gradcheck_softmax_ce"] = bool(autograd.gradcheck(
        lambda z: F.cross_entropy(z, labels, reduction="sum"), (as_input(logits),)))
    # Saturated and wrong: all confidence on class 0, the target is class 2.
    wrong = as_input([[10.0, 0.0, 0.0]])
    target = rg.tensor(np.array([2]))
    (grad_ce,) = autograd.grad(F.cross_entropy(wrong, target, reduction="sum"), wrong)
    wrong = as_input([[10.0, 0.0, 0.0]])
    probs = F.softmax(wrong, dim=1)
    (grad_se,) = autograd.grad(0.5 * ((probs - rg.tensor([[0.0, 0.0, 1.0]], dtype=rg.float64)) ** 2).sum(), wrong)
    results["softmax_saturated_ce_norm"] = float(np.linalg.norm(grad_ce.numpy()))
    results["softmax_saturated_se_norm"] = float(np.linalg.norm(grad_se.numpy()))
    print("\n4. softmax + cross-entropy, batch of 4, 5 classes")
    print(f"   max |autograd - (softmax(z) - onehot(y))| = {results['softmax_ce_formula_error']:.1e} "
          f"(reduction='sum'); with the default 'mean' it is divided by the batch size: "
          f"{results['softmax_ce_mean_formula_error']:.1e}; gradcheck: {results['gradcheck_softmax_ce']}")
    print(f"   logits (10, 0, 0), target class 2: |dL/dz| = {results['softmax_saturated_ce_norm']:.3f} with "
          f"cross-entropy, {results['softmax_saturated_se_norm']:.2e} with squared error on the probabilities")
    return results


if __name__ == "__main__":
    main()
