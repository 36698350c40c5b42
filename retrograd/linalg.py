"""retrograd.linalg: PyTorch's `torch.linalg` for what retrograd has: `cholesky` and `solve_triangular`, both
differentiable (their VJPs are in retrograd/ops/factorization.py), and `LinAlgError`."""
from .ops.factorization import LinAlgError, cholesky, solve_triangular

__all__ = ["LinAlgError", "cholesky", "solve_triangular"]
