"""repr() of tensors, as torch prints them."""
import numpy as np

from . import dtypes
from .backend import to_device


def tensor_repr(t):
    """`tensor([...], dtype=..., device=..., grad_fn=...)` for a Tensor t."""
    array = to_device(t.array, 'cpu')
    body = np.array2string(array, separator=', ', prefix='tensor(', threshold=1000,
                           edgeitems=3, formatter=_torch_float_formatter(array))
    extras = []
    if t.device != 'cpu':
        extras.append(f"device='{t.device}'")
    if t.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_):
        extras.append(f"dtype=mt.{t.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn={t.grad_fn!r}")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _torch_float_formatter(array):
    """Format floats as torch prints them: `1., 2.` when all are whole numbers, else
    four decimals (`0.1235`), or scientific notation when magnitudes span a wide range."""
    if array.dtype.kind != 'f':
        return None
    finite = np.abs(array[np.isfinite(array)]).astype(np.float64)
    nonzero = finite[finite != 0]
    if finite.size and np.all(finite == np.round(finite)):
        fmt = '{:.0f}.'.format
        if nonzero.size and nonzero.max() > 1e8:
            fmt = '{:.4e}'.format
    elif nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8
                           or nonzero.min() < 1e-4):
        fmt = '{:.4e}'.format
    else:
        fmt = '{:.4f}'.format

    def one(v):
        if np.isnan(v):
            return 'nan'
        if np.isinf(v):
            return 'inf' if v > 0 else '-inf'
        return fmt(v)
    width = max((len(one(v)) for v in array.reshape(-1)), default=0)
    return {'float_kind': lambda v: one(v).rjust(width)}


