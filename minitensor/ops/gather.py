"""Gather and scatter along a dim, index_select/add/copy/fill, masked_select/scatter, take.

Backward of a gather is a scatter-add (repeated indices all count); backward of a
scatter gathers the gradient back from where each element went.
"""
import math

from ..autograd import Function
from ..backend import index_add_rows, reduce_at, scatter_add, xp_of
from ..dtypes import is_floating


class IndexOutOfRangeError(IndexError, RuntimeError):
    """An index outside its dim. torch raises RuntimeError from most index kernels and
    IndexError from some (index_select of a 1-D tensor): this is both, so either except works."""


def along_dim(index, dim):
    """The advanced index that picks a[i0, .., index[i0, .., ik], .., ik]: index at dim,
    an open grid (arange shaped to broadcast) for every other axis."""
    xp = xp_of(index)
    return tuple(index if d == dim else
                 xp.arange(n).reshape([-1 if i == d else 1 for i in range(index.ndim)])
                 for d, n in enumerate(index.shape))


def leading_block(shape):
    """The slice of an array that covers its first shape[d] entries along every axis d."""
    return tuple(slice(0, n) for n in shape)


def padded_to(g, shape):
    """g (shaped like an index) inside zeros of `shape`: the gradient of a src that is
    larger than the index in some dims, whose extra entries were never read."""
    if g.shape == tuple(shape):
        return g
    out = xp_of(g).zeros(shape, dtype=g.dtype)
    out[leading_block(g.shape)] = g
    return out


class Gather(Function):
    """out[i][j] = a[index[i][j]][j] (dim 0): torch.gather, take_along_dim, and the
    values of sort/topk/max(dim)/median/mode picked by their indices."""

    def forward(self, a, index=None, dim=0):
        self.shape, self.dim = a.shape, dim
        self.save_for_backward(index)
        return a[along_dim(index, dim)]

    def backward(self, g):
        (index,) = self.saved
        return scatter_add(xp_of(g).zeros(self.shape, dtype=g.dtype), along_dim(index, self.dim), g)


class Scatter(Function):
    """out = a with out[index[i][j]][j] = src[i][j] (dim 0); a Python number for src
    when `value` is given. With repeated indices one of the writes wins, as torch."""

    def forward(self, a, *src, index=None, dim=0, value=None):
        self.dim, self.src_shape = dim, src[0].shape if src else None
        self.save_for_backward(index)
        out = a.copy()
        out[along_dim(index, dim)] = src[0][leading_block(index.shape)] if src else value
        return out

    def backward(self, g):
        where = along_dim(self.saved[0], self.dim)
        ga = g.copy()
        ga[where] = 0                            # overwritten: no gradient to a there
        if self.src_shape is None:
            return ga
        return ga, padded_to(g[where], self.src_shape)


class ScatterAdd(Function):
    """out = a with src added at the indices; repeated indices all add."""

    def forward(self, a, src, index=None, dim=0):
        self.dim, self.src_shape = dim, src.shape
        self.save_for_backward(index)
        return scatter_add(a.copy(), along_dim(index, dim), src[leading_block(index.shape)])

    def backward(self, g):
        return g, padded_to(g[along_dim(self.saved[0], self.dim)], self.src_shape)


class ScatterReduce(Function):
    """torch.scatter_reduce: reduce = 'sum' | 'prod' | 'mean' | 'amax' | 'amin' of the
    src values sent to each place, with a's value too when include_self."""

    def forward(self, a, src, index=None, dim=0, reduce='sum', include_self=True):
        xp = xp_of(a)
        where = along_dim(index, dim)
        src = src[leading_block(index.shape)]
        self.dim, self.src_shape, self.reduce, self.include_self = dim, src.shape, reduce, include_self
        hits = scatter_add(xp.zeros(a.shape, dtype=xp.int64), where, xp.ones(index.shape, xp.int64))
        sent = hits > 0                          # places that receive at least one value
        out = a.copy()
        if not include_self:
            start = {'sum': 0, 'mean': 0, 'prod': 1}.get(reduce)
            if start is None:                    # amax/amin: start from the first value sent
                start = src.max() if reduce == 'amin' and src.size else src.min() if src.size else 0
            out[sent] = start
        op = {'sum': 'add', 'mean': 'add', 'prod': 'multiply', 'amax': 'maximum', 'amin': 'minimum'}[reduce]
        reduce_at(op, out, where, src)
        counts = hits + (1 if include_self else 0)
        if reduce == 'mean':
            divided = out / xp.maximum(counts, 1)
            out = xp.where(sent, divided if is_floating(a.dtype) else divided // 1, a).astype(a.dtype)
        self.save_for_backward(a, src, out, sent, counts, index)
        return out

    def backward(self, g):
        xp = xp_of(g)
        a, src, out, sent, counts, index = self.saved
        where = along_dim(index, self.dim)
        keep_self = self.include_self or None    # what of g reaches a at the places sent to
        if self.reduce == 'sum':
            ga, gsrc = g, g[where]
        elif self.reduce == 'mean':
            per = g / xp.maximum(counts, 1)
            ga, gsrc = xp.where(sent, per, g), per[where]
        elif self.reduce == 'prod':              # d/de of a product: the product of the others
            zero_src = src == 0
            zeros = scatter_add(((a == 0) & bool(self.include_self)).astype(xp.int64), where,
                                zero_src.astype(xp.int64))
            nonzero = xp.where((a == 0) | (not self.include_self), 1, a)
            reduce_at('multiply', nonzero, where, xp.where(zero_src, 1, src))
            def others(e, o, z, nz):
                return xp.where(e == 0, xp.where(z == 1, nz, 0), o / xp.where(e == 0, 1, e))
            ga = g * others(a, out, zeros, nonzero)
            gsrc = g[where] * others(src, out[where], zeros[where], nonzero[where])
        else:                                    # amax/amin: ties share the gradient equally
            hit_self = (a == out) & bool(self.include_self)
            hit_src = src == out[where]
            ties = scatter_add(hit_self.astype(g.dtype), where, hit_src.astype(g.dtype))
            per = g / xp.where(ties == 0, 1, ties)
            ga, gsrc = per * hit_self, per[where] * hit_src
            keep_self = True
        if keep_self is None:                    # a's value was not part of the reduction
            ga = xp.where(sent, 0, g)
        elif self.reduce != 'sum':
            ga = xp.where(sent, ga, g)           # untouched places pass g through
        return ga.astype(g.dtype, copy=False), padded_to(gsrc.astype(g.dtype, copy=False), self.src_shape)


def _rows_first(x, dim):
    return xp_of(x).moveaxis(x, dim, 0)


class IndexSelect(Function):
    """The slices index[0], index[1], ... of a along dim (repeats allowed)."""

    def forward(self, a, index=None, dim=0):
        self.shape, self.dim = a.shape, dim
        self.save_for_backward(index)
        return xp_of(a).take(a, index, axis=dim)

    def backward(self, g):                       # slices picked k times get k contributions
        xp = xp_of(g)
        rows = _rows_first(g, self.dim)
        summed = index_add_rows(self.shape[self.dim], self.saved[0],
                                rows.reshape(rows.shape[0], math.prod(rows.shape[1:])))
        return xp.moveaxis(summed.reshape((self.shape[self.dim],) + rows.shape[1:]), 0, self.dim)


class IndexAdd(Function):
    """a with alpha * source's slices added at index along dim."""

    def forward(self, a, source, index=None, dim=0, alpha=1):
        self.dim, self.alpha = dim, alpha
        self.save_for_backward(index)
        out = a.copy()
        scatter_add(_rows_first(out, dim), index, _rows_first(source * alpha if alpha != 1 else source, dim))
        return out

    def backward(self, g):
        picked = xp_of(g).take(g, self.saved[0], axis=self.dim)
        return g, picked * self.alpha if self.alpha != 1 else picked


class IndexCopy(Function):
    """a with the slices at index along dim replaced by source's (or by `value`: index_fill)."""

    def forward(self, a, *source, index=None, dim=0, value=None):
        self.dim, self.has_source = dim, bool(source)
        self.save_for_backward(index)
        out = a.copy()
        _rows_first(out, dim)[index] = _rows_first(source[0], dim) if source else value
        return out

    def backward(self, g):
        (index,) = self.saved
        ga = g.copy()
        _rows_first(ga, self.dim)[index] = 0
        if not self.has_source:
            return ga
        return ga, xp_of(g).take(g, index, axis=self.dim)


class MaskedSelect(Function):
    """The elements of a where mask is True, as a 1-D array (a and mask already broadcast)."""

    def forward(self, a, mask=None):
        self.shape = a.shape
        self.save_for_backward(mask)
        return a[mask]

    def backward(self, g):
        grad = xp_of(g).zeros(self.shape, dtype=g.dtype)
        grad[self.saved[0]] = g                      # each selected element appears once
        return grad


class MaskedScatter(Function):
    """a with its masked places filled, in order, by source's first elements."""

    def forward(self, a, source, mask=None):
        self.src_shape = source.shape
        self.save_for_backward(mask)
        self.n = int(mask.sum())
        out = a.copy()
        out[mask] = source.reshape(-1)[:self.n]
        return out

    def backward(self, g):
        xp = xp_of(g)
        gsrc = xp.zeros(math.prod(self.src_shape), dtype=g.dtype)
        (mask,) = self.saved
        gsrc[:self.n] = g[mask]
        return xp.where(mask, 0, g), gsrc.reshape(self.src_shape)


class Take(Function):
    """a viewed as 1-D, picked at index (any shape)."""

    def forward(self, a, index=None):
        self.shape = a.shape
        self.save_for_backward(index)
        return a.reshape(-1)[index]

    def backward(self, g):
        flat = index_add_rows(math.prod(self.shape), self.saved[0].reshape(-1), g.reshape(-1))
        return flat.reshape(self.shape)
