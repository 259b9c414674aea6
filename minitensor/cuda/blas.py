"""cuBLAS fast paths: batched GEMMs that CuPy would copy or run without TF32, and column
sums as one GEMV. Portable references: `a @ b` and `a.sum(axis=...)`.

Callers pass `fused`, the choice their Function recorded in forward (cuda.fusable);
False (or a CPU array) runs the plain `xp` expression.
"""
import numpy as np

from ..backend import backends, cublas_module, cupy_module, is_gpu

# ---------------------------------------------------------------- TF32

_tf32_active = False    # the compute type CuPy's float32 GEMMs were last set to


def sync_tf32():
    """Point CuPy's float32 GEMMs at TF32 tensor cores iff mt.backends.allow_tf32.

    CuPy reads CUPY_TF32 once; set_compute_type switches it at run time. Its
    batched (>2-D) product ignores that setting, so those go through batched_matmul.
    """
    global _tf32_active
    if backends.allow_tf32 == _tf32_active:
        return
    linalg = cupy_module()._core._routines_linalg
    kind = getattr(linalg, 'COMPUTE_TYPE_TF32', 7) if backends.allow_tf32 else getattr(linalg, 'COMPUTE_TYPE_DEFAULT', 1)
    linalg.set_compute_type(np.float32, kind)
    _tf32_active = backends.allow_tf32


# ---------------------------------------------------------------- matmul

def matmul(a, b, fused):
    """a @ b. On the GPU float32 GEMMs follow mt.backends.allow_tf32 (a precision setting,
    honoured on both paths); `fused` sends equal-batch float32 products to one
    strided-batched cuBLAS call."""
    if not is_gpu(a):
        return a @ b
    sync_tf32()
    if fused and a.ndim > 2 and a.ndim == b.ndim and a.dtype == b.dtype == np.float32:
        out = batched_matmul(a, b)
        if out is not None:
            return out
    return a @ b


def _as_batched_operand(x):
    """(transposed, ld) for cuBLAS if x's last two axes are a plain or transposed
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
    """a @ b for equal batch shapes of float32 GPU arrays via cublasGemmStridedBatchedEx,
    without copying transposed operands (k.transpose(-2, -1), v.swapaxes) and honouring
    TF32, which CuPy's own batched product does not. None when the layout does not fit."""
    if a.shape[:-2] != b.shape[:-2]:
        return None
    cp = cupy_module()
    layouts = []
    for x in (a, b):
        layout = _as_batched_operand(x)
        if layout is None:                       # e.g. a head slice: one copy, as CuPy makes
            x = cp.ascontiguousarray(x)
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
    out = cp.empty(a.shape[:-2] + (m, n), dtype=np.float32)
    if batch == 0 or m == 0 or n == 0:
        return out
    if k == 0:
        out.fill(0)
        return out
    cublas = cublas_module()
    compute = cublas.CUBLAS_COMPUTE_32F_FAST_TF32 if backends.allow_tf32 else cublas.CUBLAS_COMPUTE_32F
    one, zero = np.array(1, np.float32), np.array(0, np.float32)
    handle = cp.cuda.device.get_cublas_handle()
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


def sum_leading(a, n_axes, fused=None):
    """a summed over its first n_axes axes: the bias gradient of a Linear, the gradient
    of a broadcast over new leading axes. `fused=None` reads mt.backends.fast_paths now
    (for stateless helpers such as unbroadcast: both paths give the same sum).

    On the GPU a C-contiguous float array is a (rows, rest) matrix whose column sums are
    1^T A, one cuBLAS GEMV at memory speed; CuPy's reduction over a leading axis is up to
    8x slower (H100: 492 vs 60 us for a (16384, 1536) gradient).
    """
    if n_axes == 0:
        return a
    if fused is None:
        fused = backends.fast_paths
    if (not fused or not is_gpu(a) or a.dtype not in (np.float32, np.float64)
            or not a.flags.c_contiguous or a.size == 0):
        return a.sum(axis=tuple(range(n_axes)))
    rest = a.shape[n_axes:]
    cols = 1
    for size in rest:
        cols *= size
    rows = a.size // cols
    cp = cupy_module()
    key = (a.device.id, rows, a.dtype.char)
    ones = _ones_cache.get(key)
    if ones is None:
        ones = _ones_cache[key] = cp.ones(rows, dtype=a.dtype)
    out = cp.empty(rest, dtype=a.dtype)
    cublas = cublas_module()
    gemv = cublas.sgemv if a.dtype == np.float32 else cublas.dgemv
    one, zero = np.array(1, a.dtype), np.array(0, a.dtype)
    # column-major, the (rows, cols) C array is A^T (cols x rows): out = A^T @ ones
    gemv(cp.cuda.device.get_cublas_handle(), cublas.CUBLAS_OP_N, cols, rows, one.ctypes.data,
         a.data.ptr, cols, ones.data.ptr, 1, zero.ctypes.data, out.data.ptr, 1)
    return out
