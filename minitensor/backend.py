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


def is_gpu(array):
    """True for a CuPy array (the test the fused-kernel dispatch uses)."""
    return not isinstance(array, (np.ndarray, np.generic))


def cupy_module():
    """The cupy module, for minitensor/cuda/ (which builds kernels) and benchmarks."""
    return _load_cupy()


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
        return np.asarray(_erf_ufunc(x), dtype=x.dtype)   # a 0-d input gives a Python float


# ---------------------------------------------------------------- scatter-add

def scatter_add(target, index, values):
    """target[index] += values, where repeated indices ALL count (unlike fancy assignment)."""
    xp_of(target).add.at(target, index, values)   # numpy.add.at, cupy.add.at (atomic adds)
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

_tf32_active = False    # the compute type CuPy's GEMMs were last set to


def _sync_tf32():
    """Point CuPy's float32 GEMMs at TF32 tensor cores iff mt.backends.allow_tf32.

    CuPy reads CUPY_TF32 once; set_compute_type switches it at run time. Its
    batched (>2-D) product ignores that setting, so those go through batched_matmul.
    """
    global _tf32_active
    if backends.allow_tf32 == _tf32_active:
        return
    linalg = _cupy._core._routines_linalg
    kind = getattr(linalg, 'COMPUTE_TYPE_TF32', 7) if backends.allow_tf32 else getattr(linalg, 'COMPUTE_TYPE_DEFAULT', 1)
    linalg.set_compute_type(np.float32, kind)
    _tf32_active = backends.allow_tf32


def matmul(a, b):
    """a @ b on either backend (the GPU fast paths hook in here)."""
    if isinstance(a, np.ndarray):
        return a @ b
    _sync_tf32()
    if a.ndim > 2 and a.ndim == b.ndim and a.dtype == b.dtype == np.float32:
        out = batched_matmul(a, b)
        if out is not None:
            return out
    return a @ b


def _as_batched_operand(x):
    """(array, transposed, ld) for cuBLAS if x's last two axes are a plain or transposed
    matrix over a C-contiguous batch, else None (the caller then copies)."""
    batch = x.shape[:-2]
    n_rows, n_cols = x.shape[-2:]
    item = x.itemsize
    s_r, s_c = x.strides[-2:]
    if s_c == item and s_r == n_cols * item:
        transposed, ld = False, n_cols
    elif s_r == item and s_c == n_rows * item:
        transposed, ld = True, n_rows
    else:
        return None
    # the batch axes must step by whole matrices, in C order
    step = n_rows * n_cols * item
    for size, stride in zip(reversed(batch), reversed(x.strides[:-2])):
        if size != 1 and stride != step:
            return None
        step *= size
    return transposed, ld


def batched_matmul(a, b):
    """a @ b for equal batch shapes via cublasGemmStridedBatchedEx, without copying
    transposed operands (k.transpose(-2, -1), v.swapaxes) and honouring TF32, which
    CuPy's own batched product does not. None when the layout does not fit."""
    if a.shape[:-2] != b.shape[:-2]:
        return None
    layouts = []
    for x in (a, b):
        layout = _as_batched_operand(x)
        if layout is None:                       # e.g. a head slice: one copy, as CuPy makes
            x = _cupy.ascontiguousarray(x)
            layout = _as_batched_operand(x)
            if layout is None:
                return None
        layouts.append((x, layout))
    (a, (ta, lda)), (b, (tb, ldb)) = layouts
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = 1
    for size in a.shape[:-2]:
        batch *= size
    out = _cupy.empty(a.shape[:-2] + (m, n), dtype=np.float32)
    if batch == 0 or m == 0 or n == 0:
        return out
    if k == 0:
        out.fill(0)
        return out
    from cupy_backends.cuda.libs import cublas   # noqa: lives beside cupy
    compute = cublas.CUBLAS_COMPUTE_32F_FAST_TF32 if backends.allow_tf32 else cublas.CUBLAS_COMPUTE_32F
    one, zero = np.array(1, np.float32), np.array(0, np.float32)
    handle = _cupy.cuda.device.get_cublas_handle()
    # cuBLAS is column-major: C^T (n x m) = B^T (n x k) @ A^T (k x m)
    cublas.gemmStridedBatchedEx(
        handle, int(tb), int(ta), n, m, k, one.ctypes.data,
        b.data.ptr, _CUDA_R_32F, ldb, b.shape[-1] * b.shape[-2],
        a.data.ptr, _CUDA_R_32F, lda, a.shape[-1] * a.shape[-2],
        zero.ctypes.data, out.data.ptr, _CUDA_R_32F, n, m * n,
        batch, compute, cublas.CUBLAS_GEMM_DEFAULT)
    return out


_CUDA_R_32F = 0    # cudaDataType for float32


# ---------------------------------------------------------------- sums over rows

_ones_cache = {}   # (device id, length, dtype) -> a GPU vector of ones


def sum_leading(a, n_axes):
    """a summed over its first n_axes axes: the bias gradient of a Linear, the gradient
    of a broadcast over new leading axes.

    On the GPU a C-contiguous float array is a (rows, rest) matrix whose column sums are
    1^T A, one cuBLAS GEMV at memory speed; CuPy's reduction over a leading axis is up to
    8x slower (H100: 492 vs 60 us for a (16384, 1536) gradient).
    """
    if n_axes == 0:
        return a
    if (isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64)
            or not a.flags.c_contiguous or a.size == 0):
        return a.sum(axis=tuple(range(n_axes)))
    rest = a.shape[n_axes:]
    cols = 1
    for size in rest:
        cols *= size
    rows = a.size // cols
    cp = _load_cupy()
    key = (a.device.id, rows, a.dtype.char)
    ones = _ones_cache.get(key)
    if ones is None:
        ones = _ones_cache[key] = cp.ones(rows, dtype=a.dtype)
    out = cp.empty(rest, dtype=a.dtype)
    from cupy_backends.cuda.libs import cublas   # noqa: lives beside cupy
    gemv = cublas.sgemv if a.dtype == np.float32 else cublas.dgemv
    one, zero = np.array(1, a.dtype), np.array(0, a.dtype)
    # column-major, the (rows, cols) C array is A^T (cols x rows): out = A^T @ ones
    gemv(cp.cuda.device.get_cublas_handle(), cublas.CUBLAS_OP_N, cols, rows, one.ctypes.data,
         a.data.ptr, cols, ones.data.ptr, 1, zero.ctypes.data, out.data.ptr, 1)
    return out
