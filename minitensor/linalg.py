"""torch.linalg's common names: norm, vector_norm, matrix_norm, cross, matmul, multi_dot,
inv, det, slogdet, solve, diagonal, vecdot. inv/det/slogdet/solve are Functions in
ops/linalg_more.py (closed-form derivatives); the rest compose Tensor ops."""
import math
from collections import namedtuple

from .ops import linalg_more as LM


slogdet_result = namedtuple('slogdet', ['sign', 'logabsdet'])


def _square(op, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2] if a.ndim >= 2 else '?'} by {a.shape[-1] if a.ndim else '?'} matrices")
    if a.dtype.kind != 'f':
        raise RuntimeError(f"linalg.{op}: expected a floating point tensor, got {a.dtype}")
    return a


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x|^ord)^(1/ord) over dim (all elements if None); ord inf/-inf/0 as torch."""
    x = x if dtype is None else x.to(dtype)
    if dim is None:
        out = x.reshape(-1).norm(ord, dim=0)
        return out.reshape((1,) * x.ndim) if keepdim else out
    return x.norm(ord, dim=dim, keepdim=keepdim)


def matrix_norm(A, ord='fro', dim=(-2, -1), keepdim=False, *, dtype=None):
    """The Frobenius norm ('fro'), or the max column (ord=1) / row (ord=inf) abs sum."""
    A = A if dtype is None else A.to(dtype)
    d0, d1 = dim
    if ord == 'fro':
        return A.norm('fro', dim=dim, keepdim=keepdim)
    if ord in (1, -1):
        s = A.abs().sum(d0, keepdim=True)
        out = s.amax(d1, keepdim=True) if ord == 1 else s.amin(d1, keepdim=True)
    elif ord in (math.inf, -math.inf):
        s = A.abs().sum(d1, keepdim=True)
        out = s.amax(d0, keepdim=True) if ord > 0 else s.amin(d0, keepdim=True)
    else:
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} is not supported (use 'fro', 1, -1, inf, -inf)")
    return out if keepdim else out.squeeze(tuple(sorted((d0 % A.ndim, d1 % A.ndim))))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """vector_norm for vectors (or ord=None over dim), matrix_norm for a 2-tuple dim or 2-d A with ord."""
    if dim is not None and not isinstance(dim, int) and len(dim) == 2 or (dim is None and ord is not None and A.ndim == 2):
        return matrix_norm(A, 'fro' if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def cross(input, other, *, dim=-1):
    return input.cross(other, dim=dim)


def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)


def matmul(input, other):
    return input.matmul(other)


def multi_dot(tensors):
    """A chain of matrix products (first and last may be vectors), left to right."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


def inv(A):
    return LM.Inv.apply(_square('inv', A))


def det(A):
    return LM.Det.apply(_square('det', A))


def slogdet(A):
    sign, logabs = LM.Slogdet.apply(_square('slogdet', A))
    return slogdet_result(sign, logabs)


def solve(A, B, *, left=True):
    if not left:
        return solve(A.mT, B.mT).mT
    _square('solve', A)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: incompatible shapes of A {tuple(A.shape)} and B {tuple(B.shape)}")
    from .ops.broadcast import broadcast_shape
    lead = broadcast_shape('linalg.solve', A.shape[:-2], b.shape[:-2])
    a = A.expand(tuple(lead) + A.shape[-2:])
    x = LM.Solve.apply(a, b.expand(tuple(lead) + b.shape[-2:]))
    return x.squeeze(-1) if vector else x



