"""FlashAttention's kernels on tensor cores: the same tiles, loops, masks, hash dropout and
outputs as flash_attention.py, with the five tile products done by nvcuda::wmma in TF32
(m16n16k8, float32 accumulators). Used for float32 inputs when mt.backends.allow_tf32 is on
and the head size is a multiple of 16 (flash_attention.py chooses).

The tile products are the PTX wmma instructions (what <mma.h> wraps), written out so
NVRTC needs no CUDA header. A block is 4 warps; warp w owns rows 16w .. 16w + 15 of each 64-row tile. A wmma
accumulator's element-to-lane layout is unspecified, so everything done per row (online
softmax, masks, dropout, dS) works on the products after store_matrix_sync puts them in
shared memory: lane l owns row 16w + l / 2 and columns 2c + (l & 1), c < 32 (and the
output's columns 2d + (l & 1), d < HD / 2), so a row's max and sum are one shuffle. The
forward's running output lives in those lanes' registers (it is rescaled per row); the
backward's dK, dV, dQ need no rescaling and stay in wmma accumulators.
"""
from .flash_attention import _HELPERS

DEFINES = r'''
#define BM 64
#define BN 64
#define NT 128
#define LDH (HD + 4)          // row stride of (64, HD) tiles: a multiple of 4 floats, as wmma needs
#define LDS (BN + 4)          // row stride of (64, 64) tiles
#define LDP ((HD > BN ? HD : BN) + 4)   // the forward's P tile, which then holds P V (16, HD) per warp
#define NF (HD / 16)          // 16-column blocks of a (16, HD) product

'''

# The PTX wmma instructions, kept apart: tests/test_flash_kernels_on_cpu.py swaps in a C++ model.
PTX_WMMA = r'''
// The PTX wmma instructions that <mma.h> wraps, written out so that NVRTC needs no CUDA
// header: m16n16k8 with TF32 operands (4 registers each, rounded by cvt.rna as
// wmma::__float_to_tf32 does) and float32 accumulators (8 registers).
struct FragA { unsigned int x[4]; };
struct FragB { unsigned int x[4]; };
struct FragC { float x[8]; };

__device__ __forceinline__ void fill_zero(FragC& c) {
#pragma unroll
    for (int t = 0; t < 8; ++t) c.x[t] = 0.f;
}
__device__ __forceinline__ void round_tf32(unsigned int x[4]) {
#pragma unroll
    for (int t = 0; t < 4; ++t) asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(x[t]) : "f"(__uint_as_float(x[t])));
}
// A: 16 x 8 from row-major rows of stride ld
__device__ __forceinline__ void load_a(FragA& a, const float* p, int ld) {
    asm volatile("wmma.load.a.sync.aligned.row.m16n16k8.tf32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(a.x[0]), "=r"(a.x[1]), "=r"(a.x[2]), "=r"(a.x[3]) : "l"(p), "r"(ld) : "memory");
    round_tf32(a.x);
}
// B: 8 x 16, element (k, n) at p[n * ld + k] (the rows of B^T)
__device__ __forceinline__ void load_b_col(FragB& b, const float* p, int ld) {
    asm volatile("wmma.load.b.sync.aligned.col.m16n16k8.tf32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(b.x[0]), "=r"(b.x[1]), "=r"(b.x[2]), "=r"(b.x[3]) : "l"(p), "r"(ld) : "memory");
    round_tf32(b.x);
}
// B: 8 x 16, element (k, n) at p[k * ld + n]
__device__ __forceinline__ void load_b_row(FragB& b, const float* p, int ld) {
    asm volatile("wmma.load.b.sync.aligned.row.m16n16k8.tf32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(b.x[0]), "=r"(b.x[1]), "=r"(b.x[2]), "=r"(b.x[3]) : "l"(p), "r"(ld) : "memory");
    round_tf32(b.x);
}
#define MT_MMA(LAYOUT_B)                                                                         \
    asm volatile("wmma.mma.sync.aligned.row." LAYOUT_B ".m16n16k8.f32.tf32.tf32.f32 "            \
                 "{%0, %1, %2, %3, %4, %5, %6, %7}, {%8, %9, %10, %11}, {%12, %13, %14, %15}, "     \
                 "{%0, %1, %2, %3, %4, %5, %6, %7};"                                             \
                 : "+f"(c.x[0]), "+f"(c.x[1]), "+f"(c.x[2]), "+f"(c.x[3]),                       \
                   "+f"(c.x[4]), "+f"(c.x[5]), "+f"(c.x[6]), "+f"(c.x[7])                        \
                 : "r"(a.x[0]), "r"(a.x[1]), "r"(a.x[2]), "r"(a.x[3]),                           \
                   "r"(b.x[0]), "r"(b.x[1]), "r"(b.x[2]), "r"(b.x[3]))
// c += a b, b loaded col-major / row-major (the layout is part of the instruction)
__device__ __forceinline__ void mma_col(FragC& c, const FragA& a, const FragB& b) { MT_MMA("col"); }
__device__ __forceinline__ void mma_row(FragC& c, const FragA& a, const FragB& b) { MT_MMA("row"); }
// 16 x 16 float32 accumulator -> row-major memory of stride ld
__device__ __forceinline__ void store_c(float* p, const FragC& c, int ld) {
    asm volatile("wmma.store.d.sync.aligned.row.m16n16k8.f32 [%0], {%1, %2, %3, %4, %5, %6, %7, %8}, %9;"
                 :: "l"(p), "f"(c.x[0]), "f"(c.x[1]), "f"(c.x[2]), "f"(c.x[3]),
                    "f"(c.x[4]), "f"(c.x[5]), "f"(c.x[6]), "f"(c.x[7]), "r"(ld) : "memory");
}

'''

KERNELS = r'''
// rows [r0, r0 + 64) of a (T, HD) row-major matrix into a (64, LDH) tile; rows past T: 0
__device__ __forceinline__ void load_tile(float* tile, const mt_io* __restrict__ src, int r0, int T) {
    for (int idx = threadIdx.x; idx < BM * HD; idx += NT) {
        int r = idx / HD, d = idx - r * HD;
        tile[r * LDH + d] = (r0 + r < T) ? mt_ld(src[(long long)(r0 + r) * HD + d]) : 0.f;
    }
}

// acc[n] = A . B^T, n-th 16 columns: A the warp's 16 rows (stride LDH), B 64 rows (stride LDH)
__device__ __forceinline__ void warp_abt(const float* a, const float* b, FragC acc[4]) {
#pragma unroll
    for (int n = 0; n < 4; ++n) fill_zero(acc[n]);
    for (int kk = 0; kk < HD; kk += 8) {
        FragA fa;
        load_a(fa, a + kk, LDH);
#pragma unroll
        for (int n = 0; n < 4; ++n) {
            FragB fb;
            load_b_col(fb, b + n * 16 * LDH + kk, LDH);
            mma_col(acc[n], fa, fb);
        }
    }
}

// acc[n] += W . X, n-th 16 columns: W the warp's (16, 64) rows (stride ldw), X (64, HD) (stride LDH)
__device__ __forceinline__ void warp_wx(const float* w, int ldw, const float* x, FragC acc[NF]) {
    for (int kk = 0; kk < BN; kk += 8) {
        FragA fa;
        load_a(fa, w + kk, ldw);
#pragma unroll
        for (int n = 0; n < NF; ++n) {
            FragB fb;
            load_b_row(fb, x + kk * LDH + n * 16, LDH);
            mma_row(acc[n], fa, fb);
        }
    }
}

__device__ __forceinline__ void store4(float* w, FragC acc[4], int ld) {
#pragma unroll
    for (int n = 0; n < 4; ++n) store_c(w + n * 16, acc[n], ld);
}

// a (64, LDH) staging tile -> rows [r0, r0 + 64) of a (T, HD) matrix, rows past T skipped
__device__ __forceinline__ void save_tile(mt_io* __restrict__ dst, const float* tile, int r0, int T) {
    for (int idx = threadIdx.x; idx < BM * HD; idx += NT) {
        int r = idx / HD, d = idx - r * HD;
        if (r0 + r < T) dst[(long long)(r0 + r) * HD + d] = mt_st(tile[r * LDH + d]);
    }
}

extern "C" __global__ void __launch_bounds__(NT) flash_fwd_tc(
        const mt_io* __restrict__ Q, const mt_io* __restrict__ K, const mt_io* __restrict__ V,
        mt_io* __restrict__ O, float* __restrict__ Lse, int Tq, int Tk, float scale, int causal,
        int dropout, float inv_keep, MT_KEY_PARAMS) {
    extern __shared__ __align__(128) float smem[];
    float* sQ = smem;                        // (BM, LDH)
    float* sKV = sQ + BM * LDH;              // (BN, LDH): keys, then values
    float* sS = sKV + BN * LDH;              // (BM, LDP): scores, dropped probabilities, then P V
    const int bh = blockIdx.x;
    const int i0 = (gridDim.y - 1 - blockIdx.y) * BM;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row = warp * 16 + (lane >> 1), half = lane & 1, i = i0 + row;
    const long long qbase = (long long)bh * Tq * HD, kbase = (long long)bh * Tk * HD;
    MT_LOAD_KEYS

    load_tile(sQ, Q + qbase, i0, Tq);
    float m = -MT_INF, l = 0.f, o[HD / 2];
#pragma unroll
    for (int d = 0; d < HD / 2; ++d) o[d] = 0.f;
    float* srow = sS + row * LDP;
    const int kend = (causal && i0 + BM < Tk) ? i0 + BM : Tk;
    for (int j0 = 0; j0 < kend; j0 += BN) {
        __syncthreads();
        load_tile(sKV, K + kbase, j0, Tk);
        __syncthreads();
        {
            FragC acc[4];
            warp_abt(sQ + warp * 16 * LDH, sKV, acc);
            store4(sS + warp * 16 * LDP, acc, LDP);
        }
        __syncwarp();
        float mx = -MT_INF;
        for (int c = 0; c < 32; ++c) {
            const int cj = 2 * c + half;
            mx = fmaxf(mx, visible(i, j0 + cj, Tq, Tk, causal) ? srow[cj] * scale : -MT_INF);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float m_new = fmaxf(m, mx);
        const float m_ref = (m_new == -MT_INF) ? 0.f : m_new;
        const float alpha = expf(m - m_ref);
        float rowsum = 0.f;
        for (int c = 0; c < 32; ++c) {
            const int cj = 2 * c + half, j = j0 + cj;
            float p = expf((visible(i, j, Tq, Tk, causal) ? srow[cj] * scale : -MT_INF) - m_ref);
            rowsum += p;
            if (dropout) p = mt_keep(drop_index(bh, i, j, Tq, Tk), k1, k2, thr) ? p * inv_keep : 0.f;
            srow[cj] = p;
        }
        rowsum += __shfl_xor_sync(0xffffffffu, rowsum, 1);
        l = l * alpha + rowsum;
        m = m_new;
#pragma unroll
        for (int d = 0; d < HD / 2; ++d) o[d] *= alpha;
        __syncthreads();                     // every warp's key reads done
        load_tile(sKV, V + kbase, j0, Tk);
        __syncthreads();
        {
            FragC pv[NF];
#pragma unroll
            for (int n = 0; n < NF; ++n) fill_zero(pv[n]);
            warp_wx(sS + warp * 16 * LDP, LDP, sKV, pv);
            __syncwarp();                                    // the warp's P is read: its rows take P V
#pragma unroll
            for (int n = 0; n < NF; ++n)
                store_c(sS + warp * 16 * LDP + n * 16, pv[n], LDP);
        }
        __syncwarp();
#pragma unroll
        for (int d = 0; d < HD / 2; ++d) o[d] += srow[2 * d + half];
    }
    if (i < Tq) {
        const float inv = (l == 0.f) ? 0.f : 1.f / l;
#pragma unroll
        for (int d = 0; d < HD / 2; ++d) O[qbase + (long long)i * HD + 2 * d + half] = mt_st(o[d] * inv);
        if (half == 0) Lse[(long long)bh * Tq + i] = (l == 0.f) ? MT_INF : m + logf(l);
    }
}

extern "C" __global__ void __launch_bounds__(NT) flash_bwd_dkdv_tc(
        const mt_io* __restrict__ Q, const mt_io* __restrict__ K, const mt_io* __restrict__ V,
        const mt_io* __restrict__ dO, const float* __restrict__ Lse, const float* __restrict__ Dlt,
        mt_io* __restrict__ dK, mt_io* __restrict__ dV, int Tq, int Tk, float scale, int causal,
        int dropout, float inv_keep, MT_KEY_PARAMS) {
    extern __shared__ __align__(128) float smem[];
    float* sK = smem;                        // (BN, LDH)
    float* sV = sK + BN * LDH;               // (BN, LDH)
    float* sQ = sV + BN * LDH;               // (BM, LDH)
    float* sdO = sQ + BM * LDH;              // (BM, LDH)
    float* sSt = sdO + BM * LDH;             // (BN, LDS): S^T, then dropped P^T
    float* sdPt = sSt + BN * LDS;            // (BN, LDS): dP^T, then dS^T
    float* sL = sdPt + BN * LDS;             // (BM,)
    float* sD = sL + BM;                     // (BM,)
    const int bh = blockIdx.x, j0 = blockIdx.y * BN;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int r = warp * 16 + (lane >> 1), half = lane & 1, j = j0 + r;
    const long long qbase = (long long)bh * Tq * HD, kbase = (long long)bh * Tk * HD;
    MT_LOAD_KEYS

    load_tile(sK, K + kbase, j0, Tk);
    load_tile(sV, V + kbase, j0, Tk);
    FragC dk[NF], dv[NF];
#pragma unroll
    for (int n = 0; n < NF; ++n) { fill_zero(dk[n]); fill_zero(dv[n]); }
    float* st = sSt + r * LDS;
    float* dpt = sdPt + r * LDS;
    const int istart = causal ? (j0 / BM) * BM : 0;
    for (int i0 = istart; i0 < Tq; i0 += BM) {
        __syncthreads();
        load_tile(sQ, Q + qbase, i0, Tq);
        load_tile(sdO, dO + qbase, i0, Tq);
        if (tid < BM) {
            const int i = i0 + tid;
            sL[tid] = (i < Tq) ? Lse[(long long)bh * Tq + i] : MT_INF;
            sD[tid] = (i < Tq) ? Dlt[(long long)bh * Tq + i] : 0.f;
        }
        __syncthreads();
        {
            FragC acc[4];
            warp_abt(sK + warp * 16 * LDH, sQ, acc);        // S^T: keys x queries
            store4(sSt + warp * 16 * LDS, acc, LDS);
            warp_abt(sV + warp * 16 * LDH, sdO, acc);       // dP^T before dropout: V dO^T
            store4(sdPt + warp * 16 * LDS, acc, LDS);
        }
        __syncwarp();
        for (int c = 0; c < 32; ++c) {
            const int ci = 2 * c + half, i = i0 + ci;
            float pd = 0.f, ds = 0.f;
            if (visible(i, j, Tq, Tk, causal)) {
                const float p = expf(st[ci] * scale - sL[ci]);
                float dpk = dpt[ci];
                pd = p;
                if (dropout) {
                    const bool keep = mt_keep(drop_index(bh, i, j, Tq, Tk), k1, k2, thr);
                    pd = keep ? p * inv_keep : 0.f;
                    dpk = keep ? dpk * inv_keep : 0.f;
                }
                ds = p * (dpk - sD[ci]) * scale;
            }
            st[ci] = pd;
            dpt[ci] = ds;
        }
        __syncwarp();
        warp_wx(sSt + warp * 16 * LDS, LDS, sdO, dv);            // dV += (P * keep / (1 - p))^T dO
        warp_wx(sdPt + warp * 16 * LDS, LDS, sQ, dk);            // dK += dS^T Q
    }
    __syncthreads();                                        // sQ, sdO free: stage the results there
#pragma unroll
    for (int n = 0; n < NF; ++n) {
        store_c(sQ + warp * 16 * LDH + n * 16, dk[n], LDH);
        store_c(sdO + warp * 16 * LDH + n * 16, dv[n], LDH);
    }
    __syncthreads();
    save_tile(dK + kbase, sQ, j0, Tk);
    save_tile(dV + kbase, sdO, j0, Tk);
}

extern "C" __global__ void __launch_bounds__(NT) flash_bwd_dq_tc(
        const mt_io* __restrict__ Q, const mt_io* __restrict__ K, const mt_io* __restrict__ V,
        const mt_io* __restrict__ dO, const float* __restrict__ Lse, const float* __restrict__ Dlt,
        mt_io* __restrict__ dQ, int Tq, int Tk, float scale, int causal,
        int dropout, float inv_keep, MT_KEY_PARAMS) {
    extern __shared__ __align__(128) float smem[];
    float* sQ = smem;                        // (BM, LDH)
    float* sdO = sQ + BM * LDH;              // (BM, LDH)
    float* sK = sdO + BM * LDH;              // (BN, LDH)
    float* sV = sK + BN * LDH;               // (BN, LDH)
    float* sS = sV + BN * LDH;               // (BM, LDS): S, then dS
    float* sdP = sS + BM * LDS;              // (BM, LDS): dP before dropout
    const int bh = blockIdx.x;
    const int i0 = (gridDim.y - 1 - blockIdx.y) * BM;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row = warp * 16 + (lane >> 1), half = lane & 1, i = i0 + row;
    const long long qbase = (long long)bh * Tq * HD, kbase = (long long)bh * Tk * HD;
    MT_LOAD_KEYS

    load_tile(sQ, Q + qbase, i0, Tq);
    load_tile(sdO, dO + qbase, i0, Tq);
    const float L = (i < Tq) ? Lse[(long long)bh * Tq + i] : MT_INF;
    const float D = (i < Tq) ? Dlt[(long long)bh * Tq + i] : 0.f;
    FragC dq[NF];
#pragma unroll
    for (int n = 0; n < NF; ++n) fill_zero(dq[n]);
    float* srow = sS + row * LDS;
    const float* dprow = sdP + row * LDS;
    const int kend = (causal && i0 + BM < Tk) ? i0 + BM : Tk;
    for (int j0 = 0; j0 < kend; j0 += BN) {
        __syncthreads();
        load_tile(sK, K + kbase, j0, Tk);
        load_tile(sV, V + kbase, j0, Tk);
        __syncthreads();
        {
            FragC acc[4];
            warp_abt(sQ + warp * 16 * LDH, sK, acc);
            store4(sS + warp * 16 * LDS, acc, LDS);
            warp_abt(sdO + warp * 16 * LDH, sV, acc);
            store4(sdP + warp * 16 * LDS, acc, LDS);
        }
        __syncwarp();
        for (int c = 0; c < 32; ++c) {
            const int cj = 2 * c + half, j = j0 + cj;
            float ds = 0.f;
            if (visible(i, j, Tq, Tk, causal)) {
                const float p = expf(srow[cj] * scale - L);
                float dpk = dprow[cj];
                if (dropout) dpk = mt_keep(drop_index(bh, i, j, Tq, Tk), k1, k2, thr) ? dpk * inv_keep : 0.f;
                ds = p * (dpk - D) * scale;
            }
            srow[cj] = ds;
        }
        __syncwarp();
        warp_wx(sS + warp * 16 * LDS, LDS, sK, dq);              // dQ += dS K
    }
    __syncthreads();
#pragma unroll
    for (int n = 0; n < NF; ++n)
        store_c(sQ + warp * 16 * LDH + n * 16, dq[n], LDH);
    __syncthreads();
    save_tile(dQ + qbase, sQ, i0, Tq);
}
'''

SOURCE = _HELPERS + DEFINES + PTX_WMMA + KERNELS
THREADS = 128
NAMES = {'fwd': 'flash_fwd_tc', 'dkdv': 'flash_bwd_dkdv_tc', 'dq': 'flash_bwd_dq_tc'}


def shared_bytes(kind, hd):
    tile, square = 64 * (hd + 4), 64 * (64 + 4)
    return 4 * {'fwd': 2 * tile + 64 * (max(hd, 64) + 4), 'dkdv': 4 * tile + 2 * square + 128, 'dq': 4 * tile + 2 * square}[kind]
