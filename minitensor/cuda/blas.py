"""cuBLAS fast paths: batched GEMMs that CuPy would copy or run without TF32, and column
sums as one matrix-vector product. Portable references: `a @ b` and `a.sum(axis=...)`.
Both go through cublas_calls.py (not CuPy's wrapper), so a CUDA graph can capture them.

Callers pass `fused`, the choice their Function recorded in forward (cuda.fusable);
False (or a CPU array) runs the plain `xp` expression.
"""
import numpy as np

from ..backend import backends, cupy_module, is_gpu
from . import cublas_calls, graphs

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
    honoured on both paths); `fused` sends every float32 product to one cuBLAS
    strided-batched call through our own bindings (cublas_calls.py), which a CUDA graph
    can capture. bfloat16/float16 products always go there: CuPy has no batched product
    for them; they run with float32 accumulation, as torch's do."""
    if not is_gpu(a):
        return a @ b
    low_precision = a.dtype.name in ('bfloat16', 'float16') and a.dtype == b.dtype
    if (fused and a.dtype == b.dtype == np.float32) or low_precision:
        return batched_matmul(a, b)
    sync_tf32()
    return a @ b


def _as_batched_operand(x):
    """(transposed, ld) for cuBLAS if x's last two axes are a plain or transposed
    matrix over a C-contiguous batch, else None (the caller then copies)."""
    batch = x.shape[:-2]
    n_rows, n_cols = x.shape[-2:]
    item = x.itemsize
    s_r, s_c = x.strides[-2:]
    if (s_c == item or n_cols == 1) and (s_r == n_cols * item or n_rows == 1):
        transposed, ld = False, max(n_cols, 1)
    elif (s_r == item or n_rows == 1) and (s_c == n_rows * item or n_cols == 1):
        transposed, ld = True, max(n_rows, 1)
    else:
        return None
    # the batch axes must step by whole matrices, in C order
    step = n_rows * n_cols * item
    for size, stride in zip(reversed(batch), reversed(x.strides[:-2])):
        if size != 1 and stride != step:
            return None
        step *= size
    return transposed, ld


def _operand(x):
    """(x, transposed, ld): x itself when cuBLAS can read its layout, else a C copy."""
    layout = _as_batched_operand(x)
    if layout is None:                       # e.g. a head slice: one copy, as CuPy makes
        x = cupy_module().ascontiguousarray(x)
        layout = _as_batched_operand(x)
    return (x,) + layout


def _prod(shape):
    out = 1
    for size in shape:
        out *= size
    return out


def _data_type(dtype):
    return cublas_calls.CUDA_R_16BF if dtype.name == 'bfloat16' else cublas_calls.DATA_TYPE[np.dtype(dtype)]


def batched_matmul(a, b):
    """a @ b for GPU arrays of one float dtype (>= 2-D each) via cublasGemmStridedBatchedEx,
    without copying transposed operands (k.transpose(-2, -1), v.swapaxes), honouring
    TF32 for float32, accumulating bfloat16/float16 in float32. Batch dims broadcast as
    in torch.matmul; a 2-D right operand under a batch of rows is one big GEMM."""
    cp = cupy_module()
    m, k = a.shape[-2:]
    if b.shape[-2] != k:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align ({k} != {b.shape[-2]})")
    n = b.shape[-1]
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous:
        # (..., m, k) @ (k, n): fold the batch into rows, one GEMM
        out = batched_matmul(a.reshape(-1, k), b)
        return out.reshape(batch_shape + (m, n))
    batch = _prod(batch_shape)
    # an operand with one matrix for the whole batch is read with stride 0, never copied
    a_shared, b_shared = _prod(a.shape[:-2]) == 1, _prod(b.shape[:-2]) == 1
    a = a.reshape(m, k) if a_shared else cp.broadcast_to(a, batch_shape + (m, k))
    b = b.reshape(k, n) if b_shared else cp.broadcast_to(b, batch_shape + (k, n))
    out_dtype = a.dtype
    out = cp.empty(batch_shape + (m, n), dtype=out_dtype)
    if batch == 0 or m == 0 or n == 0:
        return out
    if k == 0:
        out.fill(0)
        return out
    (a, ta, lda), (b, tb, ldb) = _operand(a), _operand(b)
    if out_dtype == np.float64:
        compute = cublas_calls.COMPUTE_64F
    elif out_dtype == np.float32 and backends.allow_tf32:
        compute = cublas_calls.COMPUTE_32F_FAST_TF32
    else:
        compute = cublas_calls.COMPUTE_32F
    kind = _data_type(out_dtype)
    # cuBLAS is column-major: C^T (n x m) = B^T (n x k) @ A^T (k x m)
    cublas_calls.gemm_strided_batched(
        tb, ta, n, m, k, b.data.ptr, kind, ldb, 0 if b_shared else k * n,
        a.data.ptr, kind, lda, 0 if a_shared else m * k,
        out.data.ptr, kind, n, m * n, batch, compute)
    return out


# ---------------------------------------------------------------- sums over rows

_ones_cache = {}   # (device id, length, dtype) -> a GPU vector of ones


def sum_leading(a, n_axes, fused=None):
    """a summed over its first n_axes axes: the bias gradient of a Linear, the gradient
    of a broadcast over new leading axes. `fused=None` reads mt.backends.fast_paths now
    (for stateless helpers such as unbroadcast: both paths give the same sum).

    On the GPU a C-contiguous float array is a (rows, rest) matrix whose column sums are
    1^T A, one cuBLAS matrix-vector product at memory speed; CuPy's reduction over a leading axis is up to
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
        ones = cp.ones(rows, dtype=a.dtype)
        if not graphs.is_capturing():     # a captured fill runs only at replay: not for eager use
            _ones_cache[key] = ones
    out = cp.empty(rest, dtype=a.dtype)
    compute = cublas_calls.COMPUTE_64F if a.dtype == np.float64 else cublas_calls.COMPUTE_32F
    kind = _data_type(a.dtype)
    # column-major, the (rows, cols) C array is A^T (cols x rows): out (cols x 1) = A^T @ ones
    cublas_calls.gemm_strided_batched(0, 0, cols, 1, rows, a.data.ptr, kind, cols, 0,
                                      ones.data.ptr, kind, rows, 0, out.data.ptr, kind, cols, 0, 1, compute)
    return out
