"""retrograd.linalg: PyTorch's `torch.linalg` for what retrograd has: `cholesky` and `solve_triangular`, both
differentiable (their VJPs are in retrograd/ops/factorization.py), `multi_dot` (retrograd/ops/products.py),
and `LinAlgError`."""
from .ops.factorization import LinAlgError, cholesky, solve_triangular
from .ops.products import multi_dot

__all__ = ["LinAlgError", "cholesky", "multi_dot", "solve_triangular"]
