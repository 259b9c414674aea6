"""torch.special's names: `mt.special.erf(x)`, `mt.special.gammaln(x)`, ...

Each is differentiable; they call Tensor methods or the Functions of ops/gamma.py,
ops/special.py and ops/pointwise_more.py. Names torch.special has that are missing
here (the Bessel J/Y/K families, zeta, gammainc, the orthogonal polynomials, airy_ai)
raise AttributeError.
"""
import math

from .ops import gamma as GM
from .ops import pointwise_more as PM
from .tensor import Tensor

_SQRT_HALF = math.sqrt(0.5)


def _t(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"special.{op}: expected a Tensor, got {type(x).__name__}")
    return x._as_float()


def erf(input):
    return _t('erf', input).erf()


def erfc(input):
    return _t('erfc', input).erfc()


def erfinv(input):
    return _t('erfinv', input).erfinv()


def erfcx(input):
    """exp(x^2) erfc(x), without overflow."""
    return PM.Erfcx.apply(_t('erfcx', input))


def expit(input):
    """The logistic sigmoid."""
    return _t('expit', input).sigmoid()


def logit(input, eps=None):
    return _t('logit', input).logit(eps)


def exp2(input):
    return _t('exp2', input).exp2()


def expm1(input):
    return _t('expm1', input).expm1()


def log1p(input):
    return _t('log1p', input).log1p()


def gammaln(input):
    return _t('gammaln', input).lgamma()


def digamma(input):
    return _t('digamma', input).digamma()


psi = digamma


def polygamma(n, input):
    return _t('polygamma', input).polygamma(n)


def multigammaln(input, p):
    return _t('multigammaln', input).mvlgamma(p)


def i0(input):
    return _t('i0', input).i0()


def i0e(input):
    """exp(-|x|) i0(x)."""
    return GM.I0e.apply(_t('i0e', input))


def i1(input):
    """The modified Bessel function of the first kind, order 1."""
    return GM.I1.apply(_t('i1', input))


def i1e(input):
    """exp(-|x|) i1(x)."""
    return GM.I1e.apply(_t('i1e', input))


def sinc(input):
    return _t('sinc', input).sinc()


def entr(input):
    """-x log x elementwise (0 at 0, -inf for x < 0)."""
    return PM.Entr.apply(_t('entr', input))


def xlogy(input, other):
    if not isinstance(input, Tensor):       # torch accepts a scalar first argument
        input = other._operand(input, 'xlogy')
    return input.xlogy(other)


def xlog1py(input, other):
    """input * log1p(other), 0 where input == 0."""
    if not isinstance(input, Tensor):
        input = other._operand(input, 'xlog1py')
    return input._binary(other, PM.Xlog1py, 'xlog1py', float_result=True)


def ndtr(input):
    """The standard normal CDF."""
    return (_t('ndtr', input) * -_SQRT_HALF).erfc() * 0.5


def ndtri(input):
    """The inverse of ndtr (the standard normal quantile)."""
    return (_t('ndtri', input) * 2 - 1).erfinv() * math.sqrt(2)


def log_ndtr(input):
    """log of the standard normal CDF (erfc keeps the lower tail's relative accuracy)."""
    return ((_t('log_ndtr', input) * -_SQRT_HALF).erfc() * 0.5).log()


def round(input, decimals=0):
    return input.round(decimals=decimals)


def softmax(input, dim, dtype=None):
    x = input if dtype is None else input.to(dtype)
    return x.softmax(dim)


def log_softmax(input, dim, dtype=None):
    x = input if dtype is None else input.to(dtype)
    return x.log_softmax(dim)


def logsumexp(input, dim, keepdim=False):
    return input.logsumexp(dim, keepdim)
