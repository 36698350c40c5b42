"""retrograd.data: datasets, DataLoader (fast and slow paths, vs PyTorch), stateful layouts, MNIST, text."""
import fnmatch
import gzip
import hashlib
import os
import re
import tomllib
import urllib.error
import urllib.request
from collections import namedtuple
from importlib import resources

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, strategies as st

import retrograd as rg
from retrograd import data
from retrograd.data import (
    MNIST, CharDataset, CharVocab, DataLoader, Dataset, Subset, TensorDataset, default_collate, load_text,
    random_split, stateful_batches,
)
from retrograd.data import mnist as mnist_module

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def as_numpy(batch):
    """A batch (Tensors, lists, dicts) with every Tensor (retrograd or torch) turned into an ndarray."""
    if isinstance(batch, rg.Tensor):
        return batch.array
    if isinstance(batch, torch.Tensor):
        return batch.numpy()
    if isinstance(batch, dict):
        return {k: as_numpy(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(as_numpy(v) for v in batch) if not hasattr(batch, "_fields") else \
            type(batch)(*(as_numpy(v) for v in batch))
    return batch


def assert_batches_equal(got, expected):
    assert type(got) is type(expected), (type(got), type(expected))
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    elif isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            assert_batches_equal(got[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_batches_equal(g, e)
    else:
        assert got == expected


# ----- TensorDataset, Subset, random_split --------------------------------------------------
def test_utils_data_is_a_real_module_with_torch_utils_data_names():
    import importlib
    import sys

    import retrograd.utils.data as utils_data

    assert importlib.import_module("retrograd.utils.data") is utils_data is rg.utils.data
    assert utils_data is not data and utils_data.__name__ == "retrograd.utils.data"  # no sys.modules alias
    assert sys.modules["retrograd.data"] is data
    for name in utils_data.__all__:  # each a torch.utils.data name, the very object retrograd.data has
        assert hasattr(tud, name), name
        assert getattr(utils_data, name) is getattr(data, name)
    assert {"DataLoader", "Dataset", "TensorDataset", "Subset", "random_split"} <= set(utils_data.__all__)


def test_tensor_dataset_items_and_length():
    x, y = rg.randn(5, 3), np.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.array, x.array[2])
    assert isinstance(yi, rg.Tensor) and yi.shape == () and int(yi.item()) == 2
    assert isinstance(ds.tensors[1], rg.Tensor)


def test_tensor_dataset_checks_first_dimensions():
    with pytest.raises(ValueError, match=r"TensorDataset: size mismatch.*\[4, 3\].*tensor 1: \(3, 2\)"):
        TensorDataset(rg.zeros(4, 2), rg.zeros(3, 2))
    with pytest.raises(ValueError, match="tensor 0 is 0-d"):
        TensorDataset(rg.tensor(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="TensorDataset: expected Tensors"):
        TensorDataset([1, 2])


def test_base_dataset_requires_getitem_and_len():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.33, 0.33, 0.34]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]), (5, [1.0]), (3, [0.5, 0.5]),
])
def test_random_split_lengths_match_pytorch(n, lengths):
    ours = random_split(range(n), lengths, generator=np.random.default_rng(0))
    theirs = tud.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    items = sorted(i for subset in ours for i in (subset[j] for j in range(len(subset))))
    assert items == list(range(n))  # disjoint and covering


def test_random_split_is_reproducible_and_uses_retrograd_generator():
    a = random_split(range(20), [5, 15], generator=np.random.default_rng(3))
    b = random_split(range(20), [5, 15], generator=np.random.default_rng(3))
    assert a[0].indices == b[0].indices
    rg.manual_seed(1)
    c = random_split(range(20), [5, 15])
    rg.manual_seed(1)
    d = random_split(range(20), [5, 15])
    assert c[0].indices == d[0].indices and c[0].indices != list(range(5))


@pytest.mark.parametrize("lengths, message", [
    ([3, 3], r"sum of input lengths \(6\) does not equal the length of the input dataset \(10\)"),
    ([-1, 11], "non-negative integers"),
    ([0.5, 0.6], "fractions summing to 1, got \\[0.5, 0.6\\]"),
])
def test_random_split_errors(lengths, message):
    with pytest.raises(ValueError, match=message):
        random_split(range(10), lengths)


def test_subset_indexes_through():
    sub = Subset(list("abcdef"), [5, 0, 2])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == ["f", "a", "c"]


# ----- default_collate vs PyTorch -----------------------------------------------------------
Point = namedtuple("Point", ["x", "y"])
COLLATE_CASES = {
    "floats": [1.5, 2.5],
    "ints": [1, 2],
    "bools": [True, False],
    "numpy scalars": [np.float32(1), np.float32(2)],
    "arrays": [np.arange(3, dtype=np.int32), np.arange(3, 6, dtype=np.int32)],
    "strings": ["a", "b"],
    "tuples": [(1, 2.0), (3, 4.0)],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested": [(np.ones((2, 2), np.float32), {"k": 1}), (np.zeros((2, 2), np.float32), {"k": 2})],
}


@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_default_collate_matches_pytorch(case):
    samples = COLLATE_CASES[case]
    expected = as_numpy(tud.default_collate(samples))
    assert_batches_equal(as_numpy(default_collate(samples)), expected)


def test_default_collate_stacks_tensors_and_names_errors():
    batch = default_collate([rg.ones(2, dtype=rg.float64), rg.zeros(2, dtype=rg.float64)])
    assert batch.shape == (2, 2) and batch.dtype == rg.float64
    with pytest.raises(RuntimeError, match=r"equal size.*\(2,\).*\(3,\)"):
        default_collate([np.ones(2), np.ones(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])


# ----- DataLoader ---------------------------------------------------------------------------
@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                                       (2, 5, True), (0, 4, False)])
def test_loader_matches_pytorch_without_shuffle(n, batch_size, drop_last):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    ours = [as_numpy(b) for b in DataLoader(TensorDataset(x, y), batch_size, drop_last=drop_last)]
    theirs = [as_numpy(b) for b in tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                                  batch_size, drop_last=drop_last)]
    assert len(DataLoader(TensorDataset(x, y), batch_size, drop_last=drop_last)) == len(theirs) == len(ours)
    assert_batches_equal(ours, theirs)


class ItemDataset(Dataset):
    """A map-style dataset without the fast path, yielding (array, int, str) items."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.full(2, i, np.float32), i, str(i)

    def __len__(self):
        return self.n


def test_loader_slow_path_collates_items():
    batches = list(DataLoader(ItemDataset(5), batch_size=2))
    assert len(batches) == 3
    x, y, names = batches[0]
    assert x.shape == (2, 2) and y.dtype == rg.int64 and names == ["0", "1"]
    assert batches[-1][2] == ["4"]
    custom = list(DataLoader(ItemDataset(4), batch_size=2, collate_fn=lambda items: [it[1] for it in items]))
    assert custom == [[0, 1], [2, 3]]


def test_shuffle_is_reproducible_and_changes_each_epoch():
    ds = TensorDataset(np.arange(50))
    order = lambda loader: np.concatenate([b[0].array for b in loader])  # noqa: E731
    a, b = DataLoader(ds, 8, shuffle=True, seed=7), DataLoader(ds, 8, shuffle=True, seed=7)
    first, second = order(a), order(a)
    np.testing.assert_array_equal(first, order(b))
    assert sorted(first) == list(range(50)) and not np.array_equal(first, second)
    rg.manual_seed(0)
    c = order(DataLoader(ds, 8, shuffle=True))
    rg.manual_seed(0)
    np.testing.assert_array_equal(c, order(DataLoader(ds, 8, shuffle=True)))
    gen = order(DataLoader(ds, 8, shuffle=True, generator=np.random.default_rng(7)))
    np.testing.assert_array_equal(gen, first)  # seed=s is a Generator seeded with s
    assert not np.array_equal(order(DataLoader(ds, 8)), first)


def test_fast_path_builds_batches_without_per_item_calls(monkeypatch):
    ds = TensorDataset(rg.randn(20, 3), np.arange(20))

    def no_items(self, index):
        raise AssertionError("the fast path must not fetch items one by one")

    batches_slow = [as_numpy(b) for b in DataLoader(ds, 6, shuffle=True, seed=1, collate_fn=default_collate)]
    monkeypatch.setattr(TensorDataset, "__getitem__", no_items)
    batches_fast = [as_numpy(b) for b in DataLoader(ds, 6, shuffle=True, seed=1)]
    assert_batches_equal(batches_fast, batches_slow)
    sub = Subset(Subset(ds, list(range(19, -1, -1))), [0, 2, 4, 6, 8])  # nested subsets resolve to one gather
    got = [as_numpy(b) for b in DataLoader(sub, 2)]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), [19, 17, 15, 13, 11])


def test_fast_batches_do_not_alias_the_dataset():
    x = np.zeros((4, 2))
    batch = next(iter(DataLoader(TensorDataset(x), 2)))
    batch[0].array += 1
    assert x.sum() == 0
    mnist = MNIST()
    images, labels = next(iter(DataLoader(mnist, 4)))
    labels.array[:] = -1
    assert mnist.targets.array[:4].tolist() == [7, 2, 1, 0]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"batch_size": 2.5}, ValueError, "batch_size"),
    ({"generator": 3}, TypeError, "numpy.random.Generator"),
    ({"generator": np.random.default_rng(), "seed": 1}, ValueError, "not both"),
])
def test_loader_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(TensorDataset(np.arange(3)), **kwargs)


# ----- stateful layout ----------------------------------------------------------------------
@given(length=st.integers(3, 60), batch_size=st.integers(1, 5), k=st.integers(1, 7), drop_last=st.booleans())
def test_stateful_stream_rows_continue_across_batches(length, batch_size, k, drop_last):
    stream = np.arange(length) * 10
    if (length - 1) // batch_size < 1:
        with pytest.raises(ValueError, match="too short"):
            stateful_batches(stream, batch_size, k)
        return
    layout = stateful_batches(stream, batch_size, k, drop_last=drop_last)
    batches = list(layout)
    assert len(batches) == len(layout)
    steps = (length - 1) // batch_size
    kept = (steps // k) * k if drop_last else steps
    rows_in = np.concatenate([b.inputs.array for b in batches], axis=1) if batches else np.zeros((batch_size, 0))
    rows_out = np.concatenate([b.targets.array for b in batches], axis=1) if batches else rows_in
    for i in range(batch_size):  # row i of batch b+1 continues row i of batch b
        np.testing.assert_array_equal(rows_in[i], stream[i * steps:i * steps + kept])
        np.testing.assert_array_equal(rows_out[i], stream[i * steps + 1:i * steps + kept + 1])
    for j, batch in enumerate(batches):
        assert batch.inputs.shape[0] == batch_size and batch.inputs.shape[1] <= k
        assert batch.reset.dtype == bool and batch.reset.all() == (j == 0) and batch.reset.any() == (j == 0)


def cumulative_sum_by_chunks(layout):
    """A stateful 'RNN' h_t = h_{t-1} + x_t run chunk by chunk, resetting rows as told."""
    outputs, state = [], None
    for inputs, _, reset in layout:
        x = inputs.array.astype(np.float64)
        if state is None or len(state) != len(x):
            state = np.zeros(len(x))
        state = np.where(reset, 0.0, state)
        h = state[:, None] + np.cumsum(x, axis=1)
        state = h[:, -1]
        outputs.append(h)
    return outputs


def test_stateful_sequences_carry_state_and_reset_between_row_groups():
    rng = np.random.default_rng(0)
    sequences = rng.integers(0, 5, size=(7, 11))
    layout = stateful_batches(sequences, batch_size=3, k=4)
    assert (layout.num_row_groups, layout.chunks_per_group, len(layout)) == (3, 3, 9)  # T-1 = 10 steps
    outputs = cumulative_sum_by_chunks(layout)
    full = np.cumsum(sequences[:, :-1], axis=1)  # the whole-sequence answer
    stitched = [np.concatenate(outputs[g * 3:(g + 1) * 3], axis=1) for g in range(3)]
    np.testing.assert_array_equal(np.concatenate(stitched), full)
    first = next(iter(layout))
    np.testing.assert_array_equal(first.targets.array, sequences[:3, 1:5])  # next-step targets
    resets = [b.reset for b in layout]
    assert [r.all() for r in resets] == [True, False, False] * 3
    assert len(resets[-1]) == 1  # the last row group holds the 7th sequence only


def test_stateful_sequences_with_targets_features_shuffle_and_drop_last():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 9, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=(10, 9))
    layout = stateful_batches(x, 4, 4, targets=y, drop_last=True)
    batches = list(layout)
    assert len(batches) == len(layout) == 2 * 2  # 2 full row groups x 2 full chunks
    assert all(b.inputs.shape == (4, 4, 2) and b.targets.shape == (4, 4) for b in batches)
    np.testing.assert_array_equal(batches[1].inputs.array, x[:4, 4:8])
    np.testing.assert_array_equal(batches[1].targets.array, y[:4, 4:8])
    shuffled = stateful_batches(x, 5, 3, targets=y, shuffle=True, generator=np.random.default_rng(0))
    seen, t0 = [], 0
    for b in shuffled:  # rows stay whole sequences, chunks in time order
        if b.reset.all():
            rows, t0 = [int(np.flatnonzero((x[:, :3] == row).all(axis=(1, 2)))[0]) for row in b.inputs.array], 0
            seen += rows
        np.testing.assert_array_equal(b.inputs.array, x[rows, t0:t0 + 3])
        np.testing.assert_array_equal(b.targets.array, y[rows, t0:t0 + 3])
        t0 += 3
    assert sorted(seen) == list(range(10)) and seen != list(range(10))


@pytest.mark.parametrize("args, kwargs, message", [
    ((np.arange(10), 0, 2), {}, "batch_size must be a positive integer"),
    ((np.arange(10), 2, 0), {}, "k must be a positive integer"),
    ((np.arange(10), 2, 2), {"shuffle": True}, "one stream's rows must stay in order"),
    ((np.zeros((3, 5)), 2, 2), {"targets": np.zeros((3, 4))}, r"targets of shape \(3, 4\) do not match"),
    ((np.zeros((3, 1)), 2, 2), {}, "at least 2 steps"),
    ((np.array(3), 2, 2), {}, "got a scalar"),
])
def test_stateful_batches_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        stateful_batches(*args, **kwargs)


def test_stateful_batches_refuses_ragged_sequences():
    with pytest.raises(ValueError, match="ragged"):
        stateful_batches(np.array([np.arange(3), np.arange(4)], dtype=object), 2, 2)


# ----- MNIST ----------------------------------------------------------------------------------
def idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_embedded_mnist_is_the_canonical_test_set():
    folder = resources.files("retrograd") / "datasets"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert hashlib.md5((folder / name).read_bytes()).hexdigest() == data.mnist.MNIST_FILES[name]
    images, labels = data.load_embedded_mnist()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert images.max() == 255 and images.min() == 0


def test_load_mnist_idx_reads_plain_and_gzipped_files(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    labels = np.array([1, 2, 3], np.uint8)
    (tmp_path / "img").write_bytes(idx_bytes(images))
    (tmp_path / "lab.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    got_images, got_labels = data.load_mnist_idx(tmp_path / "img", tmp_path / "lab.gz")
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.dtype == np.int64 and got_labels.tolist() == [1, 2, 3]
    floats = np.arange(6, dtype=np.float32).reshape(2, 3)
    (tmp_path / "f").write_bytes(idx_bytes(floats, 0x0D))
    got = data.read_idx(tmp_path / "f")
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, floats)


@pytest.mark.parametrize("raw, message", [
    (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "bad magic number 0x01000801"),
    (b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc", "bad magic number"),
    (b"\x00\x00", "not an IDX file"),
    (b"\x00\x00\x08\x03\x00", "too short"),
    (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", r"size mismatch: dimensions \(5,\).*need 13 bytes.*has 11"),
    (gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc")[:-6], "truncated gzip"),
])
def test_idx_errors_name_the_file(tmp_path, raw, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: .*{message}"):
        data.read_idx(path)


def test_mnist_pair_checks(tmp_path):
    (tmp_path / "img").write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    (tmp_path / "lab").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    (tmp_path / "flat").write_bytes(idx_bytes(np.zeros((2, 784), np.uint8)))
    with pytest.raises(ValueError, match=r"img holds 2 images but .*lab holds 3 labels"):
        data.load_mnist_idx(tmp_path / "img", tmp_path / "lab")
    with pytest.raises(ValueError, match=r"flat: expected uint8 images of shape \(N, rows, cols\)"):
        data.load_mnist_idx(tmp_path / "flat", tmp_path / "lab")


def test_idx_dimension_product_that_would_wrap_is_a_size_mismatch(tmp_path):
    path = tmp_path / "wrap-idx"
    dims = (1 << 16,) * 4  # product 2^64: 0 in 64-bit arithmetic
    path.write_bytes(bytes([0, 0, 0x08, 4]) + b"".join(d.to_bytes(4, "big") for d in dims))
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: IDX size mismatch: dimensions "
                                         r"\(65536, 65536, 65536, 65536\) .*need 18446744073709551636 bytes"):
        data.read_idx(path)


def test_gzip_bomb_is_decompressed_only_as_far_as_the_header_declares(tmp_path):
    path = tmp_path / "bomb-idx.gz"
    header = bytes([0, 0, 0x08, 1]) + (10).to_bytes(4, "big")
    path.write_bytes(gzip.compress(header + bytes(10) + bytes(50 << 20), compresslevel=1))  # 50 MB past the end
    with pytest.raises(ValueError, match=r"size mismatch.*need 18 bytes, the \(decompressed\) file has 19$"):
        data.read_idx(path)
    huge = bytes([0, 0, 0x08, 3]) + b"".join((60000).to_bytes(4, "big") for _ in range(3))
    path.write_bytes(gzip.compress(huge + bytes(1000)))
    with pytest.raises(ValueError, match=r"announces dimensions \(60000, 60000, 60000\).*more than .* gzip data"):
        data.read_idx(path)


def test_labels_out_of_range_for_mnist_are_refused(tmp_path):
    (tmp_path / "img").write_bytes(idx_bytes(np.zeros((3, 28, 28), np.uint8)))
    (tmp_path / "lab").write_bytes(idx_bytes(np.array([3, 10, 255], np.uint8)))
    with pytest.raises(ValueError, match=r"lab: label 10 at index 1 is out of range for MNIST's 10 classes"):
        data.load_mnist_idx(tmp_path / "img", tmp_path / "lab")


def test_non_utf8_text_file_error_names_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\u00e9 au lait".encode("latin-1"))
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: not utf-8 text \\(byte 0xe9"):
        data.load_text(path)
    with pytest.raises(ValueError, match="latin1.txt: not utf-8"):
        data.CharDataset.from_file(path, seq_len=4)
    assert data.load_text(path, encoding="latin-1") == "caf\u00e9 au lait"


def write_fake_mnist(folder, prefix, n, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    os.makedirs(folder, exist_ok=True)
    files = {f"{prefix}-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
             f"{prefix}-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels))}
    for name, raw in files.items():
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(raw)
    return images, labels, {name: hashlib.md5(raw).hexdigest() for name, raw in files.items()}


def test_mnist_dataset_embedded_items_and_fast_batches():
    ds = MNIST()
    images, labels = data.load_embedded_mnist()
    assert len(ds) == 10000 and not ds.train
    image, label = ds[3]
    assert image.shape == (1, 28, 28) and image.dtype == rg.float32 and label == labels[3]
    np.testing.assert_array_equal(image.array[0], images[3].astype(np.float32) / 255)
    fast = [as_numpy(b) for b in DataLoader(Subset(ds, list(range(37))), 16, shuffle=True, seed=0)]
    slow = [as_numpy(b) for b in DataLoader(Subset(ds, list(range(37))), 16, shuffle=True, seed=0,
                                            collate_fn=default_collate)]
    assert_batches_equal(fast, slow)
    assert fast[0][0].shape == (16, 1, 28, 28) and fast[0][1].dtype == np.int64
    with pytest.raises(ValueError, match="embedded copy is the 10,000-image test set only"):
        MNIST(train=True)


def test_mnist_dataset_transforms_and_root(tmp_path):
    raw = tmp_path / "MNIST" / "raw"  # torchvision's layout
    images, labels, _ = write_fake_mnist(raw, "train", 5)
    write_fake_mnist(raw, "t10k", 3, seed=1)
    train = MNIST(tmp_path, transform=lambda img: img.sum(), target_transform=lambda y: -y)
    assert train.train and len(train) == 5
    assert train[1] == (images[1].sum(), -int(labels[1]))
    batch = next(iter(DataLoader(train, 5)))  # transforms: the per-item path
    assert batch[0].array.tolist() == images.sum(axis=(1, 2)).tolist()
    assert len(MNIST(tmp_path, train=False)) == 3
    assert data.load_mnist_dir(raw)[0].shape == (5, 28, 28)  # 'auto' prefers train
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte"):
        data.load_mnist_dir(tmp_path / "nothing", "train")


def test_download_verifies_checksums_and_uses_mirrors_in_turn(tmp_path):
    mirror = tmp_path / "mirror"
    images, labels, md5s = write_fake_mnist(mirror, "t10k", 4)
    cache = tmp_path / "cache"
    mirrors = [(tmp_path / "missing").as_uri() + "/", mirror.as_uri() + "/"]
    assert data.download_mnist(cache, mirrors=mirrors, files=md5s) == str(cache)
    assert sorted(os.listdir(cache)) == sorted(md5s)
    got_images, got_labels = data.load_mnist_dir(cache, "test")
    np.testing.assert_array_equal(got_images, images)
    assert MNIST(cache, train=False)[0][1] == labels[0]


def test_download_checksum_mismatch_leaves_nothing_in_cache(tmp_path):
    mirror = tmp_path / "mirror"
    _, _, md5s = write_fake_mnist(mirror, "t10k", 2)
    wrong = {name: "0" * 32 for name in md5s}
    cache = tmp_path / "cache"
    with pytest.raises(data.DownloadError, match="checksum mismatch.*expected 0{32}"):
        data.download_mnist(cache, mirrors=[mirror.as_uri() + "/"], files=wrong)
    assert os.listdir(cache) == []


def test_download_offline_is_a_clear_error_and_cached_files_are_reused(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    _, _, md5s = write_fake_mnist(mirror, "t10k", 2)
    cache = tmp_path / "cache"
    data.download_mnist(cache, mirrors=[mirror.as_uri() + "/"], files=md5s)

    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    data.download_mnist(cache, mirrors=["https://example.invalid/"], files=md5s)  # all cached: no network needed
    name = sorted(md5s)[0]
    (cache / name).write_bytes(b"corrupted")  # a bad cached copy is dropped and fetched again
    with pytest.raises(data.DownloadError, match=r"(?s)could not download .*no network.*example\.invalid.*name "
                                                 r"resolution"):
        data.download_mnist(cache, mirrors=["https://example.invalid/"], files=md5s)
    assert name not in os.listdir(cache)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert mnist_module.default_cache_dir() == os.path.join(str(tmp_path), "retrograd", "mnist")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist_module.default_cache_dir().endswith(os.path.join(".cache", "retrograd", "mnist"))


def test_canonical_mnist_checksums_cover_the_four_files():
    assert data.mnist.MNIST_FILES == {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }


# ----- text ------------------------------------------------------------------------------------
def test_embedded_text_is_the_tinyshakespeare_excerpt():
    text = load_text()
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert 90_000 < len(text) <= 100_000 and text.endswith("\n")
    raw = (resources.files("retrograd") / "datasets" / data.text.EMBEDDED_TEXT).read_bytes()
    assert hashlib.md5(raw).hexdigest() == "fbe0640a5ce148d32dcc2176323c18f4"


def test_char_vocab_round_trips_any_unicode():
    text = "hello wörld — ünïcode 🦜\n"
    vocab = CharVocab(text)
    assert vocab.chars == "".join(sorted(set(text))) and len(vocab) == len(set(text))
    encoded = vocab.encode(text)
    assert encoded.dtype == np.int64 and encoded.tolist() == [vocab.stoi[c] for c in text]
    assert vocab.decode(encoded) == text and vocab.decode(rg.tensor(encoded)) == text
    assert vocab.decode(encoded.tolist()) == text
    rebuilt = CharVocab(vocab.chars)
    assert rebuilt.chars == vocab.chars and rebuilt.encode(text).tolist() == encoded.tolist()
    with pytest.raises(ValueError, match=r"character 'z' \(position 2\) is not in the vocabulary"):
        vocab.encode("hez")
    with pytest.raises(ValueError, match="index 99 is out of range"):
        vocab.decode([0, 99])
    assert vocab.decode([]) == "" and vocab.encode("").tolist() == []


def test_char_dataset_windows_and_fast_batches(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("abcdefghij" * 3, encoding="utf-8")
    ds = CharDataset.from_file(path, seq_len=4)
    assert len(ds) == 26
    x, y = ds[5]
    assert ds.vocab.decode(x) == "fghi" and ds.vocab.decode(y) == "ghij"
    assert ds.vocab.decode(ds[-1][1]) == "ghij"
    fast = [as_numpy(b) for b in DataLoader(ds, 7, shuffle=True, seed=2)]
    slow = [as_numpy(b) for b in DataLoader(ds, 7, shuffle=True, seed=2, collate_fn=default_collate)]
    assert_batches_equal(fast, slow)
    sequential = [as_numpy(b) for b in DataLoader(ds, 7)]
    np.testing.assert_array_equal(sequential[0][1], sequential[0][0] + 1 - 10 * (sequential[0][0] == 9))
    with pytest.raises(ValueError, match="at least 31"):
        CharDataset("abc" * 10, seq_len=30)
    with pytest.raises(IndexError, match="out of range"):
        ds[26]
    assert len(CharDataset(seq_len=32)) == len(load_text()) - 32


# ----- packaging -------------------------------------------------------------------------------
def test_package_data_patterns_ship_every_embedded_file():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as fh:
        patterns = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["retrograd"]
    shipped = os.listdir(os.path.join(REPO, "retrograd", "datasets"))
    assert {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "tinyshakespeare_excerpt.txt",
            "ATTRIBUTION.md"} <= set(shipped)
    for name in shipped:
        assert any(fnmatch.fnmatch(f"datasets/{name}", p) for p in patterns), name


def test_public_names():
    for name in data.__all__:
        assert hasattr(data, name), name
