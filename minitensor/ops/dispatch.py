"""Tensor-level ops whose fast path is a different chain of Functions, not a different
kernel inside one: dropout and scaled dot-product attention.

nn.functional calls these under torch's names and never tests the device; the choice
is made here, once, with cuda.fusable (which reads mt.backends.fast_paths). The
portable branch is the readable reference (the lecture's lines); the fused branch must
compute the same thing (tests/gpu checks one against the other).
"""
import math
import os

import numpy as np

from .. import cuda
from .. import random as mt_random
from ..backend import backends
from ..cuda import flash_attention as flash
from ..random_hash import dropout_keys, next_seed
from ..tensor import Tensor
from . import nn as N
from .flash import FlashAttention


def step_dropout_keys(generator, p):
    """This step's dropout keys for a fused kernel: a fresh seed from the generator, drawn
    now (eager) or before each replay into a device slot (CUDA-graph capture)."""
    return cuda.graphs.step_values(lambda: dropout_keys(next_seed(generator), p), 3, np.uint32)


def _not_capturing(op):
    if cuda.graphs.is_capturing():
        raise RuntimeError(f"{op}: its portable path (not float32 on the GPU, or fast paths off) "
                           f"draws its random mask on the host, which a CUDA graph would replay "
                           f"unchanged; capture float32 GPU models only")


def dropout(x, p, generator=None):
    """x * keep / (1 - p) with keep ~ Bernoulli(1 - p), for 0 < p < 1.

    Fast path (float32, bfloat16 or float16 on the GPU): HashDropout, one launch each way
    and no stored mask.
    Portable: a mask drawn from the generator and saved for backward.
    """
    if cuda.fusable_elementwise(x.array):
        return N.HashDropout.apply(x, p=p, keys=step_dropout_keys(generator, p))
    _not_capturing('dropout')
    keep = mt_random.bernoulli(x.shape, 1.0 - p, x.device, generator)   # torch's CPU mask, draw for draw
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return N.Dropout.apply(x, mask=mask)


# Which GPU kernel runs causal attention when the fast paths are on (a module setting, so
# the lead can time one against the other; MINITENSOR_ATTENTION=causal_softmax starts with it):
#   'flash'           FlashAttention (cuda/flash_attention.py): tiled, online softmax, the
#                     dropout mask regenerated from the hash in the tiles; no (..., T, T)
#                     array forward or backward, so activation memory is O(T) per row
#                     instead of O(T^2), and causal tiles above the diagonal are skipped.
#                     Taken for CuPy q, k, v of one dtype (float32, or bfloat16/float16 as
#                     autocast hands them), one batch shape and head size 1..128,
#                     is_causal=True or no mask; its tile products run on CUDA cores in
#                     float32, or on tensor cores (TF32 products, float32 sums) for the half
#                     types and under mt.backends.allow_tf32 (head size a multiple of 16),
#                     softmax and sums always in float32. The default: it saves the
#                     (B, nh, T, T) scores, probabilities and their gradients (~100 MB each
#                     at the lecture size) and several passes over them.
#   'causal_softmax'  the earlier fusion: cuBLAS q @ k^T, one kernel for scale + causal
#                     mask + softmax + dropout (CausalSoftmax), cuBLAS @ v. Materialises
#                     (..., T, T) but its GEMMs run on cuBLAS; kept to compare against.
# Neither applies (masks, GQA broadcasting, float64, CPU, fast paths off): the lecture's lines.
# 'auto' (the default) takes the faster of the two as measured on an H200 (B=64, nh=6, T=256,
# hd=64, dropout 0.2, forward+backward; benchmarks/attention.py): flash for float32 (0.96 vs
# 0.98 ms, a quarter of the memory) and for the half types (the only fused path for them),
# causal_softmax under TF32, whose cuBLAS GEMMs beat the flash kernel's wmma tiles
# (0.74 vs 1.06 ms).
ATTENTION_KERNEL = os.environ.get('MINITENSOR_ATTENTION', 'auto')


def _attention_kernel(q):
    if ATTENTION_KERNEL != 'auto':
        return ATTENTION_KERNEL
    return 'causal_softmax' if q.dtype == np.float32 and backends.allow_tf32 else 'flash'


def scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, generator=None):
    """softmax(q k^T * scale + mask) @ v, with dropout on the attention weights.

    q (..., L, E), k (..., S, E), v (..., S, Ev) -> (..., L, Ev); arguments checked by
    F.scaled_dot_product_attention. Fast paths (on the GPU), see ATTENTION_KERNEL:
    FlashAttention (is_causal or no mask; q, k, v of one batch shape and head size <= 128),
    else CausalSoftmax (is_causal, no attn_mask, L == S). Both draw HashDropout's mask over
    the (..., L, S) weights for one seed, so they and F.causal_softmax agree on it.
    Portable: the lecture's lines.
    """
    L, S = q.shape[-2], k.shape[-2]
    kernel = _attention_kernel(q.array)
    if (kernel == 'flash' and attn_mask is None and dropout_p < 1
            and flash.takes(q.array, k.array, v.array)):
        keys = step_dropout_keys(generator, dropout_p) if dropout_p else (0, 0, 0)
        return FlashAttention.apply(q, k, v, scale=scale, causal=bool(is_causal), dropout_p=dropout_p,
                                    keys=keys)                           # (..., L, Ev)
    if (is_causal and attn_mask is None and L == S and dropout_p < 1
            and cuda.fusable(q.array, k.array, v.array)):
        keys = step_dropout_keys(generator, dropout_p) if dropout_p else (0, 0, 0)
        wei = N.CausalSoftmax.apply(q @ k.transpose(-2, -1), scale=scale, dropout_p=dropout_p,
                                    keys=keys)                           # (..., L, S)
        return wei @ v                                                   # (..., L, Ev)
    if dropout_p:
        _not_capturing('scaled_dot_product_attention')
    xp = q.xp
    wei = q @ k.transpose(-2, -1) * scale                                # (..., L, S)
    if is_causal:                 # query i sees keys 0..i, aligned top-left as torch's tril(ones(L, S))
        future = Tensor._wrap(xp.triu(xp.ones((L, S), dtype=bool), k=1))   # (L, S)
        wei = wei.masked_fill(future, -math.inf)
    if attn_mask is not None and attn_mask.dtype == bool:                # True: takes part
        wei = wei.masked_fill(~attn_mask, -math.inf)
    elif attn_mask is not None:                                          # float: added
        wei = wei + attn_mask
    wei = wei.softmax(-1)                                                # a fully masked row: zeros
    if dropout_p:
        wei = dropout(wei, dropout_p, generator) if dropout_p < 1 else wei * 0.0
    return wei @ v                                                       # (..., L, Ev)
