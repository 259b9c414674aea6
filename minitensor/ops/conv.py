"""Convolution (1-d, 2-d, any d) as im2col on a strided view plus one GEMM per group.

Shapes: x (N, C, *S), weight (O, C/G, *k), out (N, O, *o), with G groups,
K = C/G * prod(k) numbers per window and P = prod(o) output positions per sample.

forward:   cols = window view of the zero-padded x, copied to (G, K, N*P)
           out_g = weight_g (O/G, K) @ cols_g (K, N*P)
backward:  dweight_g = dout_g (O/G, N*P) @ cols_g^T
           dcols_g = weight_g^T @ dout_g, then col2im: one strided add per kernel
           offset (prod(k) vectorised adds, not a loop over elements)
"""
import itertools

from .. import cuda
from ..autograd import Function
from ..backend import is_gpu, xp_of
from ..cuda.blas import matmul
from .precision import float32_math_on_cpu


def out_size(size, lo, hi, k, stride, dilation):
    """Output length along one dim: floor((size + lo + hi - dilation*(k-1) - 1)/stride) + 1."""
    return (size + lo + hi - dilation * (k - 1) - 1) // stride + 1


def window_view(xp, xpad, n_groups, kernel, out_shape, stride, dilation):
    """A (G, C/G, *k, N, *o) view of xpad (N, C, *Sp) reading each window in place: no copy."""
    n, c = xpad.shape[:2]
    s_n, s_c = xpad.strides[:2]
    s_sp = xpad.strides[2:]
    shape = (n_groups, c // n_groups) + tuple(kernel) + (n,) + tuple(out_shape)
    strides = ((c // n_groups) * s_c, s_c) + tuple(d * s for d, s in zip(dilation, s_sp)) \
        + (s_n,) + tuple(st * s for st, s in zip(stride, s_sp))
    return xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)


def offset_slices(offsets, out_shape, stride, dilation):
    """The slices of the padded input that kernel offset `offsets` reads, one per output cell."""
    return tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                 for k, o, s, d in zip(offsets, out_shape, stride, dilation))


@float32_math_on_cpu
class ConvNd(Function):
    """Grouped, strided, dilated, zero-padded convolution (cross-correlation, as torch)."""

    def forward(self, x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1):
        xp = xp_of(x)
        d = x.ndim - 2
        n, c = x.shape[:2]
        o_ch = weight.shape[0]
        kernel = weight.shape[2:]
        self.x_shape, self.padding, self.stride, self.dilation = x.shape, padding, stride, dilation
        self.groups, self.has_bias = groups, bias is not None
        self.fused = cuda.fusable(x, weight)          # strided-batched cuBLAS for the groups
        xpad = x
        if any(lo or hi for lo, hi in padding):
            xpad = xp.pad(x, ((0, 0), (0, 0)) + tuple(padding))
        out_shape = tuple(out_size(x.shape[2 + i], *padding[i], kernel[i], stride[i], dilation[i])
                          for i in range(d))
        self.out_shape, self.pad_shape = out_shape, xpad.shape
        k_numbers = (c // groups) * _prod(kernel)
        view = window_view(xp, xpad, groups, kernel, out_shape, stride, dilation)
        cols = xp.ascontiguousarray(view).reshape(groups, k_numbers, n * _prod(out_shape))  # (G, K, N*P)
        w = weight.reshape(groups, o_ch // groups, k_numbers)                                # (G, O/G, K)
        out = matmul(w, cols, self.fused) if groups > 1 else matmul(w[0], cols[0], self.fused)[None]                  # (G, O/G, N*P)
        out = out.reshape((o_ch, n) + out_shape)
        out = xp.ascontiguousarray(xp.moveaxis(out, 1, 0))                                   # (N, O, *o)
        if bias is not None:
            out += bias.reshape((o_ch,) + (1,) * d)
        self.save_for_backward(cols, weight)
        return out

    def backward(self, g):
        xp = xp_of(g)
        cols, weight = self.saved
        groups, d = self.groups, len(self.out_shape)
        n, o_ch = g.shape[:2]
        k_numbers = cols.shape[1]
        # (N, O, *o) -> (G, O/G, N*P): the layout the forward GEMM produced
        g2 = xp.ascontiguousarray(xp.moveaxis(g, 0, 1)).reshape(groups, o_ch // groups, -1)
        dx = dw = db = None
        if self.needs_grad[1]:                                                    # (G, O/G, K)
            dw = (matmul(g2, cols.transpose(0, 2, 1), self.fused) if groups > 1
                  else _gemm_nt(g2[0], cols[0], self.fused)).reshape(weight.shape)
        if self.has_bias and self.needs_grad[2]:
            db = g.sum(axis=(0,) + tuple(range(2, g.ndim)))
        if self.needs_grad[0]:
            w = weight.reshape(groups, o_ch // groups, k_numbers)
            dcols = (matmul(w.transpose(0, 2, 1), g2, self.fused) if groups > 1               # (G, K, N*P)
                     else matmul(w[0].T, g2[0], self.fused))
            c = self.x_shape[1]
            kernel = weight.shape[2:]
            dcols = dcols.reshape((c,) + tuple(kernel) + (n,) + self.out_shape)   # (C, *k, N, *o)
            dpad = xp.zeros(self.pad_shape, dtype=g.dtype)                        # (N, C, *Sp)
            for offsets in itertools.product(*(range(k) for k in kernel)):        # col2im
                sl = offset_slices(offsets, self.out_shape, self.stride, self.dilation)
                dpad[(slice(None), slice(None)) + sl] += xp.moveaxis(dcols[(slice(None),) + offsets], 1, 0)
            crop = tuple(slice(lo, lo + size) for (lo, _), size in zip(self.padding, self.x_shape[2:]))
            dx = dpad[(slice(None), slice(None)) + crop]
            if d and any(lo or hi for lo, hi in self.padding):
                dx = xp.ascontiguousarray(dx)
        return (dx, dw) + ((db,) if self.has_bias else ())


def _gemm_nt(a, b, fused, chunk=4096):
    """a @ b.T for a (m, K), b (n, K). A first layer's weight gradient is long and thin
    (m * n = 72, K = N * P = 43264 for 8 3x3 filters on a 64x28x28 batch), a shape
    OpenBLAS runs at a quarter of its speed; summing K-chunks of 4096 restores it."""
    k = a.shape[1]
    if is_gpu(a) or k < 4 * chunk or a.shape[0] * b.shape[0] > 512:
        return matmul(a, b.T, fused)
    out = a[:, :chunk] @ b[:, :chunk].T
    for i in range(chunk, k, chunk):
        out += a[:, i:i + chunk] @ b[:, i:i + chunk].T
    return out


def _prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out
