"""`retrograd.save` / `retrograd.load`: checkpoints without pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are Tensors, NumPy
arrays or scalars, Python numbers, strings, bools and None -- model `state_dict()`s,
optimizer state dicts (integer keys in 'state', lists of 'param_groups'), epochs, RNG
states. The file splits it in two:

- the tensors, stored as raw little-endian arrays in a safetensors file when the
  `safetensors` package is installed (otherwise in a `.npz` zip written and read by NumPy
  with `allow_pickle=False`), each named by its path in the object ("fc.weight",
  "optimizer.state.0.exp_avg"), so other tools see a plain state dict;
- everything else, as JSON: the safetensors metadata entry `__retrograd__`, or the `.npz`
  member `__retrograd__` (a 0-d string array). Dicts keep their key order and their key
  types (str, int, float, bool, None); tuples come back as lists; each stored array
  carries a CRC-32, checked on load.

Loading parses JSON and copies array bytes: nothing in a file can run code, so untrusted
checkpoints are safe to open. Pickle files (`torch.save`, `pickle.dump`) are refused, never
unpickled. A truncated, corrupted or foreign file raises `CheckpointError` naming the file
and the fault. Plain safetensors or `.npz` files written by other tools load as a flat
dict of Tensors (their own key order).

Writes are atomic: the data go to a temporary file in the destination directory, are
fsync'ed, then `os.replace`d over the target, so a crash or Ctrl-C mid-save leaves the
previous checkpoint intact and no partial file behind.
"""
import json
import math
import os
import secrets
import stat
import struct
import zipfile
import zlib

import numpy as np

from .tensor import Tensor

try:  # optional extra: pip install "retrograd[checkpoints]"
    from safetensors import safe_open as _safe_open
    from safetensors.numpy import save as _safetensors_save
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _safe_open = _safetensors_save = None

__all__ = ["save", "load", "CheckpointError"]

STRUCTURE_KEY = "__retrograd__"
FORMAT_TAG = "retrograd.save"
FORMAT_VERSION = 1
_STORABLE_KINDS = "biuf"  # bool, signed and unsigned ints, floats (complex and object arrays are refused)
_INSTALL_HINT = 'pip install "retrograd[checkpoints]" (or pip install safetensors)'


class CheckpointError(ValueError):
    """A file that is not a readable retrograd checkpoint: truncated, corrupted, foreign or pickled."""


# ----- encoding: object -> (JSON-able structure, {name: array}) ----------------------------
class _Encoder:
    def __init__(self):
        self.arrays = {}

    def _name(self, path):
        base = ".".join(path) or "value"
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


# ----- atomic write ---------------------------------------------------------------------
def _atomic_write(path, write):
    """Call write(binary_file) on a temporary file next to `path`, fsync it, then rename it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.exists(path):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not possible on every platform
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _write_safetensors(arrays, header):
    def write(fh):
        fh.write(_safetensors_save(arrays, metadata={STRUCTURE_KEY: header}))
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


def save(obj, path, *, format=None):
    """Save `obj` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None) to `path`, atomically.

    format: "safetensors" (needs the `safetensors` package), "npz", or None: ".npz" and
    ".safetensors" file names choose their format, any other name gets safetensors when
    the package is installed and .npz otherwise. `load` recognises both by content."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"retrograd.save writes to a file path (atomically), not to a {type(path).__name__}")
    path = os.fspath(path)
    if format is None:
        lower = path.lower()
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
    writer = _write_safetensors if format == "safetensors" else _write_npz
    _atomic_write(path, writer(encoder.arrays, header))


# ----- load ------------------------------------------------------------------------------
def load(path, map_location=None, weights_only=True):
    """Load what `save` wrote. Never unpickles and never runs code from the file.

    `map_location` accepts None or "cpu" (retrograd runs on the CPU); `weights_only` is
    accepted for PyTorch compatibility: loading is always weights-only safe."""
    if map_location not in (None, "cpu"):
        raise ValueError(f"retrograd.load: retrograd runs on the CPU only; map_location={map_location!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"retrograd.load reads a file path, not a {type(path).__name__}")
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(9)
    if size == 0:
        raise CheckpointError(f"{path}: empty file (not a checkpoint)")
    if head[:2] == b"PK":
        return _load_npz(path)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise CheckpointError(f"{path}: this is a pickle file (torch.save's legacy format or pickle.dump); "
                              f"retrograd never unpickles, because loading a pickle can run arbitrary code. "
                              f"Convert it where you trust it: torch.load(..., weights_only=True), then "
                              f"safetensors.torch.save_file(state_dict, 'model.safetensors')")
    if len(head) == 9 and head[8:9] == b"{":
        (header_len,) = struct.unpack("<Q", head[:8])
        if header_len > size - 8:
            raise CheckpointError(f"{path}: truncated safetensors file (its header announces {header_len} bytes, "
                                  f"the file has {size - 8} after the length field)")
        return _load_safetensors(path)
    raise CheckpointError(f"{path}: not a checkpoint: neither safetensors nor .npz (it starts with {head[:8]!r})")


def _parse_header(path, text):
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: corrupted retrograd structure (invalid JSON: {error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_TAG or "root" not in header:
        raise CheckpointError(f"{path}: the '{STRUCTURE_KEY}' entry is not a retrograd structure")
    if header.get("version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer retrograd (format version {header['version']}; "
                              f"this one reads up to {FORMAT_VERSION})")
    return header["root"]


def _decode(path, root, get_array):
    try:
        return _Decoder(path, get_array).decode(root)
    except RecursionError:
        raise CheckpointError(f"{path}: corrupted retrograd structure (nested too deeply)") from None


def _load_safetensors(path):
    if _safe_open is None:
        raise ImportError(f"retrograd.load: {path} is a safetensors file; reading it needs the safetensors package: "
                          f"{_INSTALL_HINT}")
    try:
        with _safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            names = list(f.keys())
            if STRUCTURE_KEY not in metadata:  # a plain safetensors state dict from another tool
                return {name: Tensor._from_array(_writable(f.get_tensor(name))) for name in names}
            root = _parse_header(path, metadata[STRUCTURE_KEY])

            def get_array(name):
                if name not in names:
                    raise CheckpointError(f"{path}: corrupted: the structure refers to tensor '{name}', "
                                          f"which the file lacks")
                return _writable(f.get_tensor(name))

            return _decode(path, root, get_array)
    except CheckpointError:
        raise
    except Exception as error:  # safetensors' own errors: truncated data, bad header, unknown dtype
        raise CheckpointError(f"{path}: unreadable safetensors file: truncated, corrupted, or holding a dtype NumPy "
                              f"lacks such as bfloat16 ({error})") from None


def _writable(array):
    return array if array.flags.writeable else array.copy()


def _load_npz(path):
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CheckpointError(f"{path}: truncated or corrupted .npz/zip file ({error})") from None
    if any(m.endswith("data.pkl") for m in members):
        raise CheckpointError(f"{path}: this is a PyTorch torch.save archive, which holds a pickle; retrograd never "
                              f"unpickles. Convert it where you trust it: torch.load(..., weights_only=True), then "
                              f"safetensors.torch.save_file(state_dict, 'model.safetensors')")
    if not members or not all(m.endswith(".npy") for m in members):
        raise CheckpointError(f"{path}: a zip archive that is not an .npz checkpoint (members: {members[:5]})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if STRUCTURE_KEY not in npz.files:  # a plain .npz from np.savez
                return {name: Tensor._from_array(npz[name]) for name in npz.files}
            text = npz[STRUCTURE_KEY]
            if text.dtype.kind != "U" or text.ndim != 0:
                raise CheckpointError(f"{path}: the '{STRUCTURE_KEY}' entry is not a JSON string")
            root = _parse_header(path, str(text))
            files = set(npz.files)

            def get_array(name):
                if name not in files:
                    raise CheckpointError(f"{path}: corrupted: the structure refers to array '{name}', "
                                          f"which the file lacks")
                return npz[name]

            return _decode(path, root, get_array)
    except CheckpointError:
        raise
    except ValueError as error:
        if "pickle" in str(error):
            raise CheckpointError(f"{path}: holds pickled object arrays, which retrograd refuses to load") from None
        raise CheckpointError(f"{path}: corrupted .npz checkpoint ({error})") from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
        raise CheckpointError(f"{path}: truncated or corrupted .npz checkpoint ({error})") from None
