"""Character-level text: load a corpus, map characters to indices, serve (input, target) windows.

The embedded default corpus is an excerpt of tinyshakespeare (the first ~100 KB, cut at a
speech boundary): the char-rnn corpus by Andrej Karpathy, works of Shakespeare, public
domain. Any UTF-8 text file works the same way.
"""
from importlib import resources

import numpy as np

from ..tensor import Tensor
from .dataset import Dataset

__all__ = ["load_text", "CharVocab", "CharDataset", "EMBEDDED_TEXT"]

EMBEDDED_TEXT = "tinyshakespeare_excerpt.txt"


def load_text(path=None, encoding="utf-8"):
    """The text of `path`, or of the embedded tinyshakespeare excerpt when path is None.

    A file that is not valid `encoding` raises ValueError naming the file and a bad byte."""
    if path is None:
        return (resources.files("retrograd") / "datasets" / EMBEDDED_TEXT).read_text(encoding="utf-8")
    try:
        with open(path, encoding=encoding) as fh:
            return fh.read()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not {error.encoding} text (byte 0x{error.object[error.start]:02x}: {error.reason}); "
                         f"pass encoding= (for example 'latin-1') if the file uses another encoding") from None


def _code_points(text):
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4")


class CharVocab:
    """The sorted unique characters of a text; index i is the i-th character.

    `CharVocab(vocab.chars)` rebuilds the same vocabulary (save `chars` with a model).
    encode/decode are vectorised (code points + searchsorted), not per-character Python."""

    def __init__(self, text):
        self.chars = "".join(sorted(set(text)))
        self._codes = _code_points(self.chars)  # sorted, since str order is code-point order
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = list(self.chars)

    def __len__(self):
        return len(self.chars)

    @property
    def vocab_size(self):
        return len(self.chars)

    def __contains__(self, char):
        return char in self.stoi

    def __repr__(self):
        return f"CharVocab({len(self)} characters: {self.chars[:40]!r}{'...' if len(self) > 40 else ''})"

    def encode(self, text):
        """int64 array of the indices of `text`'s characters."""
        codes = _code_points(text)
        if len(self._codes) == 0:
            if len(codes):
                raise ValueError(f"CharVocab.encode: the vocabulary is empty, cannot encode {text[:1]!r}")
            return np.zeros(0, np.int64)
        indices = np.minimum(np.searchsorted(self._codes, codes), len(self._codes) - 1)
        unknown = self._codes[indices] != codes
        if unknown.any():
            position = int(np.argmax(unknown))
            raise ValueError(f"CharVocab.encode: character {text[position]!r} (position {position}) is not in the "
                             f"vocabulary of {len(self)} characters")
        return indices.astype(np.int64)

    def decode(self, indices):
        """The string for a sequence of indices (list, array or Tensor)."""
        indices = np.asarray(indices.array if isinstance(indices, Tensor) else indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            bad = indices[(indices < 0) | (indices >= len(self))][0]
            raise ValueError(f"CharVocab.decode: index {bad} is out of range for {len(self)} characters")
        return self._codes[indices].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


class CharDataset(Dataset):
    """Windows of a character stream: item i is (x, y) = (tokens[i : i+seq_len],
    tokens[i+1 : i+seq_len+1]), int64 Tensors, so y[t] is the character after x[t].

    text=None uses the embedded tinyshakespeare excerpt; `CharDataset.from_file(path)` reads
    any text file. `vocab` defaults to the text's own characters. With a DataLoader, each
    batch is one gather of (batch, seq_len + 1) indices."""

    def __init__(self, text=None, seq_len=64, vocab=None):
        text = load_text() if text is None else text
        if seq_len < 1:
            raise ValueError(f"CharDataset: seq_len must be >= 1, got {seq_len}")
        self.text = text
        self.vocab = CharVocab(text) if vocab is None else vocab
        self.tokens = self.vocab.encode(text)
        self.seq_len = int(seq_len)
        if len(self.tokens) <= self.seq_len:
            raise ValueError(f"CharDataset: the text has {len(self.tokens)} characters; windows of seq_len="
                             f"{seq_len} need at least {seq_len + 1}")
        self._offsets = np.arange(self.seq_len + 1)

    @classmethod
    def from_file(cls, path, seq_len=64, vocab=None, encoding="utf-8"):
        return cls(load_text(path, encoding), seq_len, vocab)

    def __len__(self):
        return len(self.tokens) - self.seq_len

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"CharDataset: index {index} out of range for {n} windows")
        start = index % n
        window = self.tokens[start:start + self.seq_len + 1]
        return Tensor._from_array(window[:-1].copy()), Tensor._from_array(window[1:].copy())

    def _gather(self, indices):
        if isinstance(indices, slice):
            indices = np.arange(len(self))[indices]
        block = self.tokens[indices[:, None] + self._offsets]  # (B, seq_len + 1)
        return [Tensor._from_array(block[:, :-1]), Tensor._from_array(block[:, 1:])]
