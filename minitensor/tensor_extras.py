"""Tensor methods beyond the core of tensor.py: the gamma family and other special
functions, shifts, torch's remaining pointwise functions and aliases, dtype casts and
the in-place forms of unary ops. Tensor inherits them (class Tensor(TensorExtras)).

Most are compositions of differentiable primitives (teenygrad's way: no derivative
code of their own); the few that need a closed form call Functions in
ops/gamma.py and ops/pointwise_more.py.
"""
import math
import numbers

from . import dtypes, inplace
from .ops import gamma as GM
from .ops import pointwise_more as PM


def _tensor():
    from .tensor import Tensor
    return Tensor


class TensorExtras:
    """Mixin of Tensor: the methods listed in this module's docstring."""
    __slots__ = ()

    # ------------------------------------------------------------ gamma family, Bessel, special

    def lgamma(self):
        """log |Gamma(self)|."""
        return GM.Lgamma.apply(self._as_float())

    def digamma(self):
        """d/dx lgamma(x)."""
        return GM.Digamma.apply(self._as_float())

    def polygamma(self, n):
        """The n-th derivative of digamma (torch's Tensor.polygamma(n))."""
        if not isinstance(n, numbers.Integral) or n < 0:
            raise RuntimeError(f"polygamma: n must be a non-negative integer, got {n!r}")
        x = self._as_float()
        return GM.Digamma.apply(x) if n == 0 else GM.Polygamma.apply(x, n=int(n))

    def mvlgamma(self, p):
        """The multivariate log-gamma: sum_i lgamma(x - i/2) + p(p-1)/4 log(pi), x > (p-1)/2."""
        if not isinstance(p, numbers.Integral) or p < 1:
            raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1, got {p!r}")
        x = self._as_float()
        if x.numel() and not bool((x.detach() > (p - 1) / 2).all()):
            raise RuntimeError(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2}")
        total = x.lgamma()
        for i in range(1, p):
            total = total + (x - i / 2).lgamma()
        return total + p * (p - 1) / 4 * math.log(math.pi)

    def i0(self):
        """The modified Bessel function of the first kind, order 0."""
        return GM.I0.apply(self._as_float())

    def sinc(self):
        """sin(pi x) / (pi x), 1 at 0."""
        x = self._as_float()
        zero = x == 0
        safe = x.masked_fill(zero, 1.0)          # the unused branch stays finite: no NaN gradient
        px = safe * math.pi
        return (px.sin() / px).masked_fill(zero, 1.0)

    def logit(self, eps=None):
        """log(x / (1 - x)); with eps, x is first clamped to [eps, 1 - eps]."""
        return PM.Logit.apply(self._as_float(), eps=eps)

    # ------------------------------------------------------------ pointwise functions and aliases

    def copysign(self, other):
        """|self| with the sign (bit) of other; the gradient flows to self only, as torch."""
        return self._binary(other, PM.Copysign, 'copysign', float_result=True)

    def float_power(self, exponent):
        """self ** exponent in float64."""
        base = self.double()
        if isinstance(exponent, _tensor()):
            exponent = exponent.double()
        return base ** exponent

    def logaddexp2(self, other):
        """log2(2^self + 2^other)."""
        ln2 = math.log(2)
        return (self._as_float() * ln2).logaddexp(self._operand(other, 'logaddexp2') * ln2) / ln2

    def fmax(self, other):
        """The larger of the two, ignoring NaN (NaN only where both are NaN)."""
        other = self._operand(other, 'fmax')
        return _tensor_where((self >= other) | other.isnan(), self, other)

    def fmin(self, other):
        """The smaller of the two, ignoring NaN (NaN only where both are NaN)."""
        other = self._operand(other, 'fmin')
        return _tensor_where((self <= other) | other.isnan(), self, other)

    def heaviside(self, values):
        """0 where self < 0, values where self == 0, 1 where self > 0 (no derivative, as torch)."""
        values = self._operand(values, 'heaviside')
        if self.dtype != values.dtype:
            raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes "
                               f"({self.dtype} and {values.dtype})")
        xp = self.xp
        a, v = self.array, values.array
        out = xp.where(a == 0, v, (a > 0).astype(a.dtype))
        return _tensor()._wrap(xp.where(a != a, a, out).astype(a.dtype, copy=False))

    def deg2rad(self):
        return self._as_float() * (math.pi / 180)

    def rad2deg(self):
        return self._as_float() * (180 / math.pi)

    def positive(self):
        if self.dtype == dtypes.bool_:
            raise TypeError("positive: the positive operation is not supported on bool tensors")
        return self

    def ldexp(self, other):
        """self * 2 ** other."""
        return self * (2.0 ** self._operand(other, 'ldexp'))

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol |other|, elementwise (infinities equal only to themselves)."""
        other = self._operand(other, 'isclose')
        if self.dtype != other.dtype:
            raise RuntimeError(f"isclose: {self.dtype} did not match {other.dtype}")
        xp = self.xp
        a, b = self.array, other.array
        with GM._quiet(xp):
            close = a == b
            if a.dtype.kind == 'f':
                finite = xp.isfinite(a) & xp.isfinite(b)
                close = close | (finite & (xp.abs(a - b) <= atol + rtol * xp.abs(b)))
                if equal_nan:
                    close = close | (xp.isnan(a) & xp.isnan(b))
        return _tensor()._wrap(close)

    def equal(self, other):
        """True if both have the same shape and elements (a Python bool)."""
        return tuple(self.shape) == tuple(other.shape) and bool((self == other).all())

    def where(self, condition, other):
        """torch's Tensor.where: self where condition, else other."""
        from .creation import where
        return where(condition, self, other)

    greater, greater_equal = (lambda self, o: self > o), (lambda self, o: self >= o)
    less, less_equal = (lambda self, o: self < o), (lambda self, o: self <= o)
    not_equal, eq, ne = (lambda self, o: self != o), (lambda self, o: self == o), (lambda self, o: self != o)
    lt, le, gt, ge = less, less_equal, greater, greater_equal

    # ------------------------------------------------------------ shifts (integers only)

    def _shift(self, other, left, reverse=False):
        op = 'bitwise_left_shift' if left else 'bitwise_right_shift'
        other = self._operand(other, op)
        a, b = (other, self) if reverse else (self, other)
        for t in (a, b):
            if t.dtype.kind not in 'iub':
                raise dtypes.NotImplementedForDtype(f"{op}: not implemented for {t.dtype} tensors "
                                          f"(shifts take integer or bool tensors)")
        from .ops.broadcast import broadcast_shape
        broadcast_shape(op, a.shape, b.shape)
        common = dtypes.result_type((a.dtype, a.ndim), (b.dtype, b.ndim))
        if common == dtypes.bool_:
            common = dtypes.int64
        return _tensor()._wrap(PM.shift(a.array.astype(common), b.array.astype(common), left))

    def bitwise_left_shift(self, other):
        return self._shift(other, True)

    def bitwise_right_shift(self, other):
        return self._shift(other, False)

    def __lshift__(self, other):
        return self._shift(other, True)

    def __rshift__(self, other):
        return self._shift(other, False)

    def __rlshift__(self, other):
        return self._shift(other, True, reverse=True)

    def __rrshift__(self, other):
        return self._shift(other, False, reverse=True)

    def __ilshift__(self, other):
        return inplace.commit(self, self._shift(other, True).to(self.dtype), '__ilshift__')

    def __irshift__(self, other):
        return inplace.commit(self, self._shift(other, False).to(self.dtype), '__irshift__')

    def __iand__(self, other):
        return inplace.commit(self, (self & other).to(self.dtype), '__iand__')

    def __ior__(self, other):
        return inplace.commit(self, (self | other).to(self.dtype), '__ior__')

    def __ixor__(self, other):
        return inplace.commit(self, (self ^ other).to(self.dtype), '__ixor__')

    def __imod__(self, other):
        return inplace.commit(self, self % other, '__imod__')

    def __ifloordiv__(self, other):
        return inplace.commit(self, self // other, '__ifloordiv__')

    # ------------------------------------------------------------ dtypes and metadata

    def _view_dtype(self, dtype):
        """view(dtype): the same bytes read as another dtype (no copy, no gradient across kinds);
        a different item size rescales the last dim, which must be contiguous (as torch)."""
        d = dtypes.to_dtype(dtype)
        if d == self.dtype:
            return self.view(self.shape)
        old, new = self.dtype.itemsize, d.itemsize
        a = self.array
        if old != new:
            if self.ndim == 0 or (a.strides[-1] != old and a.shape[-1] > 1) or (a.shape[-1] * old) % new:
                raise RuntimeError(f"view: self.size(-1) ({a.shape[-1] if self.ndim else 1}) and the last "
                                   f"dim's stride must fit a view from {self.dtype} to {dtypes.wrap(d)} "
                                   f"(a contiguous last dim whose byte size divides by {new})")
        return _tensor()._wrap(a.view(d))

    def half(self):
        return self.to(dtypes.float16)

    def bfloat16(self):
        return self.to(dtypes.bfloat16)

    def short(self):
        return self.to(dtypes.int16)

    def char(self):
        return self.to(dtypes.int8)

    def byte(self):
        return self.to(dtypes.uint8)

    def type_as(self, other):
        return self.to(other.dtype)

    def ndimension(self):
        return self.ndim

    def is_signed(self):
        return self.dtype.kind in 'if'

    def is_complex(self):
        return False

    @property
    def itemsize(self):
        return self.element_size()

    @property
    def nbytes(self):
        return self.element_size() * self.numel()

    # ------------------------------------------------------------ in-place forms of unary/binary ops

    def _inplace(self, out, op):
        if out.dtype != self.dtype:
            raise RuntimeError(f"{op}: result type {out.dtype} can't be cast to the desired output "
                               f"type {self.dtype}")
        return inplace.commit(self, out, op)

    def sigmoid_(self):
        return self._inplace(self.sigmoid(), 'sigmoid_')

    def relu_(self):
        return self._inplace(self.relu(), 'relu_')

    def tanh_(self):
        return self._inplace(self.tanh(), 'tanh_')

    def abs_(self):
        return self._inplace(self.abs(), 'abs_')

    def sqrt_(self):
        return self._inplace(self.sqrt(), 'sqrt_')

    def rsqrt_(self):
        return self._inplace(self.rsqrt(), 'rsqrt_')

    def log_(self):
        return self._inplace(self.log(), 'log_')

    def log1p_(self):
        return self._inplace(self.log1p(), 'log1p_')

    def sin_(self):
        return self._inplace(self.sin(), 'sin_')

    def cos_(self):
        return self._inplace(self.cos(), 'cos_')

    def reciprocal_(self):
        return self._inplace(self.reciprocal(), 'reciprocal_')

    def square_(self):
        return self._inplace(self.square(), 'square_')

    def floor_(self):
        return self._inplace(self.floor(), 'floor_')

    def ceil_(self):
        return self._inplace(self.ceil(), 'ceil_')

    def round_(self, decimals=0):
        return self._inplace(self.round(decimals=decimals), 'round_')

    def trunc_(self):
        return self._inplace(self.trunc(), 'trunc_')

    def sign_(self):
        return self._inplace(self.sign(), 'sign_')

    def lerp_(self, end, weight):
        return self._inplace(self.lerp(end, weight), 'lerp_')

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._inplace(self.addcmul(tensor1, tensor2, value=value), 'addcmul_')

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._inplace(self.addcdiv(tensor1, tensor2, value=value), 'addcdiv_')

    def remainder_(self, other):
        return self._inplace(self.remainder(other), 'remainder_')

    def fmod_(self, other):
        return self._inplace(self.fmod(other), 'fmod_')

    def clamp_min_(self, min):
        return self._inplace(self.clamp(min=min), 'clamp_min_')

    def clamp_max_(self, max):
        return self._inplace(self.clamp(max=max), 'clamp_max_')

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return self._inplace(self.nan_to_num(nan, posinf, neginf), 'nan_to_num_')

    def logical_not_(self):
        return self._inplace(self.logical_not().to(self.dtype), 'logical_not_')

    def tril_(self, diagonal=0):
        return self._inplace(self.tril(diagonal), 'tril_')

    def triu_(self, diagonal=0):
        return self._inplace(self.triu(diagonal), 'triu_')

    def index_fill_(self, dim, index, value):
        return self._inplace(self.index_fill(dim, index, value), 'index_fill_')

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace(self.index_add(dim, index, source, alpha=alpha), 'index_add_')

    def index_copy_(self, dim, index, source):
        return self._inplace(self.index_copy(dim, index, source), 'index_copy_')

    def masked_scatter_(self, mask, source):
        return self._inplace(self.masked_scatter(mask, source), 'masked_scatter_')

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._inplace(self.scatter(dim, index, src, value=value, reduce=reduce), 'scatter_')

    def scatter_add_(self, dim, index, src):
        return self._inplace(self.scatter_add(dim, index, src), 'scatter_add_')

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._inplace(self.scatter_reduce(dim, index, src, reduce, include_self=include_self),
                             'scatter_reduce_')

    def unfold(self, dimension, size, step):
        """Every window of `size` elements along `dimension`, `step` apart, as a new last dim:
        that dim becomes (n - size) // step + 1 long."""
        from .tensor import normalize_dim
        d = normalize_dim('unfold', dimension, max(self.ndim, 1))
        n = self.shape[d] if self.ndim else 1
        if size > n:
            raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"unfold: step is {step} but must be > 0")
        if size < 0:
            raise RuntimeError(f"unfold: size is {size} but must be >= 0")
        x = self.reshape(1) if self.ndim == 0 else self
        xp = self.xp
        windows = (n - size) // step + 1
        idx = (xp.arange(windows)[:, None] * step + xp.arange(size)[None, :]).reshape(-1)
        picked = x.index_select(d, _tensor()._wrap(idx.astype('int64')))           # (..., windows*size, ...)
        picked = picked.reshape(x.shape[:d] + (windows, size) + x.shape[d + 1:])
        out = picked.movedim(d + 1, -1)
        return out.reshape(size) if self.ndim == 0 else out


    # ------------------------------------------------------------ products (compositions of matmul)

    def mm(self, mat2):
        """Matrix product of two 2-d tensors."""
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mm: self must be a matrix and mat2 must be a matrix, got shapes "
                               f"{tuple(self.shape)} and {tuple(mat2.shape)}")
        return self.matmul(mat2)

    def bmm(self, mat2):
        """Batched matrix product of two 3-d tensors with the same batch size."""
        if self.ndim != 3 or mat2.ndim != 3:
            raise RuntimeError(f"bmm: batch1 must be a 3D tensor and batch2 must be a 3D tensor, got "
                               f"shapes {tuple(self.shape)} and {tuple(mat2.shape)}")
        if self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: batch1 and batch2 must have the same batch size, got "
                               f"{self.shape[0]} and {mat2.shape[0]}")
        return self.matmul(mat2)

    def mv(self, vec):
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {tuple(self.shape)} and "
                               f"{tuple(vec.shape)}")
        return self.matmul(vec)

    def dot(self, other):
        """The inner product of two 1-d tensors of the same size."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"dot: 1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                               f"[{other.shape[0]}] to have the same number of elements, but got "
                               f"{self.shape[0]} and {other.shape[0]} elements respectively")
        return self.matmul(other)

    vdot = dot

    def inner(self, other):
        """Sum over the last dims: out[i.., j..] = sum_k self[i.., k] other[j.., k]."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        return self.tensordot(other, ([-1], [-1]))

    def tensordot(self, other, dims=2):
        """Contract dims of self with dims of other: an int n (self's last n with other's first n)
        or two lists of dims."""
        if isinstance(dims, numbers.Integral):
            if dims < 0:
                raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
            da, db = list(range(self.ndim - dims, self.ndim)), list(range(dims))
        else:
            da, db = ([d] if isinstance(d, numbers.Integral) else list(d) for d in dims)
        da = [d % self.ndim for d in da]
        db = [d % other.ndim for d in db]
        if len(da) != len(db) or any(self.shape[i] != other.shape[j] for i, j in zip(da, db)):
            raise RuntimeError(f"tensordot: contracted dimensions need to match, got {da} of "
                               f"{tuple(self.shape)} and {db} of {tuple(other.shape)}")
        keep_a = [i for i in range(self.ndim) if i not in da]
        keep_b = [j for j in range(other.ndim) if j not in db]
        k = int(math.prod(self.shape[i] for i in da))
        a = self.permute(*(keep_a + da)).reshape(-1, k)
        b = other.permute(*(db + keep_b)).reshape(k, -1)
        return (a @ b).reshape(tuple(self.shape[i] for i in keep_a) + tuple(other.shape[j] for j in keep_b))

    def kron(self, other):
        """The Kronecker product: blocks self[i] * other."""
        nd = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (nd - self.ndim) + tuple(self.shape))
        b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
        ea = tuple(x for n in a.shape for x in (n, 1))              # a[i0, 1, i1, 1, ...]
        eb = tuple(x for n in b.shape for x in (1, n))              # b[1, j0, 1, j1, ...]
        out = a.reshape(ea) * b.reshape(eb)
        return out.reshape(tuple(m * n for m, n in zip(a.shape, b.shape)))

    def cross(self, other, dim=None):
        """The cross product of 3-vectors along dim (default: the first dim of size 3, as torch.cross)."""
        if dim is None:
            dim = next((i for i, n in enumerate(self.shape) if n == 3), None)
            if dim is None:
                raise RuntimeError(f"cross: no dimension of size 3 in input {tuple(self.shape)}")
        from .ops.broadcast import broadcast_shape
        shape = broadcast_shape('cross', self.shape, other.shape)
        a, b = self.expand(shape), other.expand(shape)
        if a.shape[dim] != 3:
            raise RuntimeError(f"cross: inputs dimension {dim} must have length 3, got {a.shape[dim]}")
        a0, a1, a2 = a.unbind(dim)
        b0, b1, b2 = b.unbind(dim)
        from .creation import stack
        return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """The n-th forward difference along dim (prepend/append concatenated first)."""
        from .creation import cat
        x = self
        if prepend is not None or append is not None:
            parts = [p if p.ndim else p.expand(x.shape[:dim % x.ndim] + (1,) + x.shape[dim % x.ndim + 1:])
                     for p in (prepend,) if p is not None] + [x]
            parts += [a if a.ndim else a.expand(x.shape[:dim % x.ndim] + (1,) + x.shape[dim % x.ndim + 1:])
                      for a in (append,) if a is not None]
            x = cat(parts, dim)
        for _ in range(n):
            m = x.shape[dim]
            if m == 0:
                break
            x = (x.narrow(dim, 1, m - 1) != x.narrow(dim, 0, m - 1)) if x.dtype == dtypes.bool_ \
                else x.narrow(dim, 1, m - 1) - x.narrow(dim, 0, m - 1)
        return x

    def rot90(self, k=1, dims=(0, 1)):
        """Rotate by 90 degrees k times in the plane of dims (from the first dim towards the second)."""
        if len(dims) != 2:
            raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
        d0, d1 = (d % self.ndim for d in dims)
        if d0 == d1:
            raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip((d0, d1))
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _scaled_sum(self, mat1.mm(mat2), beta, alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _scaled_sum(self, mat.mv(vec), beta, alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _scaled_sum(self, batch1.bmm(batch2).sum(0), beta, alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _scaled_sum(self, batch1.bmm(batch2), beta, alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return _scaled_sum(self, vec1.outer(vec2), beta, alpha)

    def matrix_power(self, n):
        """self @ self @ ... (n times); n = 0 gives the identity. Negative n is not supported."""
        if self.ndim < 2 or self.shape[-1] != self.shape[-2]:
            raise RuntimeError(f"matrix_power: expected a square matrix (or batch), got {tuple(self.shape)}")
        if n < 0:
            raise NotImplementedError("matrix_power: negative powers (matrix inverses) are not supported")
        from .creation import eye
        result = eye(self.shape[-1], dtype=self.dtype, device=self.device).expand(self.shape)
        if n == 0:
            return result.clone()
        result, base = None, self
        while n:
            if n & 1:
                result = base if result is None else result @ base
            n >>= 1
            if n:
                base = base @ base
        return result

    # ------------------------------------------------------------ statistics and searching

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        """The mean ignoring NaN (NaN where a reduction sees only NaN)."""
        x = self if dtype is None else self.to(dtype)
        keep = ~x.isnan()
        total = x.nansum(dim, keepdim=keepdim)
        return total / keep.sum(dim, keepdim=keepdim).to(total.dtype)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation='linear'):
        """The q-th quantiles (q a float or a 1-d tensor in [0, 1]) along dim (all elements if None),
        interpolated between the sorted values as torch ('linear', 'lower', 'higher', 'midpoint',
        'nearest'); differentiable through the sort."""
        return _quantile(self, q, dim, keepdim, interpolation, ignore_nan=False)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation='linear'):
        return _quantile(self, q, dim, keepdim, interpolation, ignore_nan=True)

    def ravel(self):
        return self.reshape(-1)

    def isin(self, test_elements, *, assume_unique=False, invert=False):
        xp = self.xp
        test = test_elements.array if hasattr(test_elements, 'array') else xp.asarray(test_elements)
        return _tensor()._wrap(xp.isin(self.array, test, invert=invert))

    def gcd(self, other):
        other = self._operand(other, 'gcd')
        return _tensor()._wrap(self.xp.gcd(self.array, other.array))

    def lcm(self, other):
        other = self._operand(other, 'lcm')
        return _tensor()._wrap(self.xp.lcm(self.array, other.array))

    def frexp(self):
        """(mantissa in [0.5, 1), int32 exponent) with self = mantissa * 2 ** exponent."""
        from . import return_types
        m, e = self.xp.frexp(self.array)
        return return_types.frexp(_tensor()._wrap(m), _tensor()._wrap(e.astype('int32')))

    # ------------------------------------------------------------ memory layout (read-only facts)

    def stride(self, dim=None):
        """Steps in elements between neighbours along each dim (torch's strides)."""
        item = self.array.dtype.itemsize
        strides = tuple(s // item for s in self.array.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self, memory_format=None):
        return bool(self.array.flags.c_contiguous)

    def data_ptr(self):
        a = self.array
        return int(a.data.ptr) if hasattr(a, 'data') and hasattr(a.data, 'ptr') else int(a.__array_interface__['data'][0])

    def storage_offset(self):
        """Elements between the start of the underlying storage and this tensor's first element."""
        root = self.array
        while getattr(root, 'base', None) is not None:
            root = root.base
        base = _tensor()._wrap(root) if hasattr(root, 'dtype') else None
        if base is None or root.dtype.itemsize == 0:
            return 0
        return (self.data_ptr() - base.data_ptr()) // self.array.dtype.itemsize

    # ------------------------------------------------------------ in-place view ops

    def _reshape_in_place(self, out, op):
        """unsqueeze_/squeeze_/t_/transpose_: this tensor becomes `out` (a view of the same storage);
        in a graph it takes out's history (uses of it made before keep the old one)."""
        from .autograd import is_grad_enabled
        if self.requires_grad and is_grad_enabled() and (self.grad_fn is None or self._base is not None):
            raise RuntimeError(f"{op}: in-place view ops on a leaf or a view that requires grad are not "
                               f"supported; use the out-of-place form ({op[:-1]})")
        self.array = out.array
        if out.requires_grad:
            self.grad_fn, self.output_nr = out.grad_fn, out.output_nr
        return self

    def unsqueeze_(self, dim):
        return self._reshape_in_place(self.unsqueeze(dim), 'unsqueeze_')

    def squeeze_(self, dim=None):
        return self._reshape_in_place(self.squeeze(dim), 'squeeze_')

    def t_(self):
        return self._reshape_in_place(self.t(), 't_')

    def transpose_(self, dim0, dim1):
        return self._reshape_in_place(self.transpose(dim0, dim1), 'transpose_')

    def swapdims_(self, dim0, dim1):
        return self._reshape_in_place(self.transpose(dim0, dim1), 'swapdims_')

    swapaxes_ = swapdims_

    # ------------------------------------------------------------ in-place fills

    def fill_diagonal_(self, fill_value, wrap=False):
        """Write fill_value on the main diagonal (all dims equal for > 2-d; a tall matrix's
        diagonal restarts every N+1 rows with wrap=True, as torch)."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise RuntimeError("fill_diagonal_: dimensions must larger than 1 and all of equal length")
        xp = self.xp
        mask = xp.zeros(self.shape, dtype=bool)
        if self.ndim == 2:
            rows, cols = self.shape
            n = min(rows, cols)
            r = xp.arange(n)
            mask[r, r] = True
            if wrap and rows > cols:
                start = cols + 1
                while start < rows:
                    k = min(cols, rows - start)
                    mask[start + xp.arange(k), xp.arange(k)] = True
                    start += cols + 1
        else:
            r = xp.arange(self.shape[0])
            mask[(r,) * self.ndim] = True
        return self._inplace(self.masked_fill(_tensor()._wrap(mask), fill_value), 'fill_diagonal_')

    def _fill_with(self, draw, op):
        """Write a random draw in place: no gradient flows to the old values (torch's)."""
        from .ops.inplace import Copy
        return inplace.commit(self, Copy.apply(self, draw.to(self.dtype).detach()), op)

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 1/0 draws, 1 with probability p (a number or a tensor)."""
        from .creation import bernoulli, full_like
        probs = p if isinstance(p, _tensor()) else full_like(self, float(p), dtype=dtypes.float64 if
                                                                 self.dtype == dtypes.float64 else dtypes.default_float)
        draw = bernoulli(probs.expand(self.shape) if probs.shape != self.shape else probs, generator=generator)
        return self._fill_with(draw, 'bernoulli_')

    def exponential_(self, lambd=1.0, *, generator=None):
        """Fill with Exp(lambd) draws: -log(1 - U) / lambd."""
        from .creation import rand
        u = rand(self.shape, dtype=self.dtype, device=self.device, generator=generator)
        return self._fill_with((-u).log1p() * (-1.0 / lambd), 'exponential_')

    def geometric_(self, p, *, generator=None):
        """Fill with the number of Bernoulli(p) trials up to the first success (>= 1)."""
        from .creation import rand
        u = rand(self.shape, dtype=dtypes.float64, device=self.device, generator=generator)
        return self._fill_with(((-u).log1p() / math.log1p(-p)).ceil().clamp(min=1), 'geometric_')

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        from .creation import randn
        z = randn(self.shape, dtype=self.dtype, device=self.device, generator=generator)
        return self._fill_with((z * std + mean).exp(), 'log_normal_')

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        from .creation import rand
        u = rand(self.shape, dtype=self.dtype, device=self.device, generator=generator)
        return self._fill_with(((u - 0.5) * math.pi).tan() * sigma + median, 'cauchy_')

    def random_(self, from_=0, to=None, *, generator=None):
        """Fill with integers uniform on [from_, to) (or [0, from_) when only one bound is given)."""
        from .creation import randint
        low, high = (0, from_) if to is None and from_ else (from_, to)
        if high is None:
            high = 2 ** (24 if self.dtype == dtypes.float32 else 53 if self.dtype.kind == 'f'
                         else min(63, 8 * self.dtype.itemsize - 1))
        draw = randint(int(low), int(high), tuple(self.shape), generator=generator, device=self.device)
        return self._fill_with(draw, 'random_')

    # ------------------------------------------------------------ index_put

    def index_put(self, indices, values, accumulate=False):
        """self with values written at the advanced index `indices` (a tuple of index tensors);
        accumulate=True adds instead, repeated positions adding up."""
        T = _tensor()
        indices = tuple(indices)
        if not accumulate:
            out = self.clone()
            out[indices] = values
            return out
        if any(i.dtype == dtypes.bool_ for i in indices):
            expanded = []
            for i in indices:
                expanded.extend(i.nonzero(as_tuple=True) if i.dtype == dtypes.bool_ else (i,))
            indices = tuple(expanded)
        from .creation import broadcast_tensors
        idx = broadcast_tensors(*[i.long() for i in indices])
        k = len(idx)
        lead, rest = self.shape[:k], tuple(self.shape[k:])
        linear = None
        for j, (i, n) in enumerate(zip(idx, lead)):
            term = i % n if n else i
            linear = term if linear is None else linear * n + term
        values = values if isinstance(values, T) else self._operand(values, 'index_put')
        vals = values.to(self.dtype).expand(tuple(linear.shape) + rest).reshape((-1,) + rest)
        flat = self.reshape((int(math.prod(lead)),) + rest)
        return flat.index_add(0, linear.reshape(-1), vals).reshape(self.shape)

    def index_put_(self, indices, values, accumulate=False):
        return self._inplace(self.index_put(indices, values, accumulate), 'index_put_')

    def hardshrink(self, lambd=0.5):
        """self where |self| > lambd, else 0."""
        return _hardshrink(self, lambd)


def _scaled_sum(x, product, beta, alpha):
    """beta * x + alpha * product; beta == 0 ignores x (NaN included), as torch."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:                                # the product, in the broadcast shape
        from .ops.broadcast import broadcast_shape
        return product.expand(broadcast_shape('addmm', x.shape, product.shape))
    return product + (x if beta == 1 else x * beta)


_INTERPOLATIONS = ('linear', 'lower', 'higher', 'midpoint', 'nearest')


def _quantile(x, q, dim, keepdim, interpolation, ignore_nan):
    op = 'nanquantile' if ignore_nan else 'quantile'
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of {', '.join(_INTERPOLATIONS)}. "
                           f"Got '{interpolation}'")
    if x.dtype.kind != 'f':
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    T = _tensor()
    scalar_q = not isinstance(q, T)
    qs = T._wrap(x.xp.asarray([float(q)] if scalar_q else q.array, dtype=x.dtype).reshape(-1))
    if qs.numel() and (bool((qs < 0).any()) or bool((qs > 1).any())):
        raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    if x.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    src = x.reshape(-1) if dim is None else x
    d = 0 if dim is None else dim % x.ndim
    src = src.movedim(d, -1)                                         # (..., n)
    values = src.sort(-1).values                                     # NaN sorts last
    n = src.shape[-1]
    if ignore_nan:
        count = (~src.isnan()).sum(-1, keepdim=True).to(x.dtype)     # (..., 1)
    else:
        count = T._wrap(x.xp.full(src.shape[:-1] + (1,), n, dtype=x.dtype))
    rank = qs * (count - 1)                                           # (..., nq)
    if interpolation == 'lower':
        rank = rank.floor()
    elif interpolation == 'higher':
        rank = rank.ceil()
    elif interpolation == 'nearest':
        rank = rank.round()
    low_i = rank.floor().clamp(0, n - 1).long()
    high_i = rank.ceil().clamp(0, n - 1).long()
    lo = values.gather(-1, low_i)
    hi = values.gather(-1, high_i)
    if interpolation == 'midpoint':
        out = lo + (hi - lo) * 0.5
    else:
        out = lo.lerp(hi, (rank - low_i.to(x.dtype)).detach())
    if not ignore_nan:                                               # a NaN in the row gives NaN
        has_nan = src.isnan().any(-1, keepdim=True)
        out = out.masked_fill(has_nan, float('nan'))
    else:
        out = out.masked_fill(count == 0, float('nan'))
    out = out.movedim(-1, 0)                                          # (nq, ...)
    if keepdim:
        out = out.unsqueeze(d + 1) if dim is not None else out.reshape((out.shape[0],) + (1,) * x.ndim)
    return out[0] if scalar_q else out


def _tensor_where(cond, a, b):
    from .creation import where
    return where(cond, a, b)


def _hardshrink(x, lambd):
    if x.dtype.kind != 'f':
        raise TypeError(f"hardshrink: expected a floating point tensor, got {x.dtype}")
    inside = (x >= -lambd) & (x <= lambd)       # NaN is outside: it passes through, as torch
    return x.masked_fill(inside, 0.0)


EXTRA_FUNCTION_FORMS = (
    'lgamma', 'digamma', 'mvlgamma', 'i0', 'sinc', 'logit', 'copysign', 'float_power', 'logaddexp2',
    'fmax', 'fmin', 'heaviside', 'deg2rad', 'rad2deg', 'positive', 'ldexp', 'clamp_min', 'clamp_max',
    'isclose', 'equal', 'bitwise_left_shift', 'bitwise_right_shift', 'greater', 'greater_equal',
    'less', 'less_equal', 'not_equal', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
    'mm', 'bmm', 'mv', 'dot', 'vdot', 'inner', 'tensordot', 'kron', 'cross', 'diff', 'rot90', 'addmm',
    'addmv', 'addbmm', 'baddbmm', 'addr', 'matrix_power', 'nanmean', 'quantile', 'nanquantile', 'ravel',
    'isin', 'gcd', 'lcm', 'frexp', 'hardshrink', 'index_put', 'index_put_',
)

