"""`retrograd.cuda`: PyTorch's `torch.cuda` answers for a machine without CUDA.

Scripts ask `torch.cuda.is_available()` to pick their device and seed CUDA alongside the CPU;
retrograd runs on the CPU only, so there is no CUDA device and seeding it does nothing (as on
a CPU-only PyTorch build, where `torch.cuda.manual_seed` is silently ignored)."""

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all"]


def is_available():
    """False: retrograd computes with NumPy on the CPU."""
    return False


def device_count():
    """0 CUDA devices."""
    return 0


def manual_seed(seed):
    """No CUDA generator to seed; accepted so that seeding code runs unchanged."""


def manual_seed_all(seed):
    """No CUDA generators to seed; accepted so that seeding code runs unchanged."""
