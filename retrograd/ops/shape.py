"""Shape ops: views, joins, splits and indexing; their VJPs move gradients back into place."""
import numpy as np

from .base import array_of, record


def reshape(x, *shape):
    """y = x reshaped ;  dL/dx = g reshaped back."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    x_val = array_of(x)
    return record(reshape, x_val.reshape(shape), (x,), lambda grad_out: (grad_out.reshape(x_val.shape),))


flatten = squeeze = unsqueeze = transpose = permute = expand = repeat = split = chunk = None
gather = index_select = masked_fill = unbind = expand_as = reshape_as = t = getitem = index_put = None
cast = clone = cat = stack = pad = None
