"""Flatten parameters into one vector and back (PyTorch's layout: parameters in order, each row-major)."""
from ...ops.shape import cat, reshape
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """One 1-D Tensor holding every parameter, flattened, in order (a `cat` of `reshape(-1)`s, so it
    is recorded on the tape like any op: gradients flow back to the parameters)."""
    flats = [reshape(p, -1) for p in parameters]
    if not flats:
        raise RuntimeError("parameters_to_vector: expected at least one parameter")
    return cat(flats)


def vector_to_parameters(vec, parameters):
    """Point each parameter's data at its slice of `vec` (1-D), reshaped to the parameter's shape.

    As in PyTorch (`param.data = vec[i:j].view_as(param).data`), the parameters then share
    storage with `vec`; the tape is not involved."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected retrograd.Tensor, but got: {type(vec).__name__}")
    parameters = list(parameters)
    array = vec.array
    if array.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector, got shape {tuple(array.shape)}")
    needed = sum(p.array.size for p in parameters)
    if array.size != needed:
        raise ValueError(f"vector_to_parameters: the vector has {array.size} elements but the parameters "
                         f"need {needed}")
    if not array.flags.writeable:
        array = array.copy()
    pointer = 0
    for param in parameters:
        size = param.array.size
        param.array = array[pointer:pointer + size].reshape(param.array.shape)
        pointer += size
