"""Dense linear algebra with closed-form derivatives: inv, det, slogdet, solve (batched over
leading dims, through xp.linalg, which NumPy and CuPy both have)."""
from ..autograd import Function
from ..backend import xp_of
from .broadcast import unbroadcast


def _mT(a):
    return a.swapaxes(-1, -2)


class Inv(Function):
    """A^-1."""

    def forward(self, a):
        out = xp_of(a).linalg.inv(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # -A^-T g A^-T
        (inv,) = self.saved
        inv_t = _mT(inv)
        return -(inv_t @ g @ inv_t)


class Det(Function):
    """det(A)."""

    def forward(self, a):
        xp = xp_of(a)
        out = xp.linalg.det(a)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):                       # g det(A) A^-T (via solve, so no explicit inverse)
        a, det = self.saved
        xp = xp_of(a)
        eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
        inv_t = _mT(xp.linalg.solve(a, eye))
        return (g * det)[..., None, None] * inv_t


class Slogdet(Function):
    """(sign, log|det A|); only the log-magnitude carries a gradient."""

    def forward(self, a):
        xp = xp_of(a)
        sign, logabs = xp.linalg.slogdet(a)
        self.save_for_backward(a)
        self.n_outputs = 2
        return sign, logabs

    def backward(self, grads):                   # d log|det A| = A^-T
        (a,) = self.saved
        g = grads[1]
        xp = xp_of(a)
        if g is None:
            return xp.zeros_like(a)
        eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
        return g[..., None, None] * _mT(xp.linalg.solve(a, eye))


class Solve(Function):
    """X with A X = B (B a matrix or a batch of them; leading dims broadcast)."""

    def forward(self, a, b):
        xp = xp_of(a)
        out = xp.linalg.solve(a, b)
        self.save_for_backward(a, out)
        self.shapes = a.shape, b.shape
        return out

    def backward(self, g):                       # gB = A^-T g, gA = -gB X^T
        a, x = self.saved
        xp = xp_of(a)
        gb = xp.linalg.solve(_mT(a), g)
        ga = -(gb @ _mT(x))
        sa, sb = self.shapes
        return unbroadcast(ga, sa), unbroadcast(gb, sb)
