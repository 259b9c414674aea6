"""Scans along one dim: cumsum, cumprod, logcumsumexp, and the running max/min
(cummax/cummin) whose values are then gathered at their indices.

The backwards are reverse scans: element i of a scan feeds every output j >= i.
Each Function moves the scanned axis last, so the helpers index with [..., k].
"""
from ..autograd import Function
from ..backend import xp_of
from ..dtypes import is_floating
from .precision import float32_math


def reverse_cumsum(x):
    """sum of x[..., j] for j >= i, at i (along the last axis)."""
    return x[..., ::-1].cumsum(axis=-1)[..., ::-1]


def inclusive_scan(x, op, identity):
    """op folded over x[..., :i + 1] at every i, in log2(n) whole-array steps
    (Hillis-Steele), for the ops NumPy and CuPy have no accumulate of in common."""
    xp = xp_of(x)
    n, k = x.shape[-1], 1
    while k < n:
        shifted = xp.concatenate([xp.full(x.shape[:-1] + (k,), identity, dtype=x.dtype), x[..., :n - k]], axis=-1)
        x = op(x, shifted)
        k *= 2
    return x


def running_extreme_indices(a, dim, largest):
    """The indices of cummax (largest) / cummin values: the latest position where the
    running extreme was reached, ties going to the later index as torch."""
    xp = xp_of(a)
    last = xp.moveaxis(a, dim, -1)
    if last.shape[-1] == 0:
        return xp.zeros(a.shape, dtype=xp.int64)
    op = xp.maximum if largest else xp.minimum
    if is_floating(last.dtype):
        identity = -float('inf') if largest else float('inf')
    elif last.dtype.kind == 'b':
        identity = not largest
    else:
        info = xp.iinfo(last.dtype)
        identity = info.min if largest else info.max
    values = inclusive_scan(last, op, identity)
    positions = xp.arange(last.shape[-1], dtype=xp.int64)
    reached = (last == values) | (xp.isnan(last) if is_floating(last.dtype) else False)
    indices = inclusive_scan(xp.where(reached, positions, 0), xp.maximum, 0)
    return xp.moveaxis(indices, -1, dim)


@float32_math
class Cumsum(Function):
    def forward(self, a, dim=0):
        self.dim = dim
        return xp_of(a).cumsum(a, axis=dim, dtype=a.dtype)

    def backward(self, g):
        xp = xp_of(g)
        return xp.moveaxis(reverse_cumsum(xp.moveaxis(g, self.dim, -1)), -1, self.dim)


@float32_math
class Cumprod(Function):
    """Running product; its gradient is exact with zeros in the input (no division by them)."""

    def forward(self, a, dim=0):
        self.dim = dim
        out = xp_of(a).cumprod(a, axis=dim, dtype=a.dtype)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):
        xp = xp_of(g)
        x, out = (xp.moveaxis(v, self.dim, -1) for v in self.saved)
        if x.shape[-1] == 1:                     # out = a: no division (a may be inf), as torch
            return g
        g = xp.moveaxis(g, self.dim, -1)
        n = x.shape[-1]
        is_zero = x == 0
        # the first zero of each row: outputs from it on are 0, so inputs after it get nothing,
        # inputs before it get sum_j g_j out_j / x_i, and the zero itself the products around it
        first_zero = xp.where(is_zero.any(axis=-1, keepdims=True),
                              is_zero.argmax(axis=-1)[..., None] if n else 0, n)
        positions = xp.arange(n)
        before = positions < first_zero
        grad = xp.where(before, reverse_cumsum(g * out) / xp.where(before, x, 1), 0)
        at_zero = positions == first_zero
        without_it = xp.where(at_zero, 1, x).cumprod(axis=-1)
        grad = grad + xp.where(at_zero, reverse_cumsum(g * without_it), 0)
        return xp.moveaxis(grad.astype(g.dtype, copy=False), -1, self.dim)


@float32_math
class LogCumSumExp(Function):
    """log(cumsum(exp(a))), computed as a scan of logaddexp so nothing overflows."""

    def forward(self, a, dim=0):
        xp = xp_of(a)
        self.dim = dim
        last = xp.moveaxis(a, dim, -1)
        out = inclusive_scan(last, xp.logaddexp, -float('inf'))
        self.save_for_backward(last, out)
        return xp.moveaxis(out, -1, dim)

    def backward(self, g):
        # grad_i = sum_{j >= i} g_j exp(a_i - out_j), summed in log space separately for
        # the positive and the negative g_j (log of a negative number does not exist)
        xp = xp_of(g)
        a, out = self.saved
        g = xp.moveaxis(g, self.dim, -1)
        grad = xp.zeros_like(a)
        for sign in (1, -1):
            part = sign * g
            positive = part > 0
            log_part = xp.where(positive, xp.log(xp.where(positive, part, 1)) - out, -float('inf'))
            reverse = inclusive_scan(log_part[..., ::-1], xp.logaddexp, -float('inf'))[..., ::-1]
            grad = grad + sign * xp.exp(a + reverse)
        return xp.moveaxis(grad, -1, self.dim)
