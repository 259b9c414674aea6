"""Text data for character-level language models: loading, CharTokenizer, batches.

The whole encoded corpus lives on the training device, and a batch is gathered there
from random offsets, so on the GPU a batch costs no host->device copy and no sync.
"""
from pathlib import Path

import numpy as np

import minitensor as mt

from .errors import UserError

DEFAULT_DATA_PATH = Path(__file__).resolve().parent / 'data' / 'tinyshakespeare.txt'
TRAIN_FRACTION = 0.9     # the lecture's split: first 90% train, last 10% val


def load_text(path=None):
    """The UTF-8 text at `path` (tiny shakespeare, shipped in the package, when None)."""
    path = Path(path) if path is not None else DEFAULT_DATA_PATH
    if not path.exists():
        raise UserError(f"data file not found: {path}; pass --data PATH to an existing UTF-8 "
                        f"text file, or leave --data out to train on tiny shakespeare")
    if not path.is_file():      # a directory, /dev/null, a pipe: reading it would fail or block
        kind = 'a directory' if path.is_dir() else 'a device, pipe or socket'
        raise UserError(f"data file {path} is not a regular file ({kind}); pass --data PATH to a UTF-8 "
                        f"text file")
    try:
        text = path.read_text(encoding='utf-8')
    except UnicodeDecodeError as e:
        raise UserError(f"data file {path} is not UTF-8 text ({e.reason} at byte {e.start}); "
                        f"convert it first, e.g. `iconv -f latin1 -t utf-8 IN > OUT`") from None
    except OSError as e:
        raise UserError(f"data file {path} can't be read: {e.strerror or e}") from None
    if not text:
        raise UserError(f"data file {path} is empty; a language model needs some text to learn from")
    return text


class CharTokenizer:
    """Characters <-> integer ids, over the sorted set of characters of a text."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        if not self.chars:
            raise ValueError("CharTokenizer: the vocabulary is empty; build it from a non-empty text")
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        return cls(distinct_chars(text))

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """A string -> a list of ids; characters outside the vocabulary raise ValueError."""
        try:
            return [self.stoi[ch] for ch in text]
        except KeyError:
            unknown = sorted(set(text) - set(self.stoi))
            raise UserError(f"CharTokenizer.encode: {len(unknown)} character(s) not in the vocabulary: "
                             f"{''.join(unknown)!r} (the vocabulary has {self.vocab_size} characters of "
                             f"the training text)") from None

    def encode_array(self, text):
        """encode() as an int64 NumPy array (N,), vectorised: one table lookup over the text's
        code points instead of a dict lookup per character (3 ms instead of 32 for tiny
        shakespeare); the same ids and the same error for characters outside the vocabulary."""
        codes = code_points(text)                                              # (N,)
        table = np.full(ord(self.chars[-1]) + 1, -1, dtype=np.int64)          # code point -> id, -1: unknown
        table[[ord(ch) for ch in self.chars]] = np.arange(self.vocab_size)
        ids = table[np.minimum(codes, len(table) - 1)]                        # (N,)
        ids[codes >= len(table)] = -1
        if len(ids) and ids.min() < 0:
            self.encode(text)               # raises, naming the unknown characters
        return ids

    def decode(self, ids):
        """A list (or 1-D tensor) of ids in [0, vocab_size) -> a string (a negative id raises,
        where Python's indexing would wrap it to the end of the vocabulary)."""
        if isinstance(ids, mt.Tensor):
            ids = ids.tolist()
        bad = next((i for i in ids if not 0 <= i < self.vocab_size), None)
        if bad is not None:
            raise ValueError(f"CharTokenizer.decode: id {bad} is out of range for a vocabulary of "
                             f"{self.vocab_size} characters (valid ids: 0 to {self.vocab_size - 1})")
        return ''.join(self.chars[i] for i in ids)

    # plain forms for checkpoints (no pickle): the vocabulary is the string of its characters
    def to_string(self):
        return ''.join(self.chars)

    @classmethod
    def from_string(cls, chars):
        return cls(chars)

    def to_dict(self):
        return {'chars': self.to_string()}

    @classmethod
    def from_dict(cls, d):
        return cls(d['chars'])

    def __eq__(self, other):
        return isinstance(other, CharTokenizer) and self.chars == other.chars

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"


def code_points(text):
    """The code points of a string as a NumPy array (N,): one byte each when the text is ASCII
    (str.isascii is a flag CPython keeps), else four."""
    if text.isascii():
        return np.frombuffer(text.encode('ascii'), dtype=np.uint8)
    return np.frombuffer(text.encode('utf-32-le', 'surrogatepass'), dtype=np.uint32)


def distinct_chars(text):
    """set(text), counted over code points in C (11 ms -> 2 ms for tiny shakespeare)."""
    codes = code_points(text)
    if codes.dtype == np.uint8:
        return {chr(c) for c in np.flatnonzero(np.bincount(codes, minlength=128))}
    return {chr(c) for c in np.unique(codes)}


class TextBatches:
    """The encoded corpus on one device, split 90/10, with get_batch(split) as the lecture."""

    def __init__(self, text, tokenizer, block_size, batch_size, device='cpu'):
        self.tokenizer, self.block_size, self.batch_size = tokenizer, block_size, batch_size
        self.device = device
        data = mt.from_numpy(tokenizer.encode_array(text)).to(device)             # (N,) int64
        n = int(TRAIN_FRACTION * len(data))
        self.splits = {'train': data[:n], 'val': data[n:]}
        for split, part in self.splits.items():
            if len(part) < block_size + 1:
                raise UserError(
                    f"the corpus of {len(data)} characters is too short for block_size {block_size}: its "
                    f"{split} split ({'first 90%' if split == 'train' else 'last 10%'}) has {len(part)} "
                    f"characters but needs at least block_size + 1 = {block_size + 1}; use a longer text "
                    f"or a smaller --block-size")
        self.positions = mt.arange(block_size, device=device)                     # (T,)

    def get_batch(self, split, generator=None):
        """(x, y), both (B, T) int64 on the device; y is x shifted left by one character.

        Offsets come from `generator` (default: mt's default generator)."""
        offsets = self.draw_offsets(split, generator)                           # (B,) on the CPU
        if self.device != 'cpu':
            offsets = offsets.to(self.device, non_blocking=True)                # no wait for the GPU
        return self.batch_at(split, offsets)

    def draw_offsets(self, split, generator=None):
        """(B,) int64 random start positions, drawn on the CPU from the generator's CPU stream:
        the same batches on every device, and a CUDA-graph step copies them into its input."""
        if split not in self.splits:
            raise ValueError(f"get_batch: split must be 'train' or 'val', got {split!r}")
        high = len(self.splits[split]) - self.block_size
        return mt.randint(0, high, (self.batch_size,), generator=generator)      # (B,)

    def batch_at(self, split, offsets):
        """(x, y) gathered on the device from (B,) offsets already there."""
        data = self.splits[split]
        idx = offsets[:, None] + self.positions[None, :]                          # (B, T)
        return data[idx], data[idx + 1]                                          # (B, T), (B, T)


class FixedBatches:
    """`n` (x, y) batches of one split, drawn once and kept on the device, so every evaluation
    scores the same text. Their offsets come from their own CPU generator: torch's mt19937
    stream, so benchmarks/speedrun_torch.py draws the same ones with torch.randint, and
    drawing them never moves the training's random stream."""

    def __init__(self, data, split, n, seed, batch_size=None):
        corpus = data.splits[split]                                               # (N,)
        generator = mt.Generator().manual_seed(seed)
        batch_size = data.batch_size if batch_size is None else batch_size
        offsets = mt.randint(0, len(corpus) - data.block_size, (n, batch_size),
                             generator=generator)                                 # (n, B), on the CPU
        idx = offsets.to(data.device)[:, :, None] + data.positions                # (n, B, T)
        self.x, self.y = corpus[idx], corpus[idx + 1]                             # (n, B, T), (n, B, T)
        self.n = n

    def loss_sum(self, model, start, stop):
        """The summed mean losses of batches [start, stop), in eval mode without grad, as a
        tensor on the device (reading it is the one sync)."""
        was_training = model.training
        model.eval()
        total = None
        with mt.no_grad():
            for i in range(start, stop):
                _, loss = model(self.x[i], self.y[i])
                total = loss if total is None else total + loss
        model.train(was_training)
        return total
