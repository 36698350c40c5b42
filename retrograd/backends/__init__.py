"""`retrograd.backends`: PyTorch's backend switches, accepted so that scripts setting them run.

`cudnn.benchmark`, `cudnn.deterministic`, `cudnn.enabled`, `cuda.matmul.allow_tf32` and the
like are plain settable flags with no effect: retrograd's results never depend on them (it
computes with NumPy on the CPU, deterministically). `mps.is_available()` is False."""
from . import cuda, cudnn, mps  # noqa: F401
