"""`torch.nn.modules.utils`: the argument helpers layer code imports (`_single`, `_pair`, `_triple`, `_ntuple`)."""
import collections.abc
import itertools


def _ntuple(n, name="parse"):
    """A function turning `x` into an n-tuple: an iterable as a tuple, a single value repeated n times."""
    def parse(x):
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(itertools.repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")
