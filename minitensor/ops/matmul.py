"""Matrix multiplication with PyTorch semantics: 1-D operands and broadcast batch dims.

For out = a @ b:   dL/da = g @ b^T,   dL/db = a^T @ g,
then each is summed over the batch dims it was broadcast along (unbroadcast).
"""
import numpy as np

from .. import cuda
from ..autograd import Function
from ..cuda.blas import matmul, sum_leading
from .broadcast import unbroadcast
from .precision import float32_math_on_cpu


def swap_last(x):
    return x.swapaxes(-1, -2)


@float32_math_on_cpu
class MatMul(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        # a vector is a (1, k) row on the left, a (k, 1) column on the right; the
        # extra axis is squeezed from the output (and put back in backward)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        self.save_for_backward(a2, b2)
        self.fused = cuda.fusable(a2, b2)        # cuBLAS strided-batched GEMMs, both ways
        out = matmul(a2, b2, self.fused)
        if b.ndim == 1:
            out = out[..., 0]
        if a.ndim == 1:
            out = out[..., 0, :] if b.ndim != 1 else out[..., 0]
        return out

    def backward(self, g):
        a2, b2 = self.saved
        if len(self.b_shape) == 1:
            g = g[..., None]
        if len(self.a_shape) == 1:
            g = g[..., None, :]
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(matmul(g, swap_last(b2), self.fused), a2.shape).reshape(self.a_shape)
        if self.needs_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:
                # (..., n, k) @ (k, m): fold the batch into rows, one GEMM instead of
                # a batched product followed by a sum over the batch
                k, m = b2.shape
                gb = matmul(swap_last(a2.reshape(-1, k)), g.reshape(-1, m), self.fused)
            else:
                gb = unbroadcast(matmul(swap_last(a2), g, self.fused), b2.shape)
            gb = gb.reshape(self.b_shape)
        return ga, gb


@float32_math_on_cpu
class Linear(Function):
    """y = x @ W^T + b with x (..., in), W (out, in), b (out,): nn.Linear's op.

    Backward folds the leading dims into rows so every gradient is one 2-D GEMM:
    dx = g @ W,  dW = g^T @ x,  db = sum of g over rows.
    """

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        self.fused = cuda.fusable(x, weight)      # TF32-aware GEMMs, the bias gradient by GEMV
        # fold the leading dims into rows: NumPy would otherwise run one small GEMM
        # per leading index instead of one large one
        rows = _prod(x.shape[:-1])                # not reshape(-1, in): that fails when in = 0
        out = matmul(x.reshape(rows, x.shape[-1]), weight.T, self.fused)   # (rows, out)
        if bias is not None:
            out += bias                           # out is a fresh array: safe in place
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        x, weight = self.saved
        n_in, n_out = weight.shape[1], weight.shape[0]
        rows = _prod(x.shape[:-1])
        g2 = g.reshape(rows, n_out)               # (rows, out)
        gx = matmul(g2, weight, self.fused).reshape(x.shape) if self.needs_grad[0] else None
        gw = matmul(g2.T, x.reshape(rows, n_in), self.fused) if self.needs_grad[1] else None
        gb = None
        if self.has_bias and self.needs_grad[2]:
            # a 16-bit (GPU) gradient's column sums accumulate in float32, as its GEMMs do
            gb = (sum_leading(g2, 1, self.fused) if g2.itemsize > 2 else
                  g2.sum(axis=0, dtype=np.float32).astype(g2.dtype))
        return gx, gw, gb


def _prod(shape):
    out = 1
    for n in shape:
        out *= n
    return out
