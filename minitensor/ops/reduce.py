"""Reductions: sum, mean, var, max/min. `axes` is a tuple of non-negative ints.

Backward of a reduction: put the reduced axes back as size 1 (if keepdim was False)
so the gradient broadcasts over the elements that were reduced.
"""
from ..autograd import Function
from ..backend import xp_of


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


class Sum(Function):
    def forward(self, a, axes=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return xp_of(a).asarray(a.sum(axis=axes, keepdims=keepdim))

    def backward(self, g):                       # every summed element gets g
        g = restore_reduced_axes(g, self.axes, self.keepdim)
        return xp_of(g).broadcast_to(g, self.shape)


class Mean(Function):
    def forward(self, a, axes=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return xp_of(a).asarray(a.mean(axis=axes, keepdims=keepdim))

    def backward(self, g):                       # each element contributed 1/n
        n = count(self.shape, self.axes)
        g = restore_reduced_axes(g, self.axes, self.keepdim) * (1.0 / n if n else float('nan'))
        return xp_of(g).broadcast_to(g, self.shape).astype(g.dtype, copy=False)


class Var(Function):
    """Variance with Bessel's correction by default (correction=1), as torch."""

    def forward(self, a, axes=None, keepdim=False, correction=1):
        xp = xp_of(a)
        self.axes, self.keepdim = axes, keepdim
        centered = a - a.mean(axis=axes, keepdims=True)
        self.divisor = max(count(a.shape, axes) - correction, 0)
        self.save_for_backward(centered)
        squares = (centered * centered).sum(axis=axes, keepdims=keepdim)
        return xp.asarray(squares * (1.0 / self.divisor if self.divisor else float('nan')))

    def backward(self, g):                       # d var / da_i = 2 (a_i - mean) / (n - c)
        (centered,) = self.saved
        g = restore_reduced_axes(g, self.axes, self.keepdim)
        return g * centered * (2.0 / self.divisor if self.divisor else float('nan'))


class MaxMin(Function):
    """max or min over `axes` (values only); ties share the gradient equally, as torch's amax."""

    def forward(self, a, axes=None, keepdim=False, largest=True):
        xp = xp_of(a)
        self.axes, self.keepdim = axes, keepdim
        out = a.max(axis=axes, keepdims=True) if largest else a.min(axis=axes, keepdims=True)
        self.save_for_backward(a == out)
        return xp.asarray(out if keepdim else out.reshape(
            tuple(n for i, n in enumerate(out.shape) if i not in axes)))

    def backward(self, g):
        (hit,) = self.saved
        g = restore_reduced_axes(g, self.axes, self.keepdim)
        ties = hit.sum(axis=self.axes, keepdims=True)
        return g * hit / ties.astype(g.dtype)


class TakeAlongDim(Function):
    """Pick one element along `dim` at the given indices: max(dim)/min(dim) values."""

    def forward(self, a, indices=None, dim=0, keepdim=False):
        xp = xp_of(a)
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        self.save_for_backward(indices)                  # keepdim form, size 1 along dim
        out = xp.take_along_axis(a, indices, axis=dim)
        return out if keepdim else out.squeeze(dim)

    def backward(self, g):                       # only the chosen element gets g
        (indices,) = self.saved
        xp = xp_of(g)
        if not self.keepdim:
            g = xp.expand_dims(g, self.dim)
        positions = xp.arange(self.shape[self.dim]).reshape(
            [-1 if i == self.dim else 1 for i in range(len(self.shape))])
        return xp.where(positions == indices, g, g.dtype.type(0))
