"""Device names -> array modules. The ONLY file that imports CuPy (lazily).

Everything else asks this module for `xp` (numpy or cupy) and never names either
library, so one implementation of every op serves both devices.
"""
import contextlib
import ctypes
import importlib.util
import os
import sys

import numpy as np

_cupy = None          # the cupy module once imported successfully
_cupy_error = None    # why it could not be imported / used, for the error message

GPU_INSTALL_HINT = (
    "install the GPU extra with `pip install -e \".[gpu]\"` (CuPy for CUDA 13; "
    "use `.[gpu-cuda12]` for CUDA 12) on a machine with an NVIDIA GPU and driver"
)


def tune_cpu_allocator():
    """Make glibc keep big freed blocks for reuse instead of returning them to the OS.

    By default glibc serves every allocation over 128 KiB with a fresh mmap and
    unmaps it on free, so each NumPy temporary (an activation, a gradient) is
    page-faulted in anew, one 4 KiB page at a time: about a third of a small GPT
    training step on the CPU. Raising the mmap and trim thresholds turns glibc into
    a caching allocator (as PyTorch has its own). It changes the whole process, so
    nothing calls it at import: gpt.train and the benchmarks do, as
    `mt.backends.tune_cpu_allocator()`. MINITENSOR_NO_MALLOPT=1 turns it into a no-op.
    Returns True when the thresholds were set.
    """
    if os.environ.get('MINITENSOR_NO_MALLOPT') or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:            # not glibc (e.g. musl): nothing to tune
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1))


class _TF32Alias:
    """An `allow_tf32` attribute that reads and writes the one switch, backends.allow_tf32
    (torch spells it backends.cuda.matmul.allow_tf32 and backends.cudnn.allow_tf32)."""

    def __get__(self, obj, owner=None):
        return backends.allow_tf32

    def __set__(self, obj, on):
        backends.allow_tf32 = bool(on)


class _Matmul:
    """backends.cuda.matmul: torch's spelling of the TF32 switch."""

    allow_tf32 = _TF32Alias()


class _Cuda:
    """backends.cuda, as torch.backends.cuda."""

    def __init__(self):
        self.matmul = _Matmul()

    @staticmethod
    def is_built():
        """True when CuPy is installed (it is not imported to find out)."""
        return importlib.util.find_spec('cupy') is not None


class _Cudnn:
    """backends.cudnn: accepted for torch programs; minitensor has no cuDNN code, so only
    allow_tf32 (mapped to the one TF32 switch) does anything."""

    def __init__(self):
        self.enabled = True
        self.benchmark = False
        self.deterministic = False

    allow_tf32 = _TF32Alias()

    @staticmethod
    def is_available():
        return False


class _Mps:
    """backends.mps: Apple's GPU backend, which minitensor does not have."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def is_built():
        return False


class _Backends:
    """Global switches, as torch.backends: `mt.backends.allow_tf32 = True`.

    fast_paths: the ONE switch for every GPU fast path (the fused CuPy kernels of
      minitensor/cuda/ and its cuBLAS calls). False runs the portable `xp` code on the
      GPU too, e.g. to compare speed or results; MINITENSOR_NO_FUSED=1 starts with it off.
      A Function reads it once, in forward (through cuda.fusable).
    allow_tf32: TF32 tensor cores for float32 GEMMs on the GPU (~3e-4 relative error).
      A precision setting, not a fast path: CuPy's 2-D products honour it in both modes;
      batched ones only on the fast path (CuPy's own batched product ignores it).
      torch's names backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32 and
      mt.set_float32_matmul_precision all set this one flag.
    """

    def __init__(self):
        self.fast_paths = not os.environ.get('MINITENSOR_NO_FUSED')
        self.allow_tf32 = False
        self.cuda = _Cuda()
        self.cudnn = _Cudnn()
        self.mps = _Mps()

    tune_cpu_allocator = staticmethod(tune_cpu_allocator)


backends = _Backends()

_PRECISIONS = ('highest', 'high', 'medium')


def set_float32_matmul_precision(precision):
    """torch's name for the TF32 switch: 'highest' is full fp32, 'high' and 'medium' allow TF32."""
    if precision not in _PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: expected one of {', '.join(map(repr, _PRECISIONS))}, "
                         f"got {precision!r}")
    backends.allow_tf32 = precision != 'highest'


def get_float32_matmul_precision():
    return 'high' if backends.allow_tf32 else 'highest'


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
    if 'CUPY_ACCELERATORS' not in os.environ:
        # CuPy's CUB reduction kernels take ~1.5 s each to compile on a cold kernel cache (a
        # fresh machine compiled six of them inside the GPT's first step, 9 of its 14 s); its
        # own reduction kernels compile in ~0.1 s and run the engine's reductions about as
        # fast. Setting CUPY_ACCELERATORS yourself keeps your choice.
        cupy._core.set_reduction_accelerators([])
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


class device:
    """torch.device's shape: mt.device('cuda'), mt.device('cuda', 0), mt.device('cpu').

    .type is 'cuda' or 'cpu' and str() gives torch's spelling; anywhere a device is
    taken it means what its string means. Tensors report their device as the plain
    strings 'cpu' / 'gpu', and a device compares equal to the names of the same device
    ('gpu', 'cuda', 'cuda:0' are one GPU).
    """

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        text = str(type).lower()
        if ':' in text:
            if index is not None:
                raise ValueError(f"device: type {type!r} already names an index; got index={index} too")
            text, _, number = text.partition(':')
            if not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r} (expected e.g. 'cuda:0')")
            index = int(number)
        name = normalize_device(text)
        self.type = 'cuda' if name == 'gpu' else 'cpu'
        self.index = index

    def __str__(self):
        return self.type if self.index is None else f'{self.type}:{self.index}'

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if not isinstance(other, (str, device)):
            return NotImplemented
        try:
            return normalize_device(str(other)) == normalize_device(self.type)
        except ValueError:
            return False

    def __hash__(self):
        return hash(normalize_device(self.type))


def is_device_like(obj):
    """True for 'cpu' / 'gpu' / 'cuda[:n]' strings and mt.device objects (not dtypes)."""
    if isinstance(obj, device):
        return True
    return isinstance(obj, str) and obj.lower().split(':')[0] in ('cpu', 'gpu', 'cuda')


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


def quiet_nonfinite(array):
    """A context in which NumPy does not warn about inf - inf, 0 * inf or overflow:
    for ops whose NaN/inf result is the answer (softmax of a row holding +inf).
    CuPy never warns, so on the GPU it does nothing."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np.errstate(invalid='ignore', over='ignore', divide='ignore')
    return contextlib.nullcontext()


def cupy_module():
    """The cupy module, for minitensor/cuda/ (which builds kernels) and benchmarks."""
    return _load_cupy()


def nccl_module():
    """cupy.cuda.nccl, CuPy's NCCL binding, for minitensor.distributed's 'nccl' backend."""
    _load_cupy()
    try:
        from cupy.cuda import nccl   # noqa: lives beside cupy
    except ImportError as e:
        raise RuntimeError(f"distributed: backend 'nccl' needs CuPy's NCCL binding ({e}); install "
                           f"NVIDIA's NCCL wheel (pip install nvidia-nccl-cu13, or -cu12 for CUDA 12), "
                           f"or use backend 'gloo' or 'mpi'") from None
    if not getattr(nccl, 'available', True):
        raise RuntimeError("distributed: CuPy finds no NCCL library; install NVIDIA's NCCL wheel "
                           "(pip install nvidia-nccl-cu13, or -cu12) or use backend 'gloo' or 'mpi'")
    return nccl


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


# ---------------------------------------------------------------- scatter-add

def scatter_add(target, index, values):
    """target[index] += values, where repeated indices ALL count (unlike fancy assignment)."""
    xp_of(target).add.at(target, index, values)   # numpy.add.at, cupy.add.at (atomic adds)
    return target


def reduce_at(op, target, index, values):
    """target[index] = op(target[index], values) with every repeated index counted, for
    op in 'add', 'multiply', 'maximum', 'minimum' (scatter_reduce). On the GPU only add
    runs as CuPy's atomic ufunc.at: CuPy has no multiply.at, and its maximum.at /
    minimum.at did not give the exact float64 winners on an H100 (so the backward's
    `a == out` found none); those take a round trip through the CPU."""
    if device_of(target) == 'gpu' and op in ('multiply', 'maximum', 'minimum'):
        host = to_device(target, 'cpu')
        getattr(np, op).at(host, tuple(to_device(i, 'cpu') if hasattr(i, 'shape') else i for i in index),
                           to_device(values, 'cpu'))
        target[...] = to_device(host, 'gpu')
        return target
    getattr(xp_of(target), op).at(target, index, values)
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


def cublas_module():
    """CuPy's cuBLAS bindings, for minitensor/cuda/blas.py."""
    _load_cupy()
    from cupy_backends.cuda.libs import cublas   # noqa: lives beside cupy
    return cublas
