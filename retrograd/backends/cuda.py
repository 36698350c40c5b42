"""`retrograd.backends.cuda`: PyTorch's CUDA switches (`matmul.allow_tf32`, ...), settable, with no effect."""


class _MatmulFlags:
    """`backends.cuda.matmul`: the TF32 and reduced-precision switches of CUDA matmuls."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built():
    """False: retrograd has no CUDA backend."""
    return False
