"""Small pieces shared by the optimizers: PyTorch's lerp, its scalar-state precision, unsupported flags, the arrays
a compiled update kernel takes."""
import numpy as np

from ..dtypes import get_default_dtype


def lerp_(start, end, weight):
    """start <- start + weight * (end - start), in place, with PyTorch's two-branch formula.

    For |weight| >= 0.5 PyTorch computes end - (end - start) * (1 - weight) instead (exact at
    weight = 1); the two differ in the last bits, so we follow it branch for branch. (These are the roundings
    of PyTorch's portable kernels; its AVX2/AVX-512 kernels fuse each branch's multiply-add into one rounding,
    which NumPy has no operation for: tests/test_optim_bit_parity.py.) Returns the scratch array (end's shape
    and dtype) for the caller to reuse."""
    scratch = np.asarray(np.subtract(end, start))  # an array even for 0-d operands (NumPy returns a scalar)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1 - weight
        np.subtract(end, scratch, out=start)
    return scratch


def flat_kernel_operands(param, *arrays):
    """1-d views of `param` and `arrays` for a compiled update kernel (sgd_kernels.py), which
    walks them element by element: None (the caller runs its NumPy code, and its errors) unless all are
    C-contiguous, writeable, and of param's shape and dtype."""
    flat = []
    for array in (param,) + arrays:
        flags = array.flags
        if not (flags.c_contiguous and flags.writeable) or array.dtype != param.dtype or array.shape != param.shape:
            return None
        flat.append(array.ravel())  # a view: the array is C-contiguous
    return flat


def python_numbers(*values):
    """Whether the hyper-parameters are Python numbers, which NumPy rounds to a float32 array's dtype, as the
    compiled kernels do; a NumPy float64 would make NumPy compute in float64, so the kernels step aside."""
    return all(type(value) in (int, float) for value in values)


def scalar_state_dtype():
    """The dtype of PyTorch's 0-d optimizer state (ASGD's eta and mu, NAdam's mu_product): float64 when
    the default dtype is float64, else float32 (torch.optim.optimizer._get_scalar_dtype)."""
    return np.dtype(np.float64) if get_default_dtype() == np.float64 else np.dtype(np.float32)


def scalar_state(value):
    """A Python float rounded as PyTorch's 0-d state tensor stores it."""
    return float(scalar_state_dtype().type(value))


def check_flags(name, capturable=False, differentiable=False):
    """capturable and differentiable are PyTorch's CUDA-graph and autograd-through-the-step modes;
    retrograd's steps are plain NumPy on CPU, so only their default (False) is accepted."""
    for flag, value in (("capturable", capturable), ("differentiable", differentiable)):
        if value:
            raise ValueError(f"{name}: {flag}=True is not supported (retrograd's optimizer steps are NumPy "
                             f"updates on CPU, outside autograd); got {flag}={value!r}, expected False")


def check_hyperparameters(**values):
    """PyTorch's checks of the hyper-parameters most optimizers share, with its messages, in the order the
    optimizer passes them (PyTorch's order: it decides which message a call with two bad values gets).
    A value of None is not checked (SGD's lr may be left to the parameter groups)."""
    messages = {"lr": "Invalid learning rate", "eps": "Invalid epsilon value",
                "weight_decay": "Invalid weight_decay value", "momentum": "Invalid momentum value"}
    for name, value in values.items():
        if name == "betas":
            for index, beta in enumerate(value):
                if not 0.0 <= beta < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        elif value is not None and value < 0.0:
            raise ValueError(f"{messages[name]}: {value}")
