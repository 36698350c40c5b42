"""`retrograd.cuda`: PyTorch's `torch.cuda` answers for a machine without CUDA.

Scripts ask `torch.cuda.is_available()` to pick their device and seed CUDA alongside the CPU;
retrograd runs on the CPU only, so there is no CUDA device and seeding it does nothing (as on
a CPU-only PyTorch build, where `torch.cuda.manual_seed` is silently ignored). The queries that
a CPU-only PyTorch answers (memory counters, `empty_cache`) answer the same; those that need a
CUDA device (`synchronize`, `current_device`, `get_device_name`) raise as it does."""
from .device import check_device

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all", "seed", "seed_all",
           "empty_cache", "memory_allocated", "max_memory_allocated", "synchronize", "current_device",
           "get_device_name"]


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


def seed():
    """No CUDA generator to seed."""


def seed_all():
    """No CUDA generators to seed."""


def is_initialized():
    return False


def empty_cache():
    """Nothing cached: retrograd allocates on the CPU."""


def memory_allocated(device=None):
    """0 bytes on CUDA devices."""
    return 0


def max_memory_allocated(device=None):
    """0 bytes on CUDA devices."""
    return 0


def synchronize(device=None):
    check_device("cuda", "cuda.synchronize")


def current_device():
    check_device("cuda", "cuda.current_device")


def get_device_name(device=None):
    check_device("cuda", "cuda.get_device_name")
