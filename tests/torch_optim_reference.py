"""PyTorch's optimizer steps with the rounding of its portable kernels, run in a child process for
tests/test_optim_bit_parity.py.

Two things in a stock PyTorch CPU build round differently from its own formulas, so no NumPy code can be
bit-identical to it everywhere:

- the kernels built for AVX2 and AVX-512 (what PyTorch picks on every x86 CPU of the last decade) compute
  `add(alpha=)`, `addcmul` and `lerp` with fused multiply-adds (one rounding for a * b + c), the portable
  (DEFAULT) kernels with a multiply and an add, as the Python-level formula reads;
- `sqrt` goes through MKL's vector maths (vsSqrt/vdSqrt, high-accuracy mode), which is within 1 ulp but
  not correctly rounded (here about 1 float32 square root in 7 and 1 float64 in 100 differ from IEEE's).

This script therefore runs PyTorch under ATEN_CPU_CAPABILITY=default (set by the parent before torch is
imported) with `Tensor.sqrt` and `Tensor.sqrt_` replaced by NumPy's correctly rounded square root: every
other operation is PyTorch's own, in PyTorch's order, from PyTorch's optimizer code. Usage (stdin: a JSON list
of [optimizer name, options, dtype name]; argv[1]: the .npz to write):

    ATEN_CPU_CAPABILITY=default python torch_optim_reference.py OUT.npz < cases.json
"""
import json
import sys

import numpy as np

SHAPES = [(), (1,), (7,), (3, 50)]  # a 0-d parameter, tails shorter than one SIMD width, several widths
STEPS = 7  # RAdam rectifies from step 6 on (betas (0.9, 0.999))


def problem(dtype, steps=STEPS, seed=0):
    """(initial parameters, gradients per step) as NumPy arrays; gradient sizes alternate 3 and 0.1 so that
    running maxima and averages both keep and replace entries, and some entries are exactly zero."""
    rng = np.random.default_rng(seed)
    inits = [np.asarray(rng.standard_normal(shape)).astype(dtype) for shape in SHAPES]
    grads = []
    for step in range(steps):
        scale = 0.1 if step % 2 else 3.0
        step_grads = [np.asarray(scale * rng.standard_normal(shape)).astype(dtype) for shape in SHAPES]
        step_grads[-1][0, :3] = 0.0
        grads.append(step_grads)
    return inits, grads


def _correctly_rounded_sqrt(torch):
    def sqrt(self):
        return torch.from_numpy(np.asarray(np.sqrt(self.detach().numpy())))

    def sqrt_(self):
        with torch.no_grad():
            self.copy_(sqrt(self))
        return self

    torch.Tensor.sqrt, torch.Tensor.sqrt_ = sqrt, sqrt_


def run(torch, name, options, dtype):
    """The parameters and every tensor state entry after STEPS steps, keyed 'param{i}' and 'param{i}.{key}'."""
    inits, grads = problem(np.dtype(dtype))
    params = [torch.nn.Parameter(torch.from_numpy(init.copy())) for init in inits]
    optimizer = getattr(torch.optim, name)(params, **options)
    for step_grads in grads:
        for param, grad in zip(params, step_grads):
            param.grad = torch.from_numpy(grad.copy())
        optimizer.step()
    arrays = {}
    for index, param in enumerate(params):
        arrays[f"param{index}"] = param.detach().numpy().copy()
        for key, value in optimizer.state[param].items():
            if torch.is_tensor(value) and key != "step":
                arrays[f"param{index}.{key}"] = value.numpy().copy()
    return arrays


def main():
    import torch

    torch.set_num_threads(1)
    assert torch.backends.cpu.get_cpu_capability() == "DEFAULT", "run with ATEN_CPU_CAPABILITY=default"
    _correctly_rounded_sqrt(torch)
    results = {}
    for case_index, (name, options, dtype) in enumerate(json.load(sys.stdin)):
        for key, value in run(torch, name, options, dtype).items():
            results[f"{case_index}/{key}"] = value
    np.savez(sys.argv[1], **results)


if __name__ == "__main__":
    main()
