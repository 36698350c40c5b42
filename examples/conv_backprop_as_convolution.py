"""CNN backprop: dL/dw and dL/dx of a convolution are themselves convolutions.

Question: "I read that the backward pass of a convolution is also a convolution: the weight
gradient is the input correlated with the output gradient, and the input gradient is a 'full'
convolution with the flipped kernel. Is that right, and how does it match what a library does?"

Answer: yes. A conv layer (what deep learning calls convolution is cross-correlation),
stride 1, no padding, input x (C, H, W), kernel w (O, C, k, k), output
    y[o, i, j] = sum_{c, p, q} w[o, c, p, q] x[c, i + p, j + q]          (O, H - k + 1, W - k + 1)
With g = dL/dy:
    dL/dw[o, c] = corr_valid(x[c], g[o])        the input cross-correlated with the output gradient
                                                (the same sum, with g as the kernel): (k, k)
    dL/dx[c]    = sum_o conv_full(g[o], w[o, c]) = sum_o corr_valid(pad(g[o], k - 1), flip(w[o, c]))
                                                 a full convolution: g zero-padded by k - 1 on every side,
                                                 correlated with the kernel rotated by 180 degrees: (H, W)
    dL/db[o]    = sum_{i, j} g[o, i, j]
We write corr_valid in NumPy, build the three gradients from it and compare them with the
gradients retrograd's fused conv2d backward computes (im2col, one GEMM, col2im: ops/conv.py),
and with a finite difference of one weight. With stride s the same holds with g dilated by s
(s - 1 zeros between its entries); with padding p, dL/dx drops the p outer rows and columns.

    python examples/conv_backprop_as_convolution.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F

C, O, H, W, K = 2, 3, 6, 7, 3


def corr_valid(a, kernel):
    """The valid cross-correlation of a 2-d array with a 2-d kernel: out[i, j] = sum_{p,q} kernel[p, q] a[i+p, j+q]."""
    kh, kw = kernel.shape
    windows = np.lib.stride_tricks.sliding_window_view(a, (kh, kw))  # (H - kh + 1, W - kw + 1, kh, kw)
    return np.einsum("ijpq,pq->ij", windows, kernel)


def dilate(g, stride):
    """g with stride - 1 zeros between its entries: (O, (h - 1) s + 1, (w - 1) s + 1)."""
    out = np.zeros((g.shape[0], (g.shape[1] - 1) * stride + 1, (g.shape[2] - 1) * stride + 1))
    out[:, ::stride, ::stride] = g
    return out


def gradients_as_convolutions(x, w, g, stride=1):
    """dL/dw, dL/dx, dL/db of y = conv2d(x, w, b, stride) for one image, from corr_valid only."""
    g_dilated = dilate(g, stride)
    # rows and columns of x that no window reached (when (H - K) % stride != 0) get no weight gradient
    grad_w = np.array([[corr_valid(x[c], g_dilated[o])[:K, :K] for c in range(C)] for o in range(O)])
    padded = np.pad(g_dilated, ((0, 0), (K - 1, K - 1), (K - 1, K - 1)))  # full convolution: pad by k - 1
    grad_x = np.zeros_like(x)
    covered = grad_x[:, :padded.shape[1] - K + 1, :padded.shape[2] - K + 1]  # the rows and columns windows reach
    covered += np.array([sum(corr_valid(padded[o], w[o, c][::-1, ::-1]) for o in range(O)) for c in range(C)])
    return grad_w, grad_x, g.sum(axis=(1, 2))


def compare_with_retrograd(x_np, w_np, b_np, g, stride):
    """The largest differences between the convolution formulas and retrograd's conv2d backward."""
    x, w, b = (rg.tensor(a, requires_grad=True) for a in (x_np[None], w_np, b_np))
    (F.conv2d(x, w, b, stride=stride) * rg.tensor(g[None])).sum().backward()
    grad_w, grad_x, grad_b = gradients_as_convolutions(x_np, w_np, g, stride)
    return {"dL/dw": float(np.max(np.abs(grad_w - w.grad.numpy()))),
            "dL/dx": float(np.max(np.abs(grad_x - x.grad.numpy()[0]))),
            "dL/db": float(np.max(np.abs(grad_b - b.grad.numpy())))}


def main():
    with np.printoptions(precision=4, suppress=True):  # this report only: the process keeps its settings
        rng = np.random.default_rng(0)
        x_np, w_np, b_np = rng.normal(size=(C, H, W)), rng.normal(size=(O, C, K, K)), rng.normal(size=O)
        g = rng.normal(size=(O, H - K + 1, W - K + 1))  # a random dL/dy: the loss is sum(y * g)

        y = F.conv2d(rg.tensor(x_np[None]), rg.tensor(w_np), rg.tensor(b_np)).numpy()[0]
        y_by_hand = np.array([sum(corr_valid(x_np[c], w_np[o, c]) for c in range(C)) + b_np[o] for o in range(O)])
        forward_error = float(np.max(np.abs(y - y_by_hand)))

        grad_w, grad_x, _ = gradients_as_convolutions(x_np, w_np, g)
        errors = {"forward": forward_error, **compare_with_retrograd(x_np, w_np, b_np, g, stride=1)}
        g_strided = rng.normal(size=(O, (H - K) // 2 + 1, (W - K) // 2 + 1))  # stride 2: (3, 2, 3)
        strided_errors = compare_with_retrograd(x_np, w_np, b_np, g_strided, stride=2)

        # One weight by central differences, as a check independent of both.
        eps, where = 1e-6, (1, 0, 2, 1)
        shifted = [w_np.copy(), w_np.copy()]
        shifted[0][where] += eps
        shifted[1][where] -= eps
        losses = [float((F.conv2d(rg.tensor(x_np[None]), rg.tensor(s), rg.tensor(b_np)).numpy()[0] * g).sum())
                  for s in shifted]
        numeric = (losses[0] - losses[1]) / (2 * eps)

        print(f"x ({C}, {H}, {W}), w ({O}, {C}, {K}, {K}), stride 1, no padding; loss = sum(y * g), g random\n")
        print("dL/dw[0, 0] = corr_valid(x[0], g[0]):")
        print(grad_w[0, 0])
        print("dL/dx[0] = sum_o corr_valid(pad(g[o], 2), flip(w[o, 0])), first two rows:")
        print(grad_x[0, :2])
        print("\nlargest difference from retrograd's conv2d (forward and backward), stride 1:")
        for name, value in errors.items():
            print(f"  {name:<8} {value:.1e}")
        print("stride 2, g dilated by 2:  " + ", ".join(f"{k} {v:.1e}" for k, v in strided_errors.items()))
        print(f"dL/dw{list(where)}: as a convolution {grad_w[where]:.8f}, central difference {numeric:.8f}")
        return {"errors": errors, "strided_errors": strided_errors,
                "finite_difference": (float(grad_w[where]), numeric)}


if __name__ == "__main__":
    main()
