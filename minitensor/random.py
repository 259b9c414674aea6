"""Random number generation: mt.manual_seed, mt.Generator, and the draws ops need.

On the CPU a Generator is PyTorch's CPU generator rebuilt on NumPy: an mt19937 seeded
from the low 32 bits of the seed, and the same transforms torch applies to its raw
32-bit draws, so after `mt.manual_seed(s)` rand/randn/randint/randperm/multinomial
print the numbers torch prints (the makemore/GPT lectures' numbers). On the GPU a
CuPy generator, created on first use, seeded from the same seed (torch's CUDA stream
is Philox: not reproduced).
"""
import math

import numpy as np

from . import dtypes
from .backend import get_xp
from .random_boxmuller import box_muller_blocks, fma64

DEFAULT_SEED = 67280421310721       # torch's default_rng_seed_val: unseeded generators start here


def _mt19937_key(seed32):
    """mt19937's init_genrand: the 624-word state a 32-bit seed expands to."""
    key = [seed32]
    for i in range(1, 624):
        prev = key[-1]
        key.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
    return np.array(key, dtype=np.uint32)


class Generator:
    """A seedable source of random numbers, as torch.Generator: mt.Generator().manual_seed(42)."""

    def __init__(self, device='cpu'):
        self.device = device
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed):
        self._seed = int(seed) % (1 << 64)      # torch keeps the seed as a uint64
        self.mt = np.random.MT19937()
        self.mt.state = {'bit_generator': 'MT19937',
                         'state': {'key': _mt19937_key(self._seed & 0xFFFFFFFF), 'pos': 624}}
        self._draw = np.random.Generator(self.mt)   # its full-range uint32 draws are mt's raw words
        self.next_normal = None  # torch's cached second Box-Muller sample (scalar normal path)
        self._gpu = None
        self.gpu_epoch = 0       # how many times the GPU stream was restarted (see get_state)
        return self

    def seed(self):
        """Reseed from fresh entropy and return the new seed, as torch.Generator.seed()."""
        s = int(np.random.SeedSequence().entropy % (1 << 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    # ---- raw draws (torch's CPUGeneratorImpl::random / random64)

    def random32(self, n):
        """n successive 32-bit draws (uint32); twice as fast as MT19937.random_raw."""
        return self._draw.integers(0, 1 << 32, size=n, dtype=np.uint32)

    def random64(self, n):
        """n 64-bit draws: two 32-bit draws each, the first the high word."""
        r = self.random32(2 * n).astype(np.uint64)                         # (2n,)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    def for_device(self, device):
        """The CuPy generator that draws on the GPU."""
        if self._gpu is None:
            self._gpu = get_xp('gpu').random.RandomState(self._gpu_seed())
        return self._gpu

    def _gpu_seed(self):
        """The seed of GPU stream number gpu_epoch: a fixed function of (seed, epoch)."""
        if self.gpu_epoch == 0:
            return self._seed % (1 << 63)
        return int(np.random.SeedSequence([self._seed, self.gpu_epoch]).generate_state(1)[0])

    def get_state(self):
        """Everything needed to continue these random streams exactly (for checkpoints).

        The CPU stream's state is read back as is. CuPy's GPU stream cannot be read
        back, so saving starts a fresh GPU stream, number gpu_epoch, seeded from
        (seed, gpu_epoch): the run that saved and a run resumed from the saved state
        then draw the same numbers on both devices.
        """
        if self._gpu is not None:
            self.gpu_epoch += 1
            self._gpu = None     # recreated on the next GPU draw from the new epoch's seed
        mt = self.mt.state['state']
        return {'seed': self._seed, 'mt_key': mt['key'].tolist(), 'mt_pos': int(mt['pos']),
                'next_normal': self.next_normal, 'gpu_epoch': self.gpu_epoch}

    def set_state(self, state):
        self.manual_seed(state['seed'])
        self.mt.state = {'bit_generator': 'MT19937',
                         'state': {'key': np.asarray(state['mt_key'], dtype=np.uint32),
                                   'pos': int(state['mt_pos'])}}
        self.next_normal = state.get('next_normal')
        self.gpu_epoch = int(state.get('gpu_epoch', 0))
        return self


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator (CPU and GPU draws); returns it, as torch."""
    return default_generator.manual_seed(seed)


def resolve(generator):
    return default_generator if generator is None else generator


# ---- torch's transforms of raw draws (CPU)


def _np_float(dtype):
    return np.float32 if dtype == dtypes.float32 else np.float64


def cpu_uniform(gen, n, npdt):
    """torch's uniform_real_distribution(0, 1): 24 bits of a draw (float32) or 53 of a random64."""
    if npdt == np.float32:
        return (gen.random32(n) & np.uint32(0xFFFFFF)).astype(np.float32) * np.float32(2.0 ** -24)
    r = gen.random32(2 * n).reshape(n, 2)                                  # (n, [high, low]) words
    return (r[:, 0] & np.uint32(0x1FFFFF)) * (2.0 ** -21) + r[:, 1] * (2.0 ** -53)  # exact: 53 bits


def _scalar_normal(gen):
    """torch's normal_distribution<double>: Box-Muller on two random64 uniforms, the sin
    half kept in the generator for the next call."""
    if gen.next_normal is not None:
        z, gen.next_normal = gen.next_normal, None
        return z
    u1, u2 = (float(v) for v in cpu_uniform(gen, 2, np.float64))
    radius = math.sqrt(-2.0 * math.log1p(-u2))
    theta = 2.0 * math.pi * u1
    gen.next_normal = radius * math.sin(theta)
    return radius * math.cos(theta)


def cpu_normal(gen, shape, npdt, mean=0.0, std=1.0):
    """torch's CPU normal_: >= 16 elements fill uniforms then Box-Muller in blocks of 16
    (redoing the last 16 from fresh draws when 16 does not divide n); fewer elements
    draw one double normal each."""
    n = int(np.prod(shape, dtype=np.int64))
    if n < 16:
        vals = [_scalar_normal(gen) * std + mean for _ in range(n)]
        return np.array(vals, dtype=np.float64).astype(npdt).reshape(shape)
    out = np.empty(n, dtype=npdt)
    whole = n - n % 16
    out[:whole] = box_muller_blocks(cpu_uniform(gen, whole, npdt))
    if n % 16:
        gen.random32(n % 16 if npdt == np.float32 else 2 * (n % 16))      # the rest of the n uniforms
        out[n - 16:] = box_muller_blocks(cpu_uniform(gen, 16, npdt))  # last 16 redone from fresh draws
    if std != 1.0 or mean != 0.0:
        if npdt == np.float32:                                             # torch: one fused multiply-add
            out = (out.astype(np.float64) * np.float64(np.float32(std)) + np.float32(mean)).astype(np.float32)
        else:                                                              # torch: std::fma
            out = fma64(out, float(std), float(mean))
    return out.reshape(shape)


def cpu_randint(gen, low, high, shape):
    """torch's random_from_to: random() % range + low; ranges >= 2**28 use random64 (found on torch 2.13)."""
    n = int(np.prod(shape, dtype=np.int64))
    span = high - low
    raw = gen.random32(n).astype(np.uint64) if span < (1 << 28) else gen.random64(n)
    return ((raw % np.uint64(span)).astype(np.int64) + np.int64(low)).reshape(shape)


def cpu_randperm(gen, n):
    """torch's randperm_cpu: Fisher-Yates, swap i with i + random() % (n - i)."""
    perm = np.arange(n, dtype=np.int64)
    if n < 2:
        return perm
    raw = gen.random32(n - 1).astype(np.uint64) if n < (1 << 32) // 20 else gen.random64(n - 1)
    z = (raw % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64) + np.arange(n - 1)
    for i, j in enumerate(z.tolist()):     # sequential: later swaps see earlier ones
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def cpu_exponential(gen, shape, npdt):
    """torch's CPU exponential_(1): -log1p(-u) on double uniforms."""
    n = int(np.prod(shape, dtype=np.int64))
    return (-np.log1p(-cpu_uniform(gen, n, np.float64))).astype(npdt).reshape(shape)


# ---- what the ops call: CPU draws torch's numbers, the GPU draws CuPy's


def standard_normal(shape, dtype, device, generator=None, mean=0.0, std=1.0):
    gen = resolve(generator)
    if device == 'cpu':
        return cpu_normal(gen, tuple(shape), _np_float(dtype), mean, std).astype(dtype, copy=False)
    # CuPy draws float32/float64 only: 16-bit floats are float32 draws rounded once
    draw = gen.for_device(device).standard_normal(shape, dtype=dtypes.compute_dtype(np.dtype(dtype)))
    return (draw if (std == 1.0 and mean == 0.0) else draw * std + mean).astype(dtype, copy=False)


def uniform(shape, dtype, device, generator=None, low=0.0, high=1.0):
    """Uniform on [low, high)."""
    gen = resolve(generator)
    if device == 'cpu':
        npdt = _np_float(dtype)
        n = int(np.prod(shape, dtype=np.int64))
        u = cpu_uniform(gen, n, npdt).reshape(shape)
        if low != 0.0 or high != 1.0:
            lo, hi = npdt(low), npdt(high)
            u = u * (hi - lo) + lo
        return u.astype(dtype, copy=False)
    draw = gen.for_device(device).random_sample(shape, dtype=dtypes.compute_dtype(np.dtype(dtype)))
    return (draw if (low == 0.0 and high == 1.0) else draw * (high - low) + low).astype(dtype, copy=False)


def bernoulli(shape, p, device, generator=None):
    """Boolean draws, True with probability p: torch's bernoulli_(p) is a double uniform < p."""
    gen = resolve(generator)
    if device == 'cpu':
        return cpu_uniform(gen, int(np.prod(shape, dtype=np.int64)), np.float64).reshape(shape) < p
    return gen.for_device(device).random_sample(shape, dtype=np.float32) < p


def integers(low, high, shape, device, generator=None):
    gen = resolve(generator)
    if device == 'cpu':
        return cpu_randint(gen, int(low), int(high), tuple(shape))
    return gen.for_device(device).randint(low, high, size=shape, dtype=np.int64)
