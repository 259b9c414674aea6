"""The gamma family and modified Bessel functions without SciPy, on arrays of either
backend, and their differentiable ops: lgamma, digamma, polygamma, i0, i0e, i1, i1e.

lgamma: Lanczos' approximation (g = 7, 9 terms, ~1e-15 relative in Gamma) for x >= 1/2,
the reflection formula below (torch's values at the poles and infinities). digamma/polygamma: the recurrence
psi^(n)(x) = psi^(n)(x + 1) - (-1)^(n+1) n! / x^(n+1) lifts x to >= 12, where the
asymptotic (Bernoulli) series is below float64 rounding; digamma and trigamma reflect
x < 1/2 first. i0/i1: the power series for |x| <= 30 (positive terms, no cancellation)
and Hankel's asymptotic series beyond (its smallest term there is ~e^-60).
Values at poles follow torch: lgamma(0, -1, ...) = inf, digamma(0) = -inf and NaN at
negative integers.
"""
import math

from ..autograd import Function
from ..backend import xp_of

_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# B_2k / (2k) for the digamma series, B_2k for the polygamma series (k = 1..8)
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_LIFT = 12.0
_MAX_STEPS = 2000


def _lgamma_positive(x):
    """log Gamma(x) for x >= 1/2 (inf at inf)."""
    xp = xp_of(x)
    z = x - 1
    s = xp.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        s += c / (z + i)
    t = z + _LANCZOS_G + 0.5
    with _quiet(xp):
        return _HALF_LOG_2PI + (z + 0.5) * xp.log(t) - t + xp.log(s)


def lgamma(a):
    """log |Gamma(a)| elementwise: inf at 0 and the negative integers and at +-inf."""
    xp = xp_of(a)
    with _quiet(xp):
        small = a < 0.5
        out = _lgamma_positive(xp.where(small, 1 - a, a))
        if small.any():
            # Gamma(x) Gamma(1 - x) = pi / sin(pi x): log|Gamma(x)| = log(pi / |sin(pi x)|) - lgamma(1 - x)
            s = xp.abs(_sin_pi(a))
            refl = math.log(math.pi) - xp.log(s) - out
            out = xp.where(small, refl, out)
            out = xp.where(small & (s == 0), xp.inf, out)        # poles
        out = xp.where(xp.isinf(a), xp.inf, out)
    return out.astype(a.dtype, copy=False)


def _sin_pi(x):
    """sin(pi x), exactly 0 at integers (x reduced mod 2 first, so large x keeps its accuracy)."""
    xp = xp_of(x)
    r = xp.fmod(x, 2.0)
    out = xp.sin(math.pi * r)
    return xp.where(r == xp.trunc(r), 0.0, out)


def _cot_pi(x):
    xp = xp_of(x)
    r = xp.fmod(x, 1.0)                          # cot has period 1
    return xp.cos(math.pi * r) / xp.sin(math.pi * r)


class _quiet:
    """Silence NumPy's divide/invalid warnings inside a block (poles are expected)."""

    def __init__(self, xp):
        self.np = xp if hasattr(xp, 'errstate') and xp.__name__ == 'numpy' else None

    def __enter__(self):
        if self.np is not None:
            self.state = self.np.seterr(all='ignore')

    def __exit__(self, *exc):
        if self.np is not None:
            self.np.seterr(**self.state)


def _lift(x, n):
    """(x lifted to >= _LIFT, the sum of the recurrence's terms sum_k 1/(x+k)^(n+1))."""
    xp = xp_of(x)
    acc = xp.zeros_like(x)
    finite = xp.isfinite(x)
    if not finite.any():
        return x, acc
    steps = int(max(0.0, math.ceil(_LIFT - float(xp.min(xp.where(finite, x, _LIFT))))))
    for _ in range(min(steps, _MAX_STEPS)):
        m = x < _LIFT
        acc += xp.where(m, 1.0 / x ** (n + 1), 0.0)
        x = xp.where(m, x + 1, x)
    if steps > _MAX_STEPS:                       # only polygamma(n >= 2) of x < -2000 gets here
        acc = xp.where(x < _LIFT, xp.nan, acc)
    return x, acc


def digamma(a):
    """psi(a) = d/da log Gamma(a): -inf at 0, NaN at negative integers, as torch."""
    xp = xp_of(a)
    with _quiet(xp):
        small = a < 0.5
        x = xp.where(small, 1 - a, a)            # psi(1 - a) - psi(a) = pi cot(pi a)
        x, acc = _lift(x, 0)
        inv2 = 1.0 / (x * x)
        # sum_k B_2k / (2k x^2k), Horner in 1/x^2
        series = xp.zeros_like(x)
        for k in range(len(_BERNOULLI), 0, -1):
            series = (series + _BERNOULLI[k - 1] / (2 * k)) * inv2
        out = xp.log(x) - 0.5 / x - series - acc
        out = xp.where(x == xp.inf, xp.inf, out)
        if small.any():
            refl = out - math.pi * _cot_pi(a)
            whole = small & (a == xp.floor(a))
            refl = xp.where(whole, xp.nan, refl)
            refl = xp.where(a == 0, xp.where(xp.signbit(a), xp.inf, -xp.inf), refl)   # torch's signs
            out = xp.where(small, refl, out)
    return out.astype(a.dtype, copy=False)


def polygamma(n, a):
    """psi^(n)(a), n >= 1: (-1)^(n+1) n! sum_k 1/(a+k)^(n+1); inf/NaN at the poles as torch."""
    xp = xp_of(a)
    if n == 0:
        return digamma(a)
    with _quiet(xp):
        sign = -1.0 if n % 2 == 0 else 1.0      # (-1)^(n+1)
        fact = math.factorial(n)
        if n == 1:                               # trigamma reflects: psi1(1-x) + psi1(x) = pi^2 / sin^2(pi x)
            small = a < 0.5
            x = xp.where(small, 1 - a, a)
        else:
            small = None
            x = a
        x, acc = _lift(x, n)
        # psi^(n)(x) ~ (-1)^(n+1) [ (n-1)!/x^n + n!/(2 x^(n+1)) + sum_k B_2k (2k+n-1)!/(2k)! / x^(2k+n) ]
        inv = 1.0 / x
        inv2 = inv * inv
        series = xp.zeros_like(x)
        for k in range(len(_BERNOULLI), 0, -1):
            coef = _BERNOULLI[k - 1] * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
            series = (series + coef) * inv2
        tail = (math.factorial(n - 1) + 0.5 * fact * inv + series) * inv ** n
        out = sign * (tail + fact * acc)
        out = xp.where(x == xp.inf, 0.0, out)
        if small is not None and small.any():
            s = _sin_pi(a)
            refl = (math.pi * math.pi) / (s * s) - out
            out = xp.where(small, refl, out)
            out = xp.where(small & (s == 0), xp.inf, out)
        elif n > 1:                              # torch: +-inf at the poles and -inf, NaN at +inf
            whole = (a <= 0) & (a == xp.floor(a))
            out = xp.where(whole, sign * xp.inf, out)
            out = xp.where(a == xp.inf, xp.nan, out)
    return out.astype(a.dtype, copy=False)


# ---------------------------------------------------------------- modified Bessel functions

_SERIES_MAX = 30.0
_SERIES_TERMS = 90
_HANKEL_TERMS = 30


def _bessel_scaled(a, order):
    """exp(-|a|) I_order(|a|) for order 0 or 1 (odd symmetry is the caller's)."""
    xp = xp_of(a)
    x = xp.abs(a)
    with _quiet(xp):
        near = x <= _SERIES_MAX
        xs = xp.where(near, x, 0.0)
        q = xs * xs / 4
        term = xp.ones_like(xs) if order == 0 else xs / 2
        total = term.copy()
        for k in range(1, _SERIES_TERMS):         # term_k = term_{k-1} * q / (k (k + order))
            term = term * q / (k * (k + order))
            total += term
        series = total * xp.exp(-xs)
        far = xp.where(near, _SERIES_MAX + 1, x)
        mu = 4.0 * order * order
        term = xp.ones_like(far)
        total = term.copy()
        for k in range(1, _HANKEL_TERMS):         # (-1)^k prod (mu - (2j-1)^2) / (k! (8x)^k)
            term = term * -(mu - (2 * k - 1) ** 2) / (k * 8.0 * far)
            total += term
        hankel = total / xp.sqrt(2 * math.pi * far)
    return xp.where(near, series, hankel)


def i0e(a):
    return _bessel_scaled(a, 0).astype(a.dtype, copy=False)


def i1e(a):
    xp = xp_of(a)
    return (xp.sign(a) * _bessel_scaled(a, 1)).astype(a.dtype, copy=False)


def i0(a):
    xp = xp_of(a)
    with _quiet(xp):
        return (_bessel_scaled(a, 0) * xp.exp(xp.abs(a))).astype(a.dtype, copy=False)


def i1(a):
    xp = xp_of(a)
    with _quiet(xp):
        return (xp.sign(a) * _bessel_scaled(a, 1) * xp.exp(xp.abs(a))).astype(a.dtype, copy=False)


# ---------------------------------------------------------------- the differentiable ops

class Lgamma(Function):
    """log |Gamma(a)|."""

    def forward(self, a):
        self.save_for_backward(a)
        return lgamma(a)

    def backward(self, g):                       # psi(a)
        (a,) = self.saved
        return g * digamma(a)


class Digamma(Function):
    """psi(a) = d/da lgamma(a)."""

    def forward(self, a):
        self.save_for_backward(a)
        return digamma(a)

    def backward(self, g):                       # psi'(a), trigamma
        (a,) = self.saved
        return g * polygamma(1, a)


class Polygamma(Function):
    """The n-th derivative of digamma, n >= 1."""

    def forward(self, a, n=1):
        self.n = n
        self.save_for_backward(a)
        return polygamma(n, a)

    def backward(self, g):                       # psi^(n+1)(a)
        (a,) = self.saved
        return g * polygamma(self.n + 1, a)


class I0(Function):
    """The modified Bessel function of the first kind, order 0."""

    def forward(self, a):
        self.save_for_backward(a)
        return i0(a)

    def backward(self, g):                       # I0' = I1
        (a,) = self.saved
        return g * i1(a)


class I0e(Function):
    """exp(-|a|) I0(a)."""

    def forward(self, a):
        out = i0e(a)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):                       # i1e(a) - sign(a) i0e(a)
        a, out = self.saved
        return g * (i1e(a) - xp_of(a).sign(a) * out)


class I1(Function):
    """The modified Bessel function of the first kind, order 1."""

    def forward(self, a):
        out = i1(a)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):                       # I1' = I0 - I1 / a; 1/2 where |a| <= eps (and NaN), as torch
        a, out = self.saved
        xp = xp_of(a)
        with _quiet(xp):
            d = xp.where(xp.abs(a) > _eps(a), i0(a) - out / a, 0.5)
        return g * d


class I1e(Function):
    """exp(-|a|) I1(a)."""

    def forward(self, a):
        out = i1e(a)
        self.save_for_backward(a, out)
        return out

    def backward(self, g):                       # i0e(a) - i1e(a) (sign(a) + 1/a); 1/2 where |a| <= eps, as torch
        a, out = self.saved
        xp = xp_of(a)
        with _quiet(xp):
            d = xp.where(xp.abs(a) > _eps(a), i0e(a) - out * (xp.sign(a) + 1 / a), 0.5)
        return g * d


def _eps(a):
    import numpy as np
    return float(np.finfo(a.dtype).eps)
