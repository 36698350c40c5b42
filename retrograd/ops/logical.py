"""Logical and bitwise elementwise functions, PyTorch's: logical_and/or/xor (any dtypes, a bool result:
nonzero is True) and bitwise_and/or/xor/not and the shifts (integer and bool tensors only).

None is differentiable: their results are bools or integers, off the tape.
"""
import numpy as np

from .base import array_of, binary_operands, record
from .compare import _SCALAR_TYPE_NAMES, _tensor_array
from .elementwise import _binary


def _logical(name, ufunc):
    def logical(input, other):
        a_val, b_val = _tensor_array(input, name, 1, "input"), _tensor_array(other, name, 2, "other")
        return record(logical, _binary(logical, a_val, b_val, ufunc), (), None)

    logical.__name__ = logical.__qualname__ = name
    logical.__doc__ = f"Elementwise {name[8:]} of the truth values (nonzero is True) of two tensors; a bool tensor."
    return logical


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)


def _refuse_non_integers(kernel, arrays, allow_bool=True):
    for array in arrays:
        if isinstance(array, np.ndarray) and (array.dtype.kind in "fc" or (array.dtype.kind == "b" and not allow_bool)):
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_SCALAR_TYPE_NAMES[array.dtype.name]}'")
        if isinstance(array, float):
            raise NotImplementedError(f"\"{kernel}\" not implemented for 'Float'")


def _bitwise(name, kernel, ufunc):
    def bitwise(input, other):
        a_val, b_val = binary_operands(input, other)
        _refuse_non_integers(kernel, (a_val, b_val))
        return record(bitwise, _binary(bitwise, a_val, b_val, ufunc), (), None)

    bitwise.__name__ = bitwise.__qualname__ = name
    bitwise.__doc__ = f"Elementwise {name[8:]} of the bits of two integer or bool tensors; not differentiable."
    return bitwise


bitwise_and = _bitwise("bitwise_and", "bitwise_and_cpu", np.bitwise_and)
bitwise_or = _bitwise("bitwise_or", "bitwise_or_cpu", np.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor_cpu", np.bitwise_xor)


def bitwise_not(input):
    """Elementwise not of the bits of an integer tensor, logical not of a bool one; not differentiable."""
    x_val = array_of(input)
    _refuse_non_integers("bitwise_not_cpu", (x_val,))
    return record(bitwise_not, np.invert(x_val), (), None)


def _shift_bits(a_val, b_val, shift):
    """a shifted by b bits, as PyTorch shifts: by the width or more gives 0 to the left and the sign to the
    right (NumPy leaves those to the C compiler, whose answer is undefined)."""
    a_val, b_val = np.asarray(a_val), np.asarray(b_val)
    width = a_val.dtype.itemsize * 8
    if shift is np.right_shift:
        return np.right_shift(a_val, np.minimum(b_val, width - 1).astype(b_val.dtype))
    shifted = np.left_shift(a_val, np.minimum(b_val, width - 1).astype(b_val.dtype))
    return np.where(b_val >= width, 0, shifted).astype(shifted.dtype, copy=False)


def bitwise_left_shift(input, other):
    """y = a << b on integer tensors (0 once b reaches the width); not differentiable."""
    a_val, b_val = binary_operands(input, other)
    _refuse_non_integers("lshift_cpu", (a_val, b_val), allow_bool=False)
    return record(bitwise_left_shift, _binary(bitwise_left_shift, a_val, b_val,
                                              lambda a, b: _shift_bits(a, b, np.left_shift)), (), None)


def bitwise_right_shift(input, other):
    """y = a >> b on integer tensors (arithmetic: the sign fills in); not differentiable."""
    a_val, b_val = binary_operands(input, other)
    _refuse_non_integers("rshift_cpu", (a_val, b_val), allow_bool=False)
    return record(bitwise_right_shift, _binary(bitwise_right_shift, a_val, b_val,
                                               lambda a, b: _shift_bits(a, b, np.right_shift)), (), None)
