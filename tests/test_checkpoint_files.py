"""Checkpoint files under attack and accident: bit flips, look-alike headers, zip bombs, SIGKILL mid-save."""
import io
import multiprocessing
import os
import random
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import numpy as np
import pytest

import retrograd as rg
from retrograd import _atomic_file, serialization
from retrograd.serialization import CheckpointError, load, save


def small_checkpoint():
    """What a training checkpoint holds, small: weights, optimizer state, an epoch, an RNG state, strings."""
    rg.manual_seed(0)
    return {"epoch": 3, "model": {"fc.weight": rg.randn(2, 3), "fc.bias": rg.zeros(2)},
            "optimizer": {"state": {0: {"step": 7, "exp_avg": np.ones(2, np.float32)}},
                          "param_groups": [{"lr": 0.01, "params": [0]}]},
            "rng": rg.get_rng_state(), "note": "ok"}


# ----- item 5: any single-bit flip anywhere is refused ---------------------------------------
def test_every_single_bit_flip_of_a_safetensors_checkpoint_is_refused():
    buffer = io.BytesIO()
    save(small_checkpoint(), buffer, format="safetensors")
    raw = buffer.getvalue()
    assert len(raw) < 7000  # keeps the test fast: 8 loads per byte (the RNG state is PyTorch's 5056 bytes)
    load(io.BytesIO(raw))  # the intact file loads
    flipped = bytearray(raw)
    loaded_anyway = []
    for position in range(len(raw)):
        for bit in range(8):
            flipped[position] ^= 1 << bit
            try:
                load(io.BytesIO(flipped))
                loaded_anyway.append((position, bit))
            except CheckpointError:
                pass
            flipped[position] = raw[position]
    assert loaded_anyway == []


def test_flips_in_the_retrograd_keys_do_not_turn_the_file_into_a_plain_one():
    buffer = io.BytesIO()
    save({"epoch": 3, "w": np.ones(2)}, buffer)
    raw = buffer.getvalue()
    for key in (b"__retrograd__", b"__retrograd_sha256__"):
        start = raw.index(b'"' + key + b'"') + 1
        for position in range(start, start + len(key)):
            damaged = bytearray(raw)
            damaged[position] ^= 0x01
            with pytest.raises(CheckpointError, match="damaged|corrupted"):
                load(io.BytesIO(damaged))


def test_other_producers_safetensors_files_still_load():
    import torch
    from safetensors.numpy import save as numpy_save
    from safetensors.torch import save as torch_save

    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64)}
    for raw in (numpy_save(arrays), numpy_save(arrays, metadata={"format": "np"}),
                torch_save({k: torch.from_numpy(v) for k, v in arrays.items()})):
        loaded = load(io.BytesIO(raw))
        assert set(loaded) == {"a", "b"}
        for key, value in arrays.items():
            np.testing.assert_array_equal(loaded[key].array, value)
            assert loaded[key].dtype == value.dtype


def test_a_checkpoint_written_before_the_digest_still_loads():
    from safetensors.numpy import save as numpy_save

    structure = ('{"format":"retrograd.save","version":1,"root":{"dict":[["epoch",2],'
                 '["w",{"array":"w","crc32":%d}]]}}' % zlib.crc32(np.ones(2).tobytes()))
    raw = numpy_save({"w": np.ones(2)}, metadata={"__retrograd__": structure})
    loaded = load(io.BytesIO(raw))
    assert loaded["epoch"] == 2
    np.testing.assert_array_equal(loaded["w"], np.ones(2))
    version2 = numpy_save({"w": np.ones(2)}, metadata={"__retrograd__": structure.replace('"version":1',
                                                                                         '"version":2')})
    with pytest.raises(CheckpointError, match="SHA-256 of the file.*missing"):
        load(io.BytesIO(version2))


# ----- item 6: formats recognised by their whole structure -----------------------------------
def plain_safetensors_with_header_length(target):
    """A safetensors file (from the safetensors package) whose JSON header is exactly `target` bytes."""
    from safetensors.numpy import save as numpy_save

    for pad in range(target):
        raw = numpy_save({"w": np.ones((2, 2), np.float64)}, metadata={"pad": "x" * pad})
        if struct.unpack("<Q", raw[:8])[0] == target:
            return raw
    raise AssertionError(f"no padding gives a {target}-byte header")


@pytest.mark.parametrize("header_length", [0x0280, 0x0380, 0x0480, 0x0580])
def test_safetensors_whose_length_field_starts_like_a_pickle_loads(header_length):
    raw = plain_safetensors_with_header_length(header_length)
    assert raw[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")  # a pickle's PROTO opcode
    np.testing.assert_array_equal(load(io.BytesIO(raw))["w"].array, np.ones((2, 2)))


def test_pytorch_lstm_state_dict_from_safetensors_torch_loads(tmp_path):
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    state = torch.nn.LSTM(3, 4, num_layers=5).double().state_dict()  # the case: a 1,408-byte header
    save_file(state, tmp_path / "lstm.safetensors")
    assert (tmp_path / "lstm.safetensors").read_bytes()[:8] == (1408).to_bytes(8, "little")
    loaded = load(tmp_path / "lstm.safetensors")
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key].array, value.numpy())


def deflate_bomb_npz(nbytes):
    """An .npz of one float64 zero array of `nbytes` bytes, deflated ~1000:1, built without allocating it."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (nbytes // 8,)})
    header = header.getvalue()
    chunk = 1 << 20
    assert nbytes % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)  # the same bytes every MiB
    stream = head + block * (nbytes // chunk) + compressor.flush()
    crc = zlib.crc32(header)
    zeros = bytes(chunk)
    for _ in range(nbytes // chunk):
        crc = zlib.crc32(zeros, crc)
    name, size = b"a.npy", len(header) + nbytes
    local = struct.pack("<4sHHHHHIII HH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(stream), size, len(name), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(stream), size,
                          len(name), 0, 0, 0, 0, 0, 0)
    directory_at = len(local) + len(name) + len(stream)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(name), directory_at, 0)
    return local + name + stream + central + name + end


def test_npz_decompression_bomb_is_refused_without_expanding_it():
    raw = deflate_bomb_npz(2 << 30)  # 2 GiB of float64 zeros
    assert len(raw) < 3_000_000
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:  # a well-formed zip: the bomb is real
        assert zf.infolist()[0].file_size > 2 << 30
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match="decompression bomb"):
        load(io.BytesIO(raw))
    assert time.perf_counter() - started < 1.0


def test_small_compressed_npz_from_numpy_still_loads():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, w=np.arange(12.0).reshape(3, 4), b=np.zeros(100_000, np.float32))
    loaded = load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(loaded["w"].array, np.arange(12.0).reshape(3, 4))
    assert loaded["b"].shape == (100_000,)


def stored_npz(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(header_text, data=b""):
    header = header_text.encode("latin1")
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


@pytest.mark.parametrize("header, message", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", "header announces"),  # declares 8 TB
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", "header announces"),  # data missing
    ("{'descr': '<f8', 'fortran_order': False, 'shape': ((((((3,), }", "corrupted .npz member"),  # TokenError
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': '", "corrupted .npz member"),
    ("{'descr': 'nonsense', 'fortran_order': False, 'shape': (3,), }", "corrupted .npz member"),
    ("[1, 2, 3]", "corrupted .npz member"),
])
def test_hostile_npy_headers_give_checkpoint_errors(header, message):
    with pytest.raises(CheckpointError, match=message):
        load(io.BytesIO(stored_npz({"w.npy": npy_bytes(header)})))


@pytest.mark.parametrize("array", [
    np.array(["a", "bc"]), np.array([1 + 2j]), np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]),
    np.array(["2024-01-01"], dtype="datetime64[D]"), np.array([b"raw"]), np.array([1], dtype="timedelta64[s]"),
])
def test_non_numeric_npz_arrays_are_refused(array):
    buffer = io.BytesIO()
    np.savez(buffer, w=array)
    with pytest.raises(CheckpointError, match="array 'w' has dtype"):
        load(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_no_raw_exception_escapes_load_for_any_corrupted_byte(fmt):
    buffer = io.BytesIO()
    save({"epoch": 1, "w": np.arange(4.0)}, buffer, format=fmt)
    raw = buffer.getvalue()
    for position in range(len(raw)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(raw)
            damaged[position] ^= flip
            try:
                load(io.BytesIO(damaged))
            except CheckpointError:
                pass
        for cut in (position,):
            try:
                load(io.BytesIO(raw[:cut]))
            except CheckpointError:
                pass


# ----- item 7: file objects, symlinks, SIGKILL mid-save --------------------------------------
@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_save_and_load_accept_binary_file_objects(tmp_path, fmt):
    obj = {"w": rg.ones(2, 3), "epoch": 4}
    buffer = io.BytesIO()
    save(obj, buffer, format=fmt)
    buffer.seek(0)
    assert load(buffer)["epoch"] == 4
    with open(tmp_path / "c", "wb") as fh:  # what PyTorch scripts pass
        save(obj, fh, format=fmt)
    with open(tmp_path / "c", "rb") as fh:
        loaded = load(fh)
    np.testing.assert_array_equal(loaded["w"].array, np.ones((2, 3), np.float32))
    with open(tmp_path / "c", "r") as fh, pytest.raises(TypeError, match="binary mode"):
        load(fh)


def test_saving_to_a_symlink_writes_through_it(tmp_path):
    (tmp_path / "runs").mkdir()
    save({"v": 1}, tmp_path / "runs" / "real.ckpt")
    os.symlink("runs/real.ckpt", tmp_path / "latest.ckpt")
    save({"v": 2}, tmp_path / "latest.ckpt")
    assert os.path.islink(tmp_path / "latest.ckpt")  # the link survives, as with torch.save
    assert load(tmp_path / "runs" / "real.ckpt") == {"v": 2}
    assert sorted(os.listdir(tmp_path / "runs")) == ["real.ckpt"]


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_files_of_dead_writers_are_removed_at_the_next_save(tmp_path):
    path = tmp_path / "ckpt"
    stale = tmp_path / f".ckpt.{dead_pid()}.0123456789ab.tmp"
    alive = tmp_path / f".ckpt.{os.getppid()}.0123456789ab.tmp"  # a process that exists: maybe mid-save
    other = tmp_path / f".other.{dead_pid()}.0123456789ab.tmp"  # another target's: not ours to judge
    for leftover in (stale, alive, other):
        leftover.write_bytes(b"partial")
    save({"v": 1}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt", alive.name, other.name])


def refuse_links(*args, **kwargs):
    raise PermissionError("linking through /proc is forbidden here")


@pytest.mark.parametrize("fallback", [None, "no O_TMPFILE", "no link through /proc"])
def test_interrupted_write_leaves_nothing_with_and_without_o_tmpfile(tmp_path, monkeypatch, fallback):
    path = tmp_path / "ckpt"
    save({"v": 1}, path)
    if fallback == "no O_TMPFILE":
        monkeypatch.setattr(_atomic_file, "_open_unnamed", lambda directory: None)
    if fallback == "no link through /proc":
        monkeypatch.setattr(os, "link", refuse_links)
        save({"v": 3}, path)  # falls back to a named temporary file
        assert os.listdir(tmp_path) == ["ckpt"] and load(path) == {"v": 3}

    def die(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_safetensors_bytes", die)
    with pytest.raises(KeyboardInterrupt):
        save({"v": 2}, path)
    assert os.listdir(tmp_path) == ["ckpt"]
    assert load(path) == ({"v": 3} if fallback == "no link through /proc" else {"v": 1})


def _save_forever(path, weights, started):
    """Child process: save checkpoints of growing version over and over until killed."""
    version = 0
    while True:
        version += 1
        save({"version": version, "w": weights}, path)
        started.set()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to start writers cheaply")
def test_sigkill_at_random_moments_during_save_leaves_previous_checkpoint_and_nothing_else(tmp_path):
    path = str(tmp_path / "ckpt")
    weights = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)  # a 4 MB checkpoint
    save({"version": 0, "w": weights}, path)
    started_at = time.perf_counter()
    save({"version": 0, "w": weights}, path)
    save_seconds = time.perf_counter() - started_at
    context = multiprocessing.get_context("fork")
    rng = random.Random(0)
    kills, versions, between_link_and_rename = 25, [], 0
    for _ in range(kills):
        started = context.Event()
        writer = context.Process(target=_save_forever, args=(path, weights, started))
        writer.start()
        started.wait(10)  # one save done: the next ones run while we wait a random fraction of a few saves
        time.sleep(rng.uniform(0, 3 * save_seconds))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        loaded = load(path)
        np.testing.assert_array_equal(loaded["w"], weights)
        versions.append(loaded["version"])
        leftovers = sorted(set(os.listdir(tmp_path)) - {"ckpt"})
        if leftovers:
            # Linux cannot link a file over an existing name, so a kill between link and rename (two system
            # calls) leaves the complete next checkpoint under its temporary name; the next save removes it
            between_link_and_rename += 1
            (leftover,) = leftovers
            assert leftover.startswith(f".ckpt.{writer.pid}.")
            assert load(tmp_path / leftover)["version"] == loaded["version"] + 1
            save({"version": loaded["version"], "w": weights}, path)
        assert os.listdir(tmp_path) == ["ckpt"]
    assert len(set(versions)) > 1  # the kills landed at different moments
    assert between_link_and_rename <= 3, f"{between_link_and_rename} of {kills} kills left a complete temporary file"
