"""dtypes under torch's names: `mt.float32` is a thin `dtype` over a NumPy dtype.

It prints as `minitensor.float32`, has torch's attributes (is_floating_point,
itemsize, is_signed), equals and hashes as its NumPy dtype (so `t.dtype ==
np.float32` and dict lookups work), and NumPy and CuPy accept it wherever they take a
dtype (they read its `.dtype`). The engine itself keeps NumPy dtypes: `to_dtype`
turns any dtype-like into one, `wrap` turns one into the `dtype` users see.

bfloat16 is `ml_dtypes.bfloat16` (the NumPy dtype CuPy 14 computes with too); without
the optional package ml_dtypes, `mt.bfloat16` is a name that raises a clear error when
a tensor of it is asked for. NumPy sees bfloat16 as kind 'V' (a user-defined type), so
`dtype.kind` reads 'f' for it here, and engine code that looks at a raw array's dtype
asks `is_floating(d)` rather than `d.kind == 'f'`.
"""
import builtins

import numpy as np

try:                       # optional: the `bf16` extra (pip install "minitensor[bf16]")
    import ml_dtypes
except ImportError:        # pragma: no cover - exercised in a subprocess test
    ml_dtypes = None

BF16_INSTALL_HINT = 'pip install "minitensor[bf16]"'


class dtype:
    """A tensor's element type (torch.dtype): a NumPy dtype under torch's name."""
    __slots__ = ('dtype', 'name')
    _by_numpy = {}

    def __new__(cls, np_dtype, name=None):
        np_dtype = np.dtype(np_dtype)
        self = cls._by_numpy.get(np_dtype)
        if self is None:          # one instance per NumPy dtype, so `is` works too
            self = object.__new__(cls)
            self.dtype, self.name = np_dtype, name or np_dtype.name
            cls._by_numpy[np_dtype] = self
        return self

    def __repr__(self):
        return f"minitensor.{self.name}"

    def __format__(self, spec):
        # f"{t.dtype}" reads `float32`: the short form the engine's error messages use
        return format(self.name, spec)

    def __eq__(self, other):
        if other.__class__ is dtype:
            return self is other
        try:
            return self.dtype == to_dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.dtype)

    def __reduce__(self):
        return (dtype, (self.dtype, self.name))

    def __getattr__(self, attr):
        # the rest of NumPy's dtype (kind, char, type, str, ...) for code written against it
        return getattr(object.__getattribute__(self, 'dtype'), attr)

    @property
    def kind(self):
        # NumPy calls bfloat16 kind 'V'; the engine's `dtype.kind == 'f'` tests mean "floating"
        return 'f' if self.dtype == _bf16_np else self.dtype.kind

    @property
    def is_floating_point(self):
        return self.kind == 'f'

    @property
    def is_complex(self):
        return self.dtype.kind == 'c'

    @property
    def is_signed(self):
        return self.kind in 'fic'

    @property
    def itemsize(self):
        return self.dtype.itemsize


float32 = dtype(np.float32)
float64 = dtype(np.float64)
float16 = dtype(np.float16)
int8 = dtype(np.int8)
int16 = dtype(np.int16)
int32 = dtype(np.int32)
int64 = dtype(np.int64)
uint8 = dtype(np.uint8)
bool_ = dtype(np.bool_)
float = float32     # torch.float is float32
double = float64
long = int64
int = int32
short = int16
half = float16

default_float = float32


class UnsupportedDtype:
    """A torch dtype name minitensor cannot compute in here. Naming it works (nanoGPT puts
    torch.bfloat16 in a dict); making a tensor of it raises TypeError."""

    def __init__(self, name, why):
        self.name, self.why = name, why

    def __repr__(self):
        return f'minitensor.{self.name}'


if ml_dtypes is not None:
    _bf16_np = np.dtype(ml_dtypes.bfloat16)
    bfloat16 = dtype(_bf16_np, 'bfloat16')
else:
    _bf16_np = None
    bfloat16 = UnsupportedDtype('bfloat16', f"bfloat16 tensors need the ml_dtypes package: "
                                            f"{BF16_INSTALL_HINT} (or use mt.float16/mt.float32)")

# float16 and bfloat16: the dtypes whose math the CPU computes in float32 and rounds back
LOW_PRECISION = tuple(d for d in (np.dtype(np.float16), _bf16_np) if d is not None)

_by_name = {
    'float32': float32, 'float': float32, 'float64': float64, 'double': float64,
    'float16': float16, 'half': float16, 'int8': int8, 'int16': int16, 'short': int16,
    'int32': int32, 'int': int32, 'int64': int64, 'long': int64, 'uint8': uint8, 'bool': bool_,
    'bfloat16': bfloat16,
}


def wrap(np_dtype):
    """The `dtype` users see for a NumPy dtype (Tensor.dtype)."""
    d = dtype._by_numpy.get(np_dtype)
    return d if d is not None else dtype(np_dtype)


def to_dtype(d):
    """Accept mt.float32, np.float32, 'float32', python float/int/bool -> a NumPy dtype."""
    if d is None:
        return None
    if d.__class__ is dtype:
        return d.dtype
    if isinstance(d, UnsupportedDtype):
        raise TypeError(f"dtype {d!r} is not supported: {d.why}")
    if isinstance(d, str):
        if d not in _by_name:
            raise TypeError(f"unknown dtype {d!r}; expected one of {sorted(_by_name)}")
        return to_dtype(_by_name[d])
    python_types = {builtins.float: float32, builtins.int: int64, builtins.bool: bool_}
    if isinstance(d, type) and d in python_types:
        return python_types[d].dtype
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"unknown dtype {d!r}; expected mt.float32, mt.float64, mt.int64 or "
                        f"mt.bool") from None


def is_floating(d):
    """True for float16/32/64 and bfloat16 (a NumPy dtype or an mt.dtype)."""
    return d.kind == 'f' or d == _bf16_np


def is_low_precision(d):
    """float16 or bfloat16: 16-bit floats, whose sums and products the engine accumulates
    in float32 (as torch does)."""
    return d in LOW_PRECISION


def compute_dtype(d):
    """The dtype arithmetic on `d` runs in: float32 for 16-bit floats, else d itself."""
    return np.dtype(np.float32) if d in LOW_PRECISION else d


class finfo:
    """Limits of a floating dtype, as torch.finfo: eps, max, min, tiny, resolution, bits."""

    def __init__(self, type=None):
        d = to_dtype(type if type is not None else default_float)
        if not is_floating(d):
            raise TypeError(f"finfo: expected a floating point dtype, got {wrap(d)}; "
                            f"use mt.iinfo for integers")
        info = ml_dtypes.finfo(d) if d == _bf16_np else np.finfo(d)
        self.dtype, self.bits = wrap(d).name, info.bits
        self.eps, self.max, self.min = builtins.float(info.eps), builtins.float(info.max), builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -builtins.int(info.precision)   # torch: 0.001 for float16, not NumPy's float16(0.001)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as torch.iinfo: min, max, bits."""

    def __init__(self, type):
        d = to_dtype(type)
        if d.kind not in 'iu':
            raise TypeError(f"iinfo: expected an integer dtype, got {wrap(d)}; use mt.finfo "
                            f"for floating point")
        info = np.iinfo(d)
        self.dtype = wrap(d).name
        self.bits = d.itemsize * 8
        self.min, self.max = builtins.int(info.min), builtins.int(info.max)

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


_category = {'b': 0, 'u': 1, 'i': 1, 'f': 2}   # bool < integer < floating


def promote_types(*types):
    """The dtype of a binary op's result, by torch's rule rather than NumPy's.

    Within one category (bool, integer, floating) the wider dtype wins; across
    categories the higher category's dtype wins as is, so float32 with an int64
    tensor stays float32 (NumPy would widen to float64 and silently double memory).
    """
    out = np.dtype(types[0])
    for t in types[1:]:
        t = np.dtype(t)
        co, ct = _category.get(out.kind, 2), _category.get(t.kind, 2)
        if co != ct:
            out = out if co > ct else t
        elif out != t and _bf16_np is not None and _bf16_np in (out, t):
            # bfloat16 with float16: neither holds the other, so float32 (as torch);
            # with float32/float64 the wider float
            other = t if out == _bf16_np else out
            out = np.dtype(np.float32) if other.itemsize <= 4 else other
        else:
            out = np.result_type(out, t)
    return out


def result_type(*operands):
    """The dtype of an op on tensors, by torch's rule for 0-d tensors.

    operands: (dtype, ndim) pairs. Tensors with dims decide; a 0-d tensor counts only
    where its category is higher (then its own dtype wins), so a 0-d float64 tensor
    leaves a float32 tensor float32, and a 0-d float64 tensor makes an int tensor
    float64. (Python numbers arrive as 0-d tensors already in the right dtype.)
    """
    dimensioned = [d for d, ndim in operands if ndim]
    zero_d = [d for d, ndim in operands if not ndim]
    if not dimensioned or not zero_d:
        return promote_types(*(dimensioned or zero_d))
    out, scalar = promote_types(*dimensioned), promote_types(*zero_d)
    return scalar if _category.get(scalar.kind, 2) > _category.get(out.kind, 2) else out


class NotImplementedForDtype(NotImplementedError, TypeError):
    """An op called on a dtype it has no kernel for: torch raises NotImplementedError
    ("... not implemented for 'Float'"); a TypeError too, since the dtype is the fault."""
