"""PyTorch's legacy typed constructors: `torch.FloatTensor(data)`, `torch.LongTensor(2, 3)`, ...

Older scripts (pytorch/examples' gcn and gat build their features with `torch.FloatTensor(array)` and their
labels with `torch.LongTensor(array)`) still call them. As in PyTorch: sizes give an uninitialised tensor of
that dtype, data (a sequence or an array) is copied and converted, a tensor of the same dtype is returned as
is and one of another dtype is refused; `isinstance(t, FloatTensor)` asks for a float32 tensor."""
import numbers

import numpy as np

from .device import check_device
from .dtypes import bool_, float16, float32, float64, int8, int16, int32, int64, uint8
from .tensor import Size, Tensor, empty, tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor"]


class _TypedTensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype


class _TypedTensor(metaclass=_TypedTensorMeta):
    dtype = None

    def __new__(cls, *args, device=None):
        check_device(device, cls.__name__)
        if not args or all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
            return empty(*args, dtype=cls.dtype) if args else empty(0, dtype=cls.dtype)
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}: expected sizes (ints) or one sequence of data, got {args!r}")
        data = args[0]
        if isinstance(data, Size):
            return empty(*data, dtype=cls.dtype)
        if isinstance(data, Tensor):
            if data.dtype != cls.dtype:
                raise TypeError(f"{cls.__name__}: expected a {cls.dtype} tensor, got one of dtype {data.dtype} "
                                f"(the legacy constructor does not convert; use .to({cls.dtype}))")
            return data
        if isinstance(data, (str, bytes)) or np.asarray(data).dtype.kind not in "biuf":
            raise TypeError(f"{cls.__name__}: invalid data type {type(data).__name__!r} (expected sizes, a "
                            f"sequence of numbers or an array)")
        return tensor(np.asarray(data).astype(cls.dtype))


def _typed(name, dtype):
    return _TypedTensorMeta(name, (_TypedTensor,), {"dtype": dtype, "__doc__": f"A {dtype} tensor: {name}(*sizes) "
                                                                              f"or {name}(data)."})


FloatTensor, DoubleTensor, HalfTensor = _typed("FloatTensor", float32), _typed("DoubleTensor", float64), \
    _typed("HalfTensor", float16)
LongTensor, IntTensor, ShortTensor = _typed("LongTensor", int64), _typed("IntTensor", int32), \
    _typed("ShortTensor", int16)
CharTensor, ByteTensor, BoolTensor = _typed("CharTensor", int8), _typed("ByteTensor", uint8), \
    _typed("BoolTensor", bool_)
