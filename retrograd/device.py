"""`retrograd.device`: PyTorch's device objects, for a library that runs on the CPU only.

PyTorch scripts name devices everywhere (`torch.device("cuda" if torch.cuda.is_available()
else "cpu")`, `x.to(device)`, `torch.zeros(3, device=device)`). retrograd accepts every
device PyTorch can name, so such a script runs unchanged on the CPU, and refuses to put
data anywhere but the CPU with an error that says so. `check_device(device, where)` is the
one check every factory, `Tensor.to` and `Module.to` call.

This module imports nothing of retrograd: the tensor module and the factories build on it.
"""
import numbers

__all__ = ["device", "DeviceUnavailableError", "check_device", "as_device", "set_default_device", "get_default_device"]

# PyTorch's device types (c10/core/DeviceType.h), so that any device a PyTorch script names
# builds; only "cpu" can hold data here.
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class DeviceUnavailableError(RuntimeError, AssertionError):
    """A device other than the CPU was asked to hold data. A RuntimeError, and an AssertionError
    as CPU-only PyTorch raises ("Torch not compiled with CUDA enabled"), so either `except` catches it."""


class device:
    """A device: `device("cpu")`, `device("cuda:1")`, `device("cuda", 0)`, `device(other_device)`.

    `.type` is the device type, `.index` its ordinal or None. Printed and compared as
    PyTorch's `torch.device`: `repr` is `device(type='cpu')`, `str` is `cpu`, two devices are
    equal when type and index are (a device never equals a string)."""

    __slots__ = ("_type", "_index")

    def __init__(self, type_or_name, index=None):
        if isinstance(type_or_name, device):
            if index is not None:
                raise TypeError("device(): pass either a device or a (type, index) pair, not both")
            self._type, self._index = type_or_name.type, type_or_name.index
            return
        if isinstance(type_or_name, numbers.Integral) and not isinstance(type_or_name, bool):
            # a bare ordinal means the accelerator's device; PyTorch without one refuses it so
            raise DeviceUnavailableError(f"Cannot access accelerator device when none is available "
                                         f"(device({type_or_name}): retrograd runs on the CPU only)")
        if not isinstance(type_or_name, str):
            raise TypeError(f"device(): argument 'type' must be a str or a device, "
                            f"got {type(type_or_name).__name__}")
        name, _, ordinal = type_or_name.partition(":")
        if name not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device "
                               f"string: {type_or_name}")
        if ordinal:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {type_or_name}")
            if not ordinal.isdigit():
                raise RuntimeError(f"Invalid device string: '{type_or_name}'")
            index = int(ordinal)
        if index is not None and (isinstance(index, bool) or not isinstance(index, numbers.Integral)
                                  or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index!r}")
        self._type, self._index = name, (None if index is None else int(index))

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return (self._type, self._index) == (other._type, other._index)

    def __hash__(self):
        return hash((self._type, self._index))

    def __reduce__(self):
        return device, (self._type, self._index)

    def __enter__(self):
        """`with device("cpu"):` makes the CPU the default device, which it always is; another device raises
        on entry (PyTorch would fail at the first tensor made inside the block)."""
        check_device(self, "with device(...)")
        return self

    def __exit__(self, *exc_info):
        return None


CPU = device("cpu")


def as_device(value, where):
    """`value` (a device, a string such as "cuda:0") as a device object; None stays None. An int
    ordinal names an accelerator, which retrograd has not: it raises DeviceUnavailableError."""
    if value is None or isinstance(value, device):
        return value
    if isinstance(value, (str, numbers.Integral)) and not isinstance(value, bool):
        return device(value)
    raise TypeError(f"{where}: device must be a retrograd.device, a string such as 'cpu' or an int, "
                    f"got {type(value).__name__}")


def check_device(value, where):
    """Check that `value` names the CPU (or is None) and return the CPU device.

    Any other device PyTorch knows ('cuda', 'cuda:0', 'mps', device('cuda'), 0) raises a
    DeviceUnavailableError (a RuntimeError) naming `where` (the factory, method or layer) and the device: retrograd
    computes with NumPy on the CPU. An unknown name raises PyTorch's device-string error."""
    wanted = as_device(value, where)
    if wanted is not None and wanted.type != "cpu":
        raise DeviceUnavailableError(f"{where}: retrograd runs on the CPU only, so it cannot put data on device "
                           f"'{wanted}'. Use device='cpu' or leave device out (retrograd.cuda.is_available() is "
                           f"False, so `'cuda' if torch.cuda.is_available() else 'cpu'` picks the CPU)")
    return CPU


def set_default_device(value):
    """PyTorch's `set_default_device`: the CPU (or None, meaning the CPU) is the only device retrograd has."""
    check_device(value, "set_default_device")


def get_default_device():
    """The device new tensors are made on: always the CPU."""
    return CPU
