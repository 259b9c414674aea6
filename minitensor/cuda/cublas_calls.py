"""cuBLAS called through ctypes on CuPy's own handle, so GEMMs can be captured in a CUDA graph.

CuPy 14.2's cuBLAS wrapper refuses every call while the stream is capturing (a
Python-level check in its `setStream`), though cuBLAS itself captures fine. We call the
same library CuPy loaded, on the handle CuPy created, through ctypes: set the stream,
then our own workspace (cublasSetStream resets it, and a graph must not see cuBLAS
allocate one mid-capture), then the GEMM.

Why ctypes rather than NVIDIA's nvmath-python bindings: three C functions are all we
need, ctypes ships with Python, and it binds exactly the libcublas CuPy already
loaded (no second copy, no new dependency on the GPU machines).
"""
import ctypes
import threading

import numpy as np

from ..backend import cublas_module, cupy_module

# cudaDataType and cublasComputeType_t values from cublas_api.h / library_types.h
DATA_TYPE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2}
CUDA_R_16BF = 14
COMPUTE_32F, COMPUTE_32F_FAST_TF32, COMPUTE_64F = 68, 77, 70
GEMM_DEFAULT = -1
WORKSPACE_BYTES = 32 << 20      # cuBLAS asks for up to 32 MiB on Hopper

_lib = None
_workspaces = {}               # device id -> our workspace (a CuPy array kept alive here)
_thread = threading.local()    # .handles: device id -> CuPy's handle of THIS thread
_lock = threading.RLock()      # a call sets stream and workspace, then runs, alone


def _library():
    """The libcublas that CuPy loaded (found in this process's memory map)."""
    global _lib
    if _lib is None:
        cublas_module()                                  # makes CuPy load libcublas
        with open('/proc/self/maps') as maps:
            paths = {line.split()[-1] for line in maps if 'libcublas.so' in line and 'Lt' not in line}
        if not paths:
            raise RuntimeError("cuBLAS: CuPy's libcublas is not loaded in this process; "
                               "run one CuPy matmul first or set MINITENSOR_NO_FUSED=1")
        lib = ctypes.CDLL(sorted(paths)[0])
        lib.cublasSetStream_v2.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.cublasSetWorkspace_v2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        i, ll, p = ctypes.c_int, ctypes.c_longlong, ctypes.c_void_p
        lib.cublasGemmStridedBatchedEx.argtypes = [
            p, i, i, i, i, i, p, p, i, i, ll, p, i, i, ll, p, p, i, i, ll, i, i, i]
        _lib = lib
    return _lib


def prepare():
    """(handle, workspace) of the current thread and device, fetched outside any capture.

    CuPy keeps one cuBLAS handle per thread and destroys it when the thread ends, so the
    handle is cached per thread too: a handle cached from a finished thread (the kernel
    warm-up's) would be a destroyed one."""
    cp = cupy_module()
    dev = cp.cuda.runtime.getDevice()
    handles = getattr(_thread, 'handles', None)
    if handles is None:
        handles = _thread.handles = {}
    if dev not in handles:
        handles[dev] = cp.cuda.device.get_cublas_handle()     # CuPy's, for this thread
        _library()
    with _lock:
        if dev not in _workspaces:
            _workspaces[dev] = cp.empty(WORKSPACE_BYTES, dtype=np.uint8)
    return handles[dev], _workspaces[dev]


def _check(status, what):
    if status != 0:
        raise RuntimeError(f"cuBLAS {what} failed with status {status}")


def _bound_handle():
    """CuPy's handle, pointed at the current stream and our workspace."""
    handle, workspace = prepare()
    lib = _library()
    stream = cupy_module().cuda.get_current_stream().ptr
    _check(lib.cublasSetStream_v2(handle, stream), 'SetStream')
    _check(lib.cublasSetWorkspace_v2(handle, workspace.data.ptr, WORKSPACE_BYTES), 'SetWorkspace')
    return handle


def gemm_strided_batched(trans_a, trans_b, m, n, k, a_ptr, a_type, lda, stride_a, b_ptr, b_type, ldb,
                         stride_b, c_ptr, c_type, ldc, stride_c, batch, compute):
    """C = A' B' for `batch` column-major matrices (cublasGemmStridedBatchedEx, alpha 1, beta 0)."""
    scalar = np.float64 if compute == COMPUTE_64F else np.float32
    one, zero = np.ones(1, scalar), np.zeros(1, scalar)
    with _lock:      # threads (the kernel warm-up) share CuPy's handle, which is not thread-safe
        handle = _bound_handle()
        _check(_library().cublasGemmStridedBatchedEx(
            handle, int(trans_a), int(trans_b), m, n, k, one.ctypes.data,
            a_ptr, a_type, lda, stride_a, b_ptr, b_type, ldb, stride_b,
            zero.ctypes.data, c_ptr, c_type, ldc, stride_c, batch, compute, GEMM_DEFAULT),
            'GemmStridedBatchedEx')
