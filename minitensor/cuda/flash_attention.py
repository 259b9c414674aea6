"""Fused attention in the flash-attention style: softmax(scale * q k^T, causal) @ v with
dropout, never materialising the (BH, Tq, Tk) scores.

Reference: ops/flash.py FlashAttention's portable branch (same math on whole matrices);
tests/test_flash_emulation.py runs this file's exact tile loops in NumPy on the CPU.

Inputs are contiguous (BH, T, HD) float32 arrays. Each block of 256 threads owns a
64-row tile; thread (ty, tx) = (tid / 16, tid % 16) owns rows 4*ty + r (r < 4) and, of
a 64 x 64 score tile, columns tx + 16*c (c < 4): a row's 16 threads are one half-warp,
so its max and sum are shuffles. Of a (64, HD) accumulator it owns columns tx + 16*c
(c < ceil(HD / 16)). Tiles sit in shared memory with an odd row stride (HD + 1, 65) so
16 threads reading 16 rows hit 16 banks.

forward   per (bh, query tile): online softmax over the key tiles at or left of the
          diagonal (causal) -> O, and the row log-sum-exp L (+inf for a row with no
          visible key, so exp(s - L) = 0 there, never NaN).
backward  D = rowsum(dO * O) (= sum_j P_ij dP_ij, with dropout too), then
          per (bh, key tile): dK, dV over the query tiles at or below the diagonal;
          per (bh, query tile): dQ over the key tiles, recomputing P and dP.
          dQ gets its own kernel rather than atomicAdd from the key-tile blocks: it costs
          a second recompute of the two tile products, but the gradients are
          deterministic (bit-identical run to run and on CUDA-graph replay), need no
          zeroed fp32 buffer, and no block waits on atomics to the same rows.
Dropout: element (bh, i, j) of the probabilities is kept iff
mt_keep(((bh * Tq + i) * Tk + j) mod 2**32, k1, k2, thr): HashDropout's mask over the
(..., Tq, Tk) probabilities for the same seed. The keys (k1, k2, thr) are kernel arguments,
or under CUDA-graph capture a device slot refilled before each replay (MT_DEVICE_KEYS).
"""
import functools
import warnings

import numpy as np

from ..backend import backends, cupy_module, is_gpu
from .common import key_args, on_device, raw_kernel, rows_launch

TILE = 64            # rows of a query tile and of a key tile (BM = BN)
THREADS = 256
MAX_HEAD_DIM = 128

_HELPERS = r'''
// the storage type of q, k, v, O and the gradients (MT_IO: 0 float32, 1 bfloat16, 2 float16):
// tiles and arithmetic are float32; half types are widened on load and rounded once on store
#if MT_IO == 1
typedef unsigned short mt_io;                                   // bfloat16 bits
__device__ __forceinline__ float mt_ld(mt_io x) { return __uint_as_float(((unsigned int)x) << 16); }
__device__ __forceinline__ mt_io mt_st(float f) {               // round to nearest even; NaN stays NaN
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (mt_io)((u >> 16) | 0x40u);
    return (mt_io)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
#elif MT_IO == 2
typedef unsigned short mt_io;                                   // float16 bits
__device__ __forceinline__ float mt_ld(mt_io x) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x)); return f; }
__device__ __forceinline__ mt_io mt_st(float f) { mt_io h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
#else
typedef float mt_io;
__device__ __forceinline__ float mt_ld(mt_io x) { return x; }
__device__ __forceinline__ mt_io mt_st(float f) { return f; }
#endif

// HashDropout's flat index of element (bh, i, j) of the (BH, Tq, Tk) probabilities, mod 2**32
__device__ __forceinline__ unsigned int drop_index(int bh, int i, int j, int Tq, int Tk) {
    return ((unsigned int)bh * (unsigned int)Tq + (unsigned int)i) * (unsigned int)Tk + (unsigned int)j;
}

// this thread's (r, c) element of a tile is visible: a real key, and causal j <= i
__device__ __forceinline__ bool visible(int i, int j, int Tq, int Tk, int causal) {
    return i < Tq && j < Tk && (!causal || j <= i);
}
'''

_COMMON = _HELPERS + r'''
#define BM 64
#define BN 64
#define NT 256
// Shared-memory row strides. A head size that is a multiple of 4 gets HD + 4: rows stay
// 16-byte aligned for float4 loads (4 products per load instead of 1) and 8 threads reading
// 8 rows of B hit 8 different 4-bank groups; otherwise HD + 1, odd, one bank per row.
#if HD % 4 == 0
#define VEC 1
#define STR (HD + 4)
#else
#define VEC 0
#define STR (HD + 1)
#endif
#define PSTR (BN + 4)                // row stride of a (64, 64) tile: float4 rows too
#define DPT ((HD + 15) / 16)         // accumulator columns per thread: tx + 16*c

// rows [r0, r0 + 64) of a (T, HD) row-major matrix into a (64, STR) tile; rows past T: 0
__device__ __forceinline__ void load_tile(float* tile, const mt_io* __restrict__ src, int r0, int T) {
    for (int idx = threadIdx.x; idx < BM * HD; idx += NT) {
        int r = idx / HD, d = idx - r * HD;
        tile[r * STR + d] = (r0 + r < T) ? mt_ld(src[(long long)(r0 + r) * HD + d]) : 0.f;
    }
}

struct __align__(16) mt_f4 { float x, y, z, w; };        // one 16-byte shared load (LDS.128)
__device__ __forceinline__ mt_f4 ld4(const float* p) { return *reinterpret_cast<const mt_f4*>(p); }

// acc[r][c] = A[4*ty + r, :] . B[tx + 16*c, :] for two (64, STR) tiles, summed in order of d
__device__ __forceinline__ void tile_dots(const float* A, const float* B, int ty, int tx, float acc[4][4]) {
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[r][c] = 0.f;
#if VEC
#pragma unroll 2
    for (int d = 0; d < HD; d += 4) {
        mt_f4 a[4], b[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) a[r] = ld4(A + (4 * ty + r) * STR + d);
#pragma unroll
        for (int c = 0; c < 4; ++c) b[c] = ld4(B + (tx + 16 * c) * STR + d);
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                float t = fmaf(a[r].x, b[c].x, acc[r][c]);
                t = fmaf(a[r].y, b[c].y, t);
                t = fmaf(a[r].z, b[c].z, t);
                acc[r][c] = fmaf(a[r].w, b[c].w, t);
            }
    }
#else
#pragma unroll 4
    for (int d = 0; d < HD; ++d) {
        float a[4], b[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) a[r] = A[(4 * ty + r) * STR + d];
#pragma unroll
        for (int c = 0; c < 4; ++c) b[c] = B[(tx + 16 * c) * STR + d];
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
    }
#endif
}

// acc[r][c] += sum_j W[4*ty + r, j] * X[j, tx + 16*c] for a (64, PSTR) weight tile W
// and a (64, STR) tile X: the (64, 64) @ (64, HD) product, this thread's part, in order of j
__device__ __forceinline__ void tile_matmul_acc(const float* W, const float* X, int ty, int tx,
                                                float acc[4][DPT]) {
#pragma unroll 2
    for (int j = 0; j < BN; j += 4) {
        mt_f4 w[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) w[r] = ld4(W + (4 * ty + r) * PSTR + j);
#pragma unroll
        for (int jj = 0; jj < 4; ++jj) {
            float x[DPT];
#pragma unroll
            for (int c = 0; c < DPT; ++c) {
                int d = tx + 16 * c;
                x[c] = (d < HD) ? X[(j + jj) * STR + d] : 0.f;
            }
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const float wv = jj == 0 ? w[r].x : jj == 1 ? w[r].y : jj == 2 ? w[r].z : w[r].w;
#pragma unroll
                for (int c = 0; c < DPT; ++c) acc[r][c] = fmaf(wv, x[c], acc[r][c]);
            }
        }
    }
}

// max / sum over the 16 lanes of a half-warp (one row's threads); every lane gets it
__device__ __forceinline__ float half_max(float v) {
    for (int o = 8; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float half_sum(float v) {
    for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

'''

_FORWARD = _COMMON + r'''
extern "C" __global__ void __launch_bounds__(NT) flash_fwd(
        const mt_io* __restrict__ Q, const mt_io* __restrict__ K, const mt_io* __restrict__ V,
        mt_io* __restrict__ O, float* __restrict__ Lse, int Tq, int Tk, float scale, int causal,
        int dropout, float inv_keep, MT_KEY_PARAMS) {
    extern __shared__ __align__(16) float smem[];
    float* sQ = smem;                        // (BM, STR)
    float* sKV = sQ + BM * STR;              // (BN, STR): the key tile, then the value tile
    float* sP = sKV + BN * STR;              // (BM, PSTR): this tile's (dropped) probabilities
    const int bh = blockIdx.x;
    const int i0 = (gridDim.y - 1 - blockIdx.y) * BM;     // the longest causal rows start first
    const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
    const long long qbase = (long long)bh * Tq * HD, kbase = (long long)bh * Tk * HD;
    MT_LOAD_KEYS

    load_tile(sQ, Q + qbase, i0, Tq);
    float m[4], l[4], o[4][DPT];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        m[r] = -MT_INF; l[r] = 0.f;
#pragma unroll
        for (int c = 0; c < DPT; ++c) o[r][c] = 0.f;
    }
    const int kend = (causal && i0 + BM < Tk) ? i0 + BM : Tk;     // key tiles wholly above the diagonal: skipped
    for (int j0 = 0; j0 < kend; j0 += BN) {
        __syncthreads();                     // the last tile's sKV and sP reads are done
        load_tile(sKV, K + kbase, j0, Tk);
        __syncthreads();
        float s[4][4];
        tile_dots(sQ, sKV, ty, tx, s);
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const int i = i0 + 4 * ty + r;
            float mx = -MT_INF;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int j = j0 + tx + 16 * c;
                s[r][c] = visible(i, j, Tq, Tk, causal) ? s[r][c] * scale : -MT_INF;
                mx = fmaxf(mx, s[r][c]);
            }
            mx = half_max(mx);
            const float m_new = fmaxf(m[r], mx);
            const float m_ref = (m_new == -MT_INF) ? 0.f : m_new;   // no key yet: exp(-inf) = 0, no NaN
            const float alpha = expf(m[r] - m_ref);                  // rescales the sums so far (0 at first)
            float rowsum = 0.f;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int j = j0 + tx + 16 * c;
                float p = expf(s[r][c] - m_ref);
                rowsum += p;                                         // the softmax sum: before dropout
                if (dropout) p = mt_keep(drop_index(bh, i, j, Tq, Tk), k1, k2, thr) ? p * inv_keep : 0.f;
                sP[(4 * ty + r) * PSTR + tx + 16 * c] = p;
            }
            rowsum = half_sum(rowsum);
            l[r] = l[r] * alpha + rowsum;
            m[r] = m_new;
#pragma unroll
            for (int c = 0; c < DPT; ++c) o[r][c] *= alpha;
        }
        __syncthreads();                     // sP written; every sKV (key) read done
        load_tile(sKV, V + kbase, j0, Tk);
        __syncthreads();
        tile_matmul_acc(sP, sKV, ty, tx, o);
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int i = i0 + 4 * ty + r;
        if (i >= Tq) continue;
        // l == 0: no visible key (or all -inf): zeros, as the portable softmax; NaN stays NaN
        const float inv = (l[r] == 0.f) ? 0.f : 1.f / l[r];
#pragma unroll
        for (int c = 0; c < DPT; ++c) {
            const int d = tx + 16 * c;
            if (d < HD) O[qbase + (long long)i * HD + d] = mt_st(o[r][c] * inv);
        }
        if (tx == 0) Lse[(long long)bh * Tq + i] = (l[r] == 0.f) ? MT_INF : m[r] + logf(l[r]);
    }
}
'''

_BACKWARD_DKDV = _COMMON + r'''
extern "C" __global__ void __launch_bounds__(NT) flash_bwd_dkdv(
        const mt_io* __restrict__ Q, const mt_io* __restrict__ K, const mt_io* __restrict__ V,
        const mt_io* __restrict__ dO, const float* __restrict__ Lse, const float* __restrict__ Dlt,
        mt_io* __restrict__ dK, mt_io* __restrict__ dV, int Tq, int Tk, float scale, int causal,
        int dropout, float inv_keep, MT_KEY_PARAMS) {
    extern __shared__ __align__(16) float smem[];
    float* sK = smem;                        // (BN, STR)
    float* sV = sK + BN * STR;               // (BN, STR)
    float* sQ = sV + BN * STR;               // (BM, STR)
    float* sdO = sQ + BM * STR;              // (BM, STR)
    float* sPt = sdO + BM * STR;             // (BN, PSTR): dropped P, transposed (key, query)
    float* sdSt = sPt + BN * PSTR;           // (BN, PSTR): dS, transposed
    float* sL = sdSt + BN * PSTR;            // (BM,)
    float* sD = sL + BM;                     // (BM,)
    const int bh = blockIdx.x;
    const int j0 = blockIdx.y * BN;          // key tile 0 meets every query tile: first
    const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
    const long long qbase = (long long)bh * Tq * HD, kbase = (long long)bh * Tk * HD;
    MT_LOAD_KEYS

    load_tile(sK, K + kbase, j0, Tk);
    load_tile(sV, V + kbase, j0, Tk);
    float dk[4][DPT], dv[4][DPT];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < DPT; ++c) { dk[r][c] = 0.f; dv[r][c] = 0.f; }
    const int istart = causal ? (j0 / BM) * BM : 0;      // query tiles wholly above: no visible pair
    for (int i0 = istart; i0 < Tq; i0 += BM) {
        __syncthreads();                     // the last tile's reads are done
        load_tile(sQ, Q + qbase, i0, Tq);
        load_tile(sdO, dO + qbase, i0, Tq);
        if (tid < BM) {
            const int i = i0 + tid;
            sL[tid] = (i < Tq) ? Lse[(long long)bh * Tq + i] : MT_INF;
            sD[tid] = (i < Tq) ? Dlt[(long long)bh * Tq + i] : 0.f;
        }
        __syncthreads();
        float s[4][4], dp[4][4];             // rows: keys 4*ty + r; columns: queries tx + 16*c
        tile_dots(sK, sQ, ty, tx, s);
        tile_dots(sV, sdO, ty, tx, dp);
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const int j = j0 + 4 * ty + r;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int ci = tx + 16 * c, i = i0 + ci;
                float pd = 0.f, ds = 0.f;
                if (visible(i, j, Tq, Tk, causal)) {
                    const float p = expf(s[r][c] * scale - sL[ci]);      // L = +inf: 0
                    float dpk = dp[r][c];
                    pd = p;
                    if (dropout) {
                        const bool keep = mt_keep(drop_index(bh, i, j, Tq, Tk), k1, k2, thr);
                        pd = keep ? p * inv_keep : 0.f;
                        dpk = keep ? dpk * inv_keep : 0.f;
                    }
                    ds = p * (dpk - sD[ci]) * scale;
                }
                sPt[(4 * ty + r) * PSTR + ci] = pd;
                sdSt[(4 * ty + r) * PSTR + ci] = ds;
            }
        }
        __syncthreads();
        tile_matmul_acc(sPt, sdO, ty, tx, dv);          // dV += (P * keep / (1 - p))^T dO
        tile_matmul_acc(sdSt, sQ, ty, tx, dk);          // dK += dS^T Q
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int j = j0 + 4 * ty + r;
        if (j >= Tk) continue;
#pragma unroll
        for (int c = 0; c < DPT; ++c) {
            const int d = tx + 16 * c;
            if (d < HD) {
                dK[kbase + (long long)j * HD + d] = mt_st(dk[r][c]);
                dV[kbase + (long long)j * HD + d] = mt_st(dv[r][c]);
            }
        }
    }
}
'''

_BACKWARD_DQ = _COMMON + r'''
extern "C" __global__ void __launch_bounds__(NT) flash_bwd_dq(
        const mt_io* __restrict__ Q, const mt_io* __restrict__ K, const mt_io* __restrict__ V,
        const mt_io* __restrict__ dO, const float* __restrict__ Lse, const float* __restrict__ Dlt,
        mt_io* __restrict__ dQ, int Tq, int Tk, float scale, int causal,
        int dropout, float inv_keep, MT_KEY_PARAMS) {
    extern __shared__ __align__(16) float smem[];
    float* sQ = smem;                        // (BM, STR)
    float* sdO = sQ + BM * STR;              // (BM, STR)
    float* sK = sdO + BM * STR;              // (BN, STR)
    float* sV = sK + BN * STR;               // (BN, STR)
    float* sdS = sV + BN * STR;              // (BM, PSTR)
    const int bh = blockIdx.x;
    const int i0 = (gridDim.y - 1 - blockIdx.y) * BM;
    const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
    const long long qbase = (long long)bh * Tq * HD, kbase = (long long)bh * Tk * HD;
    MT_LOAD_KEYS

    load_tile(sQ, Q + qbase, i0, Tq);
    load_tile(sdO, dO + qbase, i0, Tq);
    float L[4], D[4], dq[4][DPT];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int i = i0 + 4 * ty + r;
        L[r] = (i < Tq) ? Lse[(long long)bh * Tq + i] : MT_INF;
        D[r] = (i < Tq) ? Dlt[(long long)bh * Tq + i] : 0.f;
#pragma unroll
        for (int c = 0; c < DPT; ++c) dq[r][c] = 0.f;
    }
    const int kend = (causal && i0 + BM < Tk) ? i0 + BM : Tk;
    for (int j0 = 0; j0 < kend; j0 += BN) {
        __syncthreads();
        load_tile(sK, K + kbase, j0, Tk);
        load_tile(sV, V + kbase, j0, Tk);
        __syncthreads();
        float s[4][4], dp[4][4];             // rows: queries 4*ty + r; columns: keys tx + 16*c
        tile_dots(sQ, sK, ty, tx, s);
        tile_dots(sdO, sV, ty, tx, dp);
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const int i = i0 + 4 * ty + r;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int j = j0 + tx + 16 * c;
                float ds = 0.f;
                if (visible(i, j, Tq, Tk, causal)) {
                    const float p = expf(s[r][c] * scale - L[r]);
                    float dpk = dp[r][c];
                    if (dropout)
                        dpk = mt_keep(drop_index(bh, i, j, Tq, Tk), k1, k2, thr) ? dpk * inv_keep : 0.f;
                    ds = p * (dpk - D[r]) * scale;
                }
                sdS[(4 * ty + r) * PSTR + tx + 16 * c] = ds;
            }
        }
        __syncthreads();
        tile_matmul_acc(sdS, sK, ty, tx, dq);           // dQ += dS K
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int i = i0 + 4 * ty + r;
        if (i >= Tq) continue;
#pragma unroll
        for (int c = 0; c < DPT; ++c) {
            const int d = tx + 16 * c;
            if (d < HD) dQ[qbase + (long long)i * HD + d] = mt_st(dq[r][c]);
        }
    }
}
'''

_DELTA = _HELPERS + r'''
extern "C" __global__ void flash_delta(const mt_io* __restrict__ G, const mt_io* __restrict__ O,
                                       float* __restrict__ Dlt, long long rows, int hd) {
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;   // one warp per row
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    float acc = 0.f;
    for (int d = lane; d < hd; d += 32) acc += mt_ld(G[row * hd + d]) * mt_ld(O[row * hd + d]);
    acc = mt_warp_sum(acc);
    if (lane == 0) Dlt[row] = acc;
}
'''


# storage dtypes the kernels read and write (the MT_IO define): half types are widened
# to float32 on load and rounded once on store; bfloat16 and float16 values are exact in TF32
IO_DTYPES = {'float32': 0, 'bfloat16': 1, 'float16': 2}


def fits(q, k, v):
    """True when the fused kernels take these (..., T, HD) arrays: the same batch dims,
    k and v of one length, one head size 1..128 for q, k and v, no empty dimension."""
    hd = q.shape[-1]
    return (q.ndim >= 2 and q.ndim == k.ndim == v.ndim and q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
            and k.shape[-2] == v.shape[-2] and k.shape[-1] == v.shape[-1] == hd
            and 1 <= hd <= MAX_HEAD_DIM and q.size > 0 and k.size > 0)


def takes(q, k, v):
    """The fast-path test for FlashAttention: fast paths on, CuPy arrays of one dtype among
    IO_DTYPES (float32; bfloat16/float16 as autocast hands them), shapes that `fits`."""
    return (backends.fast_paths and all(is_gpu(a) for a in (q, k, v)) and q.dtype == k.dtype == v.dtype
            and q.dtype.name in IO_DTYPES and fits(q, k, v) and _fits_shared_memory(q.shape[-1]))


def _fits_shared_memory(hd):
    """The CUDA-core kernels' tiles fit this GPU's shared memory (an H100 takes every head
    size up to 128; an A100's 163 KiB stops the backward at 128)."""
    device = cupy_module().cuda.Device().id
    return max(_shared_bytes(kind, hd) for kind in _SOURCES) <= _max_shared_bytes(device)


def _shared_bytes(kind, hd):
    stride, pstride = (hd + 4 if hd % 4 == 0 else hd + 1), TILE + 4
    floats = {'fwd': 2 * TILE * stride + TILE * pstride,
              'dkdv': 4 * TILE * stride + 2 * TILE * pstride + 2 * TILE,
              'dq': 4 * TILE * stride + TILE * pstride}[kind]
    return 4 * floats


_SOURCES = {'fwd': (_FORWARD, 'flash_fwd'), 'dkdv': (_BACKWARD_DKDV, 'flash_bwd_dkdv'),
            'dq': (_BACKWARD_DQ, 'flash_bwd_dq')}
_opted_in = set()          # (variant, kind, hd) whose kernel was allowed its shared memory
_tensor_core_error = []    # why the TF32 kernels did not compile, once they failed to


@functools.lru_cache(maxsize=None)
def _max_shared_bytes(device):
    return cupy_module().cuda.Device(device).attributes['MaxSharedMemoryPerBlockOptin']


def _kernel(variant, kind, hd, io=0, device_keys=False):
    """(RawKernel, threads, shared bytes) for the CUDA-core ('simt') or TF32 ('tc') kernels
    on storage type `io` (IO_DTYPES); device_keys: the dropout keys come from a device slot
    (graph capture), not arguments."""
    defines = (('HD', hd), ('MT_IO', io)) + ((('MT_DEVICE_KEYS', 1),) if device_keys else ())
    if variant == 'tc':
        from . import flash_attention_tc as tc
        kernel, threads, smem = raw_kernel(tc.SOURCE, tc.NAMES[kind], defines), tc.THREADS, tc.shared_bytes(kind, hd)
    else:
        code, name = _SOURCES[kind]
        kernel, threads, smem = raw_kernel(code, name, defines), THREADS, _shared_bytes(kind, hd)
    if smem > 48 * 1024 and (variant, kind, defines) not in _opted_in:
        kernel.max_dynamic_shared_size_bytes = smem        # above 48 KiB needs the opt-in
        _opted_in.add((variant, kind, defines))
    return kernel, threads, smem


def variant_for(hd, dtype_name='float32'):
    """'tc' (tensor cores, TF32 products with float32 sums) for bfloat16/float16 inputs
    (exact in TF32) and for float32 when mt.backends.allow_tf32 is on, where the head size
    is a multiple of 16, the tiles fit this GPU's shared memory and the kernels compile;
    else 'simt' (float32 on CUDA cores, every head size 1..128)."""
    from . import flash_attention_tc as tc
    wants = dtype_name != 'float32' or backends.allow_tf32
    if not (wants and hd % 16 == 0) or _tensor_core_error:
        return 'simt'
    device = cupy_module().cuda.Device().id
    if max(tc.shared_bytes(kind, hd) for kind in _SOURCES) > _max_shared_bytes(device):
        return 'simt'
    try:
        for kind in _SOURCES:                               # compile now, not inside a launch
            _kernel('tc', kind, hd, IO_DTYPES[dtype_name])[0].attributes
    except Exception as e:                                  # an NVRTC or driver refusal: say so once
        _tensor_core_error.append(f'{type(e).__name__}: {e}')
        warnings.warn(f"flash attention: the tensor-core kernels did not compile, using the "
                      f"CUDA-core kernels ({_tensor_core_error[0][:300]})")
        return 'simt'
    return 'tc'


def compile_kernels(hd, dtype_name='float32'):
    """Compile every kernel a FlashAttention call of head size hd on `dtype_name` may launch
    under the current switches: its variant's and the CUDA-core ones, eager and with device
    keys (a CUDA-graph capture), and the backward's row sums. For a warm-up before a step."""
    io = IO_DTYPES[dtype_name]
    for variant in {'simt', variant_for(hd, dtype_name)}:
        for kind in _SOURCES:
            for device_keys in (False, True):
                _kernel(variant, kind, hd, io, device_keys)[0].attributes
    raw_kernel(_DELTA, 'flash_delta', (('MT_IO', io),)).attributes


def _launch(variant, kind, grid, args, hd, io, keys):
    kernel, threads, smem = _kernel(variant, kind, hd, io, on_device(keys))
    kernel(grid, (threads,), args + key_args(keys), shared_mem=smem)


def _scalars(tq, tk, scale, causal, dropout_p):
    inv_keep = 1.0 / (1.0 - dropout_p) if dropout_p else 1.0
    return (np.int32(tq), np.int32(tk), np.float32(scale), np.int32(bool(causal)),
            np.int32(bool(dropout_p)), np.float32(inv_keep))


def _check_index_range(bh, tq, tk, dropout_p):
    if dropout_p and bh * tq * tk >= 1 << 32:       # as keep_mask: the hash index is 32-bit
        raise ValueError(f"dropout: {bh * tq * tk} elements is more than the hash mask's 2**32 indices")


def flash_attention_forward(q, k, v, scale, causal, dropout_p, keys, variant='simt'):
    """(O, L) for (..., Tq, HD) q and (..., Tk, HD) k, v (CuPy arrays that `takes`):
    O like q (shape and dtype), L the (BH, Tq) float32 row log-sum-exp of the scaled,
    masked scores.
    keys: random_hash.dropout_keys(seed, p), or their device slot under graph capture.
    variant: 'simt' or 'tc' (variant_for), the same for the backward of this call."""
    cp = cupy_module()
    *lead, tq, hd = q.shape
    tk = k.shape[-2]
    bh = int(np.prod(lead, dtype=np.int64))
    _check_index_range(bh, tq, tk, dropout_p)
    q, k, v = (cp.ascontiguousarray(a) for a in (q, k, v))
    out = cp.empty(q.shape, dtype=q.dtype)                                    # (..., Tq, HD)
    lse = cp.empty((bh, tq), dtype=cp.float32)                                # (BH, Tq)
    grid = (bh, (tq + TILE - 1) // TILE)
    _launch(variant, 'fwd', grid, (q, k, v, out, lse) + _scalars(tq, tk, scale, causal, dropout_p), hd,
            IO_DTYPES[q.dtype.name], keys if dropout_p else (0, 0, 0))
    return out, lse


def flash_attention_backward(g, q, k, v, out, lse, scale, causal, dropout_p, keys, variant='simt'):
    """(dq, dk, dv) from dL/dO, the inputs, the output and L (as the forward returned them)."""
    cp = cupy_module()
    *lead, tq, hd = q.shape
    tk = k.shape[-2]
    bh = lse.shape[0]
    io = IO_DTYPES[q.dtype.name]
    g = g.astype(q.dtype, copy=False)
    g, q, k, v = (cp.ascontiguousarray(a) for a in (g, q, k, v))
    delta = cp.empty((bh, tq), dtype=cp.float32)                              # (BH, Tq): rowsum(dO * O)
    grid, block = rows_launch(bh * tq)                                        # no (BH, Tq, HD) temporary
    raw_kernel(_DELTA, 'flash_delta', (('MT_IO', io),))(grid, block, (g, out, delta, np.int64(bh * tq), np.int32(hd)))
    dq, dk, dv = cp.empty(q.shape, q.dtype), cp.empty(k.shape, q.dtype), cp.empty(v.shape, q.dtype)
    keys = keys if dropout_p else (0, 0, 0)
    rest = _scalars(tq, tk, scale, causal, dropout_p)
    _launch(variant, 'dkdv', (bh, (tk + TILE - 1) // TILE), (q, k, v, g, lse, delta, dk, dv) + rest, hd, io, keys)
    _launch(variant, 'dq', (bh, (tq + TILE - 1) // TILE), (q, k, v, g, lse, delta, dq) + rest, hd, io, keys)
    return dq, dk, dv
