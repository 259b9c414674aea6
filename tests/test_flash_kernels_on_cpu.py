"""FlashAttention's CUDA C itself, run on the CPU: the kernel sources of
cuda/flash_attention.py and cuda/flash_attention_tc.py compiled by g++ against a small model
of the CUDA execution model (a block = std::threads meeting at std::barrier for
__syncthreads, a warp = 32 of them exchanging through memory for __shfl_xor_sync and
__syncwarp) and, for the tensor-core kernels, a C++ model of the PTX wmma m16n16k8 TF32
instructions (load, TF32 rounding, multiply-accumulate, store: the lane layout is the
model's own, which the kernels never depend on). What this proves before a GPU run: the
tile indexing, bounds, barriers, masks, dropout indices and the softmax/backward
arithmetic of the exact source, against FlashAttention's xp branch in float64.
Skips without a C++20 compiler.
"""
import math
import shutil
import subprocess

import numpy as np
import pytest

import minitensor as mt
from minitensor.cuda import flash_attention as fa
from minitensor.cuda import flash_attention_tc as tc
from minitensor.cuda.common import HASH_PREAMBLE, WARP_PREAMBLE
from minitensor.ops.flash import FlashAttention
from minitensor.random_hash import dropout_keys

CXX = shutil.which('g++')
pytestmark = pytest.mark.skipif(CXX is None, reason="needs g++ (C++20) to run the kernels on the CPU")

SHIM = r'''
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>
struct Dim3 { unsigned int x, y, z; };
static thread_local Dim3 threadIdx, blockIdx;
static Dim3 gridDim, blockDim;
static std::barrier<>* mt_block_barrier;
static std::barrier<>* mt_warp_barrier[32];
static float mt_warp_buf[32][32];
static thread_local float* mt_smem;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __launch_bounds__(n)
#define __align__(n) alignas(n)
inline void __syncthreads() { mt_block_barrier->arrive_and_wait(); }
inline void __syncwarp(unsigned int = 0xffffffffu) { mt_warp_barrier[threadIdx.x / 32]->arrive_and_wait(); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int i; std::memcpy(&i, &f, 4); return i; }
inline float __shfl_xor_sync(unsigned int, float v, int o) {
    int w = threadIdx.x / 32, l = threadIdx.x % 32;
    mt_warp_buf[w][l] = v;
    __syncwarp();
    float r = mt_warp_buf[w][l ^ o];
    __syncwarp();
    return r;
}
'''

# the wmma m16n16k8 TF32 instructions, modelled: lane l holds A/B elements 4l..4l+3 and
# accumulator elements 8l..8l+7 (row-major); an mma gathers the warp's pieces in memory
WMMA_MODEL = r'''
struct FragA { unsigned int x[4]; };
struct FragB { unsigned int x[4]; };
struct FragC { float x[8]; };
static float mt_a[32][128], mt_b[32][128];
inline unsigned int mt_tf32(float f) {          // cvt.rna.tf32.f32: nearest, ties away from zero
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7f800000u) != 0x7f800000u) { u += 0x1000u; u &= 0xffffe000u; }
    return u;
}
inline int mt_lane() { return threadIdx.x % 32; }
inline void fill_zero(FragC& c) { for (int t = 0; t < 8; ++t) c.x[t] = 0.f; }
inline void load_a(FragA& a, const float* p, int ld) {
    for (int t = 0; t < 4; ++t) { int e = mt_lane() * 4 + t; a.x[t] = mt_tf32(p[(e / 8) * ld + e % 8]); }
}
inline void load_b_col(FragB& b, const float* p, int ld) {
    for (int t = 0; t < 4; ++t) { int e = mt_lane() * 4 + t; b.x[t] = mt_tf32(p[(e % 16) * ld + e / 16]); }
}
inline void load_b_row(FragB& b, const float* p, int ld) {
    for (int t = 0; t < 4; ++t) { int e = mt_lane() * 4 + t; b.x[t] = mt_tf32(p[(e / 16) * ld + e % 16]); }
}
inline void mma_any(FragC& c, const FragA& a, const FragB& b) {
    int w = threadIdx.x / 32, l = mt_lane();
    for (int t = 0; t < 4; ++t) { mt_a[w][l * 4 + t] = __uint_as_float(a.x[t]); mt_b[w][l * 4 + t] = __uint_as_float(b.x[t]); }
    __syncwarp();
    for (int t = 0; t < 8; ++t) {
        int e = l * 8 + t, m = e / 16, n = e % 16;
        float acc = c.x[t];
        for (int k = 0; k < 8; ++k) acc = std::fmaf(mt_a[w][m * 8 + k], mt_b[w][k * 16 + n], acc);
        c.x[t] = acc;
    }
    __syncwarp();
}
inline void mma_col(FragC& c, const FragA& a, const FragB& b) { mma_any(c, a, b); }
inline void mma_row(FragC& c, const FragA& a, const FragB& b) { mma_any(c, a, b); }
inline void store_c(float* p, const FragC& c, int ld) {
    for (int t = 0; t < 8; ++t) { int e = mt_lane() * 8 + t; p[(e / 16) * ld + e % 16] = c.x[t]; }
}
'''

MAIN = r'''
template <class F> void launch(unsigned int gx, unsigned int gy, unsigned int threads, size_t smem_bytes, F body) {
    gridDim = {gx, gy, 1}; blockDim = {threads, 1, 1};
    std::vector<float> smem(smem_bytes / 4 + 16);
    for (unsigned int by = 0; by < gy; ++by)
        for (unsigned int bx = 0; bx < gx; ++bx) {
            std::fill(smem.begin(), smem.end(), std::nanf(""));      // stale shared memory reads show
            std::barrier<> block(threads);
            mt_block_barrier = &block;
            std::vector<std::unique_ptr<std::barrier<>>> warps;
            for (unsigned int w = 0; w < threads / 32; ++w) {
                warps.emplace_back(new std::barrier<>(32));
                mt_warp_barrier[w] = warps.back().get();
            }
            std::vector<std::thread> ts;
            for (unsigned int t = 0; t < threads; ++t)
                ts.emplace_back([&, t] { threadIdx = {t, 0, 0}; blockIdx = {bx, by, 0}; mt_smem = smem.data(); body(); });
            for (auto& th : ts) th.join();
        }
}
template <class T> std::vector<T> read(const char* path, size_t n) {
    std::vector<T> v(n);
    FILE* f = std::fopen(path, "rb");
    if (!f || std::fread(v.data(), sizeof(T), n, f) != n) { std::perror(path); std::exit(1); }
    std::fclose(f);
    return v;
}
template <class T> void write(const char* path, const std::vector<T>& v) {
    FILE* f = std::fopen(path, "wb");
    std::fwrite(v.data(), sizeof(T), v.size(), f);
    std::fclose(f);
}
int main() {
    int BH, Tq, Tk, causal, dropout;
    float scale, inv_keep;
    unsigned int keys[3];
    FILE* pf = std::fopen("params.txt", "r");
    if (!pf || std::fscanf(pf, "%d %d %d %f %f %d %d %u %u %u", &BH, &Tq, &Tk, &scale, &inv_keep, &causal,
                           &dropout, &keys[0], &keys[1], &keys[2]) != 10) { std::perror("params.txt"); return 1; }
    std::fclose(pf);
    auto q = read<mt_io>("q.bin", (size_t)BH * Tq * HD), k = read<mt_io>("k.bin", (size_t)BH * Tk * HD);
    auto v = read<mt_io>("v.bin", (size_t)BH * Tk * HD), g = read<mt_io>("g.bin", (size_t)BH * Tq * HD);
    std::vector<mt_io> o((size_t)BH * Tq * HD), dq(q.size()), dk(k.size()), dv(v.size());
    std::vector<float> lse((size_t)BH * Tq), delta((size_t)BH * Tq);
    const unsigned int nq = (Tq + 63) / 64, nk = (Tk + 63) / 64;
#ifdef MT_DEVICE_KEYS
#define KEYS keys
#else
#define KEYS keys[0], keys[1], keys[2]
#endif
    launch(BH, nq, THREADS, SMEM_FWD, [&] { FWD(q.data(), k.data(), v.data(), o.data(), lse.data(), Tq, Tk, scale, causal, dropout, inv_keep, KEYS); });
    launch((BH * Tq + 3) / 4, 1, 128, 0, [&] {
        flash_delta(g.data(), o.data(), delta.data(), (long long)BH * Tq, HD); });
    launch(BH, nk, THREADS, SMEM_DKDV, [&] { DKDV(q.data(), k.data(), v.data(), g.data(), lse.data(), delta.data(),
                                                 dk.data(), dv.data(), Tq, Tk, scale, causal, dropout, inv_keep, KEYS); });
    launch(BH, nq, THREADS, SMEM_DQ, [&] { DQ(q.data(), k.data(), v.data(), g.data(), lse.data(), delta.data(),
                                             dq.data(), Tq, Tk, scale, causal, dropout, inv_keep, KEYS); });
    write("o.bin", o); write("lse.bin", lse); write("dq.bin", dq); write("dk.bin", dk); write("dv.bin", dv);
    return 0;
}
'''


def to_cpu_source(code):
    """A kernel source with CUDA's shared-memory declaration made the block's buffer."""
    for decl in ('extern __shared__ __align__(128) float smem[];', 'extern __shared__ __align__(16) float smem[];',
                 'extern __shared__ float smem[];'):
        code = code.replace(decl, 'float* smem = mt_smem;')
    return code


_builds = {}          # (variant, hd, io, device_keys) -> the directory holding its binary


def build(tmp_factory, variant, hd, io, device_keys):
    """Compile the kernels of `variant` for head size hd and storage io, once per session."""
    key = (variant, hd, io, device_keys)
    if key in _builds:
        return _builds[key]
    if variant == 'tc':
        kernels = tc.DEFINES + WMMA_MODEL + tc.KERNELS
        names, threads = tc.NAMES, tc.THREADS
        smem = {kind: tc.shared_bytes(kind, hd) for kind in names}
    else:
        kernels = fa._COMMON.replace(fa._HELPERS, '') + ''.join(
            code.replace(fa._COMMON, '') for code in (fa._FORWARD, fa._BACKWARD_DKDV, fa._BACKWARD_DQ))
        names = {'fwd': 'flash_fwd', 'dkdv': 'flash_bwd_dkdv', 'dq': 'flash_bwd_dq'}
        threads, smem = fa.THREADS, {kind: fa._shared_bytes(kind, hd) for kind in names}
    params = {'THREADS': threads, 'SMEM_FWD': smem['fwd'], 'SMEM_DKDV': smem['dkdv'], 'SMEM_DQ': smem['dq'],
              'FWD': names['fwd'], 'DKDV': names['dkdv'], 'DQ': names['dq']}
    head = f'#define HD {hd}\n#define MT_IO {fa.IO_DTYPES[io]}\n' + ('#define MT_DEVICE_KEYS 1\n' if device_keys else '')
    head += ''.join(f'#define {name} {value}\n' for name, value in params.items())
    delta = fa._DELTA.replace(fa._HELPERS, '')
    source = head + SHIM + WARP_PREAMBLE + HASH_PREAMBLE + fa._HELPERS + to_cpu_source(kernels) + delta + MAIN
    where = tmp_factory.mktemp(f'{variant}{hd}{io}')
    (where / 'k.cpp').write_text(source)
    done = subprocess.run([CXX, '-std=c++20', '-O1', '-pthread', '-w', '-o', 'k', 'k.cpp'], cwd=where,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    _builds[key] = where
    return where


def run_kernels(tmp_factory, variant, arrays, g, scale, causal, p, keys, io='float32', device_keys=False):
    """Run the kernels' forward and backward on the CPU: (O, L, dq, dk, dv) as float64."""
    q, k, v = arrays
    bh, tq, hd = q.shape
    where = build(tmp_factory, variant, hd, io, device_keys)
    k1, k2, thr = keys if p else (0, 0, 0)
    (where / 'params.txt').write_text(f'{bh} {tq} {k.shape[1]} {scale!r} {1 / (1 - p)!r} {int(causal)} '
                                      f'{int(bool(p))} {k1} {k2} {thr}')
    store = {'float32': np.float32, 'bfloat16': np.uint16}[io]
    for name, a in zip('qkvg', (q, k, v, g)):
        (where / f'{name}.bin').write_bytes(to_storage(a, io).astype(store).tobytes())
    result = subprocess.run(['./k'], cwd=where, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    read = lambda name: from_storage(np.fromfile(where / f'{name}.bin', store), io)   # noqa: E731
    out = read('o').reshape(q.shape)
    lse = np.fromfile(where / 'lse.bin', np.float32).reshape(bh, tq)
    return [out, lse] + [read(n).reshape(a.shape) for n, a in (('dq', q), ('dk', k), ('dv', v))]


def to_storage(a, io):
    a = a.astype(np.float32)
    if io == 'float32':
        return a
    u = a.view(np.uint32).astype(np.uint64)                     # bfloat16 bits, nearest even
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def from_storage(a, io):
    if io == 'float32':
        return a.astype(np.float64)
    return (a.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def reference(arrays, g, scale, causal, p, keys):
    ts = [mt.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    out = FlashAttention.apply(*ts, scale=scale, causal=causal, dropout_p=p, keys=keys)
    out.backward(mt.tensor(g.astype(np.float64)))
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


def case(seed, bh, tq, tk, hd):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((bh, n, hd)).astype(np.float32) for n in (tq, tk, tk)]
    return arrays, rng.standard_normal((bh, tq, hd)).astype(np.float32)


def assert_within(got, want, bound):
    for name, a, b in zip(('out', 'dq', 'dk', 'dv'), got, want):
        assert np.isfinite(a).all(), name
        err = float(np.abs(a - b).max() / max(np.abs(b).max(), 1.0))
        assert err <= bound, (name, err)


# float32 kernels against the float64 reference: ~1e-6 of the largest magnitude expected
SIMT_CASES = [(True, 1, 1, 16, 0.0), (True, 70, 70, 16, 0.3), (False, 5, 67, 16, 0.2), (True, 67, 40, 7, 0.0),
              (False, 66, 3, 7, 0.0), (True, 130, 130, 80, 0.2)]


@pytest.mark.parametrize('causal,tq,tk,hd,p', SIMT_CASES)
def test_float32_kernels_on_the_cpu(tmp_path_factory, causal, tq, tk, hd, p):
    arrays, g = case(tq * 7 + tk + hd, 2 if tq <= 5 else 1, tq, tk, hd)     # bh > 0 offsets too
    keys, scale = dropout_keys(99, p), 1 / math.sqrt(hd)
    out, lse, *grads = run_kernels(tmp_path_factory, 'simt', arrays, g, scale, causal, p, keys)
    assert_within([out, *grads], reference(arrays, g, scale, causal, p, keys), 2e-5)


@pytest.mark.parametrize('causal,tq,tk,hd,p', [(True, 70, 70, 16, 0.3), (False, 5, 67, 16, 0.0), (True, 1, 1, 16, 0.2),
                                               (True, 130, 130, 80, 0.2)])
def test_tensor_core_kernels_on_the_cpu(tmp_path_factory, causal, tq, tk, hd, p):
    """The TF32 kernels with the wmma model: within the TF32 bound of the GPU tests."""
    arrays, g = case(tq + tk * 3 + hd, 2 if tq <= 5 else 1, tq, tk, hd)
    keys, scale = dropout_keys(7, p), 1 / math.sqrt(hd)
    out, lse, *grads = run_kernels(tmp_path_factory, 'tc', arrays, g, scale, causal, p, keys, device_keys=True)
    assert_within([out, *grads], reference(arrays, g, scale, causal, p, keys), 1e-2)


def test_bfloat16_storage_on_the_cpu(tmp_path_factory):
    arrays, g = case(5, 1, 70, 70, 32)
    rounded = [from_storage(to_storage(a, 'bfloat16'), 'bfloat16') for a in arrays + [g]]
    keys = dropout_keys(3, 0.1)
    out, lse, *grads = run_kernels(tmp_path_factory, 'tc', arrays, g, 32 ** -0.5, True, 0.1, keys, io='bfloat16')
    assert_within([out, *grads], reference(rounded[:3], rounded[3], 32 ** -0.5, True, 0.1, keys), 2e-2)


def test_fully_masked_row_gives_zeros_and_an_infinite_lse_on_the_cpu(tmp_path_factory):
    arrays, g = case(11, 1, 5, 5, 16)
    arrays[0][0, 2] = 0
    arrays[0][0, 2, 0] = -np.inf                    # query 2 against k[.., 0] > 0: every score -inf
    arrays[1][0, :, 0] = np.abs(arrays[1][0, :, 0]) + 0.5
    out, lse, dq, dk, dv = run_kernels(tmp_path_factory, 'simt', arrays, g, 0.25, True, 0.0, (0, 0, 0))
    assert (out[0, 2] == 0).all() and lse[0, 2] == np.inf and (dq[0, 2] == 0).all()
    assert np.isfinite(np.delete(out, 2, axis=1)).all() and np.isfinite(dv).all()

