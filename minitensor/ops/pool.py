"""Max and average pooling over the trailing d dims of (N, C, *S) (any d), and padding.

Both pools loop over the kernel OFFSETS (prod(k) of them, e.g. 4 or 9), each a
vectorised strided slice of the padded input covering every output cell at once.
"""
import itertools

from ..autograd import Function
from ..backend import index_add_rows, xp_of
from ..dtypes import is_floating
from .conv import offset_slices
from .precision import float32_math


def _all(ndim_lead, sl):
    return (slice(None),) * ndim_lead + sl


class MaxPoolNd(Function):
    """out = max over each window; backward routes g to the first maximum of each window.

    `padding` is ((lo, hi), ...) per pooled dim: hi may exceed lo in ceil mode, where the
    last window may run past the padded edge; padded cells hold -inf and are never picked.
    forward is one xp.maximum per kernel offset (NaN propagates, as torch); backward
    finds each window's winner by comparing with the output, offset by offset, so no
    argmax is kept. A window holding NaNs routes its gradient to its first NaN (torch's
    CPU kernel picks the last one; the gradient is NaN either way).
    """

    def forward(self, x, kernel=(2,), stride=(2,), padding=((0, 0),), dilation=(1,), out_shape=(1,)):
        xp = xp_of(x)
        lead = x.ndim - len(kernel)
        self.x_shape, self.padding, self.kernel, self.stride, self.dilation = \
            x.shape, padding, kernel, stride, dilation
        self.out_shape = out_shape
        xpad = x
        if any(lo or hi for lo, hi in padding):
            fill = -xp.inf if is_floating(x.dtype) else xp.iinfo(x.dtype).min
            xpad = xp.pad(x, ((0, 0),) * lead + tuple(padding), constant_values=fill)
        best = None
        for offsets in itertools.product(*(range(k) for k in kernel)):
            v = xpad[_all(lead, offset_slices(offsets, out_shape, stride, dilation))]
            best = v.copy() if best is None else xp.maximum(best, v)
        self.save_for_backward(xpad, best)
        return best

    def _winners(self, xpad, out):
        """(kernel-offset number, slices, mask) per offset: mask marks the windows it wins."""
        xp = xp_of(out)
        lead = out.ndim - len(self.kernel)
        taken = xp.zeros(out.shape, dtype=bool)
        for i, offsets in enumerate(itertools.product(*(range(k) for k in self.kernel))):
            sl = _all(lead, offset_slices(offsets, self.out_shape, self.stride, self.dilation))
            v = xpad[sl]
            hit = (v == out) | (v != v)
            hit &= ~taken
            taken |= hit
            yield i, sl, hit

    def indices(self):
        """torch's return_indices: the flat position of each max in the (unpadded) input plane."""
        xpad, out = self.saved
        xp = xp_of(out)
        d = len(self.kernel)
        arg = xp.zeros(out.shape, dtype=xp.int64)
        for i, _, hit in self._winners(xpad, out):
            arg[hit] = i
        k_idx = xp.unravel_index(arg, self.kernel)               # per-dim kernel offsets
        flat = xp.zeros(arg.shape, dtype=xp.int64)
        for i in range(d):
            o = xp.arange(self.out_shape[i]).reshape((-1,) + (1,) * (d - 1 - i))
            pos = o * self.stride[i] - self.padding[i][0] + k_idx[i] * self.dilation[i]
            flat = flat * self.x_shape[arg.ndim - d + i] + pos
        return flat

    def backward(self, g):
        xp = xp_of(g)
        xpad, out = self.saved
        lead = g.ndim - len(self.kernel)
        dpad = xp.zeros(xpad.shape, dtype=g.dtype)
        for _, sl, hit in self._winners(xpad, out):
            dpad[sl] += g * hit
        crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.padding, self.x_shape[lead:]))
        return xp.ascontiguousarray(dpad[_all(lead, crop)])


@float32_math
class AvgPoolNd(Function):
    """out = sum over each window / divisor; `divisor` is an array broadcasting to out."""

    def forward(self, x, kernel=(2,), stride=(2,), padding=((0, 0),), out_shape=(1,), divisor=None):
        xp = xp_of(x)
        lead = x.ndim - len(kernel)
        self.x_shape, self.padding, self.kernel, self.stride = x.shape, padding, kernel, stride
        self.out_shape, self.divisor = out_shape, divisor
        xpad = xp.pad(x, ((0, 0),) * lead + tuple(padding)) if any(lo or hi for lo, hi in padding) else x
        self.pad_shape = xpad.shape
        ones = (1,) * len(kernel)
        total = xp.zeros(x.shape[:lead] + tuple(out_shape), dtype=x.dtype)
        for offsets in itertools.product(*(range(k) for k in kernel)):
            total += xpad[_all(lead, offset_slices(offsets, out_shape, stride, ones))]
        total /= divisor
        return total

    def backward(self, g):
        xp = xp_of(g)
        lead = g.ndim - len(self.kernel)
        share = g / self.divisor                     # each window element's part
        dpad = xp.zeros(self.pad_shape, dtype=g.dtype)
        ones = (1,) * len(self.kernel)
        for offsets in itertools.product(*(range(k) for k in self.kernel)):
            dpad[_all(lead, offset_slices(offsets, self.out_shape, self.stride, ones))] += share
        crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.padding, self.x_shape[lead:]))
        return xp.ascontiguousarray(dpad[_all(lead, crop)])


class Pad(Function):
    """F.pad: constant (a fill value) or an index map per padded dim (reflect/replicate/circular).

    pads: ((axis, lo, hi), ...). Negative amounts crop, as torch. For the index modes,
    out[..., j, ...] = x[..., src[j], ...] along each axis, so backward sums g into
    src with a sort-and-reduce scatter-add (an input cell may be copied several times).
    """

    def forward(self, x, pads=(), mode='constant', value=0.0):
        xp = xp_of(x)
        self.mode, self.x_shape = mode, x.shape
        if mode == 'constant':
            crop = [slice(None)] * x.ndim
            widths = [(0, 0)] * x.ndim
            for axis, lo, hi in pads:
                crop[axis] = slice(max(-lo, 0), x.shape[axis] - max(-hi, 0))
                widths[axis] = (max(lo, 0), max(hi, 0))
            self.crop, self.widths = tuple(crop), widths
            return xp.pad(x[self.crop], widths, constant_values=value)
        self.maps = []
        for axis, lo, hi in pads:
            src = _source_index(xp, x.shape[axis], lo, hi, mode)
            self.maps.append((axis, src))
            x = xp.take(x, src, axis=axis)
        return x

    def backward(self, g):
        xp = xp_of(g)
        if self.mode == 'constant':
            inner = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.widths))
            dx = xp.zeros(self.x_shape, dtype=g.dtype)
            dx[self.crop] = g[inner]
            return dx
        shape = list(g.shape)
        for axis, src in reversed(self.maps):
            size = self.x_shape[axis]
            moved = xp.moveaxis(g, axis, 0)
            rows = xp.ascontiguousarray(moved).reshape(moved.shape[0], _prod(moved.shape[1:]))   # (no -1: 0 rows)
            summed = index_add_rows(size, src, rows)                     # (size, rest)
            shape[axis] = size
            g = xp.moveaxis(summed.reshape((size,) + moved.shape[1:]), 0, axis)
        return xp.ascontiguousarray(g)


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _source_index(xp, n, lo, hi, mode):
    """For each output position along a padded axis, the input position it copies."""
    j = xp.arange(-lo, n + hi)
    if mode == 'reflect':                   # mirror without repeating the edge: period 2(n-1)
        period = 2 * (n - 1)
        j = xp.abs(j) % period if period else xp.zeros_like(j)
        return xp.where(j >= n, period - j, j)
    if mode == 'replicate':
        return xp.clip(j, 0, n - 1)
    return j % n                            # circular
