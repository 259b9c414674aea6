"""Special functions without SciPy: erf, erfc, erfinv on arrays of either backend, and
their differentiable ops.

erf: the Taylor series of degree 7 (float32: 3) about the nearest point of a grid of
step 1/64, with tabulated erf(x0) (below): no branch, a dozen array operations.
erfc needs its relative accuracy deep in the tail, where 1 - erf(x) would be 0, so it
is piecewise polynomials fitted to float64 (or float32) rounding by
tools/fit_special.py (coefficients in special_coefs.py):
  |x| < B        erfc(x) = 1 - x * P(x^2)
  B <= |x| < T   erfc(x) = exp(-x^2) * R_k(x)          (R = exp(x^2) erfc(x) is smooth)
  T <= |x|       erfc(x) = exp(-x^2) / x * S(1/x^2)    (the asymptotic tail)
and erfc(-x) = 2 - erfc(x). Each piece is evaluated only on its own elements.
exp(-x^2) is exp(-h^2) exp(-(x-h)(x+h)) with h = x rounded to 1/16 (h^2 is exact),
which keeps erfc's relative accuracy where x^2 is large.
erfinv: Halley's method on erf from a closed-form start.
On the GPU, float32 arrays use CUDA's own erf/erfc/erfinv (minitensor/cuda/special.py).
"""
import math

import numpy as np

from .. import cuda
from ..autograd import Function
from ..backend import is_gpu, xp_of
from . import special_coefs
from .precision import float32_math

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_ERFC_TABLE = special_coefs.FLOAT64
_ERFC_ZERO = 28.0        # erfc(x) = 0 in float64 beyond ~27.3; clipping there keeps exp finite


def _horner(coefs, s):
    """sum coefs[k] s^k, in place on one temporary."""
    p = s * coefs[-1]
    p += coefs[-2]
    for c in coefs[-3::-1]:
        p *= s
        p += c
    return p


def _exp_neg_square(x):
    """exp(-x^2) for 0 <= x <= 28, accurate to a few ulps (x^2 itself would not be)."""
    xp = xp_of(x)
    h = xp.floor(x * 16) / 16                   # at most 9 significant bits: h*h is exact
    return xp.exp(-(h * h)) * xp.exp(-(x - h) * (x + h))


def _erfc_large(a, table):
    """erfc(a) for a >= B (and NaN), from the pieces and the tail."""
    xp = xp_of(a)
    _, pieces, (tail_from, S) = table
    out = a.copy()                               # NaN stays NaN: no piece selects it
    for lo, hi, R in pieces:
        m = (a >= lo) & (a < hi)
        if m.any():
            x = a[m]
            out[m] = _exp_neg_square(x) * _horner(R, (2 * x - (lo + hi)) * (1 / (hi - lo)))
    m = a >= tail_from
    if m.any():
        x = xp.minimum(a[m], _ERFC_ZERO)
        out[m] = _exp_neg_square(x) / x * _horner(S, (2 * tail_from * tail_from) / (x * x) - 1)
    return out


def _working(x):
    """(x as float32 or float64, the dtype to return or None): float16 goes via float32."""
    if x.dtype.name in ('float32', 'float64'):
        return x, None
    return x.astype('float32'), x.dtype


# erf near a grid point x0 = k / 64 (|x - x0| = |d| <= 1/128) is its Taylor series:
#   erf(x0 + d) = erf(x0) + 2/sqrt(pi) e^{-x0^2} sum_{n>=1} (-1)^{n-1} H_{n-1}(x0) d^n / n!
# (H the Hermite polynomials, since the n-th derivative of e^{-x^2} is (-1)^n H_n e^{-x^2}).
# Degree 7 leaves under 1e-18 (float64), degree 3 under 1e-9 (float32). No branch:
# |x| >= 6 clips to the last grid point, where erf is 1 in both dtypes; NaN flows through d.
_STEPS, _RANGE = 64, 6


def _erf_table(degree):
    """Rows k = -384..384: erf(x0) and the Taylor coefficients of degree 1..degree."""
    x0 = np.arange(-_RANGE * _STEPS, _RANGE * _STEPS + 1) / _STEPS
    cols = [np.array([math.erf(v) for v in x0])]
    scale = _TWO_OVER_SQRT_PI * np.exp(-x0 * x0)
    h_prev, h = np.zeros_like(x0), np.ones_like(x0)          # H_{-1}, H_0
    for n in range(1, degree + 1):
        cols.append(scale * (-1) ** (n - 1) * h / math.factorial(n))
        h_prev, h = h, 2 * x0 * h - 2 * (n - 1) * h_prev
    return cols


_ERF_TABLE = _erf_table(7)
_tables_on = {}                                  # (xp, dtype) -> the table as xp arrays


def _grid(x):
    """(k + 384 as indices, k / 64, d) for the grid point k / 64 nearest to x.

    In place where possible: fresh large arrays cost page faults on the CPU.
    """
    xp = xp_of(x)
    d = x * _STEPS                               # exact (a power of 2)
    xp.clip(d, -_RANGE * _STEPS, _RANGE * _STEPS, out=d)          # NaN stays NaN
    x0 = xp.rint(d)
    d -= x0
    d *= 1 / _STEPS                              # exact: x - x0
    xp.fmax(x0, -_RANGE * _STEPS, out=x0)        # NaN -> a valid row (d carries the NaN)
    index = x0.astype('intp')
    index += _RANGE * _STEPS
    x0 *= 1 / _STEPS
    return index, x0, d


def _take(table, index, out=None):
    """table[index] for in-range indices (NumPy's take checks bounds unless told to wrap)."""
    return table.take(index, out=out) if is_gpu(table) else table.take(index, out=out, mode='wrap')


_CHUNK = 16000      # CPU: temporaries under glibc's 128 KiB mmap threshold, and in cache


def erf(x):
    """The error function, elementwise, accurate to about 1 ulp in float64 and float32."""
    if cuda.fusable(x):
        return cuda.erf(x)
    x, back = _working(x)
    xp = xp_of(x)
    if x.size > _CHUNK and not is_gpu(x):
        # a dozen temporaries of x's size would each be fresh pages (page faults cost more
        # than the arithmetic); in chunks they come from the heap and stay in cache
        flat = x.reshape(-1)
        out = xp.empty_like(flat)
        for i in range(0, flat.size, _CHUNK):
            out[i:i + _CHUNK] = _erf(flat[i:i + _CHUNK])
        out = out.reshape(x.shape)
    else:                                        # (1-d: NumPy turns 0-d results into scalars)
        out = _erf(x.reshape(-1)).reshape(x.shape)
    return out if back is None else out.astype(back)


def _erf(x):
    """erf on a float32 or float64 array (the math; erf() above dispatches and chunks)."""
    xp = xp_of(x)
    index, x0, d = _grid(x)
    key = (xp, x.dtype)
    if key not in _tables_on:
        _tables_on[key] = [xp.asarray(c, dtype=x.dtype) for c in _ERF_TABLE]
    table = _tables_on[key]
    if x.dtype.name == 'float32':                # degree 3, the coefficients computed in place
        # erf(x0) + 2/sqrt(pi) e^{-x0^2} (d - x0 d^2 + (2 x0^2 - 1)/3 d^3), in place
        c1 = x0 * x0
        q = c1 * (2 / 3)
        xp.negative(c1, out=c1)
        xp.exp(c1, out=c1)
        c1 *= _TWO_OVER_SQRT_PI
        q -= 1 / 3
        q *= d
        q -= x0
        q *= d
        q += 1
        q *= d
        q *= c1
        q += _take(table[0], index, out=x0)
        out = q
    else:                                        # float64: degree 7 from the table
        out = _take(table[-1], index)
        out *= d
        for c in table[-2:0:-1]:
            out += _take(c, index, out=x0)
            out *= d
        out += _take(table[0], index, out=x0)
    return xp.copysign(out, x, out=out)          # erf is odd: erf(-0.0) is -0.0, as torch


def erfc(x):
    """1 - erf(x), with full relative accuracy where it is tiny (large x)."""
    if cuda.fusable(x):
        return cuda.erfc(x)
    back = x.dtype
    x = x.astype('float64')                      # not the hot path: float32 goes via float64
    xp = xp_of(x)
    table = _ERFC_TABLE
    bound, P = table[0]
    a = xp.abs(x)
    out = xp.empty_like(x)
    small = a < bound
    xs = x[small]
    out[small] = 1 - xs * _horner(P, xs * xs * (2 / (bound * bound)) - 1)
    big = ~small
    if big.any():
        xb = x[big]
        e = _erfc_large(a[big], table)
        out[big] = xp.where(xb < 0, 2 - e, e)
    return out.astype(back, copy=False)


def erfinv(y):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside); computed in float64."""
    if cuda.fusable(y):
        return cuda.erfinv(y)
    xp = xp_of(y)
    back = y.dtype
    y = y.astype('float64')
    a = xp.abs(y)
    inside = a < 1                               # NaN, |y| >= 1: answered at the end
    a = xp.where(inside, a, 0.0)
    # start: Winitzki's closed form (relative error < 2e-3), and the series near 0
    k = 0.147
    w = xp.log((1 - a) * (1 + a))                # log(1 - a^2) without cancelling
    c = 2 / (math.pi * k) + w / 2
    x = xp.sqrt(xp.sqrt(c * c - w / k) - c)
    x = xp.where(a < 1e-3, a * (math.sqrt(math.pi) / 2) * (1 + (math.pi / 12) * a * a), x)
    # Halley on f(x) = erf(x) - a (f' = 2/sqrt(pi) e^{-x^2}, f'' = -2x f'): cubic convergence.
    # Past a = 0.5, f is computed as (1 - a) - erfc(x): 1 - a is exact there, erf(x) - a is not.
    far = a > 0.5
    finite = xp.isfinite(x)
    xf = xp.where(finite, x, 1.0)
    for _ in range(3):
        f = xp.where(far, (1 - a) - erfc(xf), erf(xf) - a)
        d = _TWO_OVER_SQRT_PI * xp.exp(-xf * xf)
        xf = xf - f / (d + xf * f)
    x = xp.where(finite, xf, x)
    x = xp.where(inside, x, xp.where(xp.abs(y) == 1, math.inf, math.nan))
    return xp.asarray(xp.copysign(x, y).astype(back))


def _horner_into(coefs, s, out):
    """sum coefs[k] s^k into `out` (same shape as s): 2 (n - 1) in-place operations."""
    xp = xp_of(s)
    xp.multiply(s, coefs[-1], out=out)
    out += coefs[-2]
    for c in coefs[-3::-1]:
        out *= s
        out += c
    return out


_MILLS_T, _MILLS_P, _MILLS_Q = special_coefs.MILLS32


def gelu_parts(x):
    """(Phi(x), x exp(-x^2 / 2)) of a float32 array, Phi the standard normal CDF: GELU's
    forward is x Phi(x), its derivative Phi(x) + x exp(-x^2 / 2) / sqrt(2 pi).

    Phi(-t) = exp(-t^2 / 2) P(t) / Q(t) for t = |x| (a rational fit of the Mills ratio,
    special_coefs.MILLS32), and Phi(x) = 1 - Phi(-x) for x > 0, chosen without a branch
    as |[x > 0] - Phi(-|x|)|. About 30 float32 array operations, each in place (no erf
    call): Phi has float32's relative accuracy on both sides, even far in the left tail
    (where 1 + erf(x / sqrt 2) cancels), and is exactly 0 or 1 once exp underflows.
    """
    if x.ndim == 0:                              # NumPy makes 0-d results scalars (no out=)
        return tuple(v.reshape(()) for v in gelu_parts(x.reshape(1)))
    xp = xp_of(x)
    xc = xp.clip(x, -_MILLS_T, _MILLS_T)         # the fit's range: exp(-x^2/2) is 0 past it
    t = xp.abs(xc)
    e = x * x
    e *= -0.5
    xp.exp(e, out=e)                             # exp(-x^2 / 2), from x itself (not clipped)
    cdf = _horner_into(_MILLS_P, t, xp.empty_like(x))
    q = _horner_into(_MILLS_Q, t, xp.empty_like(x))
    cdf *= e
    cdf /= q                                     # Phi(-|x|), in [0, 1/2]
    xp.greater(x, 0, out=t)                      # 1.0 where x > 0 (NaN: 0, so NaN stays)
    t -= cdf
    xp.abs(t, out=cdf)                           # 1 - Phi(-x) for x > 0, else Phi(x)
    e *= xc                                      # x exp(-x^2 / 2) (0, not NaN, at +-inf)
    return cdf, e


# ---------------------------------------------------------------- differentiable ops


@float32_math
class Erf(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return erf(a)

    def backward(self, g):                       # d erf(a)/da = 2/sqrt(pi) e^{-a^2}
        (a,) = self.saved
        return g * (_TWO_OVER_SQRT_PI * xp_of(a).exp(-a * a))


@float32_math
class Erfc(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return erfc(a)

    def backward(self, g):                       # d erfc(a)/da = -2/sqrt(pi) e^{-a^2}
        (a,) = self.saved
        return g * (-_TWO_OVER_SQRT_PI * xp_of(a).exp(-a * a))


@float32_math
class Erfinv(Function):
    def forward(self, a):
        out = erfinv(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):                       # d erfinv(a)/da = sqrt(pi)/2 e^{erfinv(a)^2}
        (out,) = self.saved
        return g * ((math.sqrt(math.pi) / 2) * xp_of(out).exp(out * out))
