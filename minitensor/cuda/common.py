"""What the kernels share: cached compilation and the counter-based hash RNG in CUDA C."""
import functools

import numpy as np

from ..backend import cupy_module

# murmur3's 32-bit finalizer; two rounds keyed by the seed give each element index an
# independent-looking 32-bit value. The same arithmetic is in minitensor/random_hash.py.
HASH_PREAMBLE = r'''
__device__ __forceinline__ unsigned int mt_fmix32(unsigned int h) {
    h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
    return h;
}
// keep element i with probability 1 - thr / 2^24 (thr = round(p * 2^24))
__device__ __forceinline__ bool mt_keep(unsigned int i, unsigned int k1, unsigned int k2, unsigned int thr) {
    return (mt_fmix32(mt_fmix32(i ^ k1) ^ k2) >> 8) >= thr;
}
// the dropout keys (k1, k2, thr): kernel arguments when eager, read from a device slot
// when MT_DEVICE_KEYS is defined (a CUDA-graph capture: see graphs.step_values)
#ifdef MT_DEVICE_KEYS
#define MT_KEY_PARAMS const unsigned int* __restrict__ mt_keys
#define MT_LOAD_KEYS unsigned int k1 = mt_keys[0], k2 = mt_keys[1], thr = mt_keys[2];
#else
#define MT_KEY_PARAMS unsigned int k1, unsigned int k2, unsigned int thr
#define MT_LOAD_KEYS
#endif
'''

WARP_PREAMBLE = r'''
#define MT_INF __int_as_float(0x7f800000)   // NVRTC has no <math.h> INFINITY
__device__ __forceinline__ float mt_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float mt_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
'''


@functools.lru_cache(maxsize=None)
def raw_kernel(code, name, defines=()):
    """Compile (once per source and defines) and return a RawKernel."""
    cp = cupy_module()
    head = ''.join(f'#define {k} {v}\n' for k, v in defines)
    return cp.RawKernel(head + WARP_PREAMBLE + HASH_PREAMBLE + code, name)


@functools.lru_cache(maxsize=None)
def elementwise_kernel(in_params, out_params, body, name):
    return cupy_module().ElementwiseKernel(in_params, out_params, body, name, preamble=HASH_PREAMBLE)


def on_device(values):
    """True when step values live in a device slot (under CUDA-graph capture), False
    when they are a tuple of host numbers (graphs.step_values)."""
    return not isinstance(values, tuple)


def key_args(keys):
    """Kernel arguments for MT_KEY_PARAMS: the slot itself, or its three uint32 values."""
    if on_device(keys):
        return (keys,)
    return tuple(np.uint32(k) for k in keys)


def rows_launch(rows, warps_per_block=4):
    """Grid and block for one warp per row."""
    return ((rows + warps_per_block - 1) // warps_per_block,), (32 * warps_per_block,)
