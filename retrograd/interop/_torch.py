"""PyTorch, imported on first use only: retrograd never needs it to run."""


def import_torch(caller):
    """The torch module, or an ImportError naming `caller` and the extra that installs PyTorch."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"{caller} needs PyTorch, which is not installed: pip install \"retrograd[torch]\"") \
            from None
    return torch
