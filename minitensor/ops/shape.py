"""Shape ops: they move or copy elements, so backward moves the gradient back."""
from .. import cuda
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


def concatenate(arrays, axis):
    """xp.concatenate, except under CUDA-graph capture: there CuPy's many-array kernel would
    upload a table of pointers from the host, which a capture refuses, so each piece is
    copied into its slice of the output instead (one copy kernel per piece)."""
    xp = xp_of(arrays[0])
    if not cuda.graphs.is_capturing():
        return xp.concatenate(arrays, axis=axis)
    axis = axis % arrays[0].ndim
    shape = list(arrays[0].shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    out = xp.empty(tuple(shape), dtype=xp.result_type(*arrays))
    start = 0
    for a in arrays:
        index = (slice(None),) * axis + (slice(start, start + a.shape[axis]),)
        out[index] = a
        start += a.shape[axis]
    return out


class Cat(Function):
    """Concatenate along `dim`; backward slices the gradient back into pieces."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return concatenate(arrays, dim)

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
        return concatenate(parts, self.dim)


class Stack(Function):
    """Stack along a new axis `dim`; backward takes each slice of the gradient."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        axis = dim % (arrays[0].ndim + 1)
        return concatenate([xp_of(a).expand_dims(a, axis) for a in arrays], axis)

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


class Flip(Function):
    def forward(self, a, axes=()):
        self.axes = axes
        return xp_of(a).flip(a, axis=axes).copy() if axes else a.copy()   # a copy, as torch

    def backward(self, g):                       # flipping twice is the identity
        return xp_of(g).flip(g, axis=self.axes) if self.axes else g


class Roll(Function):
    """Shift elements along axes, wrapping around (axes=None: the flattened array)."""

    def forward(self, a, shifts=(), axes=None):
        self.shifts, self.axes = shifts, axes
        return xp_of(a).roll(a, shifts, axis=axes)

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return xp_of(g).roll(g, back, axis=self.axes)


class Tile(Function):
    """torch's repeat (NumPy's tile): reps[i] copies along axis i; `a` already has
    len(reps) dims. Backward folds each axis into (copies, size) and sums the copies."""

    def forward(self, a, reps=()):
        self.shape, self.reps = a.shape, reps
        return xp_of(a).tile(a, reps)

    def backward(self, g):
        folded = []
        for r, n in zip(self.reps, self.shape):
            folded += [r, n]
        return g.reshape(folded).sum(axis=tuple(range(0, 2 * len(self.reps), 2)))


class RepeatInterleave(Function):
    """Each slice along axis repeated repeats[i] times in place ([a, a, b, b, ...])."""

    def forward(self, a, repeats=None, axis=0):
        self.n, self.axis = a.shape[axis], axis
        self.save_for_backward(repeats if hasattr(repeats, 'shape') else None)
        self.repeats = None if hasattr(repeats, 'shape') else repeats   # an int, or saved above
        return xp_of(a).repeat(a, repeats, axis=axis)

    def backward(self, g):                       # sum each run of copies
        xp = xp_of(g)
        repeats = self.saved[0] if self.repeats is None else self.repeats
        owner = xp.repeat(xp.arange(self.n), repeats)   # which input slice each came from
        rows = xp.moveaxis(g, self.axis, 0)
        grad = xp.zeros((self.n,) + rows.shape[1:], dtype=g.dtype)
        xp.add.at(grad, owner, rows)
        return xp.moveaxis(grad, 0, self.axis)


def diagonal_index(shape, offset, dim1, dim2):
    """(first row, first column, length) of the offset diagonal of the (dim1, dim2) planes."""
    rows, cols = max(-offset, 0), max(offset, 0)
    length = max(min(shape[dim1] - rows, shape[dim2] - cols), 0)
    return min(rows, shape[dim1]), min(cols, shape[dim2]), length


class Diagonal(Function):
    """The diagonal a[..., i, i + offset] of the (dim1, dim2) planes, as the last axis."""

    def forward(self, a, offset=0, dim1=0, dim2=1):
        self.shape, self.offset, self.dims = a.shape, offset, (dim1, dim2)
        # a writable view, as torch's (NumPy's own diagonal view is read-only): step along
        # both axes at once from the diagonal's first element
        xp = xp_of(a)
        rows, cols, length = diagonal_index(a.shape, offset, dim1, dim2)
        planes = xp.moveaxis(a, (dim1, dim2), (-2, -1))[..., rows:rows + length, cols:cols + length]
        return xp.lib.stride_tricks.as_strided(
            planes, planes.shape[:-2] + (length,), planes.strides[:-2] + (planes.strides[-2] + planes.strides[-1],))

    def backward(self, g):
        return embed_diagonal(g, self.shape, self.offset, *self.dims)


def embed_diagonal(g, shape, offset, dim1, dim2):
    """Zeros of `shape` with g (the diagonal as its last axis) written on the diagonal."""
    xp = xp_of(g)
    out = xp.zeros(shape, dtype=g.dtype)
    rows, cols, length = diagonal_index(shape, offset, dim1, dim2)
    planes = xp.moveaxis(out, (dim1, dim2), (-2, -1))          # a view: writes reach out
    i = xp.arange(length)
    planes[..., i + rows, i + cols] = g
    return out


class DiagEmbed(Function):
    """Matrices whose (dim1, dim2) diagonal at offset is a's last axis, zeros elsewhere."""

    def forward(self, a, offset=0, dim1=-2, dim2=-1):
        n = a.shape[-1] + abs(offset)
        ndim = a.ndim + 1
        d1, d2 = dim1 % ndim, dim2 % ndim
        batch = list(a.shape[:-1])
        shape = [0] * ndim
        for d in range(ndim):
            shape[d] = n if d in (d1, d2) else batch.pop(0)
        self.offset, self.dims = offset, (d1, d2)
        return embed_diagonal(a, tuple(shape), offset, d1, d2)

    def backward(self, g):
        return xp_of(g).diagonal(g, self.offset, *self.dims).copy()


class Triangle(Function):
    """tril (lower=True) or triu of the last two axes: the kept part passes its gradient."""

    def forward(self, a, diagonal=0, lower=True):
        self.diagonal, self.lower = diagonal, lower
        xp = xp_of(a)
        return xp.tril(a, diagonal) if lower else xp.triu(a, diagonal)

    def backward(self, g):
        xp = xp_of(g)
        return xp.tril(g, self.diagonal) if self.lower else xp.triu(g, self.diagonal)
