"""`retrograd.accelerator`: PyTorch's device-agnostic accelerator queries; retrograd has none."""

__all__ = ["is_available", "device_count", "current_accelerator"]


def is_available():
    """False: retrograd runs on the CPU only."""
    return False


def device_count():
    """0 accelerators."""
    return 0


def current_accelerator(check_available=False):
    """None: there is no accelerator (PyTorch returns None when none is available)."""
    return None
