"""LayerNorm over the last axis (width C), one warp per row, the row held in registers.

Portable reference: ops/nn.py LayerNorm. Forward saves the input and two floats per
row (mean, rstd) instead of xhat: the input is alive anyway (the previous op's output).
Backward writes dx and per-warp partial sums of dw, db, then one reduction adds those.
"""
from typing import Any, NamedTuple

import numpy as np

from ..backend import cupy_module
from .blas import sum_leading
from .common import raw_kernel, rows_launch

MAX_WIDTH = 1024          # C up to 32 lanes x 32 registers; wider rows take the portable path

_FORWARD = r'''
extern "C" __global__ void layer_norm_fwd(
        const float* __restrict__ X, const float* __restrict__ W, const float* __restrict__ B,
        float* __restrict__ Y, float* __restrict__ Mean, float* __restrict__ Rstd,
        long long rows, int C, float eps) {
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float* x = X + row * C;
    float v[PER_LANE];
    float s = 0.f;
    #pragma unroll
    for (int k = 0; k < PER_LANE; k++) {
        int j = lane + 32 * k;
        v[k] = j < C ? x[j] : 0.f;
        s += v[k];
    }
    float mean = mt_warp_sum(s) / C;
    float q = 0.f;
    #pragma unroll
    for (int k = 0; k < PER_LANE; k++) {
        int j = lane + 32 * k;
        if (j < C) { v[k] -= mean; q += v[k] * v[k]; }
    }
    float rstd = 1.f / sqrtf(mt_warp_sum(q) / C + eps);
    float* y = Y + row * C;
    #pragma unroll
    for (int k = 0; k < PER_LANE; k++) {
        int j = lane + 32 * k;
        if (j < C) y[j] = v[k] * rstd * W[j] + B[j];
    }
    if (lane == 0) { Mean[row] = mean; Rstd[row] = rstd; }
}
'''

_BACKWARD = r'''
extern "C" __global__ void layer_norm_bwd(
        const float* __restrict__ G, const float* __restrict__ X, const float* __restrict__ W,
        const float* __restrict__ Mean, const float* __restrict__ Rstd,
        float* __restrict__ DX, float* __restrict__ Partial, long long rows, int C) {
    long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    long long n_warps = ((long long)gridDim.x * blockDim.x) >> 5;
    int lane = threadIdx.x & 31;
    float dw[PER_LANE], db[PER_LANE];
    #pragma unroll
    for (int k = 0; k < PER_LANE; k++) { dw[k] = 0.f; db[k] = 0.f; }
    for (long long row = warp; row < rows; row += n_warps) {
        const float* x = X + row * C;
        const float* g = G + row * C;
        float mean = Mean[row], rstd = Rstd[row];
        float xh[PER_LANE], dxh[PER_LANE];
        float s1 = 0.f, s2 = 0.f;
        #pragma unroll
        for (int k = 0; k < PER_LANE; k++) {
            int j = lane + 32 * k;
            if (j < C) {
                float gj = g[j];
                xh[k] = (x[j] - mean) * rstd;
                dxh[k] = gj * W[j];
                s1 += dxh[k];
                s2 += dxh[k] * xh[k];
                dw[k] += gj * xh[k];
                db[k] += gj;
            }
        }
        s1 = mt_warp_sum(s1) / C;               // mean(dxhat)
        s2 = mt_warp_sum(s2) / C;               // mean(dxhat * xhat)
        float* dx = DX + row * C;
        #pragma unroll
        for (int k = 0; k < PER_LANE; k++) {
            int j = lane + 32 * k;
            if (j < C) dx[j] = rstd * (dxh[k] - s1 - xh[k] * s2);
        }
    }
    #pragma unroll
    for (int k = 0; k < PER_LANE; k++) {       // Partial is (2, n_warps, C): dw then db
        int j = lane + 32 * k;
        if (j < C) {
            Partial[warp * C + j] = dw[k];
            Partial[(n_warps + warp) * C + j] = db[k];
        }
    }
}
'''


def fits(width):
    return width <= MAX_WIDTH


def _per_lane(width):
    return max(1, (width + 31) // 32)


class LayerNormSaved(NamedTuple):
    """What the fused LayerNorm keeps for backward."""
    x: Any               # the input, contiguous
    weight: Any
    mean: Any            # (rows,) float32
    rstd: Any            # (rows,) float32


def layer_norm_forward(x, weight, bias, eps):
    """(y, saved) for LayerNorm over the last weight.size elements; saved goes to backward."""
    cp = cupy_module()
    width = weight.size
    x = cp.ascontiguousarray(x)
    rows = x.size // width
    y = cp.empty_like(x)
    mean = cp.empty(rows, dtype=np.float32)
    rstd = cp.empty(rows, dtype=np.float32)
    kernel = raw_kernel(_FORWARD, 'layer_norm_fwd', (('PER_LANE', _per_lane(width)),))
    grid, block = rows_launch(rows)
    kernel(grid, block, (x, weight, bias, y, mean, rstd, np.int64(rows), np.int32(width), np.float32(eps)))
    return y, LayerNormSaved(x, weight, mean, rstd)


def layer_norm_backward(g, saved):
    """(dx, dweight, dbias)."""
    cp = cupy_module()
    x, weight, mean, rstd = saved
    width = weight.size
    rows = x.size // width
    g = cp.ascontiguousarray(g)
    dx = cp.empty_like(x)
    warps_per_block = 4
    blocks = max(1, min((rows + warps_per_block - 1) // warps_per_block, 264))   # 2 waves of an H100
    n_warps = blocks * warps_per_block
    partial = cp.empty((2, n_warps, width), dtype=np.float32)
    kernel = raw_kernel(_BACKWARD, 'layer_norm_bwd', (('PER_LANE', _per_lane(width)),))
    kernel((blocks,), (32 * warps_per_block,), (g, x, weight, mean, rstd, dx, partial,
                                                 np.int64(rows), np.int32(width)))
    dw, db = sum_leading(partial[0], 1, True), sum_leading(partial[1], 1, True)   # (C,) each: sums of the warps'
    return dx, dw.reshape(weight.shape), db.reshape(weight.shape)
