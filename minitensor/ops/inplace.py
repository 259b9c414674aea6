"""Ops that exist for the in-place forms: copy_, fill_/zero_, and x[index] = value.

Each computes the new value out of place; minitensor/inplace.py writes it into the
tensor and makes it the tensor's history (torch's rebase_history).
"""
from ..autograd import Function
from ..backend import xp_of
from .broadcast import unbroadcast
from .index import index_get, index_put


class Copy(Function):
    """a.copy_(src): src broadcast to a's shape and cast to a's dtype. The old a gets
    a zero gradient, src the gradient summed back to its shape and dtype."""

    def forward(self, a, src):
        self.src_shape, self.src_dtype = src.shape, src.dtype
        return xp_of(a).broadcast_to(src.astype(a.dtype, copy=False), a.shape).copy()

    def backward(self, g):
        return xp_of(g).zeros_like(g), unbroadcast(g, self.src_shape).astype(self.src_dtype, copy=False)


class Fill(Function):
    """a.fill_(value) / a.zero_(): a constant; the old a gets a zero gradient."""

    def forward(self, a, value=0):
        return xp_of(a).full(a.shape, value, dtype=a.dtype)

    def backward(self, g):
        return xp_of(g).zeros_like(g)


class IndexPut(Function):
    """a[index] = value for a TorchIndex: the value broadcasts to the indexed shape.
    The overwritten positions of a get no gradient; value gets the gradient there."""

    def forward(self, a, value, index=None):
        self.value_shape = value.shape
        if index.advanced is None:
            self.index = index                   # ints and slices only: nothing to free
        else:
            self.save_for_backward(index)        # holds index arrays
        out = a.copy()
        index_put(out, index, value)
        return out

    def backward(self, g):
        index = self.saved if self.saved else self.index
        grad_a = g.copy()
        index_put(grad_a, index, 0)
        grad_value = None
        if self.needs_grad[1]:
            grad_value = unbroadcast(index_get(g, index), self.value_shape)
            if grad_value.base is not None:          # a view of g: give value its own array
                grad_value = grad_value.copy()
        return grad_a, grad_value


class Clone(Function):
    """x.clone(): a copy in its own memory that stays in the graph."""

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g
