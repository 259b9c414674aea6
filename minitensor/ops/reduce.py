"""Reductions: sum, mean, var/std, prod, logsumexp, max/min. `axes` is a tuple of
non-negative ints.

Backward of a reduction: put the reduced axes back as size 1 (if keepdim was False)
so the gradient broadcasts over the elements that were reduced.
"""
from ..autograd import Function
from ..backend import xp_of
from .precision import float32_math


def restore_reduced_axes(g, axes, keepdim):
    """Reinsert the reduced axes as size 1, so g broadcasts against the input."""
    if keepdim or not axes:
        return g
    xp = xp_of(g)
    return xp.expand_dims(g, tuple(sorted(axes)))


def count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def drop_axes(shape, axes):
    return tuple(n for i, n in enumerate(shape) if i not in axes)


@float32_math
class Sum(Function):
    def forward(self, a, axes=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return xp_of(a).asarray(a.sum(axis=axes, keepdims=keepdim))

    def backward(self, g):                       # every summed element gets g
        g = restore_reduced_axes(g, self.axes, self.keepdim)
        return xp_of(g).broadcast_to(g, self.shape)


@float32_math
class Mean(Function):
    def forward(self, a, axes=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        n = count(a.shape, axes)
        # sum * (1/n), not a.mean(): the mean of an empty dim is NaN (as torch), without
        # NumPy's "mean of empty slice" warning
        total = a.sum(axis=axes, keepdims=keepdim)
        return xp_of(a).asarray(total * a.dtype.type(1.0 / n if n else float('nan')))

    def backward(self, g):                       # each element contributed 1/n
        n = count(self.shape, self.axes)
        g = restore_reduced_axes(g, self.axes, self.keepdim) * (1.0 / n if n else float('nan'))
        return xp_of(g).broadcast_to(g, self.shape).astype(g.dtype, copy=False)


@float32_math
class Var(Function):
    """Variance with Bessel's correction by default (correction=1), as torch; with
    root=True the standard deviation, whose gradient at a zero spread is 0 (as torch),
    not 0/0."""

    def forward(self, a, axes=None, keepdim=False, correction=1, root=False):
        xp = xp_of(a)
        self.axes, self.keepdim, self.root = axes, keepdim, root
        n = count(a.shape, axes)
        mean = a.sum(axis=axes, keepdims=True) * a.dtype.type(1.0 / n if n else float('nan'))
        centered = a - mean
        # torch divides by max(n - correction, 0) going forward (x / 0: inf, or NaN for 0 / 0)
        # and by the signed n - correction going backward
        self.signed_divisor = n - correction
        squares = xp.asarray((centered * centered).sum(axis=axes, keepdims=keepdim))
        if n - correction > 0:
            out = squares * a.dtype.type(1.0 / (n - correction))
        else:
            out = xp.where(squares > 0, a.dtype.type(float('inf')), a.dtype.type(float('nan')))
        if root:
            out = xp.sqrt(out)
            self.save_for_backward(centered, out)
        else:
            self.save_for_backward(centered)
        return out

    def backward(self, g):
        xp = xp_of(g)
        if self.root:                            # d std = d var / (2 std); 0 where std is 0
            centered, std = self.saved
            zero = std == 0
            g = xp.where(zero, 0, g / (2 * xp.where(zero, 1, std)))
        else:
            (centered,) = self.saved
        # d var / da_i = 2 (a_i - mean) / (n - c)
        scale = 2.0 / self.signed_divisor if self.signed_divisor else float('inf')
        return restore_reduced_axes(g, self.axes, self.keepdim) * centered * scale


@float32_math
class Prod(Function):
    """Product over one axis (or all, flattened by the caller). The gradient of each
    element is the product of the others, exact where zeros are: out / a_i where
    a_i != 0; where a_i is the only zero of its row, the product of the non-zeros."""

    def forward(self, a, axis=0, keepdim=False):
        xp = xp_of(a)
        self.axis, self.keepdim = axis, keepdim
        out = xp.asarray(a.prod(axis=axis, keepdims=True))
        self.save_for_backward(a, out)
        return out if keepdim else out.squeeze(axis)

    def backward(self, g):
        xp = xp_of(g)
        a, out = self.saved
        if not self.keepdim:
            g = xp.expand_dims(g, self.axis)
        zero = a == 0
        zeros_in_row = zero.sum(axis=self.axis, keepdims=True)
        nonzero_prod = xp.where(zero, 1, a).prod(axis=self.axis, keepdims=True)
        others = xp.where(zero, xp.where(zeros_in_row == 1, nonzero_prod, 0),
                          out / xp.where(zero, 1, a))
        return (g * others).astype(a.dtype, copy=False)


@float32_math
class LogSumExp(Function):
    """log(sum(exp(a))) over axes, shifted by the max so exp cannot overflow."""

    def forward(self, a, axes=None, keepdim=False):
        xp = xp_of(a)
        self.axes, self.keepdim = axes, keepdim
        if a.size == 0:                          # log(0) over an empty set, as torch
            out = xp.full(drop_axes(a.shape, axes) if not keepdim else
                          tuple(1 if i in axes else n for i, n in enumerate(a.shape)),
                          -float('inf'), dtype=a.dtype)
            self.save_for_backward(a, xp.expand_dims(out, axes) if not keepdim else out)
            return out
        shift = a.max(axis=axes, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, 0)   # all -inf (or an inf): no shift
        with_dims = xp.log(xp.exp(a - shift).sum(axis=axes, keepdims=True)) + shift
        self.save_for_backward(a, with_dims)
        return with_dims if keepdim else with_dims.reshape(drop_axes(a.shape, axes))

    def backward(self, g):                       # the softmax of a over the axes
        a, out = self.saved
        return restore_reduced_axes(g, self.axes, self.keepdim) * xp_of(a).exp(a - out)


class MaxMin(Function):
    """max or min over `axes` (values only); ties share the gradient equally, as torch's amax."""

    def forward(self, a, axes=None, keepdim=False, largest=True):
        xp = xp_of(a)
        self.axes, self.keepdim = axes, keepdim
        out = a.max(axis=axes, keepdims=True) if largest else a.min(axis=axes, keepdims=True)
        self.save_for_backward(a == out)
        return xp.asarray(out if keepdim else out.reshape(drop_axes(out.shape, axes)))

    def backward(self, g):
        (hit,) = self.saved
        g = restore_reduced_axes(g, self.axes, self.keepdim)
        ties = hit.sum(axis=self.axes, keepdims=True)
        return g * hit / ties.astype(g.dtype)
