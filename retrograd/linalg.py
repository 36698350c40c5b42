"""retrograd.linalg: PyTorch's `torch.linalg`, every function differentiable but matrix_rank: `cholesky` and
`solve_triangular` (their VJPs in retrograd/ops/factorization.py), `inv`, `det`, `slogdet`, `solve`
(ops/inverse.py), `svd`, `svdvals`, `eigh`, `eigvalsh`, `qr` (ops/spectral.py), `pinv` and `matrix_rank`
(ops/pinv.py); composed from those: `vector_norm`, `matrix_norm`, `norm`, `cond` (ops/matrix_norms.py),
`matrix_power`, `cross` (ops/matrix_functions.py), `multi_dot` (ops/products.py); and `LinAlgError`."""
from .ops.factorization import LinAlgError, cholesky, solve_triangular
from .ops.inverse import det, inv, slogdet, solve
from .ops.matrix_functions import linalg_cross as cross, matrix_power
from .ops.matrix_norms import cond, matrix_norm, norm, vector_norm
from .ops.pinv import matrix_rank, pinv
from .ops.products import multi_dot
from .ops.spectral import eigh, eigvalsh, qr, svd, svdvals

__all__ = ["LinAlgError", "cholesky", "cond", "cross", "det", "eigh", "eigvalsh", "inv", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd", "svdvals",
           "vector_norm"]
