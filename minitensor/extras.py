"""The torch-level functions added beside the core (exported by __init__ through __all__):
function forms of the methods in tensor_extras.py, polygamma(n, x), and the
torch.special namespace."""
from . import autograd, autograd_function, linalg, special, testing  # noqa: F401
from .creation import _method
from .tensor_extras import EXTRA_FUNCTION_FORMS


def polygamma(n, input):
    """torch.polygamma(n, input): the n-th derivative of digamma."""
    return input.polygamma(n)


globals().update({name: _method(name) for name in EXTRA_FUNCTION_FORMS})
autograd.function = autograd_function          # torch.autograd.function.once_differentiable, FunctionCtx

__all__ = ['linalg', 'special', 'testing', 'polygamma', *EXTRA_FUNCTION_FORMS]


# ---------------------------------------------------------------- torch-level functions of nn.functional
# torch has these at the top level too (torch.conv2d, torch.pixel_shuffle, torch.dropout, ...)

def _from_functional(name, alias=None):
    def fn(*args, **kwargs):
        from .nn import functional as F
        return getattr(F, name)(*args, **kwargs)
    fn.__name__ = alias or name
    fn.__doc__ = f"mt.{alias or name}(...) is mt.nn.functional.{name}(...)."
    return fn


_TOP_LEVEL_NN = ('conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
                 'pixel_shuffle', 'pixel_unshuffle', 'channel_shuffle', 'cosine_similarity', 'pairwise_distance',
                 'pdist', 'bilinear', 'layer_norm', 'group_norm', 'instance_norm', 'rms_norm', 'embedding', 'selu',
                 'celu', 'threshold', 'prelu', 'rrelu', 'hardshrink', 'max_pool1d', 'max_pool2d', 'max_pool3d',
                 'avg_pool1d', 'adaptive_avg_pool1d', 'adaptive_max_pool1d', 'alpha_dropout',
                 'feature_alpha_dropout', 'batch_norm', 'binary_cross_entropy_with_logits',
                 'kl_div', 'hinge_embedding_loss', 'margin_ranking_loss', 'poisson_nll_loss',
                 'triplet_margin_loss', 'cosine_embedding_loss')
globals().update({name: _from_functional(name) for name in _TOP_LEVEL_NN})


def dropout(input, p=0.5, train=True):
    """torch.dropout(input, p, train) (positional train, unlike F.dropout's training=)."""
    from .nn import functional as F
    return F.dropout(input, p, train)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None):
    """Samples of N(mean, std): tensors broadcast (torch's stream: standard normals, scaled),
    or floats with size."""
    from .creation import randn
    from .tensor import Tensor
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal: with float mean and std, size is required")
        return randn(*((size,) if isinstance(size, int) else tuple(size)), generator=generator, dtype=dtype,
                     device=device or 'cpu') * std + mean
    ref = mean if isinstance(mean, Tensor) else std
    shape = creation_broadcast(mean, std)
    draw = randn(*shape, generator=generator, dtype=ref.dtype, device=ref.device)
    return (draw * std + mean).detach()


def creation_broadcast(*values):
    from .creation import broadcast_shapes
    return tuple(broadcast_shapes(*[tuple(v.shape) for v in values if hasattr(v, 'shape')]))


def cartesian_prod(*tensors):
    """Every combination of the 1-d inputs' elements, as rows (N1*N2*..., k)."""
    from .creation import meshgrid, stack
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing='ij')
    return stack([g.reshape(-1) for g in grids], 1)


def block_diag(*tensors):
    """The inputs (0-, 1- or 2-d) as blocks down the diagonal of one matrix, zeros elsewhere."""
    from .creation import cat
    from .nn import functional as F
    mats = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    mats = [t.reshape(1, 1) if t.ndim == 0 else t for t in mats]
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(F.pad(m, (left, width - left - m.shape[1])))
        left += m.shape[1]
    return cat(rows, 0)


def vander(x, N=None, increasing=False):
    """Columns x^0, x^1, ... (decreasing powers unless increasing)."""
    from .creation import arange
    n = x.shape[0] if N is None else N
    powers = arange(n, device=x.device)
    if not increasing:
        powers = powers.flip(0)
    return x.unsqueeze(-1) ** powers.to(x.dtype if x.dtype.kind == 'f' else powers.dtype)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance of the variables in the rows of input (observations in the columns)."""
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights and aweights are not supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    n = x.shape[1]
    centered = x - x.mean(1, keepdim=True)
    c = (centered @ centered.t()) / (n - correction)
    return c.reshape(()) if input.ndim < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows, clipped to [-1, 1] as torch."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid-rule integral of y along dim (sample points x, or spacing dx, default 1),
    in torch's arithmetic (so infinities combine as torch's do)."""
    n = y.shape[dim]
    if n == 0:
        return y.sum(dim)
    if x is not None:
        spacing = x.diff(dim=dim if x.ndim == y.ndim else -1)
        return (spacing * (y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1))).sum(dim) / 2.0
    return (y.sum(dim) - (y.select(dim, 0) + y.select(dim, -1)) * 0.5) * (1.0 if dx is None else dx)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    n = y.shape[dim]
    pairs = y.narrow(dim, 1, max(n - 1, 0)) + y.narrow(dim, 0, max(n - 1, 0))
    if x is not None:
        return (x.diff(dim=dim if x.ndim == y.ndim else -1) * pairs / 2.0).cumsum(dim)
    return ((1.0 if dx is None else dx) / 2.0 * pairs).cumsum(dim)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Indices at which to insert input's values into the sorted last dim of sorted_sequence
    (per row when it has several); side='right' / right=True puts equal values after."""
    from .tensor import Tensor
    if sorter is not None:
        raise NotImplementedError("searchsorted: sorter is not supported")
    side = side or ('right' if right else 'left')
    xp = sorted_sequence.xp
    seq = sorted_sequence.array
    vals = input.array if isinstance(input, Tensor) else xp.asarray(input)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, vals, side=side)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(f"searchsorted: boundaries {seq.shape} and input {vals.shape} must have the "
                               f"same leading dims")
        rows_s, rows_v = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
        out = xp.stack([xp.searchsorted(s, v, side=side) for s, v in zip(rows_s, rows_v)]).reshape(vals.shape)
    return Tensor._wrap(out.astype('int32' if out_int32 else 'int64'))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among the 1-d boundaries (boundaries[i-1] < x <= boundaries[i],
    or < with right=True)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    from .tensor import Tensor
    if not isinstance(elements, Tensor):
        elements = test_elements._operand(elements, 'isin')
    return elements.isin(test_elements, invert=invert)


def frexp(input):
    return input.frexp()


def inverse(input):
    return linalg.inv(input)


def det(input):
    return linalg.det(input)


def logdet(input):
    """log det (NaN for a negative determinant, as torch)."""
    from .creation import where
    sign, logabs = linalg.slogdet(input)
    return where(sign < 0, float('nan'), logabs)


def slogdet(input):
    return linalg.slogdet(input)


__all__ += [*_TOP_LEVEL_NN, 'dropout', 'normal', 'cartesian_prod', 'block_diag', 'vander', 'cov', 'corrcoef',
            'trapezoid', 'trapz', 'cumulative_trapezoid', 'searchsorted', 'bucketize', 'isin', 'frexp',
            'inverse', 'det', 'logdet', 'slogdet']


# ---------------------------------------------------------------- more of torch's top-level names

def as_tensor(data, dtype=None, device=None):
    """A Tensor sharing data's memory where it can (a Tensor of that dtype/device is returned as is)."""
    from .tensor import Tensor
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    from .arrays import as_array
    return Tensor._wrap(as_array(data, dtype, device, copy=False))


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    from .tensor import Tensor
    t = as_tensor(obj, dtype, device)
    if copy:
        t = t.clone() if isinstance(obj, Tensor) else Tensor._wrap(t.array.copy())
    return t.requires_grad_(True) if requires_grad else t


def scalar_tensor(s, dtype=None, device=None, requires_grad=False):
    from .creation import tensor
    from . import dtypes as D
    return tensor(float(s), dtype=dtype or D.default_float, device=device, requires_grad=requires_grad)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False):
    """An uninitialized tensor of `size` (minitensor's arrays choose their own strides)."""
    from .creation import empty
    return empty(tuple(size), dtype=dtype, device=device or 'cpu', requires_grad=requires_grad)


def diagflat(input, offset=0):
    return input.reshape(-1).diag(offset)


def combinations(input, r=2, with_replacement=False):
    """The r-element combinations of a 1-d tensor's elements, as rows (itertools' order)."""
    import itertools
    from .creation import stack, tensor
    n = input.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(n), r))
    if not rows:
        return input.new_zeros((0, r)) if r else input.new_zeros((0,))
    idx = tensor(rows, device=input.device)                  # (k, r)
    return stack([input.index_select(0, idx[:, j]) for j in range(r)], 1)


def chain_matmul(*matrices):
    from .linalg import multi_dot
    return multi_dot(list(matrices))


def result_type(tensor1, tensor2):
    """The dtype torch's promotion gives an op on these two (tensors or numbers)."""
    from . import dtypes as D
    from .tensor import Tensor
    ref = tensor1 if isinstance(tensor1, Tensor) else tensor2
    if not isinstance(ref, Tensor):
        ref = as_tensor(tensor1)
    a, b = (ref._operand(t, 'result_type') if not isinstance(t, Tensor) else t for t in (tensor1, tensor2))
    return D.wrap(D.result_type((a.dtype, a.ndim), (b.dtype, b.ndim)))


def promote_types(type1, type2):
    from . import dtypes as D
    return D.wrap(D.promote_types(D.to_dtype(type1), D.to_dtype(type2)))


def can_cast(from_, to):
    """torch's rule: no casts to a lower category (float -> int, int -> bool)."""
    from . import dtypes as D
    order = {'b': 0, 'u': 1, 'i': 1, 'f': 2}
    return order[D.to_dtype(from_).kind] <= order[D.to_dtype(to).kind]


def is_complex(input):
    return False


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no values' if input.numel() == 0 else 'more than one value'} "
                           f"is ambiguous")
    return bool(input.item() != 0)


def isreal(input):
    from .creation import ones_like
    from . import dtypes as D
    return ones_like(input, dtype=D.bool_)


def real(input):
    return input


def conj(input):
    return input


resolve_conj = resolve_neg = conj_physical = conj


def detach(input):
    return input.detach()


def typename(obj):
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return {'float32': 'torch.FloatTensor', 'float64': 'torch.DoubleTensor', 'float16': 'torch.HalfTensor',
                'int64': 'torch.LongTensor', 'int32': 'torch.IntTensor', 'int16': 'torch.ShortTensor',
                'int8': 'torch.CharTensor', 'uint8': 'torch.ByteTensor', 'bool': 'torch.BoolTensor'}.get(
                    obj.dtype.name, obj.dtype.name)
    return type(obj).__module__ + '.' + type(obj).__qualname__


_num_threads = [0]


def set_num_threads(n):
    """Accepted (NumPy's BLAS picks its own threads; set OMP_NUM_THREADS before starting Python)."""
    _num_threads[0] = int(n)


def get_num_threads():
    import os
    if _num_threads[0]:
        return _num_threads[0]
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)


_deterministic = [False]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Accepted: minitensor's CPU ops are deterministic already."""
    _deterministic[0] = bool(mode)


def are_deterministic_algorithms_enabled():
    return _deterministic[0]


def get_rng_state():
    """The default generator's state (an opaque object for set_rng_state)."""
    from .random import default_generator
    return default_generator.get_state()


def set_rng_state(new_state):
    from .random import default_generator
    default_generator.set_state(new_state)


def seed():
    from .random import default_generator
    return default_generator.seed()


def initial_seed():
    from .random import default_generator
    return default_generator.initial_seed()


class _MemoryFormat:
    """torch.contiguous_format / channels_last / preserve_format: accepted, minitensor keeps
    its own layout."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"minitensor.{self.name}"


contiguous_format = _MemoryFormat('contiguous_format')
channels_last = _MemoryFormat('channels_last')
channels_last_3d = _MemoryFormat('channels_last_3d')
preserve_format = _MemoryFormat('preserve_format')


def _legacy_constructor(name, dtype_name):
    """torch.FloatTensor([1, 2]) (data) or torch.FloatTensor(2, 3) (sizes, uninitialized)."""
    def make(*args, device=None):
        from .creation import empty, tensor
        from . import dtypes as D
        dtype = getattr(D, dtype_name)
        if len(args) == 1 and not isinstance(args[0], int):
            return tensor(args[0], dtype=dtype, device=device)
        return empty(*args, dtype=dtype, device=device or 'cpu')
    make.__name__ = name
    make.__doc__ = f"torch.{name}(data) or torch.{name}(*sizes): a {dtype_name} tensor."
    return make


FloatTensor = _legacy_constructor('FloatTensor', 'float32')
DoubleTensor = _legacy_constructor('DoubleTensor', 'float64')
HalfTensor = _legacy_constructor('HalfTensor', 'float16')
LongTensor = _legacy_constructor('LongTensor', 'int64')
IntTensor = _legacy_constructor('IntTensor', 'int32')
ShortTensor = _legacy_constructor('ShortTensor', 'int16')
CharTensor = _legacy_constructor('CharTensor', 'int8')
ByteTensor = _legacy_constructor('ByteTensor', 'uint8')
BoolTensor = _legacy_constructor('BoolTensor', 'bool_')


def _inplace_top_level(name):
    def fn(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = name
    return fn


clamp_, relu_, sigmoid_, tanh_, exp_ = (_inplace_top_level(n) for n in ('clamp_', 'relu_', 'sigmoid_', 'tanh_', 'exp_'))


def feature_dropout(input, p, train):
    from .nn import functional as F
    return F.dropout2d(input, p, train)


__all__ += ['as_tensor', 'asarray', 'scalar_tensor', 'empty_strided', 'diagflat', 'combinations', 'chain_matmul',
            'result_type', 'promote_types', 'can_cast', 'is_complex', 'is_nonzero', 'isreal', 'real', 'conj',
            'resolve_conj', 'resolve_neg', 'conj_physical', 'detach', 'typename', 'set_num_threads',
            'get_num_threads', 'use_deterministic_algorithms', 'are_deterministic_algorithms_enabled',
            'get_rng_state', 'set_rng_state', 'seed', 'initial_seed', 'contiguous_format', 'channels_last',
            'channels_last_3d', 'preserve_format', 'FloatTensor', 'DoubleTensor', 'HalfTensor', 'LongTensor',
            'IntTensor', 'ShortTensor', 'CharTensor', 'ByteTensor', 'BoolTensor', 'clamp_', 'relu_', 'sigmoid_',
            'tanh_', 'exp_', 'feature_dropout']
