"""retrograd.save / retrograd.load: round trips, refusal of bad files, atomic writes, PyTorch interop."""
import hashlib
import math
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import retrograd as rg
import retrograd.nn as nn
from retrograd import serialization
from retrograd.serialization import CheckpointError, load, save

FORMATS = ["safetensors", "npz"]


def assert_same(a, b, where="obj"):
    """Deep equality that also checks container types, dtypes, shapes, key order and NaNs."""
    if isinstance(a, rg.Tensor):
        assert isinstance(b, rg.Tensor), where
        assert b.requires_grad == a.requires_grad, where
        a, b = a.array, b.array
    if isinstance(a, (np.ndarray, np.generic)):
        assert type(b) is type(a), f"{where}: {type(b)} vs {type(a)}"
        assert b.dtype == a.dtype.newbyteorder("="), where
        assert np.shape(b) == np.shape(a), where
        np.testing.assert_array_equal(b, a, err_msg=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict), where
        assert list(b.keys()) == list(a.keys()), f"{where}: key order {list(b)} vs {list(a)}"
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            assert type(kb) is type(ka), where
            assert_same(va, vb, f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(b) is list, f"{where}: tuples and lists come back as lists"
        assert len(b) == len(a), where
        for i, (va, vb) in enumerate(zip(a, b)):
            assert_same(va, vb, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert type(b) is type(a) and b == a, f"{where}: {b!r} vs {a!r}"


def everything():
    """One object with every supported kind of value."""
    return {
        "float32": rg.randn(3, 4),
        "float64": rg.randn(2, dtype=rg.float64),
        "float16": np.ones((2, 2), np.float16),
        "int64": np.arange(5),
        "int8": np.array([-1, 2], np.int8),
        "uint8": np.array([0, 255], np.uint8),
        "bool": np.array([[True, False]]),
        "scalar0d": np.array(3.5),
        "empty": np.zeros((0, 3), np.float32),
        "np_scalar": np.float32(2.5),
        "np_int": np.int64(-7),
        "transposed": np.arange(6.0).reshape(2, 3).T,
        "big_endian": np.arange(3, dtype=">i4"),
        "param": rg.ones(2, requires_grad=True),
        "nested": {"state": {0: {"step": 3, "m": np.zeros(2)}, 1: {}},
                   "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False,
                                     "foreach": None}]},
        "strings": ["plain", "ünïcödé ✓ 🦜", ""],
        "numbers": [0, -1, 2 ** 100, 1.5, -0.0, float("inf"), float("-inf"), float("nan"), True, False, None],
        "keys": {3: "int", 2.5: "float", True: "bool", None: "none", "z": "str", "a": "str"},
        "empty_containers": [[], {}, ()],
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_preserves_values_dtypes_shapes_and_order(tmp_path, fmt):
    obj = everything()
    path = tmp_path / f"ckpt.{fmt}"
    save(obj, path, format=fmt)
    loaded = load(path)
    assert_same(obj, loaded)
    assert loaded["float32"].dtype == rg.float32 and loaded["float64"].dtype == rg.float64
    assert loaded["np_scalar"].dtype == np.float32 and isinstance(loaded["np_scalar"], np.float32)
    assert isinstance(loaded["nested"]["param_groups"][0]["betas"], list)  # tuples come back as lists
    assert list(os.listdir(tmp_path)) == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("fmt", FORMATS)
def test_loaded_arrays_are_writable_and_independent(tmp_path, fmt):
    weight = rg.randn(2, 2)
    save({"w": weight}, tmp_path / "c", format=fmt)
    loaded = load(tmp_path / "c")["w"]
    loaded.array += 1  # optimizers update state in place
    np.testing.assert_array_equal(loaded.array, weight.array + 1)


def test_default_format_follows_extension_and_package(tmp_path, monkeypatch):
    save({"a": np.ones(1)}, tmp_path / "x.ckpt")
    save({"a": np.ones(1)}, tmp_path / "x.npz")
    assert (tmp_path / "x.ckpt").read_bytes()[8:9] == b"{"  # safetensors: u64 header length, then JSON
    assert (tmp_path / "x.npz").read_bytes()[:2] == b"PK"
    monkeypatch.setattr(serialization, "_safetensors_save", None)
    save({"a": np.ones(1)}, tmp_path / "y.ckpt")  # no safetensors package: .npz fallback
    assert (tmp_path / "y.ckpt").read_bytes()[:2] == b"PK"
    assert_same({"a": np.ones(1)}, load(tmp_path / "y.ckpt"))
    with pytest.raises(ImportError, match="pip install"):
        save({"a": np.ones(1)}, tmp_path / "z.safetensors")
    assert_same({"a": np.ones(1)}, load(tmp_path / "x.ckpt"))  # reading safetensors needs no package


def test_bad_format_and_path_arguments(tmp_path):
    with pytest.raises(ValueError, match="format must be"):
        save({}, tmp_path / "a", format="pickle")
    with pytest.raises(AttributeError, match="expected 'f' to be string, path, or a file-like object with a "
                                             "'write' attribute"):  # torch.save's wording
        save({}, 123)
    with pytest.raises(AttributeError, match="'read' attribute"):
        load(123)
    with pytest.raises(ValueError, match="CPU only"):
        load(tmp_path / "a", map_location="cuda")


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True), st.text(max_size=5),
    hnp.arrays(st.sampled_from([np.float32, np.float64, np.int32, np.uint8, np.bool_]),
               hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.one_of(st.text(max_size=3), st.integers(-3, 3)), children,
                                               max_size=3)),
    max_leaves=8,
)


@given(tree=trees, fmt=st.sampled_from(FORMATS))
def test_round_trip_of_random_nested_structures(tmp_path_factory, tree, fmt):
    path = tmp_path_factory.mktemp("hyp") / "c"
    save(tree, path, format=fmt)
    assert_same(tree, load(path))


@pytest.mark.parametrize("fmt", FORMATS)
def test_tensor_names_are_the_object_paths(tmp_path, fmt):
    # other tools see a plain state dict: safetensors keys / npz members named by path
    model = nn.Linear(2, 3)
    save({"model": model.state_dict(), "value": np.ones(1)}, tmp_path / "c", format=fmt)
    if fmt == "safetensors":
        from safetensors.numpy import load_file
        names = set(load_file(tmp_path / "c"))
    else:
        names = set(np.load(tmp_path / "c", allow_pickle=False).files) - {"__retrograd__"}
    assert names == {"model.weight", "model.bias", "value"}


@pytest.mark.parametrize("value, message", [
    (object(), "entry 'x' of type object"),
    (np.array([1, "a"], dtype=object), "entry 'x'.*dtype object"),
    (np.ones(2, np.complex64), "entry 'x'.*complex64"),
    ({(1, 2): 3}, "key \\(1, 2\\)"),
    (lambda: 0, "function"),
])
def test_unsupported_values_are_refused_before_writing(tmp_path, value, message):
    with pytest.raises(TypeError, match=message):
        save({"x": value}, tmp_path / "c")
    assert os.listdir(tmp_path) == []


# ----- refusing bad files ---------------------------------------------------------------
def resigned(raw):
    """A retrograd safetensors file with its SHA-256 entry recomputed after an edit."""
    raw = bytearray(raw)
    header_end = 8 + int.from_bytes(raw[:8], "little")
    (entry,) = serialization._CHECKSUM_ENTRY.finditer(raw, 8, header_end)
    raw[entry.start(1):entry.end(1)] = b"0" * 64
    raw[entry.start(1):entry.end(1)] = hashlib.sha256(raw).hexdigest().encode()
    return bytes(raw)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keep", [0.5, 0.95, 20])
def test_truncated_file_raises_checkpoint_error(tmp_path, fmt, keep):
    path = tmp_path / "c"
    save({"w": rg.randn(50, 50), "step": 3}, path, format=fmt)
    raw = path.read_bytes()
    path.write_bytes(raw[:keep if isinstance(keep, int) else int(len(raw) * keep)])
    with pytest.raises(CheckpointError, match=f"{path}.*(truncated|corrupted)"):
        load(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupted_tensor_bytes_are_detected(tmp_path, fmt):
    path = tmp_path / "c"
    save({"w": np.zeros(1000, np.float32)}, path, format=fmt)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the tensor data of both formats
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=f"{path}.*(corrupted|CRC)"):
        load(path)


def test_corrupted_structure_is_detected(tmp_path):
    path = tmp_path / "c"
    save({"w": np.zeros(3)}, path, format="safetensors")
    raw = path.read_bytes().replace(b'\\"dict\\"', b'\\"dikt\\"')
    path.write_bytes(raw)
    with pytest.raises(CheckpointError, match="SHA-256 does not match"):
        load(path)
    path.write_bytes(resigned(raw))  # a crafted file with a valid digest: the structure is still checked
    with pytest.raises(CheckpointError, match="corrupted structure"):
        load(path)


def test_random_bytes_and_empty_files_are_refused(tmp_path):
    path = tmp_path / "c"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(CheckpointError, match=f"{path}: not a checkpoint"):
        load(path)
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        load(path)
    path.write_bytes(b'{"a": 1}')
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load(path)
    assert issubclass(CheckpointError, ValueError)


class _Payload:
    """Unpickling this would call os.mkdir -- the classic pickle exploit."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_files_are_refused_and_never_executed(tmp_path, protocol):
    marker = str(tmp_path / "pwned")
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Payload(marker)}, protocol=protocol))
    with pytest.raises(CheckpointError, match="pickle"):
        load(path)
    assert not os.path.exists(marker)


def test_torch_save_files_are_refused(tmp_path):
    state = {"w": torch.ones(2)}
    torch.save(state, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="torch.save archive"):
        load(tmp_path / "new.pt")
    torch.save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="pickle"):
        load(tmp_path / "legacy.pt")


def test_npz_with_object_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="pickled object arrays"):
        load(tmp_path / "obj.npz")


def test_zip_that_is_not_npz_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="not an .npz checkpoint"):
        load(tmp_path / "a.zip")


def test_bfloat16_safetensors_is_a_clear_error(tmp_path):
    from safetensors.torch import save_file
    save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf16.safetensors")
    with pytest.raises(CheckpointError, match="bf16.safetensors.*bfloat16"):
        load(tmp_path / "bf16.safetensors")


def test_plain_safetensors_and_npz_files_load_as_flat_dicts(tmp_path):
    from safetensors.numpy import save_file
    arrays = {"fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32)}
    save_file(arrays, tmp_path / "plain.safetensors")
    np.savez(tmp_path / "plain.npz", **arrays)
    for name in ("plain.safetensors", "plain.npz"):
        loaded = load(tmp_path / name)
        assert set(loaded) == set(arrays)
        for key, value in arrays.items():
            assert isinstance(loaded[key], rg.Tensor)
            np.testing.assert_array_equal(loaded[key].array, value)


# ----- atomic writes --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_rename_leaves_previous_checkpoint_and_no_temp_file(tmp_path, monkeypatch, fmt):
    path = tmp_path / "ckpt"
    save({"version": 1, "w": np.ones(3)}, path, format=fmt)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save({"version": 2, "w": np.zeros(3)}, path, format=fmt)
    monkeypatch.undo()
    assert load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt"]


def test_interrupted_npz_writer_leaves_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save({"version": 1, "a": np.ones(3), "b": np.ones(3)}, path, format="npz")
    real_write_array, calls = np.lib.format.write_array, []

    def write_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # after the structure and one array have been written
            raise KeyboardInterrupt
        return real_write_array(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        save({"version": 2, "a": np.zeros(3), "b": np.zeros(3)}, path, format="npz")
    monkeypatch.undo()
    assert load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt"]


def test_interrupted_safetensors_writer_leaves_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save({"version": 1}, path, format="safetensors")

    def die(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_safetensors_save", die)
    with pytest.raises(KeyboardInterrupt):
        save({"version": 2, "w": np.zeros(3)}, path, format="safetensors")
    monkeypatch.undo()
    assert load(path) == {"version": 1}
    assert os.listdir(tmp_path) == ["ckpt"]


def test_overwrite_keeps_file_permissions(tmp_path):
    path = tmp_path / "ckpt"
    save({"a": 1}, path)
    os.chmod(path, 0o640)
    save({"a": 2}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert load(path) == {"a": 2}


# ----- models, optimizers, RNG state, PyTorch interop -------------------------------------
def make_model():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


@pytest.mark.parametrize("fmt", FORMATS)
def test_model_state_dict_round_trip(tmp_path, fmt):
    rg.manual_seed(0)
    model, fresh = make_model(), make_model()
    save(model.state_dict(), tmp_path / "m", format=fmt)
    loaded = load(tmp_path / "m")
    assert list(loaded) == list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    fresh.load_state_dict(loaded)
    x = rg.randn(5, 4)
    np.testing.assert_array_equal(fresh(x).array, model(x).array)


def test_torch_optimizer_state_dict_structure_round_trips(tmp_path):
    # the layout of a real PyTorch Adam state dict (integer keys in 'state'), tensors as arrays
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()

    def to_numpy(x):
        if isinstance(x, torch.Tensor):
            return x.detach().numpy()
        if isinstance(x, dict):
            return {k: to_numpy(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(to_numpy(v) for v in x)
        return x

    state = to_numpy(opt.state_dict())
    save({"optimizer": state, "epoch": 3}, tmp_path / "c")
    loaded = load(tmp_path / "c")
    assert_same({"optimizer": state, "epoch": 3}, loaded)
    assert list(loaded["optimizer"]["state"]) == [0, 1]


def test_rng_state_round_trips(tmp_path):
    rg.manual_seed(123)
    rg.randn(3)
    save({"rng": rg.get_rng_state()}, tmp_path / "c")  # PCG64 state: 128-bit integers
    expected = rg.randn(4).array
    rg.set_rng_state(load(tmp_path / "c")["rng"])
    np.testing.assert_array_equal(rg.randn(4).array, expected)


def test_pytorch_state_dict_converted_to_numpy_loads_into_retrograd(tmp_path):
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    arrays = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    model = make_model()
    model.load_state_dict(arrays)  # directly
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    expected = reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(rg.tensor(x)).array, expected, rtol=1e-6, atol=1e-6)
    save(arrays, tmp_path / "c")  # and through a retrograd checkpoint
    other = make_model()
    other.load_state_dict(load(tmp_path / "c"))
    np.testing.assert_allclose(other(rg.tensor(x)).array, expected, rtol=1e-6, atol=1e-6)


def test_safetensors_written_by_pytorch_loads_into_retrograd(tmp_path):
    from safetensors.torch import save_file
    torch.manual_seed(1)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    save_file(reference.state_dict(), tmp_path / "torch.safetensors")
    model = make_model()
    model.load_state_dict(load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(model(rg.tensor(x)).array, reference(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_keys_holding_nul_round_trip(tmp_path, fmt):
    # found by the random-structure test: a zip member name stops at NUL, so '\x00' and 'a\x00' lost their arrays
    tree = {"\x00": np.ones(2), "a\x00": np.zeros(1), "a\\x00": np.full(1, 7.0), "a": {"\x00b": np.arange(3)}}
    save(tree, tmp_path / "c", format=fmt)
    assert_same(tree, load(tmp_path / "c"))
