"""Variable-length sequences: PackedSequence and PyTorch's pack/pad functions.

A PackedSequence holds the steps of a batch of sequences sorted by decreasing length,
time-major and without padding, exactly as PyTorch lays it out:
    data          (sum(lengths), *)  step 0 of every sequence, then step 1 of those still running, ...
    batch_sizes   (T,) int64         how many sequences are still running at each step
    sorted_indices / unsorted_indices  the permutation into and out of length order (None if sorted)
Packing and unpacking are gathers and scatters (getitem / index_put), so gradients flow through them.
The recurrent layers run on the padded form with per-row lengths, stopping each row's state at its end.
"""
from collections import namedtuple

import numpy as np

from ...ops import indexing, shape
from ...tensor import Tensor, from_numpy, zeros


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """See the module docstring. Build it with pack_padded_sequence or pack_sequence."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = from_numpy(np.argsort(np.asarray(sorted_indices.array)))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    @property
    def lengths(self):
        """Lengths in the packed (sorted) order, as a NumPy array."""
        sizes = np.asarray(self.batch_sizes.array)
        return (np.arange(int(sizes[0]))[:, None] < sizes[None, :]).sum(axis=1)

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)


def _positions(lengths):
    """(time index, batch index) of every packed row, time-major, for lengths sorted decreasingly."""
    lengths = np.asarray(lengths)
    steps = int(lengths.max()) if lengths.size else 0
    running = np.arange(steps)[:, None] < lengths[None, :]  # (T, B)
    time_index, batch_index = np.nonzero(running)  # row-major: time-major order
    return time_index, batch_index


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) given each sequence's length."""
    lengths = np.asarray(lengths.array if isinstance(lengths, Tensor) else lengths, dtype=np.int64).reshape(-1)
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("pack_padded_sequence: all lengths must be positive (got "
                           f"{lengths.min()} for some sequence)")
    x = shape.transpose(input, 0, 1) if batch_first else input
    if len(lengths) != x.shape[1]:
        raise ValueError(f"pack_padded_sequence: {len(lengths)} lengths for a batch of {x.shape[1]} sequences")
    if lengths.max() > x.shape[0]:
        raise ValueError(f"pack_padded_sequence: a length of {lengths.max()} exceeds the padded length {x.shape[0]}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` to pack unsorted "
                               "sequences.")
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = from_numpy(order)
        x = indexing.index_select(x, 1, sorted_indices)
        lengths = lengths[order]
    time_index, batch_index = _positions(lengths)
    data = indexing.getitem(x, (time_index, batch_index))
    batch_sizes = from_numpy((np.arange(int(lengths.max()))[:, None] < lengths[None, :]).sum(axis=1))
    return PackedSequence(data, batch_sizes, sorted_indices)


def unpack_rows(packed, total_length=None):
    """(padded (T, B, *) time-major in the packed order, lengths in that order): the inverse of pack_rows."""
    lengths = packed.lengths
    steps = int(lengths.max()) if total_length is None else total_length
    time_index, batch_index = _positions(lengths)
    data = packed.data
    padded = zeros(steps, len(lengths), *data.shape[1:], dtype=data.dtype)
    return indexing.index_put(padded, (time_index, batch_index), data), lengths


def pack_rows(padded, like):
    """Pack a padded time-major batch (in the packed order) with the layout of the PackedSequence `like`."""
    time_index, batch_index = _positions(like.lengths)
    return PackedSequence(indexing.getitem(padded, (time_index, batch_index)), like.batch_sizes, like.sorted_indices,
                          like.unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Unpack to (padded, lengths): padded is (T, B, *) (or (B, T, *)), lengths an int64 tensor, both in the
    original batch order."""
    lengths = sequence.lengths
    if total_length is not None and total_length < lengths.max():
        raise ValueError(f"pad_packed_sequence: total_length {total_length} is less than the longest sequence "
                         f"({lengths.max()})")
    padded, _ = unpack_rows(sequence, total_length)
    if padding_value:
        mask = np.arange(padded.shape[0])[:, None] >= lengths[None, :]
        padded = indexing.masked_fill(padded, from_numpy(mask.reshape(mask.shape + (1,) * (padded.ndim - 2))),
                                   padding_value)
    if sequence.unsorted_indices is not None:
        padded = indexing.index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[np.asarray(sequence.unsorted_indices.array)]
    if batch_first:
        padded = shape.transpose(padded, 0, 1)
    return padded, from_numpy(lengths.astype(np.int64))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (max L, B, *) (or (B, max L, *)), padding with padding_value."""
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(shape.pad(s, widths, value=padding_value) if extra else s)
    return shape.stack(padded, 1 if not batch_first else 0)


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), their lengths)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
