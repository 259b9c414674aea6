"""Elementwise ops: forward and the local derivative side by side.

Binary ops broadcast; their backward sums the gradient back to each input's shape
with `unbroadcast`. In every backward, `g` is dLoss/dOutput.
"""
import math

from .. import cuda
from ..autograd import Function
from ..backend import is_gpu, xp_of
from .broadcast import unbroadcast
from .precision import float32_math
from .special import erf, gelu_parts

# ---------------------------------------------------------------- binary


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):                       # d(a+b)/da = 1, d(a+b)/db = 1
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):                       # d(a-b)/da = 1, d(a-b)/db = -1
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(-g, sb)


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):                       # d(ab)/da = b, d(ab)/db = a
        a, b = self.saved
        ga = unbroadcast(g * b, a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(g * a, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g):                       # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        a, b = self.saved
        ga = unbroadcast(g / b, a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(-g * a / (b * b), b.shape) if self.needs_grad[1] else None
        return ga, gb


class Pow(Function):
    """a ** b with both tensors (the exponent may require grad too)."""

    def forward(self, a, b):
        out = a ** b
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        xp = xp_of(a)
        ga = gb = None
        if self.needs_grad[0]:                   # b a^(b-1); 0 where b == 0, even at a = 0 (torch)
            da = xp.where(b == 0, 0, b * a ** xp.where(b == 0, 1, b - 1))
            ga = unbroadcast(g * da, a.shape)
        if self.needs_grad[1]:                   # a^b ln a; 0 where a == 0 and b >= 0 (torch),
            zero = (a == 0) & (b >= 0)           # NaN for a < 0 (ln of a negative number)
            db = xp.where(zero, 0, out * xp.log(xp.where(zero, 1, a)))
            gb = unbroadcast(g * db, b.shape)
        return ga, gb


@float32_math
class PowScalar(Function):
    """a ** p for a Python number p: the common case, one cheap backward."""

    def forward(self, a, p):
        self.p = p
        self.save_for_backward(a)
        return a ** p

    def backward(self, g):                       # d(a^p)/da = p a^(p-1); 0 for p = 0 (torch)
        (a,) = self.saved
        p = self.p
        if p == 0:
            return xp_of(g).zeros_like(g)
        if p == 2:
            return g * (2 * a)
        return g * (p * a ** (p - 1))


class Maximum(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return xp_of(a).maximum(a, b)

    def backward(self, g):                       # gradient goes to the larger; ties split
        a, b = self.saved
        share_a = ((a > b) + 0.5 * (a == b)).astype(g.dtype)
        return (unbroadcast(g * share_a, a.shape),
                unbroadcast(g * (1 - share_a), b.shape))


class Minimum(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return xp_of(a).minimum(a, b)

    def backward(self, g):
        a, b = self.saved
        share_a = ((a < b) + 0.5 * (a == b)).astype(g.dtype)
        return (unbroadcast(g * share_a, a.shape),
                unbroadcast(g * (1 - share_a), b.shape))


# ---------------------------------------------------------------- unary


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Function):
    def forward(self, a):
        out = xp_of(a).exp(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # d(e^a)/da = e^a
        (out,) = self.saved
        return g * out


class Log(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).log(a)

    def backward(self, g):                       # d(ln a)/da = 1/a
        (a,) = self.saved
        return g / a


class Sqrt(Function):
    def forward(self, a):
        out = xp_of(a).sqrt(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # d(sqrt a)/da = 1 / (2 sqrt a)
        (out,) = self.saved
        return g / (2 * out)


class Tanh(Function):
    def forward(self, a):
        out = xp_of(a).tanh(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # d(tanh a)/da = 1 - tanh^2 a
        (out,) = self.saved
        return g * (1 - out * out)


@float32_math
class Sigmoid(Function):
    def forward(self, a):
        xp = xp_of(a)
        # exp of a negative number only, so large |a| cannot overflow
        e = xp.exp(-xp.abs(a))
        out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # d(sigma)/da = sigma (1 - sigma)
        (out,) = self.saved
        return g * out * (1 - out)


class ReLU(Function):
    def forward(self, a):
        self.fused = cuda.fusable(a)
        if self.fused:                           # saves the output: y <= 0 exactly where a <= 0
            y = cuda.relu_forward(a)
            self.save_for_backward(y)
            return y
        self.save_for_backward(~(a <= 0))        # NaN passes its gradient, as torch's
        return xp_of(a).maximum(a, 0)            # maximum propagates NaN, as torch's relu

    def backward(self, g):                       # 0 where a <= 0, else 1
        (positive,) = self.saved
        if self.fused:                           # `positive` is the saved output y
            return cuda.relu_backward(g, positive)
        return g * positive


@float32_math
class GELU(Function):
    """GELU(a) = a * Phi(a), Phi the standard normal CDF; approximate='tanh' as in GPT-2."""

    def forward(self, a, approximate='none'):
        xp = xp_of(a)
        self.approximate = approximate
        if approximate == 'tanh':
            # tanh(k (a + 0.044715 a^3)) with the cube as a * a * a: a ** 3 is a slow pow.
            # In place (a 0-d a as 1-d: NumPy makes 0-d results scalars, which have no out=)
            x = a.reshape(1) if a.ndim == 0 else a
            t = x * x
            t *= _GELU_K * 0.044715
            t += _GELU_K
            t *= x
            xp.tanh(t, out=t)                    # kept: backward needs it
            self.save_for_backward(a, t)
            out = t + 1
            out *= x
            out *= 0.5
            return out if a.ndim else out.reshape(())
        # float32 on the CPU: Phi from its own rational fit, several times cheaper than erf
        # there; elsewhere (float64 exact for gradcheck, the GPU's CUDA erf) through erf
        self.mills = a.dtype == xp.float32 and not is_gpu(a)
        if self.mills:
            cdf, a_exp = gelu_parts(a)           # Phi(a), a exp(-a^2 / 2)
            self.save_for_backward(cdf, a_exp)
            return a * cdf
        cdf = erf(a * (1 / math.sqrt(2)))
        cdf += 1
        cdf *= 0.5                                # Phi(a), kept: backward needs it too
        self.save_for_backward(a, cdf)
        return a * cdf

    def backward(self, g):
        xp = xp_of(g)
        if self.approximate == 'tanh':           # product rule through the tanh:
            a, t = self.saved                    # (1 + t + a (1 - t^2) k (1 + 3 0.044715 a^2)) / 2
            a = a.reshape(t.shape)               # 1-d if 0-d, as in forward
            d = a * a
            d *= 3 * 0.044715 * _GELU_K
            d += _GELU_K
            u = t * t
            xp.subtract(1, u, out=u)
            u *= d
            u *= a
            u += 1
            u += t
            u *= 0.5
            u *= g.reshape(t.shape)
            return u if g.ndim else u.reshape(())
        if self.mills:                           # Phi + a phi(a), phi(a) = exp(-a^2 / 2) / sqrt(2 pi)
            cdf, a_exp = self.saved
            d = xp.asarray(a_exp * (1 / math.sqrt(2 * math.pi)))   # an array even for 0-d
            d += cdf
            d *= g
            return d
        a, cdf = self.saved
        pdf = xp.exp(-0.5 * a * a)
        pdf *= 1 / math.sqrt(2 * math.pi)         # phi(a)
        pdf *= a
        pdf += cdf
        return g * pdf                           # d(a Phi(a))/da = Phi + a phi


_GELU_K = math.sqrt(2 / math.pi)


class Abs(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return xp_of(a).abs(a)

    def backward(self, g):                       # sign(a); 0 at a == 0, as torch
        (a,) = self.saved
        return g * xp_of(a).sign(a)


class Clamp(Function):
    def forward(self, a, min=None, max=None):
        xp = xp_of(a)
        keep = xp.ones(a.shape, dtype=bool)
        if min is not None:
            keep &= a >= min
        if max is not None:
            keep &= a <= max
        self.save_for_backward(keep)
        return xp.clip(a, min, max).astype(a.dtype, copy=False)

    def backward(self, g):                       # 1 inside [min, max], 0 where clipped
        (keep,) = self.saved
        return g * keep


class Where(Function):
    """where(cond, a, b): cond is a bool array (not differentiated)."""

    def forward(self, a, b, cond=None):
        xp = xp_of(a)
        self.save_for_backward(cond)
        self.shapes = a.shape, b.shape
        return xp.where(cond, a, b)

    def backward(self, g):
        sa, sb = self.shapes
        zero = g.dtype.type(0)
        xp = xp_of(g)
        (cond,) = self.saved
        return (unbroadcast(xp.where(cond, g, zero), sa),
                unbroadcast(xp.where(cond, zero, g), sb))


class MaskedFill(Function):
    """a where mask is False, value where it is True (mask broadcasts to a)."""

    def forward(self, a, mask=None, value=0.0):
        xp = xp_of(a)
        self.a_shape = a.shape
        self.save_for_backward(mask)
        return _fill_where(xp, a, mask, a.dtype.type(value))

    def backward(self, g):                       # filled positions get no gradient
        xp = xp_of(g)
        (mask,) = self.saved
        return unbroadcast(_fill_where(xp, g, mask, g.dtype.type(0)), self.a_shape)


def _fill_where(xp, a, mask, value):
    """where(mask, value, a): a copy with a masked write when the mask does not enlarge a
    (a third cheaper than where on the CPU), else where, which broadcasts both."""
    if mask.ndim > a.ndim or any(m != 1 and m != n for m, n in zip(mask.shape[::-1], a.shape[::-1])):
        return xp.where(mask, value, a)
    out = xp.array(a, copy=True)                 # an array even when a is a NumPy scalar (0-d gradients)
    xp.copyto(out, value, where=mask)
    return out


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype."""

    def forward(self, a, dtype=None):
        self.in_dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.in_dtype)
