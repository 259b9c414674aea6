"""dtypes: minitensor uses NumPy's dtype objects, under torch's names."""
import builtins

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
float = float32     # torch.float is float32
double = float64
long = int64
half = float16

default_float = float32


class UnsupportedDtype:
    """A torch dtype name minitensor cannot compute in yet. Naming it works (nanoGPT puts
    torch.bfloat16 in a dict, autocast takes it); making a tensor of it raises TypeError."""

    def __init__(self, name, why):
        self.name, self.why = name, why

    def __repr__(self):
        return f'minitensor.{self.name}'


# a real bfloat16 (ml_dtypes, bf16 GEMMs) comes with the bf16 work; until then a clear error
bfloat16 = UnsupportedDtype('bfloat16', "minitensor computes in float16/float32/float64 only (bf16 "
                                        "support has not landed); use mt.float32")

_by_name = {
    'float32': float32, 'float': float32, 'float64': float64, 'double': float64,
    'float16': float16, 'half': float16, 'int32': int32, 'int': int32,
    'int64': int64, 'long': int64, 'bool': bool_,
}


def to_dtype(dtype):
    """Accept mt.float32, np.float32, 'float32', python float/int/bool -> np.dtype."""
    if dtype is None:
        return None
    if isinstance(dtype, UnsupportedDtype):
        raise TypeError(f"dtype {dtype!r} is not supported: {dtype.why}")
    if isinstance(dtype, str):
        if dtype not in _by_name:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_by_name)}")
        return _by_name[dtype]
    python_types = {builtins.float: float32, builtins.int: int64, builtins.bool: bool_}
    if dtype in python_types:
        return python_types[dtype]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected mt.float32, mt.float64, mt.int64 or mt.bool") from None


def is_floating(dtype):
    return dtype.kind == 'f'


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
        out = np.result_type(out, t) if co == ct else (out if co > ct else t)
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
