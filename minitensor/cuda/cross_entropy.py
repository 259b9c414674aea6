"""Cross-entropy over (N, C) logits: one pass forward, one pass backward, warp per row.

Portable reference: ops/nn.py CrossEntropy (label_smoothing == 0). Forward keeps the
logits (alive anyway: the lm_head output) and two floats per row, the max and the sum
of exponentials, instead of an (N, C) probability matrix; backward recomputes softmax.
"""
from typing import Any, NamedTuple

import numpy as np

from ..backend import cupy_module
from .common import raw_kernel, rows_launch

_FORWARD = r'''
extern "C" __global__ void cross_entropy_fwd(
        const float* __restrict__ X, const long long* __restrict__ target, float* __restrict__ loss,
        float* __restrict__ stats, long long rows, int C, long long ignore_index) {
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float* x = X + row * C;
    float m = -MT_INF;
    for (int j = lane; j < C; j += 32) m = fmaxf(m, x[j]);
    m = mt_warp_max(m);
    float s = 0.f;
    for (int j = lane; j < C; j += 32) s += expf(x[j] - m);
    s = mt_warp_sum(s);
    if (lane == 0) {
        long long t = target[row];
        loss[row] = t == ignore_index ? 0.f : logf(s) - (x[t] - m);   // -log softmax[t]
        stats[2 * row] = m;
        stats[2 * row + 1] = s;
    }
}
'''

_BACKWARD = r'''
extern "C" __global__ void cross_entropy_bwd(
        const float* __restrict__ X, const long long* __restrict__ target,
        const float* __restrict__ stats, const float* __restrict__ coef, int coef_per_row,
        float* __restrict__ dX, long long rows, int C, long long ignore_index) {
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    long long t = target[row];
    float c = t == ignore_index ? 0.f : coef[coef_per_row ? row : 0];
    float m = stats[2 * row], inv_s = 1.f / stats[2 * row + 1];
    const float* x = X + row * C;
    float* dx = dX + row * C;
    for (int j = lane; j < C; j += 32)            // (softmax - onehot(target)) * dL/dloss_row
        dx[j] = ((expf(x[j] - m) * inv_s) - (j == t ? 1.f : 0.f)) * c;
}
'''


class CrossEntropySaved(NamedTuple):
    """What the fused cross-entropy keeps for backward (no (N, C) probabilities)."""
    logits: Any          # (N, C), contiguous
    target: Any          # (N,)
    stats: Any           # (N, 2): per-row max and log-sum-exp
    ignore_index: int


def cross_entropy_forward(logits, target, ignore_index):
    """(per-row loss (N,), saved); ignored rows have loss 0."""
    cp = cupy_module()
    logits = cp.ascontiguousarray(logits)
    target = cp.ascontiguousarray(target)
    rows, width = logits.shape
    loss = cp.empty(rows, dtype=np.float32)
    stats = cp.empty((rows, 2), dtype=np.float32)
    grid, block = rows_launch(rows)
    raw_kernel(_FORWARD, 'cross_entropy_fwd')(
        grid, block, (logits, target, loss, stats, np.int64(rows), np.int32(width), np.int64(ignore_index)))
    return loss, CrossEntropySaved(logits, target, stats, ignore_index)


def cross_entropy_backward(coef, saved):
    """dL/dlogits, where coef is dL/dloss_row: a device scalar (same for all rows) or (N,)."""
    cp = cupy_module()
    logits, target, stats, ignore_index = saved
    rows, width = logits.shape
    coef = cp.ascontiguousarray(coef, dtype=np.float32)
    dx = cp.empty_like(logits)
    grid, block = rows_launch(rows)
    raw_kernel(_BACKWARD, 'cross_entropy_bwd')(
        grid, block, (logits, target, stats, coef, np.int32(coef.size == rows and coef.ndim == 1), dx,
                      np.int64(rows), np.int32(width), np.int64(ignore_index)))
    return dx
