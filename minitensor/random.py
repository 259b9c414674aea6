"""Random number generation: mt.manual_seed, mt.Generator, and the draws ops need.

One Generator holds a NumPy generator for the CPU and, created on first use, a CuPy
one for the GPU, both seeded from the same seed, so `manual_seed` makes CPU runs
reproducible and seeds the GPU too.
"""
import numpy as np

from . import dtypes
from .backend import get_xp


class Generator:
    """A seedable source of random numbers, as torch.Generator: mt.Generator().manual_seed(42)."""

    def __init__(self, device='cpu'):
        self.manual_seed(np.random.SeedSequence().entropy % (2 ** 63))

    def manual_seed(self, seed):
        self.seed = int(seed)
        self.cpu = np.random.Generator(np.random.PCG64(self.seed))
        self._gpu = None
        self.gpu_epoch = 0       # how many times the GPU stream was restarted (see get_state)
        return self

    def initial_seed(self):
        return self.seed

    def for_device(self, device):
        """The backend generator that draws on `device`."""
        if device == 'cpu':
            return self.cpu
        if self._gpu is None:
            self._gpu = get_xp('gpu').random.RandomState(self._gpu_seed())
        return self._gpu

    def _gpu_seed(self):
        """The seed of GPU stream number gpu_epoch: a fixed function of (seed, epoch)."""
        if self.gpu_epoch == 0:
            return self.seed
        return int(np.random.SeedSequence([self.seed, self.gpu_epoch]).generate_state(1)[0])

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
        return {'seed': self.seed, 'cpu': self.cpu.bit_generator.state, 'gpu_epoch': self.gpu_epoch}

    def set_state(self, state):
        self.manual_seed(state['seed'])
        self.cpu.bit_generator.state = state['cpu']
        self.gpu_epoch = int(state.get('gpu_epoch', 0))
        return self


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator (CPU and GPU draws); returns it, as torch."""
    return default_generator.manual_seed(seed)


def resolve(generator):
    return default_generator if generator is None else generator


def standard_normal(shape, dtype, device, generator=None):
    rng = resolve(generator).for_device(device)
    if device == 'cpu':
        return rng.standard_normal(shape, dtype=np.float32 if dtype == dtypes.float32 else np.float64).astype(dtype, copy=False)
    return rng.standard_normal(shape, dtype=dtype)


def uniform(shape, dtype, device, generator=None):
    """Uniform on [0, 1)."""
    rng = resolve(generator).for_device(device)
    if device == 'cpu':
        return rng.random(shape, dtype=np.float32 if dtype == dtypes.float32 else np.float64).astype(dtype, copy=False)
    return rng.random_sample(shape, dtype=dtype)


def integers(low, high, shape, device, generator=None):
    rng = resolve(generator).for_device(device)
    if device == 'cpu':
        return rng.integers(low, high, size=shape, dtype=np.int64)
    return rng.randint(low, high, size=shape, dtype=np.int64)
