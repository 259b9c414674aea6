"""Indexing: x[index] and its backward, a scatter-add that counts repeated indices."""
from ..autograd import Function
from ..backend import index_add_rows, scatter_add, xp_of


def is_advanced(index):
    """True if the index contains arrays (gather), False for ints/slices/None/... only."""
    return any(hasattr(i, 'shape') and getattr(i, 'ndim', 0) > 0 for i in index)


class GetItem(Function):
    """out = a[index]. `index` is a tuple of ints, slices, None, Ellipsis and int arrays."""

    def forward(self, a, index=()):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        xp = xp_of(g)
        index = self.index
        if (len(index) == 1 and hasattr(index[0], 'ndim') and index[0].ndim == 1
                and index[0].dtype.kind in 'iu'):
            # embedding lookup of rows: the sort/reduceat (CPU) or atomic (GPU) path
            return index_add_rows(self.shape[0], index[0], g)
        grad = xp.zeros(self.shape, dtype=g.dtype)
        if is_advanced(index):
            return scatter_add(grad, index, g)   # repeated indices must all count
        grad[index] = g                          # a view: every element appears once
        return grad


class Embedding(Function):
    """weight[idx] for an integer array idx of any shape: (..., ) -> (..., dim)."""

    def forward(self, weight, idx=None):
        self.num_rows, self.idx = weight.shape[0], idx
        return weight[idx]

    def backward(self, g):                       # rows picked k times get k contributions
        flat_idx = self.idx.reshape(-1)
        return index_add_rows(self.num_rows, flat_idx, g.reshape(flat_idx.size, -1))
