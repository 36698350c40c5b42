"""`retrograd.backends.cudnn`: PyTorch's cuDNN flags, settable, with no effect (no cuDNN here)."""

enabled = True  # PyTorch's defaults, so code that reads them sees the usual values
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    """False: retrograd does not use cuDNN."""
    return False


def version():
    """None, as PyTorch answers when cuDNN is not available."""
    return None
