"""adaptive_avg_pool1d and adaptive_max_pool1d, as PyTorch computes them: the 2-D ops on (N, C, 1, L), the
result squeezed back to (N, C, L_out). Their gradients and windows are the 2-D ops' (ops/pool.py); the
indices of adaptive_max_pool1d are positions along L (the flat index h * L + l with h = 0)."""
from .pool import adaptive_avg_pool2d, adaptive_max_pool2d
from .shape import squeeze, unsqueeze


def _length_out(op_name, output_size):
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 1:
            raise RuntimeError(f"{op_name}() argument 'output_size' should contain one int (got "
                               f"{len(output_size)})")
        output_size = output_size[0]
    return output_size


def _check_input(op_name, input, needs_nonempty):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {op_name})")
    for dim in range(input.ndim - 2 if input.ndim == 3 else 0, input.ndim):
        if needs_nonempty and input.shape[dim] == 0 and not (input.ndim == 3 and dim == 0):
            raise RuntimeError(f"{op_name}(): Expected input to have non-zero size for non-batch dimensions, but "
                               f"input has sizes {list(input.shape)} with dimension {dim} being empty")


def adaptive_avg_pool1d(input, output_size):
    """Average over PyTorch's adaptive windows along the last dim of (N, C, L) or (C, L) input."""
    length = _length_out("adaptive_avg_pool1d", output_size)
    _check_input("adaptive_avg_pool1d", input, needs_nonempty=False)
    return squeeze(adaptive_avg_pool2d(unsqueeze(input, -2), (1, length)), -2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Maximum over PyTorch's adaptive windows along the last dim (the first maximum of a window gets its
    gradient); with return_indices, also each maximum's position along L (int64)."""
    length = _length_out("adaptive_max_pool1d", output_size)
    _check_input("adaptive_max_pool1d", input, needs_nonempty=True)
    result = adaptive_max_pool2d(unsqueeze(input, -2), (1, length), return_indices)
    if return_indices:
        return squeeze(result[0], -2), squeeze(result[1], -2)
    return squeeze(result, -2)
