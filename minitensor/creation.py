"""Creating tensors (tensor, zeros, randn, arange, tril, ...) and the function forms
of tensor methods (mt.sum(x, 1), mt.cat, mt.where, mt.multinomial, ...)."""
import builtins
import numbers

import numpy as np

from . import amp, dtypes
from . import random as mt_random
from .backend import get_xp, normalize_device
from .ops import elementwise as E
from .ops import linalg as L
from .ops import shape as S
from .ops.broadcast import broadcast_shape
from .arrays import as_array
from .tensor import Tensor, _shape_args, normalize_dim

# ---------------------------------------------------------------- from data


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (numbers, nested lists, arrays, tensors)."""
    return Tensor(as_array(data, dtype, device), requires_grad=requires_grad)


def from_numpy(array):
    """A tensor that shares memory with a NumPy array (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def _make(fill, shape, dtype, device, requires_grad, default=None):
    device = normalize_device(device)
    dtype = dtypes.to_dtype(dtype) or default or dtypes.default_float
    t = Tensor._wrap(fill(get_xp(device), _shape_args(shape), dtype))
    return t.requires_grad_(True) if requires_grad else t


def zeros(*shape, dtype=None, device='cpu', requires_grad=False):
    return _make(lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device='cpu', requires_grad=False):
    return _make(lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device='cpu', requires_grad=False):
    return _make(lambda xp, s, d: xp.empty(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device='cpu', requires_grad=False):
    if dtype is None:
        dtype = (dtypes.bool_ if isinstance(fill_value, builtins.bool) else
                 dtypes.int64 if isinstance(fill_value, numbers.Integral) else dtypes.default_float)
    return _make(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,), dtype, device, requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device='cpu', requires_grad=False):
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = dtypes.int64 if ints else dtypes.default_float
    xp = get_xp(normalize_device(device))
    t = Tensor._wrap(xp.arange(start, end, step, dtype=dtypes.to_dtype(dtype)))
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device='cpu', requires_grad=False):
    t = _linspace(start, end, steps, dtype, device)
    return t.requires_grad_(True) if requires_grad else t


def _linspace(start, end, steps, dtype, device):
    xp = get_xp(normalize_device(device))
    dtype = dtypes.to_dtype(dtype) or dtypes.default_float
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    if dtype.kind == 'b':
        raise NotImplementedError('"linspace_cpu" not implemented for \'Bool\'')
    if dtype.kind in 'iu':                       # torch's: from both ends in double, truncated toward 0
        i = xp.arange(steps, dtype=np.float64)
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        vals = xp.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))
        return Tensor._wrap(vals.astype(dtype))
    return Tensor._wrap(xp.linspace(start, end, steps, dtype=dtype))


def eye(n, m=None, dtype=None, device='cpu', requires_grad=False):
    xp = get_xp(normalize_device(device))
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n ({n}) and m ({m}) must be greater or equal to 0")
    t = Tensor._wrap(xp.eye(n, m, dtype=dtypes.to_dtype(dtype) or dtypes.default_float))
    return t.requires_grad_(True) if requires_grad else t


def logspace(start, end, steps, base=10.0, dtype=None, device='cpu', requires_grad=False):
    t = _logspace(start, end, steps, base, dtype, device)
    return t.requires_grad_(True) if requires_grad else t


def _logspace(start, end, steps, base, dtype, device):
    """steps points base ** linspace(start, end, steps)."""
    xp = get_xp(normalize_device(device))
    dtype = dtypes.to_dtype(dtype) or dtypes.default_float
    return Tensor._wrap(xp.asarray(base ** xp.linspace(start, end, steps, dtype=np.float64)).astype(dtype))


def _triangle_indices(op, row, col, offset, lower, device):
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row ({row}) and col ({col}) must be non-negative")
    xp = get_xp(normalize_device(device))
    rows, cols = (xp.tril_indices if lower else xp.triu_indices)(row, offset, col)
    return Tensor._wrap(xp.stack([rows, cols]).astype(np.int64).reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=None, device='cpu'):
    """The (2, N) row/column indices of the lower triangle of a row x col matrix, row by row."""
    return _triangle_indices('tril_indices', row, col, offset, True, device)


def triu_indices(row, col, offset=0, *, dtype=None, device='cpu'):
    return _triangle_indices('triu_indices', row, col, offset, False, device)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    return empty(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


# ---------------------------------------------------------------- random


def _random(draw, shape, dtype, device, requires_grad, generator):
    device = normalize_device(device)
    dtype = dtypes.to_dtype(dtype) or dtypes.default_float
    if not dtypes.is_floating(dtype):
        raise TypeError(f"expected a floating point dtype for random floats, got {dtype}")
    t = Tensor._wrap(draw(_shape_args(shape), dtype, device, generator))
    return t.requires_grad_(True) if requires_grad else t


def randn(*shape, dtype=None, device='cpu', requires_grad=False, generator=None):
    """Standard normal samples."""
    return _random(mt_random.standard_normal, shape, dtype, device, requires_grad, generator)


def rand(*shape, dtype=None, device='cpu', requires_grad=False, generator=None):
    """Uniform samples on [0, 1)."""
    return _random(mt_random.uniform, shape, dtype, device, requires_grad, generator)


def randn_like(t, dtype=None, device=None):
    return randn(t.shape, dtype=dtype or t.dtype, device=device or t.device)


def rand_like(t, dtype=None, device=None):
    return rand(t.shape, dtype=dtype or t.dtype, device=device or t.device)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device='cpu'):
    """Integers in [low, high): randint(high, size), randint(low, high, size), or keywords."""
    if size is None and isinstance(high, (tuple, list)):     # randint(high, size)
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    device = normalize_device(device)
    out = mt_random.integers(low, high, _shape_args((size,)), device, generator)
    return Tensor._wrap(out if dtype is None else out.astype(dtypes.to_dtype(dtype)))


def randint_like(t, low=0, high=None, *, dtype=None, device=None, generator=None):
    """Integers in [low, high) shaped like t, in t's dtype: randint_like(t, high) or (t, low, high)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, t.shape, generator=generator, dtype=dtype or t.dtype, device=device or t.device)


def randperm(n, generator=None, device='cpu'):
    """A random permutation of 0..n-1 (torch's Fisher-Yates stream on the CPU)."""
    device = normalize_device(device)
    if device == 'cpu':
        return Tensor._wrap(mt_random.cpu_randperm(mt_random.resolve(generator), int(n)))
    keys = mt_random.uniform((n,), dtypes.float64, device, generator)
    return Tensor._wrap(keys.argsort().astype(np.int64))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Draw category indices from rows of non-negative weights, as torch.multinomial.

    As torch: one sample or no replacement is the exponential trick (argmax / top-k of
    p / q with q ~ Exp(1), the Gumbel-max trick exponentiated); with replacement each
    sample is a double uniform searched in the row's normalised cumulative sum.
    """
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {input.shape}")
    if input.dtype.kind != 'f':
        raise TypeError(f"multinomial: expected a floating point tensor of weights, got {input.dtype}")
    n_cat = input.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not replacement and num_samples > n_cat:
        raise RuntimeError(f"multinomial: cannot sample n_sample ({num_samples}) > prob_dist size "
                         f"({n_cat}) samples without replacement")
    xp = input.xp
    p = input.array.reshape(-1, n_cat)                                # (rows, C)
    bad = (~xp.isfinite(p)).any() | (p < 0).any() | (p.sum(axis=1) <= 0).any()
    if bool(bad):
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0, "
                           "or a row that sums to 0")
    if not replacement and bool(((p > 0).sum(axis=1) < num_samples).any()):
        raise RuntimeError("multinomial: invalid multinomial distribution (with replacement=False, "
                           "not enough non-negative category to sample)")
    rows = p.shape[0]
    gen = mt_random.resolve(generator)
    if input.device == 'cpu':
        idx = _multinomial_cpu(p, num_samples, replacement, gen)
    else:
        u = mt_random.uniform((rows, num_samples if replacement else 1, n_cat), dtypes.float64,
                              input.device, generator)
        keys = xp.log(p.astype(np.float64))[:, None, :] - xp.log(-xp.log(u + 1e-300) + 1e-300)
        idx = keys.argmax(axis=2) if replacement else xp.argsort(-keys[:, 0, :], axis=1)[:, :num_samples]
    idx = idx.astype(np.int64)
    return Tensor._wrap(idx.reshape(num_samples) if input.ndim == 1 else idx)


def bernoulli(input, p=None, *, generator=None):
    """0/1 draws in input's dtype, 1 with probability input (or p), as torch.bernoulli.

    torch compares a uniform of the probabilities' dtype with each probability (a
    double uniform for a Python p); so does this, on the same stream.
    """
    if input.dtype.kind != 'f':
        raise TypeError(f"bernoulli: expected a floating point tensor of probabilities, got {input.dtype}")
    if p is not None:
        keep = mt_random.bernoulli(input.shape, float(p), input.device, generator)
    else:
        probs = input.array
        if bool(((probs < 0) | (probs > 1)).any()):
            raise RuntimeError("bernoulli: expected all probabilities in [0, 1]")
        keep = mt_random.uniform(input.shape, input.dtype, input.device, generator) < probs
    return Tensor._wrap(keep.astype(input.dtype))


def _multinomial_cpu(p, num_samples, replacement, gen):
    """torch's CPU multinomial on the same random stream: (rows, C) -> (rows, num_samples)."""
    if not replacement or num_samples == 1:
        q = mt_random.cpu_exponential(gen, p.shape, p.dtype.type)       # (rows, C)
        keys = p / q
        if num_samples == 1:
            return keys.argmax(axis=1)[:, None]
        return np.argsort(-keys, axis=1, kind='stable')[:, :num_samples]
    cum = np.cumsum(p, axis=1, dtype=p.dtype)                         # torch sums in the input dtype
    cum = cum / cum[:, -1:]
    cum[:, -1] = 1
    u = mt_random.cpu_uniform(gen, p.shape[0] * num_samples, np.float64).reshape(p.shape[0], num_samples)
    # first slot whose cumulative mass is >= u (float32 mass compared as double, as torch)
    return np.stack([np.searchsorted(cum[r].astype(np.float64), u[r], side='left')
                     for r in range(p.shape[0])])


# ---------------------------------------------------------------- joining


def _same_device_dtype(op, tensors):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    kind, dt = type(tensors[0].array), tensors[0].array.dtype
    for t in tensors:                    # the common case: one array type, one dtype object
        if type(t.array) is not kind or t.array.dtype is not dt:
            break
    else:
        return tensors
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise RuntimeError(f"{op}: expected all tensors to be on the same device, got {sorted(devices)}")
    common = dtypes.promote_types(*[t.dtype for t in tensors])
    return [t if t.dtype == common else t.to(common) for t in tensors]


def cat(tensors, dim=0):
    """Join tensors along an existing dim; all other dims must match."""
    tensors = _same_device_dtype('cat', list(tensors))
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.array.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated; "
                               f"use mt.stack, or reshape it to (1,)")
    axis = normalize_dim('cat', dim, ref.ndim)
    shape = ref.array.shape
    before, after = shape[:axis], shape[axis + 1:]
    for i, t in enumerate(tensors):
        s = t.array.shape
        if s != shape and (len(s) != len(shape) or s[:axis] != before or s[axis + 1:] != after):
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {axis}: tensor 0 "
                             f"has shape {ref.shape}, tensor {i} has shape {t.shape}")
    return S.Cat.apply(*tensors, dim=axis)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim."""
    tensors = _same_device_dtype('stack', list(tensors))
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {tensors[0].shape} "
                             f"at entry 0 and {t.shape} at entry {i}")
    axis = normalize_dim('stack', dim, tensors[0].ndim + 1)
    return S.Stack.apply(*tensors, dim=axis)


def where(condition, input=None, other=None):
    """Elementwise choice: input where condition is True, else other (both differentiable).
    where(condition) alone is condition.nonzero(as_tuple=True), as torch."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    ref = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else condition
    a = ref._operand(input, 'where')
    b = ref._operand(other, 'where')
    cond = ref._operand(condition, 'where')
    if cond.dtype != dtypes.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    out_shape = broadcast_shape('where', broadcast_shape('where', a.shape, b.shape), cond.shape)
    if a.dtype != b.dtype:
        common = dtypes.result_type((a.dtype, a.ndim), (b.dtype, b.ndim))
        a, b = a.to(common), b.to(common)
    if out_shape != a.shape or out_shape != b.shape:
        a, b = a.expand(out_shape), b.expand(out_shape)
    return E.Where.apply(a, b, cond=cond.array)


def _one_or_many(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    out = tuple(fn(t) for t in tensors)
    return out[0] if len(out) == 1 else out


def atleast_1d(*tensors):
    return _one_or_many(tensors, lambda t: t.reshape(1) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    return _one_or_many(tensors, lambda t: t.reshape((1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t)


def atleast_3d(*tensors):
    def three(t):
        return (t.reshape(1, 1, 1) if t.ndim == 0 else t.reshape(1, -1, 1) if t.ndim == 1 else
                t.unsqueeze(-1) if t.ndim == 2 else t)
    return _one_or_many(tensors, three)


def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [atleast_1d(t) for t in tensors]
    return cat(tensors, 0 if all(t.ndim == 1 for t in tensors) else 1)


def vstack(tensors):
    """Join along dim 0, 1-D tensors as rows."""
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    """Join along dim 2 (depth), after making every tensor at least 3-D."""
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    """Join along dim 1, 0-D and 1-D tensors as columns."""
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def broadcast_shapes(*shapes):
    out = ()
    for shape in shapes:
        out = broadcast_shape('broadcast_shapes', out, tuple(shape) if isinstance(shape, (tuple, list)) else (shape,))
    return out


def broadcast_tensors(*tensors):
    """Each tensor expanded to the shape they broadcast to together."""
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors, indexing='ij'):
    """Coordinate grids of 1-D tensors: indexing 'ij' (matrix, torch's default) or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing not in ('ij', 'xy'):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-D or 1-D tensors, got shape {t.shape}")
    tensors = [t.reshape(-1) for t in tensors]
    swap = indexing == 'xy' and len(tensors) >= 2
    order = list(range(len(tensors)))
    if swap:                                      # 'xy': the first two dims trade places
        order[0], order[1] = 1, 0
    shape = tuple(tensors[i].shape[0] for i in order)
    grids = []
    for i, t in enumerate(tensors):
        axis = order.index(i)
        grids.append(t.reshape(tuple(-1 if d == axis else 1 for d in range(len(tensors)))).expand(shape))
    return tuple(grids)


def einsum(equation, *operands):
    """Einstein summation: 'bij,bjk->bik', 'ii->', 'i,j->ij', '...ij->...ji', ... (size-1
    dims broadcast, as torch)."""
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    if amp.on:
        operands = amp.cast('einsum', *operands)
        operands = operands if isinstance(operands, tuple) else (operands,)
    operands = _same_device_dtype('einsum', list(operands))
    terms, out = L.parse_einsum(equation, [t.ndim for t in operands])
    sizes = {}
    for term, t in zip(terms, operands):
        for c, n in zip(term, t.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise RuntimeError(f"einsum: subscript {c!r} has size {n} in one operand and {sizes[c]} "
                                   f"in another (shapes {[tuple(o.shape) for o in operands]}); they must "
                                   f"match or be 1")
            sizes[c] = builtins.max(sizes.get(c, 1), n) if n != 0 and sizes.get(c, 1) != 0 else 0
    expanded = []
    for term, t in zip(terms, operands):
        if len(set(term)) != len(term) and any(t.shape[term.index(c)] != n for c, n in zip(term, t.shape)):
            raise RuntimeError(f"einsum: the repeated subscript in {term!r} needs equal sizes, got {t.shape}")
        target = tuple(sizes[c] for c in term)
        expanded.append(t if t.shape == target or len(set(term)) != len(term) else t.expand(target))
    return L.Einsum.apply(*expanded, terms=tuple(terms), out=out)


def cdist(x1, x2, p=2.0):
    """Pairwise p-norm distances between the rows of x1 (.., P, M) and x2 (.., R, M): (.., P, R)."""
    if amp.on:
        x1, x2 = amp.cast('cdist', x1, x2)
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: expects x1 (.., P, M) and x2 (.., R, M) with the same M, got "
                           f"{x1.shape} and {x2.shape}")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


# ---------------------------------------------------------------- comparisons


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    a_np = a.detach().numpy() if isinstance(a, Tensor) else np.asarray(a)
    b_np = b.detach().numpy() if isinstance(b, Tensor) else np.asarray(b)
    return bool(np.allclose(a_np, b_np, rtol=rtol, atol=atol, equal_nan=equal_nan))


def is_tensor(x):
    return isinstance(x, Tensor)


def numel(t):
    return t.numel()


def is_floating_point(t):
    return t.is_floating_point()


# ---------------------------------------------------------------- function forms of methods
# mt.sum(x, 1, keepdim=True) is x.sum(1, keepdim=True), and so on.

def _method(name):
    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor as the first argument, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"mt.{name}(x, ...) is x.{name}(...)."
    return fn


_FUNCTION_FORMS = (
    'sum', 'mean', 'var', 'std', 'max', 'min', 'amax', 'amin', 'argmax', 'argmin',
    'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'clamp', 'clip', 'pow',
    'maximum', 'minimum', 'softmax', 'log_softmax', 'matmul', 'transpose', 'permute',
    'reshape', 'flatten', 'squeeze', 'unsqueeze', 'split', 'chunk', 'masked_fill', 't',
    'isnan', 'isfinite', 'neg',
    # elementwise arithmetic and math
    'add', 'sub', 'subtract', 'rsub', 'mul', 'multiply', 'div', 'divide', 'true_divide',
    'floor_divide', 'remainder', 'fmod', 'negative', 'absolute', 'square', 'reciprocal', 'rsqrt',
    'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'arcsin', 'arccos', 'arctan', 'sinh', 'cosh',
    'asinh', 'acosh', 'atanh', 'arcsinh', 'arccosh', 'arctanh', 'atan2', 'arctan2', 'hypot',
    'log2', 'log10', 'log1p', 'exp2', 'expm1', 'logaddexp', 'xlogy', 'erf', 'erfc', 'erfinv',
    'sign', 'sgn', 'signbit', 'floor', 'ceil', 'round', 'trunc', 'fix', 'frac', 'nan_to_num',
    'lerp', 'addcmul', 'addcdiv', 'isinf', 'isposinf', 'isneginf',
    'logical_and', 'logical_or', 'logical_xor', 'logical_not',
    'bitwise_and', 'bitwise_or', 'bitwise_xor', 'bitwise_not',
    # reductions, scans, sorting, counting
    'nansum', 'prod', 'logsumexp', 'std_mean', 'var_mean', 'aminmax', 'all', 'any', 'count_nonzero',
    'norm', 'dist', 'cumsum', 'cumprod', 'cummax', 'cummin', 'logcumsumexp', 'sort', 'argsort', 'msort',
    'topk', 'kthvalue', 'median', 'nanmedian', 'mode', 'unique', 'unique_consecutive', 'bincount',
    'histc', 'histogram',
    # gather and scatter
    'gather', 'take_along_dim', 'scatter', 'scatter_add', 'scatter_reduce', 'index_select',
    'index_add', 'index_copy', 'index_fill', 'masked_select', 'masked_scatter', 'nonzero',
    'argwhere', 'take',
    # shape
    'tensor_split', 'hsplit', 'vsplit', 'dsplit', 'unbind', 'narrow', 'select', 'movedim',
    'moveaxis', 'swapaxes', 'swapdims', 'unflatten', 'broadcast_to', 'clone', 'flip', 'fliplr',
    'flipud', 'roll', 'repeat_interleave', 'tile', 'diagonal', 'diag_embed', 'diag', 'trace',
    'tril', 'triu', 'outer', 'ger',
)
FUNCTION_FORMS = {name: _method(name) for name in _FUNCTION_FORMS}

