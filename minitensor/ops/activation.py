"""Activation functions beyond relu/gelu/sigmoid/tanh (those are in elementwise.py).

Each is one Function, forward and derivative side by side (`g` is dLoss/dOutput).
Where a function has a kink, the derivative there and at NaN is torch's: which side
of the comparison the kink falls on is written in the forward's condition.
Compositions torch itself writes in Python (softsign, tanhshrink, glu) are built from
primitives in tensor.py instead.
"""
from ..autograd import Function
from ..backend import xp_of
from .broadcast import unbroadcast
from .precision import float32_math


def _sigmoid(a):
    """1 / (1 + e^-a) without overflow."""
    xp = xp_of(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


@float32_math
class SiLU(Function):
    """a * sigmoid(a) (swish)."""

    def forward(self, a):
        s = _sigmoid(a)
        self.save_for_backward(a, s)
        return a * s

    def backward(self, g):                       # s + a s (1 - s)
        a, s = self.saved
        return g * (s * (1 + a * (1 - s)))


@float32_math
class Softplus(Function):
    """log(1 + e^(beta a)) / beta; a itself where beta a > threshold (as torch)."""

    def forward(self, a, beta=1.0, threshold=20.0):
        xp = xp_of(a)
        self.beta, self.threshold = beta, threshold
        self.save_for_backward(a)
        ba = a * beta                            # (exp of the clipped value: no overflow warning)
        return xp.where(ba > threshold, a, xp.log1p(xp.exp(xp.minimum(ba, threshold))) / beta)

    def backward(self, g):                       # sigmoid(beta a), 1 past the threshold
        (a,) = self.saved
        ba = a * self.beta
        return g * xp_of(a).where(ba > self.threshold, 1, _sigmoid(ba))


@float32_math
class Mish(Function):
    """a * tanh(softplus(a))."""

    def forward(self, a):
        xp = xp_of(a)
        t = xp.tanh(xp.logaddexp(0, a))          # softplus(a) = log(1 + e^a), overflow-free
        self.save_for_backward(a, t)
        return a * t

    def backward(self, g):                       # t + a sigmoid(a) (1 - t^2)
        a, t = self.saved
        return g * (t + a * _sigmoid(a) * (1 - t * t))


@float32_math
class LogSigmoid(Function):
    """log(sigmoid(a)) = min(a, 0) - log(1 + e^-|a|)."""

    def forward(self, a):
        xp = xp_of(a)
        self.save_for_backward(a)
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, g):                       # 1 - sigmoid(a) = sigmoid(-a)
        (a,) = self.saved
        return g * _sigmoid(-a)


@float32_math
class ELU(Function):
    """scale * (a if a > 0 else alpha (e^(input_scale a) - 1)): elu, selu and celu."""

    def forward(self, a, alpha=1.0, scale=1.0, input_scale=1.0):
        xp = xp_of(a)
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale
        self.save_for_backward(a)
        neg = xp.expm1(xp.minimum(a, 0) * input_scale)   # clipped: no overflow on the unused side
        return xp.where(a <= 0, neg * (alpha * scale), a * scale)

    def backward(self, g):                       # alpha scale input_scale e^(input_scale a) for a <= 0
        (a,) = self.saved
        xp = xp_of(a)
        neg = xp.exp(xp.minimum(a, 0) * self.input_scale) * (self.alpha * self.scale * self.input_scale)
        return g * xp.where(a <= 0, neg, self.scale)


@float32_math
class LeakyReLU(Function):
    def forward(self, a, negative_slope=0.01):
        self.slope = negative_slope
        self.save_for_backward(a)
        return xp_of(a).where(a > 0, a, a * negative_slope)

    def backward(self, g):                       # 1 for a > 0, else the slope (0 included)
        (a,) = self.saved
        return g * xp_of(a).where(a > 0, 1, self.slope).astype(g.dtype, copy=False)


class Hardtanh(Function):
    """a clipped to [min_val, max_val] (relu6 is hardtanh(0, 6))."""

    def forward(self, a, min_val=-1.0, max_val=1.0):
        xp = xp_of(a)
        self.save_for_backward(~((a <= min_val) | (a >= max_val)))    # NaN passes, as torch
        return xp.clip(a, min_val, max_val).astype(a.dtype, copy=False)

    def backward(self, g):                       # 1 strictly inside (and at NaN), 0 at and past the bounds
        (inside,) = self.saved
        return g * inside


@float32_math
class Hardswish(Function):
    """a * relu6(a + 3) / 6."""

    def forward(self, a):
        xp = xp_of(a)
        self.save_for_backward(a)
        return a * xp.clip(a + 3, 0, 6) / 6

    def backward(self, g):                       # 0 to -3 (included), a/3 + 1/2 to 3, then 1
        (a,) = self.saved
        xp = xp_of(a)
        return g * xp.where(a <= -3, 0, xp.where(a < 3, a / 3 + 0.5, 1))


@float32_math
class Hardsigmoid(Function):
    """relu6(a + 3) / 6."""

    def forward(self, a):
        xp = xp_of(a)
        self.save_for_backward((a > -3) & (a < 3))
        return xp.clip(a + 3, 0, 6) / 6

    def backward(self, g):                       # 1/6 strictly inside (-3, 3)
        (inside,) = self.saved
        return g * inside / 6


class Threshold(Function):
    """a where a > threshold, else value (NaN stays NaN: the test is a <= threshold)."""

    def forward(self, a, threshold=0.0, value=0.0):
        xp = xp_of(a)
        below = a <= threshold
        self.save_for_backward(below)
        return xp.where(below, a.dtype.type(value), a)

    def backward(self, g):
        (below,) = self.saved
        return xp_of(g).where(below, g.dtype.type(0), g)


@float32_math
class PReLU(Function):
    """a where a > 0, else weight * a; weight already shaped to broadcast over a."""

    def forward(self, a, weight):
        self.save_for_backward(a, weight)
        return xp_of(a).where(a > 0, a, weight * a)

    def backward(self, g):                       # d/da = 1 or weight, d/dweight = a where a <= 0
        a, weight = self.saved
        xp = xp_of(a)
        positive = a > 0
        ga = xp.where(positive, g, weight * g)
        gw = xp.where(positive, 0, a * g)
        return unbroadcast(ga, a.shape), unbroadcast(gw, weight.shape)
