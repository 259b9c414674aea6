"""Pointwise math beyond the arithmetic core: trigonometric, hyperbolic, logs and
exponentials, rounding, and binary functions (atan2, hypot, logaddexp, xlogy, lerp,
remainder, fmod). Forward and derivative side by side; `g` is dLoss/dOutput.

Derivatives at singular points are torch's (noted where they are a choice).
"""
import math

from ..autograd import Function
from ..backend import xp_of
from ..dtypes import is_floating
from .precision import float32_math
from .broadcast import unbroadcast

# ---------------------------------------------------------------- trigonometric


class Sin(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).sin(a)

    def backward(self, g):                       # cos a
        (a,) = self.saved
        return g * xp_of(a).cos(a)


class Cos(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).cos(a)

    def backward(self, g):                       # -sin a
        (a,) = self.saved
        return g * -xp_of(a).sin(a)


class Tan(Function):
    def forward(self, a):
        out = xp_of(a).tan(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # 1 + tan^2 a
        (out,) = self.saved
        return g * (1 + out * out)


class Asin(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).arcsin(a)

    def backward(self, g):                       # 1 / sqrt(1 - a^2)
        (a,) = self.saved
        return g / xp_of(a).sqrt(1 - a * a)


class Acos(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).arccos(a)

    def backward(self, g):                       # -1 / sqrt(1 - a^2)
        (a,) = self.saved
        return -g / xp_of(a).sqrt(1 - a * a)


class Atan(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).arctan(a)

    def backward(self, g):                       # 1 / (1 + a^2)
        (a,) = self.saved
        return g / (1 + a * a)


# ---------------------------------------------------------------- hyperbolic


class Sinh(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).sinh(a)

    def backward(self, g):                       # cosh a
        (a,) = self.saved
        return g * xp_of(a).cosh(a)


class Cosh(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).cosh(a)

    def backward(self, g):                       # sinh a
        (a,) = self.saved
        return g * xp_of(a).sinh(a)


class Asinh(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).arcsinh(a)

    def backward(self, g):                       # 1 / sqrt(a^2 + 1)
        (a,) = self.saved
        return g / xp_of(a).sqrt(a * a + 1)


class Acosh(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).arccosh(a)

    def backward(self, g):                       # 1 / sqrt(a^2 - 1)
        (a,) = self.saved
        return g / xp_of(a).sqrt(a * a - 1)


class Atanh(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).arctanh(a)

    def backward(self, g):                       # 1 / (1 - a^2)
        (a,) = self.saved
        return g / (1 - a * a)


# ---------------------------------------------------------------- logs, exponentials, powers


class Log2(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).log2(a)

    def backward(self, g):                       # 1 / (a ln 2)
        (a,) = self.saved
        return g / (a * math.log(2))


class Log10(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).log10(a)

    def backward(self, g):                       # 1 / (a ln 10)
        (a,) = self.saved
        return g / (a * math.log(10))


class Log1p(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).log1p(a)

    def backward(self, g):                       # 1 / (1 + a)
        (a,) = self.saved
        return g / (1 + a)


class Exp2(Function):
    def forward(self, a):
        out = xp_of(a).exp2(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # 2^a ln 2
        (out,) = self.saved
        return g * (out * math.log(2))


class Expm1(Function):
    def forward(self, a):
        out = xp_of(a).expm1(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # e^a = expm1(a) + 1
        (out,) = self.saved
        return g * (out + 1)


class Rsqrt(Function):
    def forward(self, a):
        xp = xp_of(a)
        out = xp.reciprocal(xp.sqrt(a))
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # -1/2 a^(-3/2) = -out^3 / 2
        (out,) = self.saved
        return g * (-0.5 * out * out * out)


class Reciprocal(Function):
    def forward(self, a):
        out = xp_of(a).reciprocal(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # -1/a^2 = -out^2
        (out,) = self.saved
        return g * -(out * out)


# ---------------------------------------------------------------- piecewise constant


@float32_math
class PiecewiseConstant(Function):
    """floor, ceil, round, trunc, sign: flat between jumps, so the gradient is 0 (torch's
    choice at the jumps too). `fn` is the backend function applied forward."""

    def forward(self, a, fn=None):
        self.shape = a.shape
        return fn(a)

    def backward(self, g):
        return xp_of(g).zeros_like(g)


class Frac(Function):
    def forward(self, a):
        return a - xp_of(a).trunc(a)

    def backward(self, g):                       # a - trunc(a): slope 1 (trunc's is 0)
        return g


class NanToNum(Function):
    """NaN and +-inf replaced by finite values; the replaced ones get no gradient."""

    def forward(self, a, nan=0.0, posinf=None, neginf=None):
        xp = xp_of(a)
        self.save_for_backward(xp.isfinite(a))
        return xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        (finite,) = self.saved
        return g * finite


# ---------------------------------------------------------------- binary


class Atan2(Function):
    """atan2(a, b): the angle of the point (b, a)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return xp_of(a).arctan2(a, b)

    def backward(self, g):                       # (b, -a) / (a^2 + b^2); 0 at the origin (torch)
        a, b = self.saved
        xp = xp_of(a)
        r2 = a * a + b * b
        inv = xp.where(r2 == 0, 0, 1 / xp.where(r2 == 0, 1, r2))
        return unbroadcast(g * b * inv, a.shape), unbroadcast(g * -a * inv, b.shape)


class Hypot(Function):
    def forward(self, a, b):
        out = xp_of(a).hypot(a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g):                       # (a, b) / hypot (NaN at the origin, as torch)
        a, b, out = self.saved
        return unbroadcast(g * a / out, a.shape), unbroadcast(g * b / out, b.shape)


class LogAddExp(Function):
    """log(e^a + e^b) without overflow."""

    def forward(self, a, b):
        xp = xp_of(a)
        self.save_for_backward(a, b)
        m = xp.maximum(a, b)
        with_inf = (a == b) & xp.isinf(a)         # e^a + e^b with a = b = +-inf: just a
        safe = xp.where(with_inf, 0, m)
        out = safe + xp.log1p(xp.exp(-xp.abs(xp.where(with_inf, 0, a - b))))
        return xp.where(with_inf, a, out)

    def backward(self, g):                       # e^a / (e^a + e^b) = sigmoid(a - b)
        a, b = self.saved
        xp = xp_of(a)
        d = a - b                                # NaN where both are the same infinity, as torch
        e = xp.exp(-xp.abs(d))                   # no overflow
        share_a = xp.where(d >= 0, 1 / (1 + e), e / (1 + e))
        share_b = xp.where(d >= 0, e / (1 + e), 1 / (1 + e))
        return unbroadcast(g * share_a, a.shape), unbroadcast(g * share_b, b.shape)


class Xlogy(Function):
    """a * log(b), with 0 where a == 0 (unless b is NaN)."""

    def forward(self, a, b):
        xp = xp_of(a)
        self.save_for_backward(a, b)
        out = a * xp.log(b)
        return xp.where((a == 0) & ~xp.isnan(b), 0, out)

    def backward(self, g):                       # d/da = log b where a != 0 (else 0), d/db = a / b
        a, b = self.saved
        xp = xp_of(a)
        log_b = xp.log(b)
        da = xp.where((a == 0) & ~xp.isnan(b), 0, log_b)
        return unbroadcast(g * da, a.shape), unbroadcast(g * a / b, b.shape)


class Lerp(Function):
    """start + weight (end - start), in torch's two-sided form (exact at weight 0 and 1)."""

    def forward(self, start, end, weight):
        xp = xp_of(start)
        self.save_for_backward(start, end, weight)
        diff = end - start
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    def backward(self, g):                       # d/dstart = 1 - w, d/dend = w, d/dw = end - start
        start, end, weight = self.saved
        return (unbroadcast(g * (1 - weight), start.shape), unbroadcast(g * weight, end.shape),
                unbroadcast(g * (end - start), weight.shape))


class Remainder(Function):
    """a - floor(a / b) b: the sign of b, as Python's %."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        xp = xp_of(a)
        if not is_floating(a.dtype):
            return xp.remainder(a, b)
        # fmod is exact; moving it to b's sign keeps it exact (NumPy's and torch's CPU way;
        # CuPy's remainder computes a - floor(a / b) b, which rounds near multiples of b)
        r = xp.fmod(a, b)
        r = xp.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)
        return xp.where(r == 0, xp.copysign(xp.zeros_like(r), b), r)

    def backward(self, g):                       # d/da = 1, d/db = -(a // b)
        a, b = self.saved
        return unbroadcast(g, a.shape), unbroadcast(g * -xp_of(a).floor_divide(a, b), b.shape)


class Fmod(Function):
    """a - trunc(a / b) b: the sign of a, as C's fmod."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return xp_of(a).fmod(a, b)

    def backward(self, g):                       # d/da = 1, d/db = -trunc(a / b)
        a, b = self.saved
        return unbroadcast(g, a.shape), unbroadcast(g * -xp_of(a).trunc(a / b), b.shape)


class DivRounded(Function):
    """a / b rounded toward zero ('trunc') or down ('floor'): piecewise constant, so no
    gradient flows (as torch)."""

    def forward(self, a, b, rounding_mode='trunc'):
        xp = xp_of(a)
        self.shapes = a.shape, b.shape
        if a.dtype.kind in 'iub':
            q = a // b                              # floor for integers
            if rounding_mode == 'trunc':            # round toward zero where signs differ
                q = q + ((q < 0) & (q * b != a))
            return q
        if rounding_mode == 'trunc':
            return xp.trunc(a / b)
        return xp.floor_divide(a, b)                # Python's floor division (exact near integers)

    def backward(self, g):
        sa, sb = self.shapes
        xp = xp_of(g)
        return xp.zeros(sa, dtype=g.dtype), xp.zeros(sb, dtype=g.dtype)
