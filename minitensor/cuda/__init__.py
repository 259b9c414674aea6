"""mt.cuda: torch.cuda's names (is_available, device_count, synchronize, manual_seed, ...)
and, in the modules of this package, the GPU fast paths of the ops in minitensor/ops/.

Each fast path has exactly the meaning of the portable `xp` code of its op, which stays
the readable reference (tests/gpu/test_cuda_kernels.py checks one against the other).
A Function takes a fast path when `cuda.fusable(...)` says so in its forward, records
that choice (`self.fused`) and branches on the record in backward. `fusable` reads the
one switch, `mt.backends.fast_paths` (MINITENSOR_NO_FUSED=1 starts with it off).
Kernels are compiled on first use and cached; nothing here imports CuPy until a
function is called (CuPy comes only through backend.cupy_module()).
"""
import sys
import types

import numpy as np

from .. import backend, dtypes
from ..backend import backends, is_gpu


def fusable(*arrays):
    """True when the fast paths apply: mt.backends.fast_paths is on and every array is a
    float32 CuPy array. The one test every fast path is chosen by."""
    if not backends.fast_paths:
        return False
    for a in arrays:                  # a loop, not all(genexpr): every op on every device asks
        if not is_gpu(a) or a.dtype != np.float32:
            return False
    return True


_ELEMENTWISE_FLOATS = ('float32', 'bfloat16', 'float16')


def fusable_elementwise(*arrays):
    """fusable, also for bfloat16/float16 arrays: for the kernels that compute each element
    in float32 and round once (hash dropout), as the portable code does under autocast."""
    return backends.fast_paths and all(is_gpu(a) and a.dtype.name in _ELEMENTWISE_FLOATS for a in arrays)


# ---------------------------------------------------------------- torch.cuda's names

def is_available():
    """True when CuPy imports and sees a CUDA device: `device = 'cuda' if mt.cuda.is_available() else 'cpu'`."""
    return backend.gpu_available()


def device_count():
    """How many CUDA devices CuPy sees (0 without CuPy or a GPU)."""
    return backend.cupy_module().cuda.runtime.getDeviceCount() if is_available() else 0


def _cupy(op):
    """CuPy, or a RuntimeError naming the op when there is no GPU."""
    if not is_available():
        raise RuntimeError(f"cuda.{op}: no CUDA GPU is available ({backend.GPU_INSTALL_HINT}); "
                           f"check mt.cuda.is_available() first")
    return backend.cupy_module()


def _device_index(op, device):
    if device is None:
        return current_device()
    if isinstance(device, int):
        index = device
    else:
        text = str(getattr(device, 'type', device) if not isinstance(device, str) else device)
        if backend.normalize_device(text) != 'gpu':
            raise ValueError(f"cuda.{op}: expected a CUDA device, got {device!r}")
        index = getattr(device, 'index', None)
        if index is None:
            index = int(text.split(':')[1]) if ':' in text else current_device()
    if not 0 <= index < device_count():
        raise RuntimeError(f"cuda.{op}: device {index} does not exist ({device_count()} CUDA device(s))")
    return index


def synchronize(device=None):
    """Wait until the GPU has run everything queued (for timing)."""
    cp = _cupy('synchronize')
    with cp.cuda.Device(_device_index('synchronize', device)):
        cp.cuda.get_current_stream().synchronize()


def current_device():
    return _cupy('current_device').cuda.runtime.getDevice()


def set_device(device):
    """Make `device` (an index, 'cuda:1', mt.device) the current GPU."""
    _cupy('set_device').cuda.Device(_device_index('set_device', device)).use()


def get_device_name(device=None):
    cp = _cupy('get_device_name')
    name = cp.cuda.runtime.getDeviceProperties(_device_index('get_device_name', device))['name']
    return name.decode() if isinstance(name, bytes) else name


def is_bf16_supported(including_emulation=True):
    """True where bfloat16 runs on the GPU: a CUDA device of compute capability >= 8.0
    (Ampere and later multiply bf16 on tensor cores) and ml_dtypes installed (CuPy's
    and NumPy's bfloat16). nanoGPT picks 'bfloat16' or 'float16' (with a GradScaler) by it."""
    if not is_available() or not isinstance(dtypes.bfloat16, dtypes.dtype):
        return False
    cp = backend.cupy_module()
    major = int(cp.cuda.Device(current_device()).compute_capability) // 10   # '90' on an H100
    return major >= 8


def manual_seed(seed):
    """Seed the random streams, as torch.cuda.manual_seed. minitensor's generator seeds its
    CPU and GPU streams together, so this is mt.manual_seed(seed); fine without a GPU."""
    from ..random import manual_seed as seed_all
    seed_all(seed)


manual_seed_all = manual_seed    # one GPU is all minitensor drives


def empty_cache():
    """Return the cached, unused blocks of CuPy's memory pool to the driver (no-op without a GPU)."""
    if is_available():
        cp = backend.cupy_module()
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def memory_allocated(device=None):
    """Bytes of GPU memory held by tensors (CuPy's pool, in use); 0 without a GPU."""
    return backend.cupy_module().get_default_memory_pool().used_bytes() if is_available() else 0


def memory_reserved(device=None):
    """Bytes of GPU memory CuPy's pool holds, in use or cached; 0 without a GPU."""
    return backend.cupy_module().get_default_memory_pool().total_bytes() if is_available() else 0


def max_memory_allocated(device=None):
    """The most bytes held by tensors since the first call to this or reset_peak_memory_stats
    (see cuda/memory_stats.py); 0 without a GPU."""
    from . import memory_stats
    return memory_stats.max_memory_allocated(is_available(), device)


def reset_peak_memory_stats(device=None):
    """Start the peak counter of max_memory_allocated from the bytes in use now."""
    from . import memory_stats
    memory_stats.reset_peak_memory_stats(is_available(), device)


reset_max_memory_allocated = reset_peak_memory_stats


def max_memory_reserved(device=None):
    from . import memory_stats
    return memory_stats.max_memory_reserved(is_available(), device)


# ---------------------------------------------------------------- the old switch name

class _CudaModule(types.ModuleType):
    """Keeps `mt.cuda.enabled` (the old name of the switch) reading and writing
    mt.backends.fast_paths, so there is still one switch."""

    @property
    def enabled(self):
        return backends.fast_paths

    @enabled.setter
    def enabled(self, on):
        backends.fast_paths = bool(on)


sys.modules[__name__].__class__ = _CudaModule

from . import amp, blas, graphs  # noqa: E402
from .graphs import CUDAGraph, graph  # noqa: E402
from .graphs import is_capturing as is_current_stream_capturing  # noqa: E402
from .streams import Stream, current_stream, default_stream, stream  # noqa: E402
from .attention import causal_softmax_backward, causal_softmax_forward  # noqa: E402
from .cross_entropy import CrossEntropySaved, cross_entropy_backward, cross_entropy_forward  # noqa: E402
from .elementwise import (adam_step_values, adam_update, hash_dropout, relu_backward, relu_forward,  # noqa: E402
                          sum_of_squares)
from .layer_norm import layer_norm_backward, layer_norm_forward  # noqa: E402
from .special import erf, erfc, erfinv  # noqa: E402
