"""TensorFlow's softmax_cross_entropy_with_logits vs _v2: labels that receive a gradient.

Question: "TensorFlow deprecated tf.nn.softmax_cross_entropy_with_logits for _v2, saying that v2
backpropagates into the labels. When do labels get a gradient, what is it, and how do I stop it?"

Answer: the loss l = -sum_c y_c log softmax(z)_c is a function of the labels y too, and
dl/dy_c = -log softmax(z)_c. Labels that are data (one-hot, or constants) need no gradient
and nothing changes. Labels that come out of the graph -- a teacher's softmax in distillation,
a model's own predictions as targets, labels being learned -- get that gradient under v2 and
autograd, and the teacher is trained too. The old v1 wrapped the labels in stop_gradient; in
retrograd (and PyTorch) `cross_entropy(logits, labels.detach())` is v1, `cross_entropy(logits, labels)`
is v2.

Here: student logits z and teacher logits t, soft labels y = softmax(t), L = cross_entropy(z, y)
(mean over the batch of N rows). We print dL/dy (captured with retain_grad) next to
-log_softmax(z) / N, the teacher's gradient with and without detach, and (if PyTorch is installed)
PyTorch's numbers for the same tensors.

    python examples/softmax_cross_entropy_v2.py
"""
import numpy as np

import retrograd as rg
import retrograd.nn.functional as F

N, C = 3, 4


def make_logits(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, C)), rng.normal(size=(N, C))


def distill(student, teacher, stop_gradient):
    """L = cross_entropy(z, softmax(t)); returns the gradients of z, t and of the soft labels y."""
    z = rg.tensor(student, requires_grad=True)
    t = rg.tensor(teacher, requires_grad=True)
    y = F.softmax(t, dim=1)
    y.retain_grad()
    F.cross_entropy(z, y.detach() if stop_gradient else y).backward()
    return {"z": z.grad.numpy(), "t": None if t.grad is None else t.grad.numpy(),
            "y": None if y.grad is None else y.grad.numpy()}


def torch_teacher_gradient(student, teacher):
    """PyTorch's gradient of the teacher logits for the same loss, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    z = torch.tensor(student, requires_grad=True)
    t = torch.tensor(teacher, requires_grad=True)
    torch.nn.functional.cross_entropy(z, torch.softmax(t, dim=1)).backward()
    return t.grad.numpy()


def main():
    with np.printoptions(precision=5, suppress=True):  # this report only: the process keeps its settings
        student, teacher = make_logits()
        v2, v1 = distill(student, teacher, False), distill(student, teacher, True)
        expected = -(student - np.log(np.exp(student).sum(1, keepdims=True))) / N  # -log_softmax(z) / N
        print(f"student logits z and teacher logits t, {N} rows of {C} classes, y = softmax(t), "
              "L = cross_entropy(z, y)\n")
        print("v2 (labels in the graph): dL/dy, first row      ", v2["y"][0])
        print("-log_softmax(z) / N, first row                 ", expected[0])
        print("v2: the teacher's gradient dL/dt, first row     ", v2["t"][0])
        print("v1 (y.detach()): dL/dt                          ", v1["t"])
        result = {"label_grad_error": float(np.max(np.abs(v2["y"] - expected))),
                  "teacher_grad_norm_v2": float(np.linalg.norm(v2["t"])),
                  "teacher_grad_v1": v1["t"],
                  "student_grad_difference": float(np.max(np.abs(v2["z"] - v1["z"])))}
        print(f"\ndL/dy vs -log_softmax(z) / N: largest difference {result['label_grad_error']:.1e}")
        print(f"the student's gradient is the same either way (difference {result['student_grad_difference']:.1e}):")
        print("detach only decides whether the labels, and what made them, are trained too.")
        reference = torch_teacher_gradient(student, teacher)
        if reference is None:
            print("(PyTorch not installed: its comparison skipped)")
            result["torch_teacher_difference"] = None
        else:
            result["torch_teacher_difference"] = float(np.max(np.abs(v2["t"] - reference)))
            print(f"PyTorch's dL/dt for the same tensors: largest difference {result['torch_teacher_difference']:.1e}")
        return result


if __name__ == "__main__":
    main()
