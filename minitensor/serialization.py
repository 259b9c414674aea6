"""mt.save / mt.load: checkpoints in a safe format that never runs code on load.

A file is an uncompressed .npz (a zip of .npy arrays, read with allow_pickle=False)
holding every array of the object plus one entry, `__minitensor__`, a JSON document
(stored as uint8) that describes the nested structure: dicts (any hashable scalar or
tuple keys), lists, tuples, Tensors, arrays, int, float, str, bool, None, bytes.
Arrays are referenced from the JSON by name ("a0", "a1", ...).

JSON encoding: int/float/str/bool/None are plain JSON values; everything else is an
object {"t": kind, ...}, so a plain value is never mistaken for a container.

Writes are atomic: the file is written under a temporary name in the same directory,
flushed to disk, then renamed over the destination, so a crash mid-write leaves the
old file (or none), never half a file.
"""
import collections
import json
import os
import uuid
import zipfile

import numpy as np

from .backend import get_xp, normalize_device, to_device
from .tensor import Tensor

META_KEY = '__minitensor__'
FORMAT = 'minitensor-checkpoint'
VERSION = 1
SUPPORTED = ("Tensor, numpy/cupy array, numpy scalar, int, float, str, bool, None, bytes, "
             "and dict/list/tuple of these")


# ---------------------------------------------------------------- encoding

class _Encoder:
    """Walks an object, collecting its arrays and returning its JSON description."""

    def __init__(self):
        self.arrays = {}

    def add_array(self, array, where):
        array = to_device(array, 'cpu')
        if array.dtype.hasobject:
            raise TypeError(f"save: {where} is an array of Python objects, which can't be "
                            f"stored without pickle; convert it to a numeric dtype")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    def encode(self, obj, where='obj'):
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter
            out = {'t': 'tensor', 'a': self.add_array(obj.array, where)}
            if isinstance(obj, Parameter):
                out['param'] = bool(obj.requires_grad)
            return out
        if isinstance(obj, np.generic):              # before float: np.float64 is a float
            return {'t': 'scalar', 'a': self.add_array(np.asarray(obj), where)}
        if isinstance(obj, np.ndarray) or hasattr(obj, '__cuda_array_interface__'):
            return {'t': 'array', 'a': self.add_array(obj, where)}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, bytes):
            return {'t': 'bytes', 'a': self.add_array(np.frombuffer(obj, np.uint8), where)}
        if isinstance(obj, (list, tuple)):
            kind = 'list' if isinstance(obj, list) else 'tuple'
            return {'t': kind, 'v': [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            keys = [self.encode_key(k, where) for k in obj]
            values = [self.encode(v, f"{where}[{k!r}]") for k, v in obj.items()]
            kind = 'odict' if isinstance(obj, collections.OrderedDict) else 'dict'
            return {'t': kind, 'k': keys, 'v': values}
        hint = " (convert a dataclass with dataclasses.asdict)" if hasattr(
            obj, '__dataclass_fields__') else ""
        raise TypeError(f"save: can't store {where} of type {type(obj).__name__}{hint}; "
                        f"supported: {SUPPORTED}")

    def encode_key(self, key, where):
        if key is None or isinstance(key, (bool, int, float, str)) and not isinstance(key, np.generic):
            return key
        if isinstance(key, tuple):
            return {'t': 'tuple', 'v': [self.encode_key(k, where) for k in key]}
        raise TypeError(f"save: {where} has a key of type {type(key).__name__}; dict keys must "
                        f"be str, int, float, bool, None or tuples of these")


def save(obj, path):
    """Write `obj` (e.g. a state_dict or a checkpoint dict) to `path`, atomically."""
    path = os.fspath(path)
    encoder = _Encoder()
    meta = {'format': FORMAT, 'version': VERSION, 'root': encoder.encode(obj)}
    arrays = dict(encoder.arrays)
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode('utf-8'), dtype=np.uint8)

    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as a plain open() would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())        # the bytes are on disk before the rename makes them visible
        os.replace(tmp, path)           # atomic: readers see the old file or the new one
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable (best effort: not every OS/filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- decoding

class _Decoder:
    """Rebuilds the object from its JSON description and the file's arrays."""

    def __init__(self, arrays, device, fail):
        self.arrays, self.device, self.fail = arrays, device, fail
        self.xp = get_xp(device)

    def array(self, desc):
        name = desc.get('a')
        if name not in self.arrays:
            self.fail(f"its metadata names an array {name!r} that the file lacks")
        return self.arrays[name]

    def decode(self, d):
        if not isinstance(d, dict):
            if isinstance(d, list):
                self.fail("its metadata has a bare JSON list")
            return d
        kind = d.get('t')
        if kind == 'tensor':
            data = to_device(self.array(d), self.device)
            if 'param' in d:
                from .nn.parameter import Parameter
                return Parameter(Tensor._wrap(data), requires_grad=d['param'])
            return Tensor._wrap(data)
        if kind == 'array':
            return to_device(self.array(d), self.device)
        if kind == 'scalar':
            return self.array(d)[()]
        if kind == 'bytes':
            return self.array(d).tobytes()
        if kind in ('list', 'tuple'):
            items = [self.decode(v) for v in d['v']]
            return items if kind == 'list' else tuple(items)
        if kind in ('dict', 'odict'):
            keys = [self.decode_key(k) for k in d['k']]
            pairs = zip(keys, (self.decode(v) for v in d['v']))
            return collections.OrderedDict(pairs) if kind == 'odict' else dict(pairs)
        self.fail(f"its metadata has an entry of unknown kind {kind!r}")

    def decode_key(self, k):
        if isinstance(k, dict) and k.get('t') == 'tuple':
            return tuple(self.decode_key(v) for v in k['v'])
        return k


def _not_a_checkpoint(path, found):
    return ValueError(f"load: {path!r} is not a minitensor checkpoint ({found}); it may be "
                      f"truncated or written by another program")


def _describe(path):
    """A short description of what a non-checkpoint file looks like, for the error."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(64)
    if size == 0:
        return "the file is empty (0 bytes)"
    if (head[:1] == b'\x80' and len(head) > 1 and head[1] in (2, 3, 4, 5)) or head[:2] in (b'(d', b'(l'):
        return (f"{size} bytes that look like a Python pickle (e.g. an old torch.save file); "
                f"minitensor never unpickles, since unpickling can run arbitrary code")
    if head.startswith(b'PK'):
        return f"{size} bytes of a zip archive that cannot be read"
    if head.startswith(b'\x93NUMPY'):
        return f"a single .npy array ({size} bytes), not an .npz checkpoint"
    try:
        text = head.decode('utf-8')
        return f"{size} bytes of text starting {text[:40]!r}"
    except UnicodeDecodeError:
        return f"{size} bytes starting {head[:16]!r}"


def load(path, device='cpu', map_location=None, weights_only=None):
    """Read an object written by mt.save; Tensors and arrays are placed on `device`.

    `map_location` is accepted as an alias of `device`, and `weights_only` is accepted
    and ignored: loading never runs code, whatever it says.
    """
    path = os.fspath(path)
    device = normalize_device(map_location if map_location is not None else device)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path!r} is a directory, not a checkpoint file")

    def fail(found):
        raise _not_a_checkpoint(path, found) from None

    with open(path, 'rb') as f:
        if f.read(2) != b'PK':   # every zip (so every .npz) starts so; sniff before parsing
            fail(_describe(path))
    try:
        with np.load(path, allow_pickle=False) as npz:
            members = list(npz.files)
            if META_KEY not in members:
                shown = ', '.join(members[:5]) + (', ...' if len(members) > 5 else '')
                torch_hint = ("; it looks like a torch.save zip, which holds pickles"
                              if any(m.endswith('data.pkl') or m.endswith('/data') for m in
                                     npz.zip.namelist()) else "")
                fail(f"a zip/npz archive without the {META_KEY!r} entry, holding "
                     f"[{shown}]{torch_hint}")
            meta = json.loads(npz[META_KEY].tobytes().decode('utf-8'))
            arrays = {name: npz[name] for name in members if name != META_KEY}
    except ValueError as e:
        if str(e).startswith('load:'):
            raise
        fail(_describe_error(path, e))
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, UnicodeDecodeError) as e:
        if isinstance(e, (FileNotFoundError, PermissionError)):
            raise
        fail(_describe_error(path, e))

    if not isinstance(meta, dict) or meta.get('format') != FORMAT:
        fail(f"its {META_KEY!r} entry is not minitensor metadata")
    if meta.get('version', 0) > VERSION:
        raise ValueError(f"load: {path!r} was written by a newer minitensor (checkpoint format "
                         f"version {meta['version']}; this version reads up to {VERSION}); "
                         f"upgrade minitensor to read it")
    return _Decoder(arrays, device, fail).decode(meta['root'])


def _describe_error(path, error):
    if 'pickled' in str(error):   # numpy's hint to pass allow_pickle=True does not apply here
        return ("an archive that holds pickled Python objects, which minitensor never loads "
                "(unpickling can run arbitrary code)")
    return f"{_describe(path)}; reading it failed with {type(error).__name__}: {error}"
