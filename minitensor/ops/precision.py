"""float16/bfloat16 math in float32: the accumulation rule of torch's mixed precision.

A 16-bit float holds 8 (bfloat16) or 11 (float16) significant bits; summing a row of
them in that precision loses whole digits (1024 bfloat16 ones sum to 256). torch
accumulates reductions, softmax, normalisations and losses in float32 and rounds the
result once to the 16-bit dtype; so does the engine:

- `@float32_math` on a Function: float16/bfloat16 inputs are cast up to float32
  before forward and its float32 outputs rounded back to that dtype; backward gets
  float32 gradients and returns each input's gradient in that input's own dtype.
  Float32/float64 inputs pass through untouched (one dtype test per input).
- `@float32_math_on_cpu` on the GEMMs (matmul, linear, conv): the same on the CPU,
  where NumPy has no 16-bit GEMM; on the GPU 16-bit operands stay 16-bit (cuBLAS
  multiplies them on tensor cores with float32 accumulation).

Single elementwise ufuncs (add, exp, tanh, ...) need neither: NumPy (through ml_dtypes)
and CuPy compute each element in float32 and round once, which is torch's result.
"""
import numpy as np

from ..backend import is_gpu
from ..dtypes import LOW_PRECISION

FLOAT32 = np.dtype(np.float32)


def _low_precision(a):
    return a is not None and a.dtype.itemsize == 2 and a.dtype in LOW_PRECISION


def _up(a):
    return a.astype(FLOAT32) if _low_precision(a) else a


def _down(a, dtype):
    return a.astype(dtype) if a is not None and a.dtype == FLOAT32 else a


def float32_math(cls):
    """Class decorator: the Function computes float16/bfloat16 inputs in float32 (see above)."""
    return _wrap(cls, on_gpu=True)


def float32_math_on_cpu(cls):
    """Class decorator for GEMMs: float32 math for 16-bit inputs on the CPU only (the GPU
    multiplies 16-bit operands itself, accumulating in float32)."""
    return _wrap(cls, on_gpu=False)


def _wrap(cls, on_gpu):
    forward, backward = cls.forward, cls.backward

    def forward32(self, *arrays, **options):
        for a in arrays:                       # inlined: this loop runs for every op
            if a is not None and a.dtype.itemsize == 2 and a.dtype in LOW_PRECISION and (on_gpu or not is_gpu(a)):
                break
        else:                                  # no 16-bit input: the plain Function
            return forward(self, *arrays, **options)
        self.low_dtype = a.dtype
        self.in_dtypes = tuple(None if x is None else x.dtype for x in arrays)
        out = forward(self, *[_up(x) for x in arrays], **options)
        if type(out) is tuple:
            return tuple(_down(o, a.dtype) for o in out)
        return _down(out, a.dtype)

    def backward32(self, *grads):
        if self.low_dtype is None:
            return backward(self, *grads)
        grads = [[_up(g) for g in grads[0]]] if type(grads[0]) is list else [_up(g) for g in grads]
        out = backward(self, *grads)
        single = type(out) is not tuple
        out = tuple(g if d not in LOW_PRECISION else _down(g, d)
                    for g, d in zip((out,) if single else out, self.in_dtypes))
        return out[0] if single else out

    forward32.__doc__, backward32.__doc__ = forward.__doc__, backward.__doc__
    forward32.__wrapped__, backward32.__wrapped__ = forward, backward
    cls.forward, cls.backward = forward32, backward32
    cls.low_dtype = None                       # set by forward when an input was 16-bit
    return cls
