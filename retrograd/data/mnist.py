"""MNIST: the IDX file reader, the embedded test set, a checksum-verified download, and a Dataset.

MNIST is by Yann LeCun and Corinna Cortes (CC BY-SA 3.0). retrograd ships the unmodified
10,000-image test set (`retrograd/datasets/t10k-*.gz`) so that a first run works offline;
`download_mnist()` fetches all four files (60,000 training images too) into a cache.

IDX format (big-endian): two zero bytes, a type code (0x08 = uint8), the number of
dimensions, one uint32 per dimension, then the data. Files may be gzipped; the reader
decides by the gzip magic number, not by the file name.
"""
import gzip
import hashlib
import io
import math
import os
import urllib.error
import urllib.request
import zlib
from importlib import resources

import numpy as np

from ..tensor import Tensor
from .dataset import Dataset

__all__ = ["MNIST", "read_idx", "load_mnist_idx", "load_mnist_dir", "load_embedded_mnist", "download_mnist",
           "MNIST_FILES", "MNIST_MIRRORS", "DownloadError"]

# Canonical checksums, as listed by torchvision's MNIST class (the t10k ones match the embedded copies).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DEFLATE_RATIO = 1100  # deflate expands at most ~1032:1
NUM_CLASSES = 10  # digits 0-9: a label outside would index past the classifier's outputs
MEAN, STD = 0.1307, 0.3081  # of the 60,000 training images scaled to [0, 1] (the usual Normalize constants)


class DownloadError(RuntimeError):
    """A download that failed: no network, every mirror refused, or a checksum mismatch."""


# ----- IDX ---------------------------------------------------------------------------------
def parse_idx(raw, name="<bytes>"):
    """Decode IDX bytes (gzipped or not) into a native-endian ndarray; errors name `name`.

    A gzipped file is decompressed only as far as its header declares (dimensions times
    item size, plus one byte to detect excess), so a gzip bomb cannot exhaust memory."""
    if raw[:2] == _GZIP_MAGIC:
        raw = _gunzip_idx(raw, name)
    if len(raw) < 4:
        raise ValueError(f"{name}: not an IDX file (only {len(raw)} bytes)")
    dims, dtype, header = _idx_header(raw, name)
    expected = header + math.prod(dims) * dtype.itemsize  # Python ints: a product of 2^32-1 sizes cannot wrap
    if len(raw) != expected:
        raise ValueError(f"{name}: IDX size mismatch: dimensions {dims} of {dtype.newbyteorder('=')} need {expected} "
                         f"bytes, the (decompressed) file has {len(raw)}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _idx_header(raw, name):
    """(dims, dtype, header size) from the first bytes of an IDX file."""
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{name}: not an IDX file (bad magic number 0x{raw[:4].hex()}: expected 0x0000, a type code "
                         f"in {{08, 09, 0B, 0C, 0D, 0E}} and the number of dimensions)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{name}: IDX header announces {ndim} dimensions but the file is too short to hold them")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    return dims, np.dtype(_IDX_DTYPES[raw[2]]), header


def _gunzip_idx(raw, name):
    """Decompress at most what the IDX header inside declares (+1 byte, to tell an over-long file)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            head = stream.read(4)
            if len(head) == 4 and head[0] == 0 and head[1] == 0 and head[2] in _IDX_DTYPES:
                head += stream.read(4 * head[3])
                if len(head) < 4 + 4 * head[3]:
                    return head  # too short: parse_idx says so
                dims, dtype, header = _idx_header(head, name)
                declared = math.prod(dims) * dtype.itemsize
                if declared > _MAX_DEFLATE_RATIO * len(raw):
                    raise ValueError(f"{name}: IDX header announces dimensions {dims} ({declared:,} bytes), more "
                                     f"than {len(raw):,} bytes of gzip data can hold")
                chunks, left = [head], declared + 1
                while left > 0:  # in pieces: memory follows what is really there, never the declared size
                    chunk = stream.read(min(left, 1 << 24))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    left -= len(chunk)
                return b"".join(chunks)
            return head  # not IDX inside: parse_idx names the bad magic number
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{name}: corrupted or truncated gzip data ({error})") from None


def read_idx(path):
    """Read an IDX file (plain or .gz) into an ndarray."""
    with open(path, "rb") as fh:
        return parse_idx(fh.read(), os.fspath(path))


def _check_pair(images, labels, images_name, labels_name):
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{images_name}: expected uint8 images of shape (N, rows, cols), got {images.dtype} "
                         f"{images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{labels_name}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"MNIST: {images_name} holds {len(images)} images but {labels_name} holds {len(labels)} "
                         f"labels")
    if len(labels) and labels.max() >= NUM_CLASSES:
        bad = int(np.argmax(labels >= NUM_CLASSES))
        raise ValueError(f"{labels_name}: label {labels[bad]} at index {bad} is out of range for MNIST's "
                         f"{NUM_CLASSES} classes (0-{NUM_CLASSES - 1})")
    return images, labels.astype(np.int64)


def load_mnist_idx(images_path, labels_path):
    """(images uint8 (N, 28, 28), labels int64 (N,)) from two IDX files, plain or gzipped."""
    return _check_pair(read_idx(images_path), read_idx(labels_path), os.fspath(images_path), os.fspath(labels_path))


def load_embedded_mnist():
    """The 10,000-image MNIST test set shipped with retrograd: (uint8 (10000, 28, 28), int64 (10000,))."""
    folder = resources.files("retrograd") / "datasets"
    images_name, labels_name = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
    images = parse_idx((folder / images_name).read_bytes(), f"retrograd/datasets/{images_name}")
    labels = parse_idx((folder / labels_name).read_bytes(), f"retrograd/datasets/{labels_name}")
    return _check_pair(images, labels, images_name, labels_name)


def _find(root, stem):
    for folder in (root, os.path.join(root, "MNIST", "raw")):  # also torchvision's layout
        for name in (stem, stem + ".gz"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    return None


def load_mnist_dir(root, split="auto"):
    """Load MNIST IDX files from a directory (or its torchvision-style MNIST/raw/ subfolder).

    split: "train" (train-*-ubyte[.gz]), "test" (t10k-*), or "auto": train when its files
    are there, else test."""
    if split not in ("auto", "train", "test"):
        raise ValueError(f"load_mnist_dir: split must be 'train', 'test' or 'auto', got {split!r}")
    candidates = ["train", "t10k"] if split == "auto" else ["train" if split == "train" else "t10k"]
    for prefix in candidates:
        images = _find(root, f"{prefix}-images-idx3-ubyte")
        labels = _find(root, f"{prefix}-labels-idx1-ubyte")
        if images and labels:
            return load_mnist_idx(images, labels)
    wanted = " or ".join(f"{p}-images-idx3-ubyte[.gz] + {p}-labels-idx1-ubyte[.gz]" for p in candidates)
    raise FileNotFoundError(f"MNIST: no {wanted} in {root} (nor in {os.path.join(root, 'MNIST', 'raw')}); "
                            f"download them with retrograd.data.download_mnist({root!r})")


# ----- download ----------------------------------------------------------------------------
def default_cache_dir():
    """~/.cache/retrograd/mnist, or $XDG_CACHE_HOME/retrograd/mnist."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "retrograd", "mnist")


def _md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url, target, md5, timeout):
    """Stream `url` into a temporary file beside `target`; move it there only if its MD5 matches."""
    tmp = f"{target}.part"
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != md5:
            raise DownloadError(f"checksum mismatch for {url}: MD5 {digest.hexdigest()}, expected {md5}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def download_mnist(root=None, mirrors=MNIST_MIRRORS, files=None, timeout=30, verbose=False):
    """Download the four MNIST .gz files into `root` (default: `default_cache_dir()`); return `root`.

    Files already there with the right MD5 are kept; others are fetched from each mirror in
    turn and verified against the canonical MD5 (`MNIST_FILES`); a file whose checksum does
    not match is deleted, never left in the cache. Raises DownloadError when a file cannot be
    had from any mirror (for example offline), listing what each mirror answered."""
    root = default_cache_dir() if root is None else os.fspath(root)
    files = MNIST_FILES if files is None else files
    os.makedirs(root, exist_ok=True)
    for name, md5 in files.items():
        target = os.path.join(root, name)
        if os.path.isfile(target):
            if _md5(target) == md5:
                continue
            os.unlink(target)  # a corrupted or stale copy
        failures = []
        for mirror in mirrors:
            url = mirror + name
            if verbose:
                print(f"downloading {url}")
            try:
                _fetch(url, target, md5, timeout)
                break
            except (urllib.error.URLError, OSError, DownloadError, ValueError) as error:
                failures.append(f"{url}: {getattr(error, 'reason', error)}")
        else:
            raise DownloadError(f"MNIST: could not download {name} into {root} (no network?). Tried:\n  " +
                                "\n  ".join(failures) + f"\nOr copy the file there by hand (MD5 {md5}); the "
                                f"embedded test set works offline: retrograd.data.MNIST()")
    return root


# ----- Dataset -----------------------------------------------------------------------------
class MNIST(Dataset):
    """MNIST digits as a Dataset of (image, label).

    root=None: the embedded 10,000-image test set (offline). With a root directory, the IDX
    files found there (or in root/MNIST/raw, torchvision's layout) for the split: train=None
    means train when a root is given (torchvision's default) and test for the embedded set.
    download=True fetches missing files into root (None: `default_cache_dir()`), verified.

    An image is a float32 Tensor (1, 28, 28) scaled to [0, 1] (what torchvision's ToTensor
    gives) unless `transform` is given, which receives the uint8 (28, 28) array; labels are
    ints (or `target_transform(label)`). `.data` (uint8 N x 28 x 28) and `.targets` (int64)
    are Tensors, as in torchvision. Without transforms a DataLoader builds whole batches
    with one gather."""

    def __init__(self, root=None, train=None, download=False, transform=None, target_transform=None):
        train = (root is not None or download) if train is None else bool(train)
        if root is None and not download:
            if train:
                raise ValueError("MNIST: the embedded copy is the 10,000-image test set only; pass root= (and "
                                 "download=True) for the 60,000 training images, or train=False")
            images, labels = load_embedded_mnist()
        else:
            if download:
                root = download_mnist(root)
            images, labels = load_mnist_dir(root, "train" if train else "test")
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        self.data = Tensor._from_array(images)
        self.targets = Tensor._from_array(labels)

    @property
    def _gather_enabled(self):
        return self.transform is None and self.target_transform is None

    def _gather(self, indices):
        images = self.data.array[indices].astype(np.float32)
        images /= np.float32(255)  # as torchvision's ToTensor: float(x) / 255
        labels = self.targets.array[indices]
        if isinstance(indices, slice):  # a view: copy, so that batches never alias the dataset
            labels = labels.copy()
        return [Tensor._from_array(images[:, None]), Tensor._from_array(labels)]

    def __getitem__(self, index):
        image, label = self.data.array[index], int(self.targets.array[index])
        if self.transform is not None:
            image = self.transform(image)
        else:
            image = Tensor._from_array((image.astype(np.float32) / np.float32(255))[None])
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __len__(self):
        return len(self.data.array)

    def __repr__(self):
        source = "embedded test set" if self.root is None else f"root={self.root!r}"
        return f"MNIST({'train' if self.train else 'test'}, {len(self)} images, {source})"
