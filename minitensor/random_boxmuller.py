"""Box-Muller on blocks of 16 uniforms, rounded the way torch's CPU normal_ rounds.

torch's float32 fill runs avx_mathfun's Cephes-style log/sincos polynomials (its AVX2
kernel, which AVX-512 machines also run), compiled with fused multiply-adds; the
float64 fill calls libm. Rebuilt here step by step in NumPy so the bits agree.
"""
import math

import numpy as np

f32 = np.float32
LOG_COEFFS = [7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
              -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1]
CHUNK = 1 << 12             # blocks of 16 per NumPy pass
EXACT_F64_LIMIT = 1 << 16   # float64 fills up to this size go through libm (math) for exact bits


def fma32(a, b, c):
    """float32 a * b + c with one rounding: the float64 product of two float32s is exact."""
    return (np.multiply(a, b, dtype=np.float64) + c).astype(np.float32)


def fma64(a, b, c):
    """float64 a * b + c with (almost always) one rounding: the product split exactly into
    p + e (Dekker), then p + c summed exactly (Knuth) and the small parts added last."""
    def split(v):
        t = v * 134217729.0                                                  # 2**27 + 1
        hi = t - (t - v)
        return hi, v - hi
    b = np.broadcast_to(np.float64(b), np.shape(a))
    p = a * b
    (ah, al), (bh, bl) = split(a), split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl                        # a * b == p + e exactly
    s = p + c
    bv = s - p
    t = (p - (s - bv)) + (c - bv)                                            # p + c == s + t exactly
    return s + (t + e)


def log32(x):
    """Natural log of positive float32s: exponent split, then a degree-9 polynomial on the mantissa."""
    bits = np.maximum(x, f32(1.17549435e-38)).view(np.int32)
    e = ((bits >> 23) - 0x7f).astype(np.float32) + f32(1)
    m = ((bits & ~0x7f800000) | f32(0.5).view(np.int32)).view(np.float32)   # mantissa in [0.5, 1)
    small = m < f32(0.707106781186547524)
    xm = (m - f32(1)) + np.where(small, m, f32(0))                           # in [sqrt(1/2) - 1, sqrt(2) - 1)
    e = e - small.astype(np.float32)
    z = xm * xm
    y = fma32(f32(LOG_COEFFS[0]), xm, f32(LOG_COEFFS[1]))
    for coeff in LOG_COEFFS[2:]:
        y = fma32(y, xm, f32(coeff))
    y = fma32(y * xm, z, e * f32(-2.12194440e-4))
    y = y - z * f32(0.5)
    return fma32(e, f32(0.693359375), xm + y)                                # log 2 split in two parts


def sincos32(x):
    """(sin x, cos x) of float32s: reduce by multiples of pi/4 in three parts, two polynomials."""
    j = ((np.abs(x) * f32(1.27323954473516)).astype(np.int32) + 1) & ~1      # even octant index
    y = j.astype(np.float32)
    r = fma32(y, f32(-0.78515625), np.abs(x))
    r = fma32(y, f32(-2.4187564849853515625e-4), r)
    r = fma32(y, f32(-3.77489497744594108e-8), r)
    z = r * r
    cos_poly = fma32(f32(2.443315711809948E-005), z, f32(-1.388731625493765E-003))
    cos_poly = fma32(cos_poly, z, f32(4.166664568298827E-002))
    cos_poly = fma32(cos_poly * z, z, -(z * f32(0.5))) + f32(1)
    sin_poly = fma32(f32(-1.9515295891E-4), z, f32(8.3321608736E-3))
    sin_poly = fma32(sin_poly, z, f32(-1.6666654611E-1))
    sin_poly = fma32(sin_poly * z, r, r)
    first = (j & 2) == 0                                                     # octants where sin is the sin polynomial
    s, c = np.where(first, sin_poly, cos_poly), np.where(first, cos_poly, sin_poly)
    s = np.where(np.signbit(x) ^ ((j & 4) != 0), -s, s)
    c = np.where(((~(j - 2)) & 4) != 0, -c, c)
    return s, c


def _libm(fn, x):
    return np.frompyfunc(fn, 1, 1)(x).astype(np.float64)


def box_muller_blocks(u):
    """torch's normal_fill_16 on every block of 16 of u: element j pairs with j + 8."""
    blocks = u.reshape(-1, 2, 8)                                             # (B, 2, 8)
    if u.dtype == np.float32:
        out = np.empty_like(blocks)
        for i in range(0, len(blocks), CHUNK):     # chunks that stay in cache: ~3x faster on 10M
            b = blocks[i:i + CHUNK]
            radius = np.sqrt(f32(-2) * log32(f32(1) - b[:, 0]))
            s, c = sincos32(f32(2 * math.pi) * b[:, 1])
            out[i:i + CHUNK, 0], out[i:i + CHUNK, 1] = radius * c, radius * s
        return out.reshape(-1)
    exact = u.size <= EXACT_F64_LIMIT    # NumPy's SIMD log/sin/cos differ from libm in the last bit at times
    log, cos, sin = ((lambda v: _libm(math.log, v), lambda v: _libm(math.cos, v), lambda v: _libm(math.sin, v))
                     if exact else (np.log, np.cos, np.sin))
    out = np.empty_like(blocks)
    radius = np.sqrt(-2.0 * log(1.0 - blocks[:, 0]))
    theta = (2 * math.pi) * blocks[:, 1]
    np.multiply(radius, cos(theta), out=out[:, 0])
    np.multiply(radius, sin(theta), out=out[:, 1])
    return out.reshape(-1)
