"""Counter-based dropout masks: element i is kept iff hash(seed, i) clears a threshold.

A mask that is a pure function of (seed, element index) can be recomputed in backward
instead of stored, and a fused GPU kernel (minitensor/cuda/) draws exactly the same
mask as this portable code: murmur3's 32-bit finalizer, applied twice, keyed by the seed.
"""
import numpy as np

from . import random as mt_random

_M32 = 0xFFFFFFFF


def _fmix32_int(h):
    """The finalizer on a Python int (for the keys, computed once per call on the host)."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def _fmix32(h):
    """The finalizer on a uint32 array, in place (multiplication wraps mod 2**32)."""
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def hash_keys(seed):
    """Two 32-bit keys from a 63-bit seed."""
    k1 = _fmix32_int((seed & _M32) ^ 0x9E3779B9)
    k2 = _fmix32_int(((seed >> 32) & _M32) ^ k1)
    return k1, k2


def drop_threshold(p):
    """Element kept iff its 24-bit hash >= this: probability 1 - p to within 2**-24."""
    return int(round(p * (1 << 24)))


def dropout_keys(seed, p):
    """(k1, k2, thr): everything a kernel needs to redraw the mask of (seed, p)."""
    k1, k2 = hash_keys(seed)
    return k1, k2, drop_threshold(p)


def keep_mask(xp, shape, seed, p):
    """bool array of `shape`: True where the element survives dropout with probability p."""
    return keep_mask_from_keys(xp, shape, dropout_keys(seed, p))


def keep_mask_from_keys(xp, shape, keys):
    """keep_mask for the keys (k1, k2, thr) of dropout_keys."""
    n = int(np.prod(shape, dtype=np.int64))
    if n >= 1 << 32:
        raise ValueError(f"dropout: {n} elements is more than the hash mask's 2**32 indices")
    k1, k2, thr = keys
    h = xp.arange(n, dtype=xp.uint32)
    h ^= np.uint32(k1)
    h = _fmix32(h)
    h ^= np.uint32(k2)
    h = _fmix32(h)
    return ((h >> np.uint32(8)) >= np.uint32(thr)).reshape(shape)


def next_seed(generator=None):
    """A fresh 63-bit seed drawn on the host from the generator's CPU stream.

    Host-side, so launching a dropout never waits for the GPU; the CPU stream is part
    of the generator's saved state, so resumed runs draw the same masks. The two raw
    32-bit words are the ones random64(1) would give (high word first), read straight
    from the MT19937 state: ~1 us instead of ~15, which matters when a CUDA-graph replay
    draws every dropout seed of a step on the host.
    """
    high, low = mt_random.resolve(generator).mt.random_raw(2).tolist()
    return ((high << 32) | low) >> 1
