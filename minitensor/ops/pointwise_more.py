"""Pointwise ops of torch.special and the remaining torch pointwise functions that need
their own derivative (the rest are compositions, in tensor_extras.py): entr, xlog1py,
erfcx, and the integer shifts (no derivative).
"""
import math

from ..autograd import Function
from ..backend import xp_of
from .broadcast import unbroadcast
from .gamma import _quiet
from .special import erfc

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


class Entr(Function):
    """-a log a for a > 0, 0 at 0, -inf for a < 0 (torch.special.entr)."""

    def forward(self, a):
        xp = xp_of(a)
        self.save_for_backward(a)
        with _quiet(xp):
            out = -a * xp.log(a)
        out = xp.where(a == 0, 0.0, out)
        return xp.where(a < 0, -xp.inf, out).astype(a.dtype, copy=False)

    def backward(self, g):                       # -(1 + log a): inf at 0, NaN below (as torch)
        (a,) = self.saved
        xp = xp_of(a)
        with _quiet(xp):
            return g * -(1 + xp.log(a))


class Xlog1py(Function):
    """a * log1p(b), with 0 where a == 0 (unless b is NaN)."""

    def forward(self, a, b):
        xp = xp_of(a)
        self.save_for_backward(a, b)
        with _quiet(xp):
            out = a * xp.log1p(b)
        return xp.where((a == 0) & ~xp.isnan(b), 0, out)

    def backward(self, g):                       # d/da = log1p b where a != 0 (else 0), d/db = a / (1 + b)
        a, b = self.saved
        xp = xp_of(a)
        with _quiet(xp):
            da = xp.where((a == 0) & ~xp.isnan(b), 0, xp.log1p(b))
            db = a / (1 + b)
        return unbroadcast(g * da, a.shape), unbroadcast(g * db, b.shape)


_ERFCX_ASYMPTOTIC = 26.0      # exp(x^2) overflows past ~26.6; beyond, the asymptotic series


def erfcx(a):
    """exp(a^2) erfc(a): the product below 26, 1/(x sqrt(pi)) sum (-1)^n (2n-1)!!/(2x^2)^n above."""
    xp = xp_of(a)
    with _quiet(xp):
        near = a < _ERFCX_ASYMPTOTIC
        x = xp.where(near, a, 0.0)
        h = xp.floor(x * 16) / 16                # exp(x^2) = exp(h^2) exp((x-h)(x+h)), h^2 exact
        direct = xp.exp(h * h) * xp.exp((x - h) * (x + h)) * erfc(x)
        far = xp.where(near, _ERFCX_ASYMPTOTIC, a)
        inv = 1 / (2 * far * far)
        term, total = xp.ones_like(far), xp.ones_like(far)
        for n in range(1, 12):
            term = term * -(2 * n - 1) * inv
            total += term
        tail = total / (far * math.sqrt(math.pi))
        out = xp.where(near, direct, tail)
        out = xp.where(a == -xp.inf, xp.inf, out)
    return out.astype(a.dtype, copy=False)


class Erfcx(Function):
    """The scaled complementary error function exp(a^2) erfc(a)."""

    def forward(self, a):
        out = erfcx(a)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):                       # 2 a erfcx(a) - 2 / sqrt(pi)
        a, out = self.saved
        return g * (2 * a * out - _TWO_OVER_SQRT_PI)


def shift(a, b, left):
    """a << b or a >> b on integer arrays, as torch: a shift by a negative amount or by the
    bit width or more gives 0 (left) or the sign fill (right), where C would be undefined."""
    xp = xp_of(a)
    bits = a.dtype.itemsize * 8
    out_of_range = (b < 0) | (b >= bits)
    safe = xp.where(out_of_range, 0, b).astype(a.dtype, copy=False)
    if left:
        return xp.where(out_of_range, 0, xp.left_shift(a, safe)).astype(a.dtype, copy=False)
    fill = xp.where(a < 0, -1, 0) if a.dtype.kind == 'i' else 0
    return xp.where(out_of_range, fill, xp.right_shift(a, safe)).astype(a.dtype, copy=False)


class Logit(Function):
    """log(a / (1 - a)); with eps, a is first clamped to [eps, 1 - eps]."""

    def forward(self, a, eps=None):
        xp = xp_of(a)
        self.eps = eps
        self.save_for_backward(a)
        x = a if eps is None else xp.clip(a, eps, 1 - eps)
        with _quiet(xp):
            return xp.log(x / (1 - x))

    def backward(self, g):                       # 1 / (a (1 - a)); torch's: NaN outside [0, 1], 0 outside [eps, 1-eps]
        (a,) = self.saved
        xp = xp_of(a)
        with _quiet(xp):
            d = g / (a * (1 - a))
        if self.eps is None:
            return xp.where((a < 0) | (a > 1), xp.nan, d)
        return xp.where((a < self.eps) | (a > 1 - self.eps), 0.0, d)


class Copysign(Function):
    """|a| with the sign bit of b; only a gets a gradient (b's is zero), as torch."""

    def forward(self, a, b):
        out = xp_of(a).copysign(a, b)
        self.save_for_backward(a, out)
        self.b_shape = b.shape
        return out

    def backward(self, g):                       # out / a, 0 where a == 0 (NaN at infinities, as torch)
        a, out = self.saved
        xp = xp_of(a)
        with _quiet(xp):
            ratio = xp.where(a == 0, 0.0, out / a)
        return unbroadcast(g * ratio, a.shape), xp.zeros(self.b_shape, dtype=g.dtype)
