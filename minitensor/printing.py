"""repr() of tensors, laid out and formatted as torch prints them.

Large tensors are summarised first (`threshold` elements, `edgeitems` per side of every
long dim), on the tensor's own device, so only those few numbers are copied to the host
and formatted: a (228146, 100) tensor prints in about a millisecond.
"""
import math

import numpy as np

from . import dtypes
from .backend import to_device, xp_of


class PrintOptions:
    """torch's print options (torch.set_printoptions): digits, summary and line width."""
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """As torch.set_printoptions: profile 'default', 'short' or 'full', or single options."""
    if profile is not None:
        presets = {'default': (4, 1000, 3, 80), 'short': (2, 1000, 2, 80),
                   'full': (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(presets)}, "
                             f"got {profile!r}")
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = presets[profile]
    for name, value in (('precision', precision), ('threshold', threshold),
                        ('edgeitems', edgeitems), ('linewidth', linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


# ---------------------------------------------------------------- summary

def summarized(array, edge):
    """The first and last `edge` entries of every dim longer than 2 * edge (a copy of
    at most (2 * edge) ** ndim elements; still on the array's device)."""
    for axis, n in enumerate(array.shape):
        if n > 2 * edge:
            keep = np.r_[0:edge, n - edge:n]
            array = array.take(xp_of(array).asarray(keep), axis=axis)
    return array


# ---------------------------------------------------------------- number formatting

class Formatter:
    """How every number of one tensor is written, decided from all of them at once
    (torch's _Formatter): whole floats as `1.`, else `precision` decimals, or
    scientific notation when magnitudes span more than 1000x or leave [1e-4, 1e8]."""

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode, self.sci_mode, self.width = True, False, 1
        p = PRINT_OPTS.precision
        if not floating:
            self.width = max(map(len, map(str, values.reshape(-1).tolist())), default=1)
            return
        v = values.astype(np.float64).reshape(-1)
        v = v[np.isfinite(v) & (v != 0)]
        if v.size:
            big, small = np.abs(v).max(), np.abs(v).min()
            self.int_mode = bool(np.all(v == np.ceil(v)))
            self.sci_mode = (big / small > 1000.0 or big > 1.0e8 or small < 1.0e-4
                             if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode)
            values = v.tolist()
            if self.sci_mode:
                self.width = max(map(len, map(f"{{:.{p}e}}".format, values)))
            elif self.int_mode:
                self.width = max(map(len, map('{:.0f}'.format, values))) + 1
            else:
                self.width = max(map(len, map(f"{{:.{p}f}}".format, values)))

    def __call__(self, x):
        p = PRINT_OPTS.precision
        if not self.floating:
            s = str(x)
        elif self.sci_mode:
            s = f"{x:{self.width}.{p}e}"
        elif self.int_mode:
            s = f"{x:.0f}" + ('' if math.isinf(x) or math.isnan(x) else '.')
        else:
            s = f"{x:.{p}f}"
        return s.rjust(self.width)


# ---------------------------------------------------------------- layout

def _layout(values, full_shape, indent, fmt, summarize):
    """The nested brackets of `values` (already summarised; `full_shape` tells which
    dims were cut, so `...` goes where torch puts it)."""
    edge = PRINT_OPTS.edgeitems
    cut = summarize and full_shape[0] > 2 * edge
    if values.ndim == 1:
        items = [fmt(x) for x in values.tolist()]
        if cut:
            items = items[:edge] + [' ...'] + items[edge:]
        per_line = max(1, int((PRINT_OPTS.linewidth - indent) // (fmt.width + 2)))
        lines = [', '.join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return '[' + (',\n' + ' ' * (indent + 1)).join(lines) + ']'
    rows = [_layout(values[i], full_shape[1:], indent + 1, fmt, summarize)
            for i in range(values.shape[0])]
    if cut:
        rows = rows[:edge] + ['...'] + rows[edge:]
    return '[' + (',' + '\n' * (values.ndim - 1) + ' ' * (indent + 1)).join(rows) + ']'


def tensor_str(array, indent=len('tensor(')):
    """The body of a tensor's repr (`[[1., 2.], ...]`) for a backend array."""
    if array.size == 0:
        return '[]'
    summarize = array.size > PRINT_OPTS.threshold
    edge = PRINT_OPTS.edgeitems
    values = to_device(summarized(array, edge) if summarize else array, 'cpu')
    floating = values.dtype.kind == 'f' or values.dtype.name == 'bfloat16'
    if floating and values.dtype.itemsize < 4:
        values = values.astype(np.float32)      # as torch: half prints through float
    fmt = Formatter(values, floating)
    if values.ndim == 0:
        return fmt(values.item())
    return _layout(values, array.shape, indent, fmt, summarize)


def tensor_repr(t):
    """`tensor([...], device='gpu', dtype=minitensor.float64, grad_fn=<MulBackward>)`."""
    prefix = 'tensor('
    array, suffixes = t.array, []
    if t.device != 'cpu':
        suffixes.append(f"device='{t.device}'")
    dtype = dtypes.wrap(array.dtype)
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype != dtypes.default_float:
            suffixes.append(f"dtype={dtype!r}")
    elif dtype not in (dtypes.default_float, dtypes.int64, dtypes.bool_):
        suffixes.append(f"dtype={dtype!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn={t.grad_fn!r}")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    out = prefix + tensor_str(array, len(prefix))
    last_line = len(out) - out.rfind('\n') + 1     # torch's arithmetic, off by one as there
    for s in suffixes:                             # a suffix that would pass the line width
        if last_line + len(s) + 2 > PRINT_OPTS.linewidth:       # goes on a line of its own
            out += ',\n' + ' ' * len(prefix) + s
            last_line = len(prefix) + len(s)
        else:
            out += ', ' + s
            last_line += len(s) + 2
    return out + ')'


def tensor_format(t, spec):
    """f'{t}' and f'{t:.4f}': a 0-d tensor formats its number, as torch."""
    if t.array.ndim == 0:
        return format(t.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__: only "
                        f"a 0-d tensor formats as a number (this one has shape "
                        f"{tuple(t.array.shape)}; use t.item() or t.reshape(()) )")
    return tensor_repr(t)
