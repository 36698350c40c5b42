"""DataLoader and default_collate, with PyTorch's batching rules.

Fast path: when the dataset (or the dataset under a chain of Subsets) builds batches
itself (`_gather`, see dataset.py) and no collate_fn is given, each batch is one NumPy
gather per array -- no Python loop over items. Otherwise items are fetched one by one and
collated.
"""
import collections.abc
import numbers

import numpy as np

from ..random import Generator, default_generator
from ..tensor import Tensor
from .dataset import Subset

__all__ = ["DataLoader", "default_collate", "stateful_batches", "StatefulBatches", "StatefulBatch"]


def default_collate(batch):
    """Stack a list of samples into a batch, as PyTorch's default_collate does.

    Tensors and arrays -> one Tensor with a new first dimension (dtype kept); Python floats
    -> float64 Tensor, ints -> int64, bools -> bool; NumPy scalars keep their dtype; strings
    stay a list; dicts collate per key; tuples and lists of fields -> a list of batches
    (PyTorch returns a list for tuples too); namedtuples keep their type."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._from_array(_stack([t.array for t in batch]))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biufc":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {elem.dtype}")
        return Tensor._from_array(_stack(batch))
    if isinstance(elem, (str, bytes, np.str_, np.bytes_)):
        return list(batch)
    if isinstance(elem, np.generic):
        return Tensor._from_array(np.array(batch))
    if isinstance(elem, bool):
        return Tensor._from_array(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._from_array(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._from_array(np.array(batch, dtype=np.float64))
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size "
                               f"(got sizes {sorted({len(s) for s in batch})})")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain Tensors, NumPy arrays, numbers, strings, dicts or "
                    f"sequences; found {type(elem).__name__}")


def _stack(arrays):
    first = np.shape(arrays[0])
    for array in arrays:
        if np.shape(array) != first:
            raise RuntimeError(f"default_collate: stack expects each item to be equal size, but got {first} and "
                               f"{np.shape(array)}")
    return np.stack(arrays)


def _resolve(dataset):
    """(base dataset, index map or None): a chain of Subsets flattened into one index array."""
    if isinstance(dataset, Subset):
        base, index_map = _resolve(dataset.dataset)
        own = np.asarray(dataset.indices, dtype=np.int64)
        return base, (own if index_map is None else index_map[own])
    return dataset, None


def _can_gather(dataset):
    return callable(getattr(dataset, "_gather", None)) and getattr(dataset, "_gather_enabled", True)


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers):
    """PyTorch's checks of the worker options (with its wording), though no worker is ever started."""
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                         "to enable multiprocessing, otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")


def _epoch_permutation(generator, n, own):
    """One epoch's order. With retrograd's generators, PyTorch's DataLoader(shuffle=True): the iterator
    first draws its base seed (one random64), then RandomSampler draws randperm(n) from the loader's own
    generator, or, without one, from a fresh Generator seeded with a random64 of the default one. (PyTorch
    draws the own generator's second, unused randperm when the epoch ends; here it is drawn at once.)"""
    if isinstance(generator, np.random.Generator):
        return generator.permutation(n)
    generator.random64(1)  # _BaseDataLoaderIter's _base_seed
    if not own:
        generator = Generator().manual_seed(int(generator.random64(1)[0] % np.uint64(2**63)))
    order = generator.permutation(n)
    if own:  # RandomSampler draws one more randperm(n) (for num_samples % n) before it stops
        generator.permutation(n)
    return order


def _state_of(generator):
    return generator.bit_generator.state if isinstance(generator, np.random.Generator) else generator.get_state()


def _set_state(generator, state):
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = state
    else:
        generator.set_state(state)


def _scratch_like(generator):
    if isinstance(generator, np.random.Generator):
        return np.random.Generator(type(generator.bit_generator)())
    return Generator()


class DataLoader:
    """Iterate over `dataset` in batches.

    shuffle: a new permutation every epoch, drawn from `generator` (a NumPy Generator), else
    from a Generator seeded once with `seed`, else from retrograd's generator, so that
    `retrograd.manual_seed(s)` makes the whole run reproducible. drop_last drops a final
    short batch.

    Worker options are PyTorch's and are accepted, checked as PyTorch checks them, and change
    nothing: loading always runs in the calling process, so `num_workers=4` yields exactly
    the batches of `num_workers=0` (the fast path makes workers unnecessary for in-memory
    data). So `pin_memory`, `persistent_workers`, `prefetch_factor` and `timeout` have no
    effect, and `worker_init_fn` is never called (as in PyTorch with num_workers=0: there
    is no worker process to initialise).

    sampler: an iterable giving the indices of each epoch, such as `DistributedSampler` (then shuffle must
    be False: the sampler decides the order).

    `state_dict()` / `load_state_dict()` (as torchdata's StatefulDataLoader) make a resumed
    run bit-identical: the state holds the loader's own generator, and, mid-epoch, the
    generator state the epoch's permutation was drawn from and how many batches were
    yielded, so the next iteration redraws the same permutation and continues after them.
    With retrograd's global generator the permutation is redrawn from a private copy: the
    global generator itself is restored with the checkpoint's 'rng'."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, generator=None,
                 seed=None, num_workers=0, pin_memory=False, timeout=0, worker_init_fn=None, *,
                 prefetch_factor=None, persistent_workers=False, sampler=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if generator is not None and not isinstance(generator, (Generator, np.random.Generator)):
            raise TypeError(f"DataLoader: generator must be a retrograd.Generator or a numpy.random.Generator "
                            f"(or use seed=), "
                            f"got {type(generator).__name__}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass generator or seed, not both")
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.dataset = dataset
        self.sampler = sampler  # an iterable of indices per epoch (DistributedSampler): the order, instead of shuffle
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.generator = generator if seed is None else np.random.default_rng(seed)
        self.num_workers = num_workers
        self.pin_memory, self.timeout, self.worker_init_fn = bool(pin_memory), timeout, worker_init_fn
        self.prefetch_factor, self.persistent_workers = prefetch_factor, bool(persistent_workers)
        self._epoch_rng_state = None  # the generator state this epoch's permutation came from (mid-epoch)
        self._batches_yielded = 0  # in the epoch in progress
        self._resume = None  # (epoch_rng_state, batches to skip) for the next iteration, after load_state_dict

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _rng(self):
        return self.generator if self.generator is not None else default_generator

    def _order(self, n, replay_state, resuming):
        """This epoch's permutation (None without shuffle); replay_state redraws a saved epoch's."""
        if not self.shuffle:
            if not resuming and isinstance(self._rng(), Generator):
                # PyTorch's iterator draws its base seed with or without shuffle: the stream stays in step
                self._rng().random64(1)
            return None
        if replay_state is not None and self.generator is None:
            replay = _scratch_like(self._rng())  # leaves the global generator alone
            _set_state(replay, replay_state)
            return _epoch_permutation(replay, n, own=False)
        if replay_state is not None:
            _set_state(self.generator, replay_state)
        return _epoch_permutation(self._rng(), n, own=self.generator is not None)

    def state_dict(self):
        """Where the loader stands: {'generator': own generator's state or None, 'epoch_rng_state': the state
        the current epoch's permutation was drawn from (None between epochs or without shuffle),
        'batches_yielded': batches of the current epoch so far (0 between epochs), 'shuffle'}."""
        if self._resume is not None:  # loaded but not iterated yet: still the loaded position
            epoch_rng_state, skip = self._resume
        else:
            epoch_rng_state, skip = self._epoch_rng_state, self._batches_yielded
        return {"generator": None if self.generator is None else _state_of(self.generator),
                "epoch_rng_state": epoch_rng_state, "batches_yielded": skip,
                "shuffle": self.shuffle}

    def load_state_dict(self, state_dict):
        """Continue from `state_dict()`: the next iteration resumes the saved epoch after its yielded batches."""
        state = self._checked_state(state_dict)
        if state["generator"] is not None:
            _set_state(self.generator, state["generator"])
        mid_epoch = state["epoch_rng_state"] is not None or state["batches_yielded"] > 0
        self._resume = (state["epoch_rng_state"], state["batches_yielded"]) if mid_epoch else None

    def _checked_state(self, state_dict):
        """`state_dict` after checking it fits this loader (raises ValueError naming the entry); changes nothing."""
        if not isinstance(state_dict, dict) or not {"generator", "epoch_rng_state", "batches_yielded"} <= set(
                state_dict):
            raise ValueError(f"DataLoader.load_state_dict: expected the dict of DataLoader.state_dict() "
                             f"(generator, epoch_rng_state, batches_yielded), got {str(state_dict)[:60]!r}")
        if (state_dict["generator"] is None) != (self.generator is None):
            raise ValueError("DataLoader.load_state_dict: the state was saved by a loader "
                             + ("without" if state_dict["generator"] is None else "with")
                             + " its own generator (seed= or generator=); this one is built "
                             + ("with" if self.generator is not None else "without") + " one")
        skip = state_dict["batches_yielded"]
        if isinstance(skip, bool) or not isinstance(skip, int) or not 0 <= skip <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: batches_yielded must be an integer in [0, {len(self)}], "
                             f"got {skip!r}")
        if state_dict.get("shuffle", self.shuffle) != self.shuffle:
            raise ValueError(f"DataLoader.load_state_dict: the state was saved with shuffle={state_dict['shuffle']}, "
                             f"this loader has shuffle={self.shuffle}")
        for entry in ("generator", "epoch_rng_state"):
            if state_dict[entry] is not None:
                try:  # checked on a scratch generator, so a bad state changes nothing
                    _set_state(_scratch_like(self._rng()), state_dict[entry])
                except (TypeError, ValueError, KeyError, RuntimeError) as error:
                    raise ValueError(f"DataLoader.load_state_dict: '{entry}' is not a state of "
                                     f"{type(self._rng()).__name__} ({error})") from None
        return state_dict

    def __iter__(self):
        resume, self._resume = self._resume, None
        if resume is not None:
            epoch_rng_state, skip = resume
        else:
            epoch_rng_state, skip = (_state_of(self._rng()) if self.shuffle else None), 0
        if self.sampler is None:
            n = len(self.dataset)
            order = self._order(n, epoch_rng_state if resume is not None else None, resume is not None)
        else:
            self._order(0, None, resume is not None)  # draws PyTorch's base seed, as its iterator does
            order = np.asarray(list(self.sampler), dtype=np.int64)
            n = len(order)
        stop = (n // self.batch_size) * self.batch_size if self.drop_last else n
        self._epoch_rng_state, self._batches_yielded = epoch_rng_state, skip
        for batch in self._batches(order, stop, skip * self.batch_size):
            self._batches_yielded += 1
            yield batch
        self._epoch_rng_state, self._batches_yielded = None, 0

    def _batches(self, order, stop, first):
        n = len(self.dataset)
        base, index_map = _resolve(self.dataset)
        if self.collate_fn is None and _can_gather(base):
            if order is None and index_map is None:  # sequential: contiguous slices
                for start in range(first, stop, self.batch_size):
                    yield base._gather(slice(start, min(start + self.batch_size, n)))
                return
            indices = index_map if order is None else (order if index_map is None else index_map[order])
            for start in range(first, stop, self.batch_size):
                yield base._gather(indices[start:start + self.batch_size])
            return
        collate = self.collate_fn or default_collate
        indices = range(n) if order is None else order.tolist()
        for start in range(first, stop, self.batch_size):
            yield collate([self.dataset[i] for i in indices[start:start + self.batch_size]])


# ----- stateful layout ---------------------------------------------------------------------
StatefulBatch = collections.namedtuple("StatefulBatch", ["inputs", "targets", "reset"])


class StatefulBatches:
    """Sequences laid out for stateful training (Keras `stateful=True`): row i of batch b+1
    continues row i of batch b, so the recurrent state left by one batch is the right
    initial state for the next one. Built by `stateful_batches`; iterable any number of times
    (one epoch each); `len()` is the number of batches per epoch.

    Each batch is a StatefulBatch(inputs, targets, reset): inputs and targets are Tensors
    (B, k, ...) (the last chunk of a row group may be shorter than k), and reset is a bool
    ndarray (B,) marking the rows where a new sequence starts, whose state must be zeroed
    first -- `state = None` when reset.all(), else multiply the state by ~reset."""

    def __init__(self, inputs, targets, batch_size, k, single_stream, drop_last, shuffle, generator):
        self.inputs, self.targets = inputs, targets
        self.batch_size, self.k = batch_size, k
        self.single_stream, self.drop_last, self.shuffle, self.generator = single_stream, drop_last, shuffle, generator
        self.steps = inputs.shape[1]  # time steps per row
        rows = inputs.shape[0]
        self.num_row_groups = (rows // batch_size if drop_last else -(-rows // batch_size)) if not single_stream else 1
        self.chunks_per_group = self.steps // k if drop_last else -(-self.steps // k)

    def __len__(self):
        return self.num_row_groups * self.chunks_per_group

    def __iter__(self):
        B, k = self.batch_size, self.k
        order = None
        if self.shuffle:
            rng = self.generator if self.generator is not None else default_generator
            order = rng.permutation(self.inputs.shape[0])
        for group in range(self.num_row_groups):
            rows = slice(group * B, (group + 1) * B) if order is None else order[group * B:(group + 1) * B]
            group_inputs, group_targets = self.inputs[rows], self.targets[rows]  # (rows, steps, ...)
            for chunk in range(self.chunks_per_group):
                t0 = chunk * k
                reset = np.full(len(group_inputs), chunk == 0)
                yield StatefulBatch(Tensor._from_array(group_inputs[:, t0:t0 + k]),
                                    Tensor._from_array(group_targets[:, t0:t0 + k]), reset)


def stateful_batches(sequences, batch_size, k, targets=None, drop_last=False, shuffle=False, generator=None):
    """Lay sequences out in (inputs, targets, reset) chunks of k steps for stateful / truncated-BPTT training.

    One stream (a 1-D array of T tokens): cut into batch_size contiguous rows of
    L = (T - 1) // batch_size steps -- row i holds tokens [i*L, (i+1)*L) and its targets are
    the same tokens shifted by one -- then into chunks of k steps along time (char-rnn's
    layout). Only the first chunk resets the state. With `targets` (same length as the
    stream) rows of L = T // batch_size steps of both are used instead, unshifted.

    Many sequences (an array (N, T, ...): sequence, time, then any feature dims): each
    sequence stays in one row; sequences are grouped batch_size at a time into
    ceil(N / batch_size) row groups, and each group gives ceil(T / k) consecutive chunks
    (row i of each chunk continues row i of the previous one). Every row starts a new
    sequence at the first chunk of a group, so `reset` is all True there and all False
    elsewhere; the last group may have fewer rows (its state starts from zeros anyway).
    Targets: `targets` (N, T, ...) when given (per-step labels), else next-step prediction
    within each sequence -- inputs seq[:, :-1], targets seq[:, 1:], T - 1 steps. `shuffle`
    permutes the sequences among rows each epoch (never the time order).
    drop_last drops a final incomplete row group and a final chunk shorter than k.

    Memory: a stateful run backpropagates through one chunk at a time, so activation memory
    is ~ batch_size x k x hidden per layer, independent of the sequence length. For example
    125,973 sequences x 1,000 steps with k = 25: batch_size B gives ceil(125973 / B) row
    groups x 40 chunks each (B = 64: 1,969 groups, 78,760 batches per epoch), and each
    step of training holds activations for 64 x 25 steps instead of 64 x 1,000 for full
    BPTT -- 40 times less, whatever the sequence length; a larger B trades memory
    (linear in B) for fewer, larger GEMMs per epoch."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"stateful_batches: batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"stateful_batches: k must be a positive integer, got {k!r}")
    data = sequences.array if isinstance(sequences, Tensor) else np.asarray(sequences)
    if data.dtype == object:
        raise ValueError("stateful_batches: sequences of different lengths (a ragged array); pad them to one "
                         "length, or concatenate them into one stream")
    if targets is not None:
        targets = targets.array if isinstance(targets, Tensor) else np.asarray(targets)
        if targets.shape[:min(2, data.ndim)] != data.shape[:min(2, data.ndim)]:
            raise ValueError(f"stateful_batches: targets of shape {targets.shape} do not match sequences of shape "
                             f"{data.shape} in their leading (sequence, time) dimensions")
    if data.ndim == 0:
        raise ValueError("stateful_batches: expected a 1-D stream or an (N, T, ...) array of sequences, got a scalar")
    if data.ndim == 1:
        if shuffle:
            raise ValueError("stateful_batches: shuffle applies to many sequences (N, T, ...); one stream's rows "
                             "must stay in order")
        shift = 1 if targets is None else 0
        steps = (len(data) - shift) // batch_size
        if steps < 1:
            raise ValueError(f"stateful_batches: a stream of {len(data)} tokens is too short for {batch_size} rows")
        source = data if targets is None else targets
        inputs = data[:batch_size * steps].reshape(batch_size, steps)
        outputs = source[shift:shift + batch_size * steps].reshape(batch_size, steps)
        return StatefulBatches(inputs, outputs, batch_size, int(k), True, drop_last, False, generator)
    if targets is None:
        if data.shape[1] < 2:
            raise ValueError(f"stateful_batches: next-step targets need sequences of at least 2 steps, got "
                             f"{data.shape}")
        inputs, outputs = data[:, :-1], data[:, 1:]
    else:
        inputs, outputs = data, targets
    return StatefulBatches(inputs, outputs, batch_size, int(k), False, drop_last, shuffle, generator)
