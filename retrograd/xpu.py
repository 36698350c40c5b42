"""`retrograd.xpu`: PyTorch's `torch.xpu` answers for a machine without an Intel GPU.

Scripts such as pytorch/examples' mnist_forward_forward ask `torch.xpu.is_available()` beside
`torch.cuda.is_available()` to pick their device; retrograd runs on the CPU only, so the answers are
those of a PyTorch built without XPU (seeding is accepted and does nothing, `synchronize` and the
device queries raise)."""
from .device import check_device

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all", "empty_cache",
           "synchronize", "current_device", "get_device_name"]


def is_available():
    """False: retrograd computes with NumPy on the CPU."""
    return False


def device_count():
    """0 XPU devices."""
    return 0


def is_initialized():
    return False


def manual_seed(seed):
    """No XPU generator to seed; accepted so that seeding code runs unchanged."""


def manual_seed_all(seed):
    """No XPU generators to seed; accepted so that seeding code runs unchanged."""


def empty_cache():
    """Nothing cached: retrograd allocates on the CPU."""


def synchronize(device=None):
    check_device("xpu", "xpu.synchronize")


def current_device():
    check_device("xpu", "xpu.current_device")


def get_device_name(device=None):
    check_device("xpu", "xpu.get_device_name")
