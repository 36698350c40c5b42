"""Why gradient descent rather than solving dE/dw = 0, and how do we know we reached a minimum?

1. For a linear model, dE/dw = 0 is a linear system (the normal equations) and solving it is the
   right thing to do: gradient descent reaches the same weights. With one hidden layer, dE/dw = 0
   is a system of nonlinear equations with no closed form and many solutions: every permutation of
   the hidden units (and, for tanh, every sign flip of a unit's weights) gives another one, and so do
   the saddle points between them. Gradient descent only needs the gradient, which backprop gives at
   the cost of one forward pass.
2. At the end of training, the gradient is ~0; the Hessian (second derivatives) says what kind of
   point it is: all eigenvalues >= 0 is a minimum, some negative is a saddle. retrograd has no
   double backward (`create_graph=True` raises NotImplementedError), so the Hessian here is the
   central finite difference of the exact (backprop) gradient: column k = (g(w + h e_k) -
   g(w - h e_k)) / 2h, accurate to O(h^2), symmetrised.
3. A saddle: w = 0 of a tanh network without biases has zero gradient, and its Hessian has negative
   eigenvalues; gradient descent started exactly there never moves, started next to it escapes.
"""
import math

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.nn.utils import parameters_to_vector, vector_to_parameters

HIDDEN = 3


def make_data(n=40):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (n, 1))
    return rg.tensor(x), rg.tensor(np.sin(x) + 0.05 * rng.standard_normal((n, 1)))


def make_net(bias=True, seed=0):
    rg.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, HIDDEN, bias=bias), nn.Tanh(), nn.Linear(HIDDEN, 1, bias=bias)).double()


def loss_and_gradient(model, w, x, y):
    """E(w) and dE/dw (backprop), with the model's parameters set to the flat vector w."""
    with rg.no_grad():
        vector_to_parameters(rg.tensor(w), model.parameters())
    model.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    return loss.item(), np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])


def hessian(model, w, x, y, h=1e-5):
    """Central finite differences of the exact gradient, symmetrised."""
    columns = []
    for k in range(len(w)):
        step = np.zeros_like(w)
        step[k] = h
        columns.append((loss_and_gradient(model, w + step, x, y)[1] - loss_and_gradient(model, w - step, x, y)[1]) / (2 * h))
    H = np.array(columns).T
    return (H + H.T) / 2, float(np.max(np.abs(H - H.T)))


def linear_regression(x, y, steps=2000, lr=0.1):
    """Normal equations vs gradient descent on E = mean((a x + b - y)^2)."""
    X = np.hstack([x.numpy(), np.ones((len(x), 1))])
    closed_form = np.linalg.solve(X.T @ X, X.T @ y.numpy()).ravel()
    model = nn.Linear(1, 1).double()
    optimizer = rg.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    descended = np.array([model.weight.item(), model.bias.item()])
    return closed_form, descended


def train(model, x, y, steps=3000):
    optimizer = rg.optim.LBFGS(model.parameters(), lr=1, max_iter=steps, tolerance_grad=1e-12,
                               tolerance_change=1e-15, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss
    optimizer.step(closure)
    return parameters_to_vector(model.parameters()).detach().numpy().copy()


def main():
    x, y = make_data()
    closed_form, descended = linear_regression(x, y)
    print("1. Linear model y = a x + b: solve dE/dw = 0 (normal equations) or descend the gradient:")
    print(f"   normal equations a = {closed_form[0]:.6f}, b = {closed_form[1]:.6f}")
    print(f"   gradient descent a = {descended[0]:.6f}, b = {descended[1]:.6f}   (2,000 steps, lr 0.1)")
    copies = math.factorial(HIDDEN) * 2 ** HIDDEN
    print(f"   with {HIDDEN} tanh hidden units, every minimum has {copies} equivalent copies (3! orders x 2^3 sign"
          f" flips): dE/dw = 0 has no single solution to solve for")

    model = make_net()
    w = train(model, x, y)
    loss, grad = loss_and_gradient(model, w, x, y)
    H, asymmetry = hessian(model, w, x, y)
    eigenvalues = np.linalg.eigvalsh(H)
    print(f"\n2. 1-{HIDDEN}-1 tanh network ({len(w)} weights) fitted to sin(x) + noise with L-BFGS:")
    print(f"   loss {loss:.6f}, ||dE/dw|| = {np.linalg.norm(grad):.1e}")
    print(f"   Hessian (finite differences of the backprop gradient, asymmetry before symmetrising {asymmetry:.1e})")
    print(f"   eigenvalues: {np.array2string(eigenvalues, precision=4, max_line_width=100)}")
    print(f"   smallest {eigenvalues[0]:.2e} >= 0: a minimum (condition number {eigenvalues[-1] / eigenvalues[0]:.1e})")

    saddle_model = make_net(bias=False)
    zero = np.zeros(2 * HIDDEN)
    _, zero_grad = loss_and_gradient(saddle_model, zero, x, y)
    H0, _ = hessian(saddle_model, zero, x, y)
    saddle_eigenvalues = np.linalg.eigvalsh(H0)
    print(f"\n3. The same network without biases at w = 0: ||dE/dw|| = {np.linalg.norm(zero_grad):.1e} (stationary)")
    print(f"   Hessian eigenvalues: {np.array2string(saddle_eigenvalues, precision=4, max_line_width=100)}")
    escapes = {}
    for start_name, start in (("exactly at w = 0", zero), ("at w = 0 + 1e-3 noise", 1e-3 * np.random.default_rng(1)
                                                           .standard_normal(2 * HIDDEN))):
        w_t = start.copy()
        for _ in range(300):
            _, g = loss_and_gradient(saddle_model, w_t, x, y)
            w_t = w_t - 0.1 * g
        escapes[start_name] = loss_and_gradient(saddle_model, w_t, x, y)[0]
    start_loss = loss_and_gradient(saddle_model, zero, x, y)[0]
    print(f"   a saddle: gradient descent (300 steps, lr 0.1) from it, loss {start_loss:.4f} ->")
    for name, final in escapes.items():
        print(f"     started {name:<24} {final:.4f}")
    return {"closed_form": closed_form, "descended": descended, "copies": copies, "loss": loss,
            "grad_norm": float(np.linalg.norm(grad)), "eigenvalues": eigenvalues, "weights": w,
            "saddle_grad_norm": float(np.linalg.norm(zero_grad)), "saddle_eigenvalues": saddle_eigenvalues,
            "saddle_start_loss": start_loss, "escapes": escapes}


if __name__ == "__main__":
    main()
