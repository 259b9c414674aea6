"""Causal, scaled softmax with dropout over attention scores: one kernel each way.

Portable reference: ops/nn.py CausalSoftmax. For scores (..., T, T) viewed as rows of
length T, row r is query t = r % T, which may look at keys j <= t:
    P = softmax(where(j <= t, scale * S, -inf)),   Y = P * keep / (1 - p)
with keep from the hash of (seed, flat index), recomputed in backward, never stored.
"""
import numpy as np

from ..backend import cupy_module
from .common import key_args, on_device, raw_kernel, rows_launch

_FORWARD = r'''
extern "C" __global__ void causal_softmax_fwd(
        const float* __restrict__ S, float* __restrict__ P, float* __restrict__ Y,
        long long rows, int T, float scale, float inv_keep, int dropout, MT_KEY_PARAMS) {
    MT_LOAD_KEYS
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    int t = (int)(row % T);                       // the query: keys 0..t are visible
    const float* s = S + row * T;
    float m = -MT_INF;
    for (int j = lane; j <= t; j += 32) m = fmaxf(m, s[j] * scale);
    m = mt_warp_max(m);
    float sum = 0.f;
    if (m != -MT_INF)                           // a row of -inf: all zeros, no NaN
        for (int j = lane; j <= t; j += 32) sum += expf(s[j] * scale - m);
    sum = mt_warp_sum(sum);
    for (int j = lane; j < T; j += 32) {
        // a NaN or +inf among the visible scores makes sum NaN: the whole row is NaN, as
        // the portable softmax (and torch) give; a row of -inf (sum 0) stays zeros
        float p = (j <= t) ? (sum == 0.f ? 0.f : expf(s[j] * scale - m) / sum)
                           : (sum != sum ? sum : 0.f);
        long long i = row * T + j;
        P[i] = p;
        if (dropout) Y[i] = mt_keep((unsigned int)i, k1, k2, thr) ? p * inv_keep : 0.f;
    }
}
'''

_BACKWARD = r'''
extern "C" __global__ void causal_softmax_bwd(
        const float* __restrict__ G, const float* __restrict__ P, float* __restrict__ dS,
        long long rows, int T, float scale, float inv_keep, int dropout, MT_KEY_PARAMS) {
    MT_LOAD_KEYS
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    int t = (int)(row % T);
    const float* g = G + row * T;
    const float* p = P + row * T;
    float c = 0.f;                                // sum_j P_j dP_j
    for (int j = lane; j <= t; j += 32) {
        float dp = g[j];
        if (dropout) dp = mt_keep((unsigned int)(row * T + j), k1, k2, thr) ? dp * inv_keep : 0.f;
        c += p[j] * dp;
    }
    c = mt_warp_sum(c);
    for (int j = lane; j < T; j += 32) {
        float ds = 0.f;
        if (j <= t) {
            float dp = g[j];
            if (dropout) dp = mt_keep((unsigned int)(row * T + j), k1, k2, thr) ? dp * inv_keep : 0.f;
            ds = scale * (p[j] * dp - p[j] * c);
        }
        dS[row * T + j] = ds;
    }
}
'''


def _args(scores, scale, dropout_p, keys):
    rows = scores.size // scores.shape[-1]
    inv_keep = 1.0 / (1.0 - dropout_p) if dropout_p else 1.0
    if not dropout_p:
        keys = (0, 0, 0)
    return (np.int64(rows), np.int32(scores.shape[-1]), np.float32(scale), np.float32(inv_keep),
            np.int32(bool(dropout_p))) + key_args(keys)


def _kernel(code, name, keys):
    return raw_kernel(code, name, (('MT_DEVICE_KEYS', 1),) if on_device(keys) else ())


def causal_softmax_forward(scores, scale, dropout_p, keys):
    """(P, Y): the softmax (saved for backward) and its dropped-out copy (Y is P if p == 0).
    keys: random_hash.dropout_keys(seed, p), or their device slot under graph capture."""
    cp = cupy_module()
    scores = cp.ascontiguousarray(scores)
    p = cp.empty_like(scores)
    y = cp.empty_like(scores) if dropout_p else p
    args = _args(scores, scale, dropout_p, keys)
    grid, block = rows_launch(int(args[0]))
    _kernel(_FORWARD, 'causal_softmax_fwd', keys)(grid, block, (scores, p, y) + args)
    return p, y


def causal_softmax_backward(g, p, scale, dropout_p, keys):
    """dL/dscores from dL/dY and the saved softmax P."""
    cp = cupy_module()
    g = cp.ascontiguousarray(g)
    ds = cp.empty_like(p)
    args = _args(p, scale, dropout_p, keys)
    grid, block = rows_launch(int(args[0]))
    _kernel(_BACKWARD, 'causal_softmax_bwd', keys)(grid, block, (g, p, ds) + args)
    return ds
