"""Shape ops: they move or copy elements, so backward moves the gradient back."""
from ..autograd import Function
from ..backend import device_of, to_device, xp_of
from .broadcast import unbroadcast


class Reshape(Function):
    def forward(self, a, shape=None):
        self.in_shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Function):
    """Reorder axes; transpose(d0, d1) is the permutation that swaps two of them."""

    def forward(self, a, axes=None):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, g):                       # apply the inverse permutation
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return g.transpose(inverse)


class Expand(Function):
    """Broadcast to a larger shape without copying; backward sums the copies."""

    def forward(self, a, shape=None):
        self.in_shape = a.shape
        return xp_of(a).broadcast_to(a, shape)

    def backward(self, g):
        return unbroadcast(g, self.in_shape)


class Contiguous(Function):
    def forward(self, a):
        # not ascontiguousarray: it turns a 0-d array into shape (1,)
        return a if a.flags.c_contiguous else a.copy(order='C')

    def backward(self, g):
        return g


class Cat(Function):
    """Concatenate along `dim`; backward slices the gradient back into pieces."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return xp_of(arrays[0]).concatenate(arrays, axis=dim)

    def backward(self, g):
        grads, start = [], 0
        for n in self.sizes:
            index = [slice(None)] * g.ndim
            index[self.dim] = slice(start, start + n)
            grads.append(g[tuple(index)])
            start += n
        return tuple(grads)


class Split(Function):
    """Cut along `dim` into pieces of the given sizes: several outputs, one Function.

    Backward concatenates the pieces' gradients (zeros for a piece the loss does not
    use): one pass, instead of a zero-filled full-size gradient per piece.
    """

    def forward(self, a, sizes=(), dim=0):
        self.dim, self.sizes, self.shape = dim, sizes, a.shape
        self.n_outputs = len(sizes)
        pieces, start = [], 0
        for n in sizes:
            index = (slice(None),) * dim + (slice(start, start + n),)
            pieces.append(a[index])
            start += n
        return tuple(pieces)

    def backward(self, grads):
        xp = xp_of(next(g for g in grads if g is not None))
        parts = []
        for g, n in zip(grads, self.sizes):
            if g is None:
                shape = self.shape[:self.dim] + (n,) + self.shape[self.dim + 1:]
                g = xp.zeros(shape, dtype=next(x for x in grads if x is not None).dtype)
            parts.append(g)
        return xp.concatenate(parts, axis=self.dim)


class Stack(Function):
    """Stack along a new axis `dim`; backward takes each slice of the gradient."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        return xp_of(arrays[0]).stack(arrays, axis=dim)

    def backward(self, g):
        xp = xp_of(g)
        return tuple(xp.take(g, i, axis=self.dim) for i in range(g.shape[self.dim]))


class ToDevice(Function):
    """Copy to another device; the gradient is copied back."""

    def forward(self, a, device='cpu'):
        self.in_device = device_of(a)
        return to_device(a, device)

    def backward(self, g):
        return to_device(g, self.in_device)
