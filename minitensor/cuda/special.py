"""CUDA's own erf, erfc and erfinv (correctly rounded to about 1 ulp), one launch each.

Portable reference: ops/special.py (the fitted polynomials on any backend).
"""
from .common import elementwise_kernel


def erf(x):
    return elementwise_kernel('T x', 'T y', 'y = erf(x)', 'mt_erf')(x)


def erfc(x):
    return elementwise_kernel('T x', 'T y', 'y = erfc(x)', 'mt_erfc')(x)


def erfinv(x):
    return elementwise_kernel('T x', 'T y', 'y = erfinv(x)', 'mt_erfinv')(x)
