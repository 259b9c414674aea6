"""The pieces of the losses that need a closed form for stability; the rest of each
loss is composed from Tensor ops in nn/losses.py (so every input gets its gradient)."""
from ..autograd import Function
from ..backend import xp_of
from .precision import float32_math


@float32_math
class SoftplusNeg(Function):
    """y = log(1 + exp(-x)), stably: max(-x, 0) + log1p(exp(-|x|)); dy/dx = sigmoid(x) - 1."""

    def forward(self, x):
        xp = xp_of(x)
        self.save_for_backward(x)
        return xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):
        xp = xp_of(g)
        (x,) = self.saved
        e = xp.exp(-xp.abs(x))                   # sigmoid(x) - 1 = -sigmoid(-x), without overflow
        sig_neg = xp.where(x >= 0, e / (1 + e), 1 / (1 + e))
        return -g * sig_neg


@float32_math
class BinaryCrossEntropy(Function):
    """-(y log x + (1 - y) log(1 - x)) per element, logs clamped at -100 as torch.

    dx = (x - y) / max(x (1 - x), 1e-12);  dy = log(1 - x) - log(x) (clamped logs).
    """

    def forward(self, x, y):
        xp = xp_of(x)
        with _quiet(xp):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        self.save_for_backward(x, y, log_x, log_1mx)
        return -(y * log_x + (1 - y) * log_1mx)

    def backward(self, g):
        xp = xp_of(g)
        x, y, log_x, log_1mx = self.saved
        dx = g * (x - y) / xp.maximum(x * (1 - x), x.dtype.type(1e-12)) if self.needs_grad[0] else None
        dy = g * (log_1mx - log_x) if self.needs_grad[1] else None
        return dx, dy


class PickClass(Function):
    """out[i] = x[i, t[i]] for x (M, C) and integer t (M,); each (i, t[i]) is picked once."""

    def forward(self, x, target=None):
        xp = xp_of(x)
        self.shape, self.target = x.shape, target
        return xp.take_along_axis(x, target[:, None], axis=1)[:, 0]

    def backward(self, g):
        xp = xp_of(g)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        dx[xp.arange(self.shape[0]), self.target] = g     # unique cells: plain assignment is safe
        return dx


@float32_math
class VectorNorm(Function):
    """(sum |x|^p)^(1/p) over `axes`; gradient 0 where the norm is 0 (as torch's norm)."""

    def forward(self, x, p=2.0, axes=None, keepdim=False):
        xp = xp_of(x)
        self.p, self.axes, self.keepdim = p, axes, keepdim
        if p == 2:
            n = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            n = xp.abs(x).sum(axis=axes, keepdims=True)
        else:
            n = (xp.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        self.save_for_backward(x, n)
        return n if keepdim else n.reshape([s for i, s in enumerate(n.shape) if i not in axes])

    def backward(self, g):
        xp = xp_of(g)
        x, n = self.saved
        g = g if self.keepdim else xp.expand_dims(g, self.axes)
        safe = xp.where(n > 0, n, n.dtype.type(1))
        if self.p == 2:
            dx = x / safe
        elif self.p == 1:
            dx = xp.sign(x)
        else:
            dx = xp.sign(x) * xp.abs(x) ** (self.p - 1) / safe ** (self.p - 1)
        return xp.where(n > 0, g * dx, g.dtype.type(0))


class _quiet:
    """Silence NumPy's log(0) warnings inside a block (the results are clamped)."""

    def __init__(self, xp):
        self.np = xp if hasattr(xp, 'errstate') else None

    def __enter__(self):
        if self.np is not None:
            self.ctx = self.np.errstate(divide='ignore', invalid='ignore')
            self.ctx.__enter__()

    def __exit__(self, *exc):
        if self.np is not None:
            self.ctx.__exit__(*exc)
