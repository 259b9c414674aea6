"""One-launch elementwise fast paths: hash dropout, ReLU, and the whole Adam/AdamW update.

Portable references: ops/nn.py HashDropout, ops/elementwise.py ReLU, optim/adam.py
Adam._update (same operations in the same order, in the parameter's dtype).
"""
import numpy as np

from ..backend import cupy_module
from .common import elementwise_kernel, key_args, on_device, raw_kernel

_DROPOUT = ('T x, uint32 k1, uint32 k2, uint32 thr, T scale', 'T y',
            'y = mt_keep((unsigned int)i, k1, k2, thr) ? (T)((float)x * (float)scale) : (T)0.0f',
            'mt_hash_dropout')
_DROPOUT_DEVICE_KEYS = ('T x, raw uint32 keys, T scale', 'T y',
                        'y = mt_keep((unsigned int)i, keys[0], keys[1], keys[2]) ? (T)((float)x * (float)scale) '
                        ': (T)0.0f',
                        'mt_hash_dropout_dk')


def hash_dropout(x, p, keys):
    """x * keep / (1 - p), keep from the hash of the flat index under `keys` (k1, k2, thr:
    host numbers, or a device slot under CUDA-graph capture); used both ways. float32,
    bfloat16 or float16 x: the product is formed in float32 and rounded once."""
    if x.size >= 1 << 32:
        raise ValueError(f"dropout: {x.size} elements is more than the hash mask's 2**32 indices")
    scale = x.dtype.type(1.0 / (1.0 - p))
    if on_device(keys):
        return elementwise_kernel(*_DROPOUT_DEVICE_KEYS)(x, keys, scale)
    return elementwise_kernel(*_DROPOUT)(x, *key_args(keys), scale)


def relu_forward(a):
    return elementwise_kernel('T a', 'T y', 'y = a <= (T)0 ? (T)0 : a', 'mt_relu')(a)


def relu_backward(g, y):
    """The gradient from the saved OUTPUT: y <= 0 exactly where a <= 0 (NaN passes g, as torch)."""
    return elementwise_kernel('T g, T y', 'T dx', 'dx = y <= (T)0 ? (T)0 : g', 'mt_relu_bwd')(g, y)


_ADAM_BODY = '''
         T grad = g;
         if (l2 != (T)0) grad = grad + l2 * p;          // Adam: L2 term joins the gradient
         p = p * decay;                                  // AdamW: decoupled decay (1 otherwise)
         m = m * beta1 + one_minus_beta1 * grad;
         v = v * beta2 + one_minus_beta2 * (grad * grad);
         T denom = sqrt(v) / sqrt_bc2 + eps;
         p = p - step_size * (m / denom);
         '''
_ADAM = ('T g, T decay, T l2, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, '
         'T step_size, T sqrt_bc2, T eps', 'T p, T m, T v', _ADAM_BODY, 'mt_adam_update')
# under CUDA-graph capture the step-dependent values come from a device slot
_ADAM_DEVICE_STEP = ('T g, raw T hyper, T l2, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, T eps',
                     'T p, T m, T v',
                     'T decay = hyper[0], step_size = hyper[1], sqrt_bc2 = hyper[2];' + _ADAM_BODY,
                     'mt_adam_update_ds')


def adam_step_values(lr, weight_decay, decoupled, bias_correction1, bias_correction2):
    """(decay, step_size, sqrt_bc2): what changes from step to step in adam_update."""
    decay = 1 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
    return decay, lr / bias_correction1, bias_correction2 ** 0.5


def adam_update(p, grad, m, v, hyper, beta1, beta2, eps, weight_decay, decoupled):
    """Update p, m, v in place with one launch (the math of Adam._update). `hyper` is
    adam_step_values(...): host numbers, or a device slot under CUDA-graph capture."""
    t = p.dtype.type
    l2 = 0.0 if decoupled else weight_decay
    if on_device(hyper):
        elementwise_kernel(*_ADAM_DEVICE_STEP)(grad, hyper, t(l2), t(beta1), t(1 - beta1), t(beta2),
                                               t(1 - beta2), t(eps), p, m, v)
        return
    decay, step_size, sqrt_bc2 = hyper
    elementwise_kernel(*_ADAM)(grad, t(decay), t(l2), t(beta1), t(1 - beta1), t(beta2), t(1 - beta2),
                               t(step_size), t(sqrt_bc2), t(eps), p, m, v)


_SQUARES_PARTIAL = r'''
extern "C" __global__ void sum_squares_partial(const float* __restrict__ x, long long n,
                                               float* __restrict__ partial) {
    // each block sums the squares of a grid-strided share of x: one float per block
    float s = 0.f;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        s += x[i] * x[i];
    __shared__ float warp_sums[32];
    s = mt_warp_sum(s);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        s = threadIdx.x < (blockDim.x >> 5) ? warp_sums[threadIdx.x] : 0.f;
        s = mt_warp_sum(s);
        if (threadIdx.x == 0) partial[blockIdx.x] = s;
    }
}
extern "C" __global__ void sum_squares_total(const float* __restrict__ partial, int blocks,
                                             float* __restrict__ total) {
    // one warp adds the blocks' sums in a fixed order (the same total every run) into *total
    float s = 0.f;
    for (int i = threadIdx.x; i < blocks; i += 32) s += partial[i];
    s = mt_warp_sum(s);
    if (threadIdx.x == 0) total[0] += s;
}
'''
_SQUARES_BLOCKS, _SQUARES_THREADS = 264, 256     # two blocks per SM of an H100/H200


def sum_of_squares(arrays):
    """sum over the arrays of sum(x * x), as a 0-d float32 array: the squared global norm of
    gradient clipping. Two small kernels per array, many blocks wide; deterministic (fixed
    order, no atomics); no cuBLAS dot (CuPy's refuses CUDA-graph capture) and no CUB
    reduction (slow to compile cold; CuPy's plain one runs a full sum in one block)."""
    cp = cupy_module()
    total = cp.zeros((), dtype=np.float32)
    partial = cp.empty(_SQUARES_BLOCKS, dtype=np.float32)
    first = raw_kernel(_SQUARES_PARTIAL, 'sum_squares_partial')
    second = raw_kernel(_SQUARES_PARTIAL, 'sum_squares_total')
    for x in arrays:
        x = cp.ascontiguousarray(x)
        if x.size == 0:
            continue
        blocks = min(_SQUARES_BLOCKS, -(-x.size // _SQUARES_THREADS))
        first((blocks,), (_SQUARES_THREADS,), (x, np.int64(x.size), partial))
        second((1,), (32,), (partial, np.int32(blocks), total))
    return total
