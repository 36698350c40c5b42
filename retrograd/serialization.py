"""`retrograd.save` / `retrograd.load`: checkpoints without pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are Tensors, NumPy
arrays or scalars, Python numbers, strings, bools and None -- model `state_dict()`s,
optimizer state dicts (integer keys in 'state', lists of 'param_groups'), epochs, RNG
states. The file splits it in two:

- the tensors, stored as raw little-endian arrays in a safetensors file (or, with
  format="npz" or when the `safetensors` package is missing, in a `.npz` zip of stored,
  uncompressed `.npy` members), each named by its path in the object ("fc.weight",
  "optimizer.state.0.exp_avg"), so other tools see a plain state dict;
- everything else, as JSON: the safetensors metadata entry `__retrograd__`, or the `.npz`
  member `__retrograd__` (a 0-d string array). Dicts keep their key order and their key
  types (str, int, float, bool, None); tuples come back as lists; each stored array
  carries a CRC-32, checked on load.

Integrity of a safetensors checkpoint covers the whole file, header included: the
metadata entry `__retrograd_sha256__` holds the SHA-256 of every byte of the file, computed
with those 64 hex digits set to "0". Any change anywhere -- the length field, the JSON
(tensor names, shapes, offsets, the structure with its epochs and RNG state), the padding,
the data, the digest itself -- fails the check and raises `CheckpointError`. (A checksum
against damage, not a signature: whoever edits a file on purpose can recompute it.)

Telling a damaged retrograd file from another producer's safetensors file: a file is taken
for a retrograd checkpoint when its JSON header contains the bytes `__retrograd` anywhere.
A retrograd header holds them twice, in two separate keys (`__retrograd__` and
`__retrograd_sha256__`), and one corrupted byte can only touch one of them, so a damaged
retrograd file can never pass for a foreign one and load unchecked. (Cutting the header
short by corrupting its length leaves invalid JSON: the header is one object.) A retrograd
file whose digest entry is missing or unreadable is refused, except a file written before
the digest existed (its structure says format version 1, so a corrupted digest entry in a
version-2 file cannot pass for one). The price: another tool's file whose header contains
`__retrograd` (say, a tensor named so) is refused too.

Loading parses JSON, checks the file's structure in full (safetensors: header length, JSON,
dtypes, shapes and offsets tiling the data exactly; .npz: zip directory, member names,
`.npy` headers, sizes) and copies array bytes: nothing in a file can run code, so untrusted
checkpoints are safe to open. A format is recognised by its whole structure, not by a
prefix. Pickle files (`torch.save`, `pickle.dump`) are refused, never unpickled. A
truncated, corrupted or foreign file raises `CheckpointError` naming the file and the
fault; no other exception escapes `load` for a bad file. Plain safetensors or `.npz` files
written by other tools load as a flat dict of Tensors (their own key order), numeric
arrays only. Deflated `.npz` members (`np.savez_compressed`) are read only up to a bounded
total size (`_deflated_budget`), so a small zip cannot expand into gigabytes.

`save`/`load` take a path or a binary file object (`open(path, "wb")`, `io.BytesIO()`), as
`torch.save`/`torch.load` do. Saving to a path is atomic and leaves nothing behind even
under SIGKILL (see `_atomic_file.py`): the previous checkpoint stays intact until the new
one is complete; a symlink is written through to its target.
"""
import hashlib
import io
import json
import math
import os
import re
import struct
import zipfile
import zlib

import numpy as np

from ._atomic_file import atomic_write
from .device import as_device, device as device_type
from .tensor import Tensor

try:  # a core dependency; a broken or stripped install still gets a clear error at save time
    from safetensors.numpy import save as _safetensors_save
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _safetensors_save = None

__all__ = ["save", "load", "CheckpointError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]

STRUCTURE_KEY = "__retrograd__"
CHECKSUM_KEY = "__retrograd_sha256__"
FORMAT_TAG = "retrograd.save"
FORMAT_VERSION = 2  # 2: whole-file SHA-256 in safetensors files; 1: per-array CRC-32 only
_MARKER = b"__retrograd"  # in both metadata keys: a retrograd header holds it twice
_CHECKSUM_PLACEHOLDER = b"0" * 64
_CHECKSUM_ENTRY = re.compile(rb'"__retrograd_sha256__":"([0-9a-f]{64})"')
_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
_SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
                       "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_STORABLE_KINDS = "biuf"  # bool, signed and unsigned ints, floats (complex and object arrays are refused)
_INSTALL_HINT = "pip install safetensors (a dependency of retrograd: reinstall it with pip install retrograd)"
_PICKLE_ADVICE = ("retrograd never unpickles, because loading a pickle can run arbitrary code. Convert it where "
                  "you trust it: torch.load(..., weights_only=True), then "
                  "safetensors.torch.save_file(state_dict, 'model.safetensors')")


class CheckpointError(ValueError):
    """A file that is not a readable retrograd checkpoint: truncated, corrupted, foreign or pickled."""


# ----- encoding: object -> (JSON-able structure, {name: array}) ----------------------------
class _Encoder:
    def __init__(self):
        self.arrays = {}

    def _name(self, path):
        # a zip member name ends at its first NUL (zipfile truncates it), so a key holding one is spelled \\x00;
        # the structure records the name, so loading never parses it
        base = ".".join(path).replace("\x00", "\\x00") or "value"
        name, n = base, 0
        while name in self.arrays or name == STRUCTURE_KEY:
            n += 1
            name = f"{base}#{n}"
        return name

    def _store(self, array, path, kind):
        where = _describe(path)
        if array.dtype.kind not in _STORABLE_KINDS:
            raise TypeError(f"retrograd.save: cannot store {where}: arrays of dtype {array.dtype} are not supported "
                            f"(bool, integer and floating-point dtypes are)")
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        if not array.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d arrays into 1-d ones)
            array = array.copy(order="C")
        name = self._name(path)
        self.arrays[name] = array
        return {kind: name, "crc32": _crc32(array)}

    def encode(self, obj, path):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, Tensor):
            node = self._store(obj.array, path, "tensor")
            if obj.requires_grad:
                node["requires_grad"] = True
            return node
        if isinstance(obj, np.ndarray):
            return self._store(obj, path, "array")
        if isinstance(obj, np.generic):
            return self._store(np.asarray(obj), path, "scalar")
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                items.append([_key(key, path), self.encode(value, path + [str(key)])])
            return {"dict": items}
        if isinstance(obj, (list, tuple)):
            return [self.encode(value, path + [str(i)]) for i, value in enumerate(obj)]
        raise TypeError(f"retrograd.save: cannot store {_describe(path)} of type {type(obj).__name__}; checkpoints "
                        f"hold dicts, lists and tuples of Tensors, arrays, numbers, strings, bools and None "
                        f"(never pickled objects)")


def _key(key, path):
    """A dict key as JSON keeps it: str, int, finite float, bool or None (NumPy scalars become Python numbers)."""
    if key is None or isinstance(key, (str, bool)):
        return key
    if isinstance(key, (int, np.integer)) and not isinstance(key, np.bool_):
        return int(key)
    if isinstance(key, (float, np.floating)) and math.isfinite(key):
        return float(key)
    raise TypeError(f"retrograd.save: cannot store the key {key!r} of {_describe(path)}: dict keys must be str, "
                    f"int, finite float, bool or None")


def _describe(path):
    return "the object" if not path else "entry '" + ".".join(path) + "'"


def _crc32(array):
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    return zlib.crc32(array.reshape(-1).view(np.uint8)) if array.size else 0


# ----- decoding: structure + array lookup -> object ---------------------------------------
class _Decoder:
    def __init__(self, path, get_array):
        self.path, self.get_array = path, get_array

    def fail(self, message):
        raise CheckpointError(f"{self.path}: {message}")

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(item) for item in node]
        if not isinstance(node, dict) or len(node) == 0:
            self.fail(f"corrupted structure: unexpected JSON value {str(node)[:60]!r}")
        if "dict" in node:
            items = node["dict"]
            if not isinstance(items, list) or not all(
                    isinstance(it, list) and len(it) == 2 and (it[0] is None or isinstance(it[0], (str, int, float)))
                    for it in items):
                self.fail("corrupted structure: a dict entry is not a [key, value] pair with a scalar key")
            return {key: self.decode(value) for key, value in items}
        if "float" in node:
            value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(node["float"])
            if value is None:
                self.fail(f"corrupted structure: bad float tag {node['float']!r}")
            return value
        for kind in ("tensor", "array", "scalar"):
            if kind in node:
                return self._leaf(kind, node)
        self.fail(f"corrupted structure: unknown entry {sorted(node)}")

    def _leaf(self, kind, node):
        name = node[kind]
        if not isinstance(name, str):
            self.fail(f"corrupted structure: bad {kind} name {name!r}")
        array = self.get_array(name)
        if "crc32" in node and _crc32(array) != node["crc32"]:
            self.fail(f"'{name}' is corrupted (its CRC-32 checksum does not match the stored one)")
        if kind == "array":
            return array
        if kind == "scalar":
            return array[()]
        tensor = Tensor._from_array(array)
        if node.get("requires_grad"):
            tensor.requires_grad = True
        return tensor


# ----- writing ----------------------------------------------------------------------------
def _safetensors_bytes(arrays, header):
    """A safetensors file whose metadata holds the structure and the SHA-256 of the whole file."""
    raw = bytearray(_safetensors_save(arrays, metadata={STRUCTURE_KEY: header,
                                                        CHECKSUM_KEY: _CHECKSUM_PLACEHOLDER.decode()}))
    header_end = 8 + struct.unpack_from("<Q", raw)[0]
    (entry,) = _CHECKSUM_ENTRY.finditer(raw, 8, header_end)  # the quotes around it are JSON's: exactly one
    raw[entry.start(1):entry.end(1)] = hashlib.sha256(raw).hexdigest().encode()
    return raw


def _write_safetensors(arrays, header):
    def write(fh):
        fh.write(_safetensors_bytes(arrays, header))
    return write


def _write_npz(arrays, header):
    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            with zf.open(STRUCTURE_KEY + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.array(header), allow_pickle=False)
            for name, array in arrays.items():
                with zf.open(name + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
    return write


def _file_argument(f, method):
    """(path or None, file object or None) for save/load's `f`, with PyTorch's error for anything else."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f), None
    if callable(getattr(f, method, None)):
        return None, f
    raise AttributeError(f"expected 'f' to be string, path, or a file-like object with a '{method}' attribute "
                         f"(got {type(f).__name__})")


def save(obj, f, *, format=None):
    """Save `obj` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None) to `f`.

    f: a path (written atomically; a symlink is written through to its target) or a
    binary file object (`open(path, "wb")`, `io.BytesIO()`), written from its position.
    format: "safetensors" (needs the `safetensors` package), "npz", or None: ".npz" and
    ".safetensors" file names choose their format, anything else gets safetensors when
    the package is installed and .npz otherwise. `load` recognises both by content."""
    path, fh = _file_argument(f, "write")
    if format is None:
        lower = (path if path is not None else str(getattr(fh, "name", ""))).lower()
        format = ("npz" if lower.endswith(".npz") else "safetensors" if lower.endswith(".safetensors")
                  else "safetensors" if _safetensors_save is not None else "npz")
    if format not in ("safetensors", "npz"):
        raise ValueError(f"retrograd.save: format must be 'safetensors', 'npz' or None, got {format!r}")
    if format == "safetensors" and _safetensors_save is None:
        raise ImportError(f"retrograd.save: the safetensors format needs the safetensors package: {_INSTALL_HINT}; "
                          f"or save with format='npz'")
    encoder = _Encoder()
    root = encoder.encode(obj, [])
    header = json.dumps({"format": FORMAT_TAG, "version": FORMAT_VERSION, "root": root},
                        separators=(",", ":"), allow_nan=False)
    write = (_write_safetensors if format == "safetensors" else _write_npz)(encoder.arrays, header)
    if fh is None:
        atomic_write(path, write)
    else:
        write(fh)


# ----- load ------------------------------------------------------------------------------
def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None):
    """Load what `save` wrote, or a plain safetensors / .npz file. Never unpickles, never runs code from the file.

    f: a path or a binary file object (read from its position to the end). The other
    arguments are PyTorch's, accepted so that its loading code runs unchanged: loading is
    always weights-only safe, whatever `weights_only` says, and `pickle_module` and `mmap`
    change nothing. `map_location` may be anything that puts the tensors on the CPU: None,
    'cpu', `retrograd.device('cpu')`, a dict mapping saved locations to the CPU
    (`{'cuda:0': 'cpu'}`), or a function `(storage, location) -> storage`, which is never
    called (retrograd's tensors carry no saved location). A map_location naming another
    device ('cuda') raises, as it does in PyTorch on a machine without CUDA."""
    _check_map_location(map_location)
    path, fh = _file_argument(f, "read")
    if path is not None:
        with open(path, "rb") as stream:
            raw = stream.read()
        name = path
    else:
        name = str(getattr(fh, "name", f"<{type(fh).__name__}>"))
        raw = None if isinstance(fh, io.TextIOBase) else fh.read()
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise TypeError(f"retrograd.load: {name} is a text stream, not bytes: open the file in binary "
                            f"mode ('rb')")
    raw = bytes(raw)
    try:
        return _load_bytes(name, raw)
    except (CheckpointError, ImportError):
        raise
    except Exception as error:  # the safety net: whatever a hostile file provokes becomes a CheckpointError
        raise CheckpointError(f"{name}: unreadable checkpoint ({type(error).__name__}: {error})") from None


def _check_map_location(map_location):
    """Refuse a map_location that would put tensors anywhere but on the CPU (checked before reading)."""
    if map_location is None or callable(map_location):
        return
    if isinstance(map_location, dict):
        targets = list(map_location.values())
    elif isinstance(map_location, (str, device_type)):
        targets = [map_location]
    else:
        raise TypeError(f"retrograd.load: map_location must be None, a string, a retrograd.device, a dict or a "
                        f"function, got {type(map_location).__name__}")
    for target in targets:
        if as_device(target, "retrograd.load: map_location").type != "cpu":
            raise ValueError(f"retrograd.load: retrograd runs on the CPU only; map_location={map_location!r} "
                             f"would put tensors on {target}: use map_location='cpu' or leave it out")


def _load_bytes(name, raw):
    size = len(raw)
    if size == 0:
        raise CheckpointError(f"{name}: empty file (not a checkpoint)")
    header_len = struct.unpack_from("<Q", raw)[0] if size >= 8 else None
    looks_safetensors = raw[8:9] == b"{"
    if looks_safetensors and header_len <= size - 8:
        return _load_safetensors(name, raw, header_len)
    if raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _load_npz(name, raw)
    if raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise CheckpointError(f"{name}: this is a pickle file (torch.save's legacy format or pickle.dump); "
                              + _PICKLE_ADVICE)
    if looks_safetensors:
        raise CheckpointError(f"{name}: truncated safetensors file (its header announces {header_len} bytes, "
                              f"the file has {size - 8} after the length field)")
    raise CheckpointError(f"{name}: not a checkpoint: neither safetensors nor .npz (it starts with {raw[:8]!r})")


def _parse_structure(name, text):
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{name}: corrupted retrograd structure (invalid JSON: {error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_TAG or "root" not in header:
        raise CheckpointError(f"{name}: the '{STRUCTURE_KEY}' entry is not a retrograd structure")
    version = header.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{name}: corrupted retrograd structure (format version {version!r})")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{name}: written by a newer retrograd (format version {version}; "
                              f"this one reads up to {FORMAT_VERSION})")
    return version, header["root"]


def _decode(name, root, get_array):
    try:
        return _Decoder(name, get_array).decode(root)
    except RecursionError:
        raise CheckpointError(f"{name}: corrupted retrograd structure (nested too deeply)") from None


# ----- safetensors ------------------------------------------------------------------------
def _load_safetensors(name, raw, header_len):
    header_bytes = raw[8:8 + header_len]
    retrograd_file = _MARKER in header_bytes
    digest_ok = _verify_digest(name, raw, header_bytes) if retrograd_file else False
    metadata, tensors = _parse_safetensors_header(name, header_bytes, len(raw) - 8 - header_len)
    data_start = 8 + header_len

    def get_array(tensor_name):
        if tensor_name not in tensors:
            raise CheckpointError(f"{name}: corrupted: the structure refers to tensor '{tensor_name}', "
                                  f"which the file lacks")
        dtype, shape, begin = tensors[tensor_name]
        count = math.prod(shape)
        return np.frombuffer(raw, dtype, count, data_start + begin).reshape(shape).astype(dtype.newbyteorder("="))

    if not retrograd_file:  # a plain safetensors state dict from another tool
        return {tensor_name: Tensor._from_array(get_array(tensor_name)) for tensor_name in tensors}
    if STRUCTURE_KEY not in metadata:
        raise CheckpointError(f"{name}: damaged retrograd checkpoint: its '{STRUCTURE_KEY}' metadata entry is "
                              f"missing")
    version, root = _parse_structure(name, metadata[STRUCTURE_KEY])
    if not digest_ok and version != 1:  # only files from before the digest may lack it
        raise CheckpointError(f"{name}: damaged retrograd checkpoint: its '{CHECKSUM_KEY}' entry (the SHA-256 of "
                              f"the file) is missing or unreadable")
    return _decode(name, root, get_array)


def _verify_digest(name, raw, header_bytes):
    """True when the file's SHA-256 entry matches its content; False when there is no entry; raise otherwise."""
    entries = list(_CHECKSUM_ENTRY.finditer(header_bytes))
    if not entries:
        return False
    if len(entries) > 1:
        raise CheckpointError(f"{name}: corrupted retrograd checkpoint: '{CHECKSUM_KEY}' appears {len(entries)} "
                              f"times")
    start, end = 8 + entries[0].start(1), 8 + entries[0].end(1)
    view = memoryview(raw)  # no copies of a large file
    digest = hashlib.sha256(view[:start])
    digest.update(_CHECKSUM_PLACEHOLDER)
    digest.update(view[end:])
    if digest.hexdigest().encode() != raw[start:end]:
        raise CheckpointError(f"{name}: corrupted retrograd checkpoint: its SHA-256 does not match the stored one "
                              f"(the file changed after it was written)")
    return True


def _parse_safetensors_header(name, header_bytes, data_size):
    """(metadata {str: str}, {tensor: (dtype, shape, begin)}) after checking the header as safetensors does."""
    def fail(reason):
        raise CheckpointError(f"{name}: corrupted safetensors header ({reason})")

    if len(header_bytes) > _MAX_HEADER_BYTES:
        fail(f"{len(header_bytes)} bytes, more than the format's limit of {_MAX_HEADER_BYTES}")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        fail(f"invalid JSON: {error}")
    if not isinstance(header, dict):
        fail("the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        fail("'__metadata__' is not a map of strings")
    tensors, spans = {}, []
    for tensor_name, spec in header.items():
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            fail(f"entry '{tensor_name}' is not a tensor description (dtype, shape, data_offsets)")
        dtype_name, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
        if dtype_name not in _SAFETENSORS_DTYPES:
            raise CheckpointError(f"{name}: tensor '{tensor_name}' has dtype {dtype_name!r}, which NumPy lacks "
                                  f"(bfloat16, float8 and complex tensors cannot be loaded; convert them to "
                                  f"float32 first), or the file is corrupted")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            fail(f"tensor '{tensor_name}' has the shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            fail(f"tensor '{tensor_name}' has the data offsets {offsets!r}")
        dtype = np.dtype(_SAFETENSORS_DTYPES[dtype_name])
        if offsets[1] - offsets[0] != math.prod(shape) * dtype.itemsize:
            fail(f"tensor '{tensor_name}' of shape {shape} and dtype {dtype_name} spans {offsets[1] - offsets[0]} "
                 f"bytes")
        tensors[tensor_name] = (dtype, tuple(shape), offsets[0])
        spans.append((offsets[0], offsets[1], tensor_name))
    position = 0  # the tensors must tile the data section exactly: no gap, no overlap, nothing after
    for begin, end, tensor_name in sorted(spans):
        if begin != position:
            fail(f"tensor '{tensor_name}' starts at byte {begin} of the data, expected {position}")
        position = end
    if position != data_size:
        fail(f"the tensors cover {position} bytes of data, the file holds {data_size}")
    return metadata, tensors


# ----- npz ---------------------------------------------------------------------------------
def _deflated_budget(file_size):
    """How many bytes deflated .npz members may expand to in all: 64 MiB, or 16 times the file."""
    return max(64 << 20, 16 * file_size)


def _load_npz(name, raw):
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise CheckpointError(f"{name}: truncated or corrupted .npz/zip file ({error})") from None
    members = [info.filename for info in infos]
    if any(m.endswith("data.pkl") for m in members):
        raise CheckpointError(f"{name}: this is a PyTorch torch.save archive, which holds a pickle; " + _PICKLE_ADVICE)
    if not members or not all(m.endswith(".npy") for m in members):
        raise CheckpointError(f"{name}: a zip archive that is not an .npz checkpoint (members: {members[:5]})")
    if len(set(members)) != len(members):
        raise CheckpointError(f"{name}: corrupted .npz file (a member name appears twice)")
    deflated = 0
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{name}: member '{info.filename}' uses zip compression method "
                                  f"{info.compress_type}; only stored and deflated members are read")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise CheckpointError(f"{name}: corrupted .npz file (member '{info.filename}' is stored but declares "
                                  f"{info.file_size} bytes for {info.compress_size})")
        if info.compress_type == zipfile.ZIP_DEFLATED:
            deflated += info.file_size
    if deflated > _deflated_budget(len(raw)):
        raise CheckpointError(f"{name}: its compressed members would expand to {deflated:,} bytes from a "
                              f"{len(raw):,}-byte file (more than {_deflated_budget(len(raw)):,}): refused as a "
                              f"possible decompression bomb; save it uncompressed (np.savez) to load it")
    arrays = {}
    for info in infos:
        arrays[info.filename[:-len(".npy")]] = _read_npy_member(name, zf, info)
    if STRUCTURE_KEY not in arrays:  # a plain .npz from np.savez
        return {key: Tensor._from_array(_numeric(name, key, array)) for key, array in arrays.items()}
    text = arrays.pop(STRUCTURE_KEY)
    if text.dtype.kind != "U" or text.ndim != 0:
        raise CheckpointError(f"{name}: the '{STRUCTURE_KEY}' entry is not a JSON string")
    _, root = _parse_structure(name, str(text))

    def get_array(array_name):
        if array_name not in arrays:
            raise CheckpointError(f"{name}: corrupted: the structure refers to array '{array_name}', "
                                  f"which the file lacks")
        return _numeric(name, array_name, arrays[array_name])

    return _decode(name, root, get_array)


def _read_npy_member(name, zf, info):
    """One .npy member, its header checked before any data is read: sizes must match exactly."""
    member_name = info.filename
    try:
        with zf.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise CheckpointError(f"{name}: member '{member_name}' is a .npy file of version {version}, "
                                      f"which retrograd does not read")
            if dtype.hasobject:
                raise CheckpointError(f"{name}: holds pickled object arrays (member '{member_name}'), which "
                                      f"retrograd refuses to load")
            nbytes = math.prod(shape) * dtype.itemsize
            if member.tell() + nbytes != info.file_size:
                raise CheckpointError(f"{name}: corrupted .npz member '{member_name}': its header announces "
                                      f"{shape} of {dtype} ({nbytes} bytes), the member holds "
                                      f"{info.file_size - member.tell()}")
            data = member.read(nbytes)
    except CheckpointError:
        raise
    except Exception as error:  # bad magic or header (ValueError, SyntaxError, tokenize.TokenError), bad CRC
        raise CheckpointError(f"{name}: corrupted .npz member '{member_name}' ({type(error).__name__}: "
                              f"{error})") from None
    if len(data) != nbytes:
        raise CheckpointError(f"{name}: truncated .npz member '{member_name}'")
    array = np.frombuffer(data, dtype, math.prod(shape)).reshape(shape, order="F" if fortran_order else "C")
    return array.astype(dtype.newbyteorder("="), order="K")  # a private, writable, native-endian copy


def _numeric(name, key, array):
    if array.dtype.kind not in _STORABLE_KINDS or array.dtype.fields is not None:
        raise CheckpointError(f"{name}: array '{key}' has dtype {array.dtype}; checkpoints hold bool, integer and "
                              f"floating-point arrays only (not strings, complex, structured or datetime)")
    return array


# ----- PyTorch's allow-list of pickled globals: nothing to allow where nothing is unpickled ------------
_user_safe_globals = []


def add_safe_globals(safe_globals):
    """PyTorch's allow-list for `weights_only` unpickling. retrograd never unpickles, so the list changes
    nothing; it is kept only so that `get_safe_globals` answers as PyTorch's does."""
    _user_safe_globals.extend(safe_globals)


def get_safe_globals():
    """The globals added with `add_safe_globals` (they have no effect on loading)."""
    return list(_user_safe_globals)


def clear_safe_globals():
    _user_safe_globals.clear()


class safe_globals:
    """`with retrograd.serialization.safe_globals([...]):` -- PyTorch's context manager, a no-op here
    apart from listing the globals in `get_safe_globals()` for the duration of the block."""

    def __init__(self, safe_globals):
        self.safe_globals = list(safe_globals)

    def __enter__(self):
        add_safe_globals(self.safe_globals)
        return self

    def __exit__(self, *exc_info):
        for item in self.safe_globals:
            _user_safe_globals.remove(item)
