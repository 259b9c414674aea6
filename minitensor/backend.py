"""Device names -> array modules. The ONLY file that imports CuPy (lazily).

Everything else asks this module for `xp` (numpy or cupy) and never names either
library, so one implementation of every op serves both devices.
"""
import ctypes
import math
import os
import sys

import numpy as np

_cupy = None          # the cupy module once imported successfully
_cupy_error = None    # why it could not be imported / used, for the error message

GPU_INSTALL_HINT = (
    "install the GPU extra with `pip install -e \".[gpu]\"` (CuPy for CUDA 13; "
    "use `.[gpu-cuda12]` for CUDA 12) on a machine with an NVIDIA GPU and driver"
)


class backends:
    """Global switches, as torch.backends: `mt.backends.allow_tf32 = True`."""
    allow_tf32 = False   # TF32 tensor cores for float32 matmul on the GPU (~3e-4 rel. error)


def keep_large_allocations_on_heap():
    """Make glibc keep big freed blocks for reuse instead of returning them to the OS.

    By default glibc serves every allocation over 128 KiB with a fresh mmap and
    unmaps it on free, so each NumPy temporary (an activation, a gradient) is
    page-faulted in anew, one 4 KiB page at a time: about a third of a small GPT
    training step on the CPU. Raising the mmap and trim thresholds turns glibc into
    a caching allocator (as PyTorch has its own). Opt out with MINITENSOR_NO_MALLOPT=1.
    """
    if os.environ.get('MINITENSOR_NO_MALLOPT') or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:            # not glibc (e.g. musl): nothing to tune
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1))


malloc_tuned = keep_large_allocations_on_heap()


def _load_cupy():
    global _cupy, _cupy_error
    if _cupy is not None:
        return _cupy
    if _cupy_error is not None:
        raise RuntimeError(_cupy_error)
    try:
        import cupy  # noqa: the one place cupy is imported
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device found")
    except Exception as e:  # ImportError, CUDARuntimeError, ...
        _cupy_error = f"device 'gpu' is not available ({type(e).__name__}: {e}); {GPU_INSTALL_HINT}"
        raise RuntimeError(_cupy_error) from None
    _cupy = cupy
    return cupy


def gpu_available():
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        _load_cupy()
        return True
    except RuntimeError:
        return False


def normalize_device(device):
    """'cpu' | 'gpu' | 'cuda' | 'cuda:0' -> 'cpu' or 'gpu' (raises on anything else)."""
    if device is None:
        return 'cpu'
    if not isinstance(device, str):
        device = getattr(device, 'type', device)  # allow objects with .type
    d = str(device).lower()
    if d == 'cpu':
        return 'cpu'
    if d in ('gpu', 'cuda') or d.startswith('cuda:') or d.startswith('gpu:'):
        return 'gpu'
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'gpu' ('cuda' is accepted as an alias)")


def get_xp(device):
    """The array module for a normalized device name."""
    if device == 'cpu':
        return np
    return _load_cupy()


def device_of(array):
    """'cpu' for NumPy arrays, 'gpu' for CuPy arrays."""
    return 'cpu' if isinstance(array, (np.ndarray, np.generic)) else 'gpu'


def xp_of(array):
    return np if isinstance(array, (np.ndarray, np.generic)) else _cupy


def to_device(array, device):
    """Copy an array to `device` ('cpu'|'gpu'); no copy if it already lives there."""
    if device == 'cpu':
        if isinstance(array, np.ndarray):
            return array
        if isinstance(array, np.generic):
            return np.asarray(array)
        return _cupy.asnumpy(array)
    cp = _load_cupy()
    return cp.asarray(array)


def synchronize(device='gpu'):
    """Wait for queued GPU work (for timing); a no-op on the CPU."""
    if normalize_device(device) == 'gpu':
        _load_cupy().cuda.get_current_stream().synchronize()


# ---------------------------------------------------------------- special functions

_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def erf(x):
    """Error function on either backend (exact to float64 rounding)."""
    if device_of(x) == 'gpu':
        import cupyx.scipy.special  # noqa: lives beside cupy
        return cupyx.scipy.special.erf(x)
    try:
        from scipy.special import erf as scipy_erf
        return scipy_erf(x).astype(x.dtype, copy=False)
    except ImportError:  # numpy has no erf; math.erf per element is exact, just slower
        return _erf_ufunc(x).astype(x.dtype)


# ---------------------------------------------------------------- scatter-add

def scatter_add(target, index, values):
    """target[index] += values, where repeated indices ALL count (unlike fancy assignment)."""
    if device_of(target) == 'cpu':
        np.add.at(target, index, values)
    else:
        import cupyx  # noqa: lives beside cupy
        cupyx.scatter_add(target, index, values)
    return target


def index_add_rows(num_rows, index, rows):
    """out[index[i]] += rows[i] for a 1-D integer index; out has shape (num_rows, *rows.shape[1:]).

    The embedding backward. On the CPU np.add.at is slow per row, so sort the indices
    and sum each run of equal indices with one np.add.reduceat instead; the unique
    indices are then written with plain assignment, which is safe because they are unique.
    """
    out_shape = (num_rows,) + rows.shape[1:]
    if device_of(rows) == 'gpu':
        out = _cupy.zeros(out_shape, dtype=rows.dtype)
        return scatter_add(out, index, rows)
    out = np.zeros(out_shape, dtype=rows.dtype)
    if index.size == 0:
        return out
    order = np.argsort(index, kind='stable')
    sorted_index = index[order]
    run_starts = np.flatnonzero(np.r_[True, sorted_index[1:] != sorted_index[:-1]])
    out[sorted_index[run_starts]] = np.add.reduceat(rows[order], run_starts, axis=0)
    return out


# ---------------------------------------------------------------- matmul

def matmul(a, b):
    """a @ b on either backend (the GPU fast paths hook in here)."""
    return a @ b
