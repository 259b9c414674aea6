"""Creating tensors (tensor, zeros, randn, arange, tril, ...) and the function forms
of tensor methods (mt.sum(x, 1), mt.cat, mt.where, mt.multinomial, ...)."""
import builtins
import numbers

import numpy as np

from . import dtypes
from . import random as mt_random
from .backend import get_xp, normalize_device
from .ops import elementwise as E
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


def _make(fill, shape, dtype, device, requires_grad, default=dtypes.float32):
    device = normalize_device(device)
    dtype = dtypes.to_dtype(dtype) or default
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
                 dtypes.int64 if isinstance(fill_value, numbers.Integral) else dtypes.float32)
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
        dtype = dtypes.int64 if ints else dtypes.float32
    xp = get_xp(normalize_device(device))
    t = Tensor._wrap(xp.arange(start, end, step, dtype=dtypes.to_dtype(dtype)))
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device='cpu'):
    xp = get_xp(normalize_device(device))
    return Tensor._wrap(xp.linspace(start, end, steps, dtype=dtypes.to_dtype(dtype) or dtypes.float32))


def eye(n, m=None, dtype=None, device='cpu'):
    xp = get_xp(normalize_device(device))
    return Tensor._wrap(xp.eye(n, m, dtype=dtypes.to_dtype(dtype) or dtypes.float32))


def tril(t, diagonal=0):
    """Lower triangle (the causal mask's shape); not differentiated."""
    if t.ndim < 2:
        raise ValueError(f"tril: input must have at least 2 dims, got shape {t.shape}")
    return Tensor._wrap(t.xp.tril(t.array, diagonal))


def triu(t, diagonal=0):
    if t.ndim < 2:
        raise ValueError(f"triu: input must have at least 2 dims, got shape {t.shape}")
    return Tensor._wrap(t.xp.triu(t.array, diagonal))


# ---------------------------------------------------------------- random


def _random(draw, shape, dtype, device, requires_grad, generator):
    device = normalize_device(device)
    dtype = dtypes.to_dtype(dtype) or dtypes.float32
    if dtype.kind != 'f':
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
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    device = normalize_device(device)
    out = mt_random.integers(low, high, _shape_args((size,)), device, generator)
    return Tensor._wrap(out if dtype is None else out.astype(dtypes.to_dtype(dtype)))


def randperm(n, generator=None, device='cpu'):
    keys = mt_random.uniform((n,), dtypes.float64, normalize_device(device), generator)
    return Tensor._wrap(keys.argsort().astype(np.int64))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Draw category indices from rows of non-negative weights, as torch.multinomial.

    Gumbel-max: argmax(log p + Gumbel noise) is a sample from p, and the top
    num_samples of one noisy row are a sample without replacement.
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
    p = input.array.reshape(-1, n_cat).astype(np.float64)            # (rows, C)
    bad = (~xp.isfinite(p)).any() | (p < 0).any() | (p.sum(axis=1) <= 0).any()
    if bool(bad):
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0, "
                           "or a row that sums to 0")
    if not replacement and bool(((p > 0).sum(axis=1) < num_samples).any()):
        raise RuntimeError("multinomial: invalid multinomial distribution (with replacement=False, "
                           "not enough non-negative category to sample)")
    rows = p.shape[0]
    with np.errstate(divide='ignore'):
        log_p = xp.log(p)                                            # 0 -> -inf: never chosen
    draws = num_samples if replacement else 1
    u = mt_random.uniform((rows, draws, n_cat), dtypes.float64, input.device, generator)
    gumbel = -xp.log(-xp.log(u + 1e-300) + 1e-300)
    keys = log_p[:, None, :] + gumbel                                # (rows, draws, C)
    if replacement:
        idx = keys.argmax(axis=2)                                    # (rows, num_samples)
    else:
        idx = xp.argsort(-keys[:, 0, :], axis=1)[:, :num_samples]    # top-k, best first
    idx = idx.astype(np.int64)
    return Tensor._wrap(idx.reshape(num_samples) if input.ndim == 1 else idx)


# ---------------------------------------------------------------- joining


def _same_device_dtype(op, tensors):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise RuntimeError(f"{op}: expected all tensors to be on the same device, got {sorted(devices)}")
    common = dtypes.promote_types(*[t.dtype for t in tensors])
    return [t if t.dtype == common else t.to(common) for t in tensors]


def cat(tensors, dim=0):
    """Join tensors along an existing dim; all other dims must match."""
    tensors = _same_device_dtype('cat', list(tensors))
    ref = tensors[0]
    axis = normalize_dim('cat', dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != axis):
            raise ValueError(f"cat: sizes of tensors must match except in dimension {axis}: tensor 0 "
                             f"has shape {ref.shape}, tensor {i} has shape {t.shape}")
    return S.Cat.apply(*tensors, dim=axis)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim."""
    tensors = _same_device_dtype('stack', list(tensors))
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: expects each tensor to be equal size, but got {tensors[0].shape} "
                             f"at entry 0 and {t.shape} at entry {i}")
    axis = normalize_dim('stack', dim, tensors[0].ndim + 1)
    return S.Stack.apply(*tensors, dim=axis)


def where(condition, input, other):
    """Elementwise choice: input where condition is True, else other (both differentiable)."""
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
)
FUNCTION_FORMS = {name: _method(name) for name in _FUNCTION_FORMS}

