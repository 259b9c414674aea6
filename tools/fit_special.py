"""Fit the polynomial coefficients of erfc in minitensor/ops/special.py (run once; needs mpmath).

    python3 tools/fit_special.py            # writes minitensor/ops/special_coefs.py

Each piece is a Chebyshev interpolant of a smooth function, computed in 50-digit
arithmetic with mpmath, then rewritten as a polynomial in s in [-1, 1] for Horner's
rule; its error is measured in float64 against mpmath over a dense grid.
  small |x| < B: erf(x) = x * P(x^2)                       (s from u = x^2 on [0, B^2])
  piece [lo, hi): erfc(x) = exp(-x^2) * R(x)               (s from x)
  tail  x >= T:   erfc(x) = exp(-x^2) / x * S(1 / x^2)     (s from u = 1/x^2 on [0, 1/T^2])
and a rational P/Q fitted in relative error (Lawson-weighted least squares) for GELU's
float32 CPU path:
  MILLS32 0 <= t <= 15: Phi(-t) = exp(-t^2/2) P(t) / Q(t)    (the normal CDF, in float32)
"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 50


def chebyshev(f, a, b, n):
    """Coefficients c_m of sum c_m T_m(s) interpolating f at n+1 Chebyshev nodes of [a, b]."""
    theta = [mp.pi * (j + mp.mpf(1) / 2) / (n + 1) for j in range(n + 1)]
    vals = [f(a + (b - a) * (mp.cos(t) + 1) / 2) for t in theta]
    c = [2 * mp.fsum(v * mp.cos(m * t) for v, t in zip(vals, theta)) / (n + 1) for m in range(n + 1)]
    c[0] /= 2
    return c


def monomial(c):
    """sum c_m T_m(s) -> coefficients of s^0..s^n (exact in mpmath)."""
    n = len(c) - 1
    T = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    for m in range(2, n + 1):
        prev, prev2 = T[-1], T[-2]
        t = [mp.mpf(0)] + [2 * v for v in prev]
        for i, v in enumerate(prev2):
            t[i] -= v
        T.append(t)
    out = [mp.mpf(0)] * (n + 1)
    for m, cm in enumerate(c):
        for i, v in enumerate(T[m]):
            out[i] += cm * v
    return out


def horner(coefs, s):
    p = np.zeros_like(s) + coefs[-1]
    for c in coefs[-2::-1]:
        p = p * s + c
    return p


def fit(f, a, b, tol, dtype):
    """The lowest degree whose truncation error is under tol (relative to f), with the
    error of its Horner evaluation in `dtype` (what rounding adds)."""
    a, b = mp.mpf(a), mp.mpf(b)
    grid = np.linspace(-1, 1, 401)
    exact = [f(a + (b - a) * (mp.mpf(float(s)) + 1) / 2) for s in grid]
    for n in range(2, 40):
        c = chebyshev(f, a, b, n)
        # the interpolant's error is about the first neglected coefficient's size
        if max(abs(v) for v in c[-2:]) > tol * min(abs(v) for v in exact):
            continue
        coefs = [float(v) for v in monomial(c)]
        got = horner(np.array(coefs, dtype=dtype), grid.astype(dtype)).astype(np.float64)
        err = np.max(np.abs(got / np.array([float(v) for v in exact]) - 1))
        return coefs, err
    raise RuntimeError('no degree under 40 fits')


def tables(dtype):
    """(SMALL, PIECES, TAIL) for one dtype, with a comment line per piece."""
    tol = np.finfo(dtype).eps / 8
    B, edges = 0.5, [0.5, 1, 1.5, 2, 3, 4, 5.25]
    lines = []
    P, err = fit(lambda u: mp.erf(mp.sqrt(u)) / mp.sqrt(u) if u else 2 / mp.sqrt(mp.pi), 0, B * B, tol, dtype)
    lines.append(f"#   |x| < {B}: degree {len(P) - 1}, max rel. error in {dtype} {err:.2e}")
    small = (B, tuple(P))
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        R, err = fit(lambda x: mp.erfc(x) * mp.exp(x * x), lo, hi, tol, dtype)
        lines.append(f"#   [{lo}, {hi}): degree {len(R) - 1}, max rel. error {err:.2e}")
        pieces.append((lo, hi, tuple(R)))
    T = edges[-1]
    S, err = fit(lambda u: mp.erfc(1 / mp.sqrt(u)) * mp.exp(1 / u) / mp.sqrt(u) if u else 1 / mp.sqrt(mp.pi),
                 0, 1 / mp.mpf(T) ** 2, tol, dtype)
    lines.append(f"#   x >= {T}: degree {len(S) - 1}, max rel. error {err:.2e}")
    return lines, (small, tuple(pieces), (T, tuple(S)))


def rational(f, a, b, p, q, dtype_eval=np.float64, nodes=4000, rounds=80):
    """P / Q (degrees p, q; Q(0) = 1) nearest to f on [a, b] in relative error: least
    squares on P - f Q, reweighted toward the largest errors (Lawson's iteration, which
    approaches the minimax fit). Returns (P, Q, max relative error of the fit in float64
    and when evaluated in `dtype_eval` by Horner's rule)."""
    s = a + (b - a) * (1 - np.cos(np.linspace(0, np.pi, nodes))) / 2     # dense at both ends
    F = np.array([float(f(mp.mpf(float(v)))) for v in s])
    weight, q_prev = np.ones(nodes), np.ones(nodes)
    for _ in range(rounds):
        A = np.hstack([s[:, None] ** np.arange(p + 1), -(F[:, None] * s[:, None] ** np.arange(1, q + 1))])
        scale = np.sqrt(weight) / (F * q_prev)
        coef = np.linalg.lstsq(A * scale[:, None], F * scale, rcond=None)[0]
        P, Q = coef[:p + 1], np.concatenate([[1.0], coef[p + 1:]])
        q_prev = horner(Q, s)
        err = horner(P, s) / q_prev / F - 1
        weight = weight * np.abs(err)
        weight /= weight.sum()
    se = s.astype(dtype_eval)
    got = (horner(P.astype(dtype_eval), se) / horner(Q.astype(dtype_eval), se)).astype(np.float64)
    return [float(v) for v in P], [float(v) for v in Q], np.max(np.abs(err)), np.max(np.abs(got / F - 1))


def float32_rationals():
    """MILLS32: Phi(-t) = exp(-t^2 / 2) P(t) / Q(t) for 0 <= t <= T (Phi the standard
    normal CDF), evaluated in float32 by GELU's CPU path."""
    T = 15.0                   # exp(-T^2 / 2) is 0 in float32 past ~14.2
    P, Q, err, err32 = rational(lambda t: mp.erfc(t / mp.sqrt(2)) / 2 * mp.exp(t * t / 2), 0, T, 4, 5,
                                np.float32)
    lines = [f"#   MILLS32, 0 <= t <= {T}: degrees 4/5 in t, max rel. error {err:.2e} "
             f"(evaluated in float32: {err32:.2e})"]
    return lines, (T, tuple(P), tuple(Q))


def main(path):
    out = ['"""Coefficients of erfc and of GELU\'s float32 normal CDF (generated by tools/fit_special.py: do not edit).',
           '',
           'FLOAT64 = (SMALL, PIECES, TAIL): SMALL = (B, P): erf(x) = x * P(s), s = 2 x^2 / B^2 - 1 for |x| < B;',
           'PIECES = ((lo, hi, R), ...): erfc(x) = exp(-x^2) * R(s), s = (2 x - lo - hi) / (hi - lo);',
           'TAIL = (T, S): erfc(x) = exp(-x^2) / x * S(s), s = 2 T^2 / x^2 - 1 for x >= T.',
           'Each polynomial lists the coefficients of s^0, s^1, ... (Horner\'s rule).',
           '"""', '']
    for dtype in ('float64',):
        lines, table = tables(dtype)
        out += [f"# {dtype}:"] + lines + [f"{dtype.upper()} = {table!r}", '']
    lines, mills32 = float32_rationals()
    out += ['# a float32 rational (P, Q: coefficients of t^0, t^1, ...; Q[0] = 1):'] + lines
    out += [f"MILLS32 = {mills32!r}", '']
    with open(path, 'w') as f:
        f.write('\n'.join(out))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'minitensor/ops/special_coefs.py')
