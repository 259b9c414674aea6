"""mt.save / mt.load: checkpoints in a safe format that never runs code on load.

A file is an uncompressed .npz (a zip of .npy arrays) holding every array of the
object plus one entry, `__minitensor__`, a JSON document (stored as uint8) that
describes the nested structure: dicts (any hashable scalar or tuple keys), lists,
tuples, Tensors (with requires_grad and the device they were on), arrays, int,
float, str, bool, None, bytes. Arrays are referenced from the JSON by name ("a0", ...).
A path ending in `.safetensors` is written and read in that format instead
(minitensor/safetensors_file.py): a flat dict of tensors that PyTorch reads too.

JSON encoding: int/float/str/bool/None are plain JSON values; everything else is an
object {"t": kind, ...}, so a plain value is never mistaken for a container.
A bfloat16 array (which .npy cannot name) is stored as its uint16 bits with
`"dt": "bfloat16"` beside its name; such a file is format version 2, so a reader
without bfloat16 refuses it instead of loading integers.

Loading trusts nothing in the file (`_Archive`): the zip directory, every member's
local header and .npy header are checked, and every declared size matched against the
bytes really there, before any array is read; members must be stored (never
inflated, so a zip bomb is refused unread), may not overlap, and carry a CRC that is
verified; the JSON is size-, depth- and schema-checked. Anything malformed is
`ValueError("load: ...")`.

Writes are atomic: the file is written under a temporary name in the same directory,
flushed to disk, then renamed over the destination, so a crash mid-write leaves the
old file (or none), never half a file.
"""
import collections
import io
import json
import math
import os
import struct
import uuid
import zipfile
import zlib

import numpy as np

from . import dtypes
from .backend import gpu_available, normalize_device, to_device
from .tensor import Tensor

META_KEY = '__minitensor__'
FORMAT = 'minitensor-checkpoint'
VERSION = 2              # 2: bfloat16 arrays ("dt"); files without them are still written as 1
SUPPORTED = ("Tensor, numpy/cupy array, numpy scalar, int, float, str, bool, None, bytes, "
             "and dict/list/tuple of these")

# limits on what a file may declare (far above what any checkpoint needs)
MAX_MEMBERS = 1_000_000          # arrays in one file
MAX_META_BYTES = 64 << 20        # the JSON description
MAX_DEPTH = 100                  # nesting of dicts/lists/tuples
MAX_NPY_HEADER = 10_000          # as numpy's own reader
ARRAY_KINDS = 'biufcSU'          # bool, ints, floats, complex, bytes/str: never objects


# ---------------------------------------------------------------- encoding

class _Encoder:
    """Walks an object, collecting its arrays and returning its JSON description."""

    def __init__(self):
        self.arrays = {}
        self.version = 1

    def add_array(self, array, where):
        """{'a': the array's name} (and 'dt' for bfloat16, stored as its uint16 bits)."""
        array = to_device(array, 'cpu')
        if array.dtype == dtypes.bfloat16:
            name = f"a{len(self.arrays)}"
            self.arrays[name] = array.view(np.uint16)
            self.version = 2
            return {'a': name, 'dt': 'bfloat16'}
        if array.dtype.hasobject or array.dtype.kind not in ARRAY_KINDS or array.dtype.fields:
            raise TypeError(f"save: {where} is an array of dtype {array.dtype}, which can't be "
                            f"stored without pickle; convert it to a numeric dtype")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return {'a': name}

    def encode(self, obj, where='obj', depth=0):
        if depth > MAX_DEPTH:
            raise ValueError(f"save: {where} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter
            out = {'t': 'tensor', **self.add_array(obj.array, where)}
            if obj.device != 'cpu':
                out['d'] = obj.device
            if isinstance(obj, Parameter):
                out['param'] = bool(obj.requires_grad)
            elif obj.requires_grad:
                out['rg'] = True
            return out
        if isinstance(obj, np.generic):              # before float: np.float64 is a float
            return {'t': 'scalar', **self.add_array(np.asarray(obj), where)}
        if isinstance(obj, np.ndarray) or hasattr(obj, '__cuda_array_interface__'):
            out = {'t': 'array', **self.add_array(obj, where)}
            if not isinstance(obj, np.ndarray):
                out['d'] = 'gpu'
            return out
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, bytes):
            return {'t': 'bytes', **self.add_array(np.frombuffer(obj, np.uint8), where)}
        if isinstance(obj, (list, tuple)):
            kind = 'list' if isinstance(obj, list) else 'tuple'
            return {'t': kind, 'v': [self.encode(v, f"{where}[{i}]", depth + 1)
                                     for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            keys = [self.encode_key(k, where) for k in obj]
            values = [self.encode(v, f"{where}[{k!r}]", depth + 1) for k, v in obj.items()]
            kind = 'odict' if isinstance(obj, collections.OrderedDict) else 'dict'
            return {'t': kind, 'k': keys, 'v': values}
        hint = " (convert a dataclass with dataclasses.asdict)" if hasattr(
            obj, '__dataclass_fields__') else ""
        raise TypeError(f"save: can't store {where} of type {type(obj).__name__}{hint}; "
                        f"supported: {SUPPORTED}")

    def encode_key(self, key, where, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError(f"save: a key of {where} is nested more than {MAX_DEPTH} levels deep")
        if key is None or isinstance(key, (bool, int, float, str)) and not isinstance(key, np.generic):
            return key
        if isinstance(key, tuple):
            return {'t': 'tuple', 'v': [self.encode_key(k, where, depth + 1) for k in key]}
        raise TypeError(f"save: {where} has a key of type {type(key).__name__}; dict keys must "
                        f"be str, int, float, bool, None or tuples of these")


def _is_safetensors(f):
    return isinstance(f, (str, os.PathLike)) and os.fspath(f).endswith('.safetensors')


def save(obj, f):
    """Write `obj` (a tensor, a state_dict, a checkpoint dict) to the path or binary file
    `f`; a path is written atomically. A path ending in .safetensors writes that format
    (a flat dict of tensors; needs `pip install minitensor[safetensors]`)."""
    if _is_safetensors(f):
        from . import safetensors_file
        return safetensors_file.save(obj, os.fspath(f))
    encoder = _Encoder()
    root = encoder.encode(obj)
    meta = {'format': FORMAT, 'version': encoder.version, 'root': root}
    arrays = dict(encoder.arrays)
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode('utf-8'), dtype=np.uint8)
    if hasattr(f, 'write'):                 # a file object, as torch.save(obj, buffer)
        np.savez(f, **arrays)
        return
    def write(tmp):
        # os.open with mode 0o666 lets the umask decide the permissions, as a plain open() would
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), 'wb') as out:
            np.savez(out, **arrays)
    write_atomically(os.fspath(f), write)


def write_atomically(path, write):
    """write(tmp) to a temporary file beside `path`, put it on disk, then rename it over
    `path`: readers see the old file or the new one, never half of one, and a crash
    mid-write leaves the old file as it was (the checkpoint rule)."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write(tmp)
        with open(tmp, 'rb+') as written:
            os.fsync(written.fileno())  # the bytes are on disk before the rename makes them visible
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


# ---------------------------------------------------------------- reading the archive

class _Member:
    """One checked .npy member: where its data lies and what array it declares."""
    __slots__ = ('name', 'start', 'size', 'header_len', 'crc', 'dtype', 'shape', 'fortran')


class _Archive:
    """The zip written by np.savez, read without trusting any of it.

    `__init__` checks the directory, every local header and every .npy header; only
    then does `read(name)` allocate an array, of a size already matched against the
    bytes in the file, and verify its CRC.
    """

    def __init__(self, f, size, fail):
        self.f, self.fail = f, fail
        try:
            with zipfile.ZipFile(f) as zf:          # parses the central directory only
                infos = zf.infolist()
        except Exception as e:                      # any damage to the directory
            fail(f"its zip directory is damaged ({type(e).__name__}: {e})")
        if any(i.filename.endswith('data.pkl') or '/data/' in i.filename for i in infos):
            fail("it looks like a torch.save zip, which holds pickles; minitensor never "
                 "unpickles (it can run arbitrary code): in PyTorch, save the state_dict with "
                 "safetensors.torch.save_file and load that .safetensors file")
        if len(infos) > MAX_MEMBERS:
            fail(f"it declares {len(infos)} members (at most {MAX_MEMBERS} are read)")
        starts = sorted((i.header_offset, i.header_offset + 30 + len(i.orig_filename) +
                         i.compress_size, i.filename) for i in infos)
        for (_, end, a), (start, _, b) in zip(starts, starts[1:]):
            if start < end:                         # overlapping members: a zip-bomb trick
                fail(f"its members {a!r} and {b!r} overlap")
        self.members = {}
        for info in infos:
            m = self._check_member(info, size)
            if m.name in self.members:
                fail(f"it holds two members named {info.filename!r}")
            self.members[m.name] = m

    def _check_member(self, info, size):
        fail, name = self.fail, info.filename
        if not name.endswith('.npy'):
            fail(f"it holds a member {name!r} that is not a .npy array")
        if info.compress_type != zipfile.ZIP_STORED:
            fail(f"its member {name!r} is compressed (method {info.compress_type}); mt.save "
                 f"writes stored members only, and a compressed one is refused unread")
        if info.flag_bits & 0x1:
            fail(f"its member {name!r} is encrypted")
        if info.compress_size != info.file_size:
            fail(f"its member {name!r} declares {info.file_size} bytes but stores "
                 f"{info.compress_size}")
        if not 0 <= info.header_offset <= size - 30:
            fail(f"its member {name!r} starts outside the file")
        local = self._read_at(info.header_offset, 30)
        if len(local) < 30 or local[:4] != b'PK\x03\x04':
            fail(f"the local header of member {name!r} is missing or damaged")
        name_len, extra_len = struct.unpack('<HH', local[26:30])
        raw_name = self._read_at(info.header_offset + 30, name_len)
        if raw_name != info.orig_filename.encode('utf-8' if info.flag_bits & 0x800 else 'cp437',
                                                 errors='replace'):
            fail(f"the local header of member {name!r} names another file")
        m = _Member()
        m.name, m.crc = name[:-len('.npy')], info.CRC     # the CRC covers .npy header + data
        m.start = info.header_offset + 30 + name_len + extra_len
        m.size = info.file_size
        if m.start + m.size > size:
            fail(f"its member {name!r} runs past the end of the file")
        head = self._read_at(m.start, min(m.size, MAX_NPY_HEADER + 16))
        try:
            bio = io.BytesIO(head)
            version = np.lib.format.read_magic(bio)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(bio)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(bio)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except Exception as e:
            fail(f"the .npy header of member {name!r} is damaged ({type(e).__name__}: {e})")
        if dtype.hasobject or dtype.fields or dtype.subdtype or dtype.kind not in ARRAY_KINDS:
            fail(f"its member {name!r} holds dtype {dtype}, which minitensor does not load "
                 f"(objects would need unpickling, which can run arbitrary code)")
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            fail(f"its member {name!r} declares an invalid shape {shape!r}")
        header_len = bio.tell()
        if math.prod(shape) * dtype.itemsize != m.size - header_len:
            fail(f"its member {name!r} declares shape {shape} of {dtype} "
                 f"({math.prod(shape) * dtype.itemsize} bytes) but holds {m.size - header_len}")
        m.start, m.size, m.header_len = m.start + header_len, m.size - header_len, header_len
        m.dtype, m.shape, m.fortran = dtype, shape, bool(fortran)
        return m

    def _read_at(self, offset, n):
        self.f.seek(offset)
        return self.f.read(n)

    def read(self, name):
        """The member's array (a fresh, writable, native-endian copy), CRC verified."""
        m = self.members[name]
        header = self._read_at(m.start - m.header_len, m.header_len)
        buf = bytearray(m.size)
        self.f.seek(m.start)
        if self.f.readinto(buf) != m.size:
            self.fail(f"its member {name!r} is cut short")
        if zlib.crc32(buf, zlib.crc32(header)) != m.crc:
            self.fail(f"its member {name!r} fails its CRC check (the bytes were altered)")
        array = np.frombuffer(buf, dtype=m.dtype)
        array = array.reshape(m.shape[::-1]).T if m.fortran else array.reshape(m.shape)
        if not m.dtype.isnative:
            array = array.astype(m.dtype.newbyteorder('='))
        return array


# ---------------------------------------------------------------- decoding

class _Decoder:
    """Checks the JSON description against the archive (`check`), then rebuilds the
    object (`decode`); `check` allocates nothing and `decode` trusts what it checked."""

    def __init__(self, archive, map_device, fail):
        self.archive, self.map_device, self.fail = archive, map_device, fail

    def check(self, d, depth=0):
        fail = self.fail
        if depth > MAX_DEPTH:
            fail(f"its metadata is nested more than {MAX_DEPTH} levels deep")
        if d is None or isinstance(d, (bool, int, float, str)):
            return
        if not isinstance(d, dict):
            fail(f"its metadata has a bare JSON {type(d).__name__}")
        kind = d.get('t')
        if kind in ('tensor', 'array', 'scalar', 'bytes'):
            m = self.archive.members.get(d.get('a')) if isinstance(d.get('a'), str) else None
            if m is None:
                fail(f"its metadata names an array {d.get('a')!r} that the file lacks")
            if d.get('d', 'cpu') not in ('cpu', 'gpu') or kind in ('scalar', 'bytes') and 'd' in d:
                fail(f"its metadata names an unknown device {d.get('d')!r}")
            if kind == 'tensor' and not (isinstance(d.get('param', False), bool) and
                                         isinstance(d.get('rg', False), bool)):
                fail("its metadata has a requires_grad flag that is not a bool")
            if 'dt' in d and (d['dt'] != 'bfloat16' or m.dtype != np.uint16 or kind == 'bytes'):
                fail(f"its metadata calls array {d['a']!r} ({m.dtype}) of dtype {d['dt']!r}; only "
                     f"uint16 arrays can hold 'bfloat16'")
            if kind == 'tensor' and (d.get('param') or d.get('rg')) and m.dtype.kind != 'f' and 'dt' not in d:
                fail(f"its metadata asks a {m.dtype} tensor to require grad")
            if kind == 'scalar' and m.shape != ():
                fail(f"its metadata calls array {d['a']!r} of shape {m.shape} a scalar")
            if kind == 'bytes' and (m.dtype != np.uint8 or len(m.shape) != 1):
                fail(f"its metadata calls array {d['a']!r} ({m.dtype}, {m.shape}) bytes")
        elif kind in ('list', 'tuple'):
            if not isinstance(d.get('v'), list):
                fail(f"its metadata has a {kind} without a list of values")
            for v in d['v']:
                self.check(v, depth + 1)
        elif kind in ('dict', 'odict'):
            keys, values = d.get('k'), d.get('v')
            if not (isinstance(keys, list) and isinstance(values, list) and len(keys) == len(values)):
                fail("its metadata has a dict whose keys and values do not pair up")
            for k in keys:
                self.check_key(k, depth + 1)
            for v in values:
                self.check(v, depth + 1)
        else:
            fail(f"its metadata has an entry of unknown kind {kind!r}")

    def check_key(self, k, depth):
        if depth > MAX_DEPTH:
            self.fail(f"its metadata is nested more than {MAX_DEPTH} levels deep")
        if k is None or isinstance(k, (bool, int, float, str)):
            return
        if isinstance(k, dict) and k.get('t') == 'tuple' and isinstance(k.get('v'), list):
            for v in k['v']:
                self.check_key(v, depth + 1)
            return
        self.fail("its metadata has a dict key that is not a str, number, bool, None or tuple")

    def device(self, d):
        saved = d.get('d', 'cpu')
        target = self.map_device(saved)
        if target == 'gpu' and not gpu_available():
            raise RuntimeError(
                "load: the file holds tensors saved on the GPU, but no GPU is available here "
                "(CuPy or a CUDA device is missing); pass map_location='cpu' to load them on "
                "the CPU")
        return target

    def decode(self, d):
        if not isinstance(d, dict):
            return d
        kind = d['t']
        if kind == 'tensor':
            data = to_device(self.read(d), self.device(d))
            if 'param' in d:
                from .nn.parameter import Parameter
                return Parameter(Tensor._wrap(data), requires_grad=d['param'])
            return Tensor._wrap(data, requires_grad=bool(d.get('rg')))
        if kind == 'array':
            return to_device(self.read(d), self.device(d))
        if kind == 'scalar':
            return self.read(d)[()]
        if kind == 'bytes':
            return self.archive.read(d['a']).tobytes()
        if kind in ('list', 'tuple'):
            items = [self.decode(v) for v in d['v']]
            return items if kind == 'list' else tuple(items)
        keys = [self.decode_key(k) for k in d['k']]
        pairs = zip(keys, (self.decode(v) for v in d['v']))
        return collections.OrderedDict(pairs) if kind == 'odict' else dict(pairs)

    def read(self, d):
        """The array d names, in its dtype (bfloat16 from its stored uint16 bits)."""
        array = self.archive.read(d['a'])
        if 'dt' not in d:
            return array
        return array.view(dtypes.to_dtype('bfloat16'))     # without ml_dtypes: a TypeError naming the extra

    def decode_key(self, k):
        if isinstance(k, dict):
            return tuple(self.decode_key(v) for v in k['v'])
        return k


# ---------------------------------------------------------------- load

def _not_a_checkpoint(name, found):
    return ValueError(f"load: {name!r} is not a minitensor checkpoint ({found}); it may be "
                      f"truncated or written by another program")


def _describe(head, size):
    """A short description of what a non-checkpoint file looks like, for the error."""
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


def _device_map(map_location, device):
    """map_location (torch's name: 'cpu', 'cuda', mt.device, or a dict from saved to
    target device names) -> a function from a saved device to the device to load on."""
    if map_location is None and device is None:
        return lambda saved: saved                   # as torch: where it was saved
    if isinstance(map_location, dict):
        table = {normalize_device(k): normalize_device(v) for k, v in map_location.items()}
        return lambda saved: table.get(saved, saved)
    if callable(map_location) and not isinstance(map_location, str) and not hasattr(map_location, 'type'):
        raise TypeError("load: map_location as a function is not supported; pass 'cpu', "
                        "'cuda' or a dict such as {'cuda': 'cpu'}")
    target = normalize_device(map_location if map_location is not None else device)
    return lambda saved: target


def load(f, map_location=None, weights_only=None, *, device=None, mmap=None):
    """Read an object written by mt.save from a path or binary file.

    Tensors go back to the device they were saved on, or where `map_location` says
    ('cpu', 'cuda', an mt.device, or a dict such as {'cuda': 'cpu'}); `device` is an
    alias. `weights_only` and `mmap` are accepted and ignored: loading never runs code,
    whatever they say. A malformed file is ValueError("load: ...").
    """
    map_device = _device_map(map_location, device)
    if _is_safetensors(f):
        from . import safetensors_file
        return safetensors_file.load(os.fspath(f), map_device)
    if hasattr(f, 'read'):
        return _load_file(f, getattr(f, 'name', '<file object>'), map_device)
    path = os.fspath(f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path!r} is a directory, not a checkpoint file")
    with open(path, 'rb') as fh:
        return _load_file(fh, path, map_device)


def _load_file(f, name, map_device):
    def fail(found):
        raise _not_a_checkpoint(name, found) from None

    if not f.seekable() or f.tell():     # zip offsets count from the archive's first byte
        f = io.BytesIO(f.read())
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    head = f.read(64)
    if head[:4] != b'PK\x03\x04':    # every .npz starts so; sniff before parsing
        fail(_describe(head, size))
    archive = _Archive(f, size, fail)
    meta_member = archive.members.get(META_KEY)
    if meta_member is None:
        names = [n for n in archive.members]
        shown = ', '.join(names[:5]) + (', ...' if len(names) > 5 else '')
        fail(f"a zip/npz archive without the {META_KEY!r} entry, holding [{shown}]")
    if meta_member.dtype != np.uint8 or len(meta_member.shape) != 1 or \
            meta_member.size > MAX_META_BYTES:
        fail(f"its {META_KEY!r} entry is not minitensor metadata ({meta_member.dtype}, "
             f"{meta_member.shape}; at most {MAX_META_BYTES} bytes of uint8)")
    try:
        meta = json.loads(archive.read(META_KEY).tobytes().decode('utf-8'))
    except (ValueError, RecursionError) as e:       # bad JSON or UTF-8, absurd nesting
        fail(f"its {META_KEY!r} entry is not valid JSON ({type(e).__name__})")
    if not isinstance(meta, dict) or meta.get('format') != FORMAT or 'root' not in meta:
        fail(f"its {META_KEY!r} entry is not minitensor metadata")
    version = meta.get('version')
    if type(version) is not int:
        fail(f"its {META_KEY!r} entry has no format version")
    if version > VERSION:
        raise ValueError(f"load: {name!r} was written by a newer minitensor (checkpoint format "
                         f"version {version}; this version reads up to {VERSION}); "
                         f"upgrade minitensor to read it")
    decoder = _Decoder(archive, map_device, fail)
    decoder.check(meta['root'])
    return decoder.decode(meta['root'])
