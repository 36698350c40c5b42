"""Moving models and checkpoints between retrograd and PyTorch, with PyTorch imported only when asked.

Checkpoints need no conversion code: retrograd's parameter names, shapes, layouts and dtypes are
PyTorch's, so a state dict crosses over as a plain safetensors file in either direction:

    retrograd.save(model.state_dict(), "m.safetensors")                      # retrograd -> PyTorch
    torch_model.load_state_dict(safetensors.torch.load_file("m.safetensors"))

    safetensors.torch.save_file(torch_model.state_dict(), "m.safetensors")   # PyTorch -> retrograd
    model.load_state_dict(retrograd.load("m.safetensors"))

The helpers here do the rest:

    to_torch(module)           the same architecture as a torch.nn module, holding a copy of the weights
    from_torch(torch_module)   the reverse
    state_to_torch(obj)        a nested state (an optimizer's state_dict()) with torch tensors for retrograd's
    state_from_torch(obj)      the reverse (PyTorch's optimizer state dict -> retrograd's load_state_dict)

`import retrograd` never imports torch; these functions import it when called and, where it is
missing, say which extra installs it.
"""
from .modules import from_torch, to_torch  # noqa: F401
from .state import state_from_torch, state_to_torch  # noqa: F401
