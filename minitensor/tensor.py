"""Tensor: an array (numpy or cupy) plus what autograd needs (grad, grad_fn), and the
PyTorch-style methods users call.

Every differentiable method calls one Function from minitensor/ops/, so the math of
each op lives in one place. A method here checks its arguments (torch's errors),
turns PyTorch-style calls (dim=, keepdim=, varargs shapes) into the arrays and
options the ops expect, and applies torch's dtype promotion to operands
(`_operand`, `_binary`). Index conversion lives in ops/index.py, printing in
printing.py, building arrays from Python data in arrays.py.
"""
import builtins
import math
import numbers

import numpy as np

from . import amp, autograd, dtypes, inplace, random, return_types
from .arrays import as_array
from .autograd import is_grad_enabled
from .backend import device_of, get_xp, is_device_like, normalize_device, to_device, xp_of
from .errors import BadArgument
from .ops import elementwise as E
from .ops import gather as G
from .ops import index as I
from .ops import linalg as L
from .ops import matmul as M
from .ops import nn as N
from .ops import pointwise as P
from .ops import reduce as R
from .ops import scan as C
from .ops import shape as S
from .ops import special as X
from .ops import sort as O
from .ops.broadcast import broadcast_shape
from .ops.inplace import Clone, Copy, Fill, IndexPut
from .printing import tensor_format, tensor_repr
from .size import Size
from .tensor_extras import TensorExtras


def _shape_args(shape):
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def normalize_dim(op, dim, ndim):
    """A possibly negative dim -> a non-negative axis, with a clear error when out of range."""
    if type(dim) is int and -ndim <= dim < ndim:      # the common case, without the checks below
        return dim + ndim if dim < 0 else dim
    lo, hi = -builtins.max(ndim, 1), builtins.max(ndim, 1) - 1
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
                         f"(expected a dim in [{lo}, {hi}])")
    return dim % builtins.max(ndim, 1) if ndim else 0


def normalize_dims(op, dim, ndim):
    """None -> all axes; int or tuple -> a tuple of non-negative axes."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):   # () means all, as torch
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(sorted(set(normalize_dim(op, d, ndim) for d in dims)))
    return axes if ndim else ()     # a 0-d tensor accepts dim 0 / -1 (as torch) but has no axis


class Tensor(TensorExtras):
    """An n-dimensional array on 'cpu' or 'gpu' that records ops for backward()."""
    # _vc: the storage's version counter, a one-element list shared with views (None
    # until needed: version 0); _base: for a view made with grad on, the tensor it views.
    # Rarely set attributes live in __dict__ with class defaults below.
    __slots__ = ('array', 'grad', 'requires_grad', 'grad_fn', 'output_nr', '_vc', '_base',
                 '__weakref__', '__dict__')
    _view_chain = ()                 # how to re-derive a view from its base: ((Function, options, piece), ...)
    _view_version = 0                # the version at which a view's history was recorded
    _hooks = None                    # gradient hooks of a leaf (register_hook)
    _retains_grad = False

    def __init__(self, *data, requires_grad=False, dtype=None, device=None):
        # torch.Tensor's forms: Tensor() is empty, Tensor(2, 3) is a (2, 3) tensor of the default
        # float dtype (zeros here), Tensor([1, 2]) holds floats; arrays and Tensors keep their dtype
        if not data or all(isinstance(d, numbers.Integral) and not isinstance(d, builtins.bool) for d in data):
            data = np.zeros(data or (0,), dtype=dtype or dtypes.default_float)
        else:
            if len(data) > 1:
                raise TypeError(f"Tensor: expected one data argument or sizes, got {len(data)} arguments")
            data = data[0]
            if dtype is None and isinstance(data, (list, tuple, numbers.Number)):
                dtype = dtypes.default_float
        self.array = as_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self.output_nr = 0       # which output of grad_fn this is (split has several)
        self.requires_grad = False
        self._vc = self._base = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False, grad_fn=None):
        """Fast constructor for op results: no checks, no copies."""
        t = object.__new__(cls)
        if type(array) is not np.ndarray and isinstance(array, np.generic):   # numpy reductions return scalars
            array = np.asarray(array)
        t.array = array
        t.grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t.output_nr = 0
        t._vc = t._base = None
        return t

    # ------------------------------------------------------------ basic properties

    @property
    def shape(self):
        return Size(self.array.shape)

    @property
    def data(self):
        """A tensor sharing this one's storage, detached from the graph (torch's .data).

        Writes through it change this tensor but are invisible to autograd's version
        checks, as in torch (`p.data += -lr * p.grad` is the manual SGD step).
        The backend array itself is `.array`.
        """
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data: assigned value must be a Tensor, got {type(value).__name__}")
        self.array = value.array

    @property
    def dtype(self):
        return dtypes.wrap(self.array.dtype)     # mt.float32 (a NumPy dtype underneath)

    @property
    def device(self):
        return device_of(self.array)

    @property
    def xp(self):
        return xp_of(self.array)

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[normalize_dim('size', dim, self.ndim)]

    def dim(self):
        return self.array.ndim

    def numel(self):
        return int(self.array.size)

    nelement = numel

    def element_size(self):
        """Bytes per element (4 for float32)."""
        return self.array.dtype.itemsize

    def is_floating_point(self):
        return dtypes.wrap(self.array.dtype).is_floating_point

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    __hash__ = object.__hash__   # comparisons return tensors, so hash by identity

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __index__(self):
        """A one-element integer tensor as a Python index: range(t), seq[t], x[t]."""
        if self.array.size != 1 or self.dtype.kind not in 'iub':
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index; this one has shape {self.shape} and dtype {self.dtype}")
        return builtins.int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"bool value of a tensor with {self.array.size} elements is ambiguous; "
                               f"use .any() or .all()")
        return bool(self.item())

    # ------------------------------------------------------------ conversion

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"item: only a tensor with one element can be converted to a Python "
                             f"number, but this one has shape {self.shape}")
        return self.array.reshape(()).item() if self.device == 'cpu' else to_device(self.array, 'cpu').reshape(()).item()

    def tolist(self):
        return to_device(self.array, 'cpu').tolist()

    def numpy(self):
        """The data as a NumPy array (copied from the GPU; shared memory on the CPU)."""
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return to_device(self.array, 'cpu')

    def __array__(self, dtype=None, copy=None):
        a = to_device(self.array, 'cpu')
        return a if dtype is None else a.astype(dtype)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
        """to('gpu'), to(mt.float64), to('cpu', mt.float32), to(mt.device('cuda')), to(other):
        differentiable copies. non_blocking=True moves a CPU tensor that needs no gradient to
        the GPU without waiting for the GPU (a pinned staging copy queued on the stream)."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif is_device_like(a):
                device = a
            else:
                dtype = a
        out = self
        if copy and (dtype is None or dtypes.to_dtype(dtype) == self.dtype) and \
                (device is None or normalize_device(device) == self.device):
            return Clone.apply(self)                 # copy=True: a new tensor even when nothing changes
        if dtype is not None and dtypes.to_dtype(dtype) != self.dtype:
            out = E.Cast.apply(out, dtype=dtypes.to_dtype(dtype))
        if device is not None and normalize_device(device) != out.device:
            if non_blocking and out.device == 'cpu' and not out.requires_grad:
                from .cuda.graphs import to_gpu_async
                return Tensor._wrap(to_gpu_async(out.array))
            out = S.ToDevice.apply(out, device=normalize_device(device))
        return out

    def cpu(self):
        return self.to('cpu')

    def gpu(self, device=None, non_blocking=False):
        return self.to('gpu')

    cuda = gpu

    @property
    def is_cuda(self):
        return self.device == 'gpu'

    def pin_memory(self):
        """self: host-to-GPU copies need no page-locked staging here (accepted for torch programs)."""
        return self

    def is_pinned(self):
        return False

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def bfloat16(self):
        """A bfloat16 copy (needs ml_dtypes: pip install "minitensor[bf16]"); differentiable."""
        return self.to(dtypes.bfloat16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool_)

    def type(self, dtype):
        return self.to(dtype)

    # ------------------------------------------------------------ autograd

    def register_post_accumulate_grad_hook(self, hook):
        """hook(self) runs once per backward, after this leaf's .grad holds all of that
        backward's contributions (as torch). Returns a handle with remove()."""
        return autograd.register_post_accumulate_grad_hook(self, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Fill .grad of every leaf that requires grad with dSelf/dLeaf (summed over calls)."""
        autograd.tensor_backward(self, gradient, retain_graph, create_graph, inputs)

    def _accumulate_grad(self, g):
        if g.dtype != self.array.dtype:
            g = g.astype(self.array.dtype)
        if self.grad is None:
            self.grad = Tensor._wrap(g)
        else:
            self.grad = Tensor._wrap(self.grad.array + g)   # a new array: never in place

    @property
    def _version(self):
        """How many in-place ops have modified this tensor's storage (shared by views)."""
        return 0 if self._vc is None else self._vc[0]

    def _refresh_view(self):
        inplace.refresh_view(self)

    @property
    def _is_view_of_base(self):
        return self._base is not None

    def _is_view(self):
        return self._base is not None

    def detach(self):
        """The same data, cut off from the graph (it shares the version counter, as torch)."""
        t = Tensor._wrap(self.array)
        t._vc = autograd._version_box(self)
        return t

    def clone(self, *, memory_format=None):
        """A copy in its own memory that stays in the graph (gradient passes through)."""
        return Clone.apply(self)

    def detach_(self):
        """Cut this tensor off from the graph, in place: it becomes a leaf."""
        if self._base is not None:
            raise RuntimeError("detach_: can't detach views in-place; use detach() instead")
        self.grad_fn, self.output_nr, self.requires_grad = None, 0, False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, this one is {self.dtype}; convert with .float() first")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: a non-leaf tensor cannot stop requiring grad; "
                               "use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in .grad after backward (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        ref = autograd._weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                t.grad = Tensor._wrap(g.array.copy() if t.grad is None else t.grad.array + g.array)
        self._add_node_hook(keep)

    @property
    def retains_grad(self):
        return self._retains_grad

    def _add_node_hook(self, hook):
        hooks = self.grad_fn.__dict__.setdefault('_pre_hooks', [])
        entry = (self.output_nr, hook)
        hooks.append(entry)
        return _RemovableHandle(hooks, entry)

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement gradient, called when this tensor's gradient
        is computed (before it reaches .grad on a leaf). Returns a handle with .remove()."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        if self.grad_fn is not None:
            return self._add_node_hook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    # ------------------------------------------------------------ in-place ops
    # Each computes its result with the ordinary ops and hands it to inplace.commit,
    # which writes it into this tensor's storage, bumps the version and rebases the
    # history (torch's rules; see minitensor/inplace.py).

    def add_(self, other, *, alpha=1):
        return inplace.commit(self, self + (other if alpha == 1 else other * alpha), 'add_')

    def sub_(self, other, *, alpha=1):
        return inplace.commit(self, self - (other if alpha == 1 else other * alpha), 'sub_')

    def mul_(self, other):
        return inplace.commit(self, self * other, 'mul_')

    def div_(self, other, *, rounding_mode=None):
        return inplace.commit(self, self.div(other, rounding_mode=rounding_mode), 'div_')

    def pow_(self, exponent):
        return inplace.commit(self, self ** exponent, 'pow_')

    def exp_(self):
        return inplace.commit(self, self.exp(), 'exp_')

    def neg_(self):
        return inplace.commit(self, -self, 'neg_')

    def clamp_(self, min=None, max=None):
        return inplace.commit(self, self.clamp(min, max), 'clamp_')

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        return inplace.commit(self, self.masked_fill(mask, value), 'masked_fill_')

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(f"fill_: only supports 0-dimension value tensor but got tensor "
                                   f"with {value.ndim} dimensions")
            return self.copy_(value)
        return inplace.commit(self, Fill.apply(self, value=value), 'fill_')

    def zero_(self):
        return inplace.commit(self, Fill.apply(self, value=0), 'zero_')

    def copy_(self, src, non_blocking=False):
        """Copy src's values into this tensor (broadcast, cast to this dtype, moved to this
        device); differentiable w.r.t. src, as torch."""
        if not isinstance(src, Tensor):
            src = Tensor(src)
        if src.device != self.device:
            src = src.to(self.device)
        broadcast_shape('copy_', self.shape, src.shape)
        return inplace.commit(self, Copy.apply(self, src), 'copy_')

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        self._float_only('normal_')
        draw = random.standard_normal(self.shape, self.dtype, self.device, generator, mean, std)
        return inplace.commit(self, Copy.apply(self, Tensor._wrap(draw)), 'normal_')

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        self._float_only('uniform_')
        draw = random.uniform(self.shape, self.dtype, self.device, generator, a, b)
        return inplace.commit(self, Copy.apply(self, Tensor._wrap(draw)), 'uniform_')

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    # ------------------------------------------------------------ operand handling

    def _operand(self, other, op):
        """Turn a Python number / array into a Tensor that matches self without promoting.

        A Python float keeps a float32 tensor float32 (as torch); a float with an int
        tensor gives float32 (torch's default dtype).
        """
        if isinstance(other, Tensor):
            if type(other.array) is not type(self.array) and other.device != self.device:
                raise RuntimeError(
                    f"{op}: expected all tensors to be on the same device, but found one on "
                    f"{self.device} and one on {other.device}; move one with .to('{self.device}')")
            return other
        if type(other) is float and self.array.dtype.kind == 'f':   # the common x * 0.5: self's dtype
            t = Tensor._wrap(np.asarray(other, dtype=self.array.dtype) if type(self.array) is np.ndarray
                             else self.xp.asarray(other, dtype=self.array.dtype))
            t._vc = autograd.UNMODIFIABLE
            return t
        if isinstance(other, numbers.Number):
            if isinstance(other, builtins.bool):
                dtype = self.dtype
            elif isinstance(other, numbers.Integral) and self.dtype.kind in 'iub':
                dtype = self.dtype if self.dtype.kind != 'b' else dtypes.int64
            elif self.dtype.kind == 'f':
                dtype = self.dtype
            else:
                dtype = dtypes.default_float
            t = Tensor._wrap(self.xp.asarray(other, dtype=dtype))
            t._vc = autograd.UNMODIFIABLE     # no one else can reach it: saving it needs no version check
            return t
        if isinstance(other, (list, tuple, np.ndarray)) or hasattr(other, '__cuda_array_interface__'):
            return Tensor._wrap(as_array(other, None, self.device))
        raise TypeError(f"{op}: unsupported operand type {type(other).__name__}; expected a "
                        f"Tensor or a Python number")

    def _binary(self, other, fn, op, reverse=False, float_result=False, **options):
        """fn(self, other) after torch's promotion; float_result: ints compute in float32
        (true division, atan2, ...)."""
        other = self._operand(other, op)
        a, b = (other, self) if reverse else (self, other)
        aa, ba = a.array, b.array
        if aa.dtype is ba.dtype and (not float_result or aa.dtype.kind == 'f'):   # nothing to promote
            if aa.shape != ba.shape and aa.ndim and ba.ndim:
                broadcast_shape(op, aa.shape, ba.shape)   # raises a clear error if they clash
            return fn.apply(a, b, **options)
        if a.array.shape != b.array.shape and a.array.ndim and b.array.ndim:
            broadcast_shape(op, a.array.shape, b.array.shape)   # raises a clear error if they clash
        common = a.dtype if a.dtype == b.dtype else dtypes.result_type((a.dtype, a.ndim), (b.dtype, b.ndim))
        if float_result and not dtypes.is_floating(common):
            common = dtypes.default_float
        if a.dtype != common:
            a = a.to(common)
        if b.dtype != common:
            b = b.to(common)
        return fn.apply(a, b, **options)

    def _integer_division(self, other, op, reverse=False):
        """Integer //, % and fmod by zero raise, as torch's CPU ops (NumPy returns 0); on the
        GPU too, so that both devices give one answer (the check synchronizes there)."""
        other = self._operand(other, op)
        divisor = self if reverse else other
        if (self.dtype.kind in 'iub' and other.dtype.kind in 'iub'
                and divisor.numel() and not divisor.array.all()):
            raise RuntimeError(f"ZeroDivisionError: {op}: integer division by zero (the divisor "
                               f"{tuple(divisor.shape)} of dtype {divisor.dtype} holds a 0)")
        return other

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other):
        return self._binary(other, E.Add, 'add')

    def __radd__(self, other):
        return self._binary(other, E.Add, 'add', reverse=True)

    def __sub__(self, other):
        return self._binary(other, E.Sub, 'sub')

    def __rsub__(self, other):
        return self._binary(other, E.Sub, 'sub', reverse=True)

    def __mul__(self, other):
        return self._binary(other, E.Mul, 'mul')

    def __rmul__(self, other):
        return self._binary(other, E.Mul, 'mul', reverse=True)

    def __truediv__(self, other):                # true division: ints give float32
        return self._binary(other, E.Div, 'div', float_result=True)

    def __rtruediv__(self, other):
        if amp.on and isinstance(other, numbers.Number):   # torch computes 2 / x as reciprocal(x) * 2
            self = amp.cast('reciprocal', self)
        return self._binary(other, E.Div, 'div', reverse=True, float_result=True)

    def __pow__(self, other):
        if amp.on:
            self, other = amp.cast('pow', self, other)
        if isinstance(other, numbers.Number) and not isinstance(other, builtins.bool):
            if self.dtype.kind in 'iub':
                if not isinstance(other, numbers.Integral):
                    return self.to(dtypes.default_float) ** other     # int ** 2.5 is float32
                if other < 0:
                    raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                                       f"(a {self.dtype} tensor ** {other}); use a float tensor")
                if self.dtype == dtypes.bool_:
                    return self.long() ** other
            return E.PowScalar.apply(self, p=other)
        self._check_integer_exponent(other)
        return self._binary(other, E.Pow, 'pow')

    def __rpow__(self, other):
        if amp.on:
            self, other = amp.cast('pow', self, other)
        return self._binary(other, E.Pow, 'pow', reverse=True)

    def _check_integer_exponent(self, exponent):
        if (isinstance(exponent, Tensor) and self.dtype.kind in 'iu' and exponent.dtype.kind in 'iu'
                and exponent.numel() and exponent.array.min() < 0):
            raise RuntimeError(f"pow: integers to negative integer powers are not allowed (a "
                               f"{self.dtype} tensor ** a {exponent.dtype} tensor holding negatives)")

    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        if alpha != 1:
            other = self._operand(other, 'add') * alpha
        return self + other

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        if alpha != 1:
            other = self._operand(other, 'sub') * alpha
        return self - other

    subtract = sub

    def rsub(self, other, *, alpha=1):
        """other - alpha * self."""
        return (self * alpha if alpha != 1 else self).__rsub__(other)

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        """True division, or rounded toward zero ('trunc') or down ('floor')."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ('trunc', 'floor'):
            raise RuntimeError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        other = self._integer_division(other, 'div')
        return self._binary(other, P.DivRounded, 'div', rounding_mode=rounding_mode)

    divide = div

    def true_divide(self, other):
        return self / other

    def floor_divide(self, other):
        return self.div(other, rounding_mode='floor')

    def remainder(self, other):
        """self - floor(self / other) * other: the sign of other (Python's %)."""
        return self._binary(self._integer_division(other, 'remainder'), P.Remainder, 'remainder')

    def fmod(self, other):
        """self - trunc(self / other) * other: the sign of self (C's fmod)."""
        return self._binary(self._integer_division(other, 'fmod'), P.Fmod, 'fmod')

    def __neg__(self):
        if self.dtype == dtypes.bool_:
            raise TypeError("neg: negation, the `-` operator, on a bool tensor is not supported; "
                            "use `~` or logical_not() instead")
        return E.Neg.apply(self)

    neg = negative = __neg__

    def __pos__(self):
        return self

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return self._operand(other, 'matmul').matmul(self)

    def __floordiv__(self, other):
        return self.div(other, rounding_mode='floor')

    def __rfloordiv__(self, other):
        self._integer_division(other, 'floor_divide', reverse=True)
        return self._binary(other, P.DivRounded, 'floor_divide', reverse=True, rounding_mode='floor')

    def __mod__(self, other):
        return self.remainder(other)

    def __rmod__(self, other):
        self._integer_division(other, 'remainder', reverse=True)
        return self._binary(other, P.Remainder, 'remainder', reverse=True)

    # ------------------------------------------------------------ comparisons (no grad)

    def _compare(self, other, fn, op):
        other = self._operand(other, op)
        broadcast_shape(op, self.shape, other.shape)
        return Tensor._wrap(fn(self.array, other.array))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b, 'eq')

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b, 'ne')

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b, 'lt')

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b, 'le')

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b, 'gt')

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b, 'ge')

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        return self.bitwise_not()

    def __and__(self, other):
        return self.bitwise_and(other)

    def __or__(self, other):
        return self.bitwise_or(other)

    def __xor__(self, other):
        return self.bitwise_xor(other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def isnan(self):
        return Tensor._wrap(self.xp.isnan(self.array))

    def isfinite(self):
        return Tensor._wrap(self.xp.isfinite(self.array))

    # ------------------------------------------------------------ elementwise math

    def _float_only(self, op):
        if self.dtype.kind != 'f':
            raise TypeError(f"{op}: expected a floating point tensor, got {self.dtype}; "
                            f"convert with .float()")

    def _as_float(self):
        """Float math (exp, sin, sqrt, ...) on an int or bool tensor computes in float32, as torch."""
        return self if self.array.dtype.kind == 'f' or self.dtype.kind == 'f' else self.to(dtypes.default_float)

    def _integer_copy(self):
        """floor, round, ... of an integer tensor: the values themselves (a new tensor)."""
        return Tensor._wrap(self.array.copy())

    def exp(self):
        self = amp.cast('exp', self) if amp.on else self
        return E.Exp.apply(self._as_float())

    def log(self):
        self = amp.cast('log', self) if amp.on else self
        return E.Log.apply(self._as_float())

    def sqrt(self):
        return E.Sqrt.apply(self._as_float())

    def tanh(self):
        return E.Tanh.apply(self._as_float())

    def sigmoid(self):
        return E.Sigmoid.apply(self._as_float())

    def sin(self):
        return P.Sin.apply(self._as_float())

    def cos(self):
        return P.Cos.apply(self._as_float())

    def tan(self):
        self = amp.cast('tan', self) if amp.on else self
        return P.Tan.apply(self._as_float())

    def asin(self):
        self = amp.cast('asin', self) if amp.on else self
        return P.Asin.apply(self._as_float())

    def acos(self):
        self = amp.cast('acos', self) if amp.on else self
        return P.Acos.apply(self._as_float())

    def atan(self):
        return P.Atan.apply(self._as_float())

    def sinh(self):
        self = amp.cast('sinh', self) if amp.on else self
        return P.Sinh.apply(self._as_float())

    def cosh(self):
        self = amp.cast('cosh', self) if amp.on else self
        return P.Cosh.apply(self._as_float())

    def asinh(self):
        return P.Asinh.apply(self._as_float())

    def acosh(self):
        return P.Acosh.apply(self._as_float())

    def atanh(self):
        return P.Atanh.apply(self._as_float())

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def log2(self):
        self = amp.cast('log2', self) if amp.on else self
        return P.Log2.apply(self._as_float())

    def log10(self):
        self = amp.cast('log10', self) if amp.on else self
        return P.Log10.apply(self._as_float())

    def log1p(self):
        self = amp.cast('log1p', self) if amp.on else self
        return P.Log1p.apply(self._as_float())

    def exp2(self):
        return P.Exp2.apply(self._as_float())

    def expm1(self):
        self = amp.cast('expm1', self) if amp.on else self
        return P.Expm1.apply(self._as_float())

    def rsqrt(self):
        self = amp.cast('rsqrt', self) if amp.on else self
        return P.Rsqrt.apply(self._as_float())

    def reciprocal(self):
        self = amp.cast('reciprocal', self) if amp.on else self
        return P.Reciprocal.apply(self._as_float())

    def erf(self):
        return X.Erf.apply(self._as_float())

    def erfc(self):
        return X.Erfc.apply(self._as_float())

    def erfinv(self):
        self = amp.cast('erfinv', self) if amp.on else self
        return X.Erfinv.apply(self._as_float())

    def square(self):
        return (self.long() if self.dtype == dtypes.bool_ else self) ** 2

    def sign(self):
        if self.dtype.kind in 'iub':
            return Tensor._wrap(self.xp.sign(self.array) if self.dtype.kind != 'b' else self.array.copy())
        xp = self.xp                             # sign(NaN) is 0, as torch
        return P.PiecewiseConstant.apply(self, fn=lambda a: xp.nan_to_num(xp.sign(a), nan=0.0))

    sgn = sign

    def floor(self):
        if self.dtype.kind in 'iub':
            return self._integer_copy()
        return P.PiecewiseConstant.apply(self, fn=self.xp.floor)

    def ceil(self):
        if self.dtype.kind in 'iub':
            return self._integer_copy()
        return P.PiecewiseConstant.apply(self, fn=self.xp.ceil)

    def trunc(self):
        if self.dtype.kind in 'iub':
            return self._integer_copy()
        return P.PiecewiseConstant.apply(self, fn=self.xp.trunc)

    fix = trunc

    def round(self, decimals=0):
        """Half to even, as torch; decimals > 0 rounds x * 10^decimals, < 0 x / 10^-decimals."""
        if self.dtype.kind in 'iub':
            return self._integer_copy()
        xp = self.xp
        if decimals == 0:
            return P.PiecewiseConstant.apply(self, fn=xp.rint)
        scale = 10.0 ** builtins.abs(decimals)
        if decimals > 0:
            return P.PiecewiseConstant.apply(self, fn=lambda a: xp.rint(a * scale) / scale)
        return P.PiecewiseConstant.apply(self, fn=lambda a: xp.rint(a / scale) * scale)

    def frac(self):
        self._float_only('frac')
        return P.Frac.apply(self)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest finite)."""
        if self.dtype.kind in 'iub':
            return self._integer_copy()
        return P.NanToNum.apply(self, nan=nan, posinf=posinf, neginf=neginf)

    def signbit(self):
        return Tensor._wrap(self.xp.signbit(self.array))

    def isinf(self):
        return Tensor._wrap(self.xp.isinf(self.array))

    def isposinf(self):
        return Tensor._wrap(self.array == builtins.float('inf'))      # (CuPy has no isposinf)

    def isneginf(self):
        return Tensor._wrap(self.array == builtins.float('-inf'))

    def relu(self):
        return E.ReLU.apply(self)

    def gelu(self, approximate='none'):
        if approximate not in ('none', 'tanh'):
            raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self._float_only('gelu')
        return E.GELU.apply(self, approximate=approximate)

    def abs(self):
        if self.dtype == dtypes.bool_:
            return Tensor._wrap(self.array.copy())
        return E.Abs.apply(self)

    absolute = abs

    def clamp(self, min=None, max=None):
        """Values below min raised to min, above max lowered to max (max wins where min > max).
        The gradient passes at the bounds, as torch. min/max may be tensors."""
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            from .creation import where      # creation imports this module
            out = self
            if min is not None:
                lo = self._operand(min, 'clamp')
                out = where(out < lo, lo, out)
            if max is not None:
                hi = self._operand(max, 'clamp')
                out = where(out > hi, hi, out)
            return out
        x = self
        if x.dtype.kind in 'iub' and any(isinstance(v, builtins.float) for v in (min, max)):
            x = x.to(dtypes.default_float)          # int clamped to 1.5 is float32, as torch
        return E.Clamp.apply(x, min=min, max=max)

    clip = clamp

    def pow(self, exponent):
        return self ** exponent

    def atan2(self, other):
        return self._binary(other, P.Atan2, 'atan2', float_result=True)

    arctan2 = atan2

    def hypot(self, other):
        return self._binary(other, P.Hypot, 'hypot', float_result=True)

    def logaddexp(self, other):
        return self._binary(other, P.LogAddExp, 'logaddexp', float_result=True)

    def xlogy(self, other):
        """self * log(other), 0 where self is 0 (unless other is NaN)."""
        return self._binary(other, P.Xlogy, 'xlogy', float_result=True)

    def lerp(self, end, weight):
        """self + weight * (end - self)."""
        end = self._operand(end, 'lerp')
        weight = self._operand(weight, 'lerp')
        broadcast_shape('lerp', broadcast_shape('lerp', self.shape, end.shape), weight.shape)
        common = dtypes.result_type((self.dtype, self.ndim), (end.dtype, end.ndim), (weight.dtype, weight.ndim))
        if not dtypes.is_floating(common):
            raise TypeError(f"lerp: expected floating point tensors, got {self.dtype}, {end.dtype} "
                            f"and {weight.dtype}")
        return P.Lerp.apply(self.to(common), end.to(common), weight.to(common))

    def addcmul(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 * tensor2."""
        return self + (tensor1 * tensor2 if value == 1 else value * tensor1 * tensor2)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 / tensor2."""
        return self + (tensor1 / tensor2 if value == 1 else value * tensor1 / tensor2)

    # logical ops take any dtype (nonzero is True) and give bool; bitwise ops ints and bools

    def logical_not(self):
        return Tensor._wrap(self.xp.logical_not(self.array))

    def logical_and(self, other):
        return self._compare(other, self.xp.logical_and, 'logical_and')

    def logical_or(self, other):
        return self._compare(other, self.xp.logical_or, 'logical_or')

    def logical_xor(self, other):
        return self._compare(other, self.xp.logical_xor, 'logical_xor')

    def _bitwise(self, other, fn, op):
        other = self._operand(other, op)
        for t in (self, other):
            if t.dtype.kind not in 'iub':
                raise dtypes.NotImplementedForDtype(
                    f"{op}: expected integer or bool tensors, got {self.dtype} and {other.dtype} "
                    f"(for truth values use logical_{op.split('_')[1]})")
        broadcast_shape(op, self.shape, other.shape)
        common = dtypes.result_type((self.dtype, self.ndim), (other.dtype, other.ndim))
        return Tensor._wrap(fn(self.array.astype(common, copy=False), other.array.astype(common, copy=False)))

    def bitwise_and(self, other):
        return self._bitwise(other, self.xp.bitwise_and, 'bitwise_and')

    def bitwise_or(self, other):
        return self._bitwise(other, self.xp.bitwise_or, 'bitwise_or')

    def bitwise_xor(self, other):
        return self._bitwise(other, self.xp.bitwise_xor, 'bitwise_xor')

    def bitwise_not(self):
        if self.dtype.kind not in 'iub':
            raise dtypes.NotImplementedForDtype(f"bitwise_not: expected an integer or bool tensor, got {self.dtype}")
        return Tensor._wrap(self.xp.invert(self.array))

    def maximum(self, other):
        return self._binary(other, E.Maximum, 'maximum')

    def minimum(self, other):
        return self._binary(other, E.Minimum, 'minimum')

    def masked_fill(self, mask, value):
        """Where mask is True, the value; elsewhere self. mask and self broadcast together."""
        mask = self._operand(mask, 'masked_fill')
        if mask.dtype != dtypes.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor (e.g. tril == 0), got {mask.dtype}")
        broadcast_shape('masked_fill', mask.shape, self.shape)   # the result has the broadcast shape, as torch
        if isinstance(value, Tensor):
            value = value.item()
        return E.MaskedFill.apply(self, mask=mask.array, value=value)

    # ------------------------------------------------------------ reductions

    @staticmethod
    def _keepdim(keepdim, keepdims):
        return builtins.bool(keepdim or keepdims)

    @staticmethod
    def _dim(dim, axis):
        """torch accepts axis= as an alias of dim= (NumPy's name)."""
        return axis if dim is None else dim

    def sum(self, dim=None, keepdim=False, *, keepdims=False, dtype=None, axis=None):
        self = amp.cast('sum', self) if amp.on and dtype is None else self
        x = self if self.dtype.kind in 'fc' or dtype is not None else self.to(dtypes.int64)
        if dtype is not None:
            x = x.to(dtype)
        axes = normalize_dims('sum', self._dim(dim, axis), self.ndim)
        return R.Sum.apply(x, axes=axes, keepdim=self._keepdim(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, keepdims=False, dtype=None, axis=None):
        if dtype is not None:
            return self.to(dtype).mean(dim, keepdim, keepdims=keepdims, axis=axis)
        if self.dtype.kind != 'f':               # RuntimeError, as torch
            raise RuntimeError(f"mean: could not infer the output dtype: the input must be a floating "
                               f"point tensor, got {self.dtype}; use .float().mean() or mean(dtype=mt.float32)")
        axes = normalize_dims('mean', self._dim(dim, axis), self.ndim)
        return R.Mean.apply(self, axes=axes, keepdim=self._keepdim(keepdim, keepdims))

    def nansum(self, dim=None, keepdim=False, *, dtype=None, axis=None):
        return self.masked_fill(self.isnan(), 0).sum(self._dim(dim, axis), keepdim, dtype=dtype)

    def _var(self, op, dim, keepdim, unbiased, correction, keepdims, axis, root):
        self._float_only(op)
        if isinstance(dim, builtins.bool):        # var(False): the old var(input, unbiased)
            dim, unbiased = None, dim
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axes = normalize_dims(op, self._dim(dim, axis), self.ndim)
        return R.Var.apply(self, axes=axes, keepdim=self._keepdim(keepdim, keepdims),
                           correction=correction, root=root)

    # torch's positional order is (dim, unbiased, keepdim): x.std(0, True) is unbiased
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, keepdims=False, axis=None):
        """Variance with Bessel's correction unless correction=0 / unbiased=False."""
        return self._var('var', dim, keepdim, unbiased, correction, keepdims, axis, root=False)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, keepdims=False, axis=None):
        return self._var('std', dim, keepdim, unbiased, correction, keepdims, axis, root=True)

    def var_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
        return (self.var(dim, unbiased, keepdim, correction=correction, axis=axis),
                self.mean(self._dim(dim, axis) if not isinstance(dim, builtins.bool) else None, keepdim))

    def std_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
        return (self.std(dim, unbiased, keepdim, correction=correction, axis=axis),
                self.mean(self._dim(dim, axis) if not isinstance(dim, builtins.bool) else None, keepdim))

    def prod(self, dim=None, keepdim=False, *, dtype=None, axis=None):
        self = amp.cast('prod', self) if amp.on and dtype is None else self
        x = self if self.dtype.kind in 'fc' or dtype is not None else self.to(dtypes.int64)
        if dtype is not None:
            x = x.to(dtype)
        dim = self._dim(dim, axis)
        if dim is None:                           # over everything: one row of all elements
            return R.Prod.apply(x.reshape(-1), axis=0, keepdim=False)
        axis = normalize_dim('prod', dim, self.ndim)
        if self.ndim == 0:
            return x.clone()
        return R.Prod.apply(x, axis=axis, keepdim=keepdim)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None):
        self = amp.cast('logsumexp', self) if amp.on else self
        self._float_only('logsumexp')
        axes = normalize_dims('logsumexp', self._dim(dim, axis), self.ndim)
        return R.LogSumExp.apply(self, axes=axes, keepdim=keepdim)

    def _check_reduced_not_empty(self, op, axes):
        for a in axes:
            if self.shape[a] == 0:
                raise IndexError(f"{op}: expected reduction dim {a} to have non-zero size (tensor "
                                 f"shape {self.shape}); the {op} of nothing is undefined")

    def _max_min(self, dim, keepdim, keepdims, largest, axis=None):
        op = 'max' if largest else 'min'
        dim = self._dim(dim, axis)
        if dim is None:
            if self.array.size == 0:
                raise RuntimeError(f"{op}: the tensor of shape {self.shape} is empty, so it has no "
                                   f"{op}imum; pass dim= to reduce a non-empty dim")
            return R.MaxMin.apply(self, axes=tuple(range(self.ndim)), keepdim=False, largest=largest)
        if isinstance(dim, Tensor):          # mt.max(a, b): elementwise, as torch
            return self.maximum(dim) if largest else self.minimum(dim)
        result = return_types.max if largest else return_types.min
        axis = normalize_dim(op, dim, self.ndim)
        if self.ndim == 0:                   # the value itself, at index 0 (as torch)
            return result(S.Reshape.apply(self, shape=()), Tensor._wrap(self.xp.zeros((), dtype=np.int64)))
        self._check_reduced_not_empty(op, (axis,))
        keepdim = self._keepdim(keepdim, keepdims)
        indices = self.array.argmax(axis=axis) if largest else self.array.argmin(axis=axis)
        indices = self.xp.expand_dims(indices.astype(np.int64), axis)      # keepdim form
        return self._picked(result, indices, axis, keepdim)

    def _picked(self, result, indices, axis, keepdim):
        """(values, indices) named tuple: self gathered at keepdim-form indices along axis."""
        values = G.Gather.apply(self, index=indices, dim=axis)
        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        return result(values, Tensor._wrap(indices))

    def max(self, dim=None, keepdim=False, *, keepdims=False, axis=None):
        """Without dim: the largest value. With dim: (values, indices), as torch."""
        return self._max_min(dim, keepdim, keepdims, largest=True, axis=axis)

    def min(self, dim=None, keepdim=False, *, keepdims=False, axis=None):
        return self._max_min(dim, keepdim, keepdims, largest=False, axis=axis)

    def _amax_amin(self, op, dim, keepdim, keepdims, axis, largest):
        dim = axis if axis is not None else dim
        axes = normalize_dims(op, dim, self.ndim)
        if self.array.size == 0 and (dim is None or dim == ()):
            raise RuntimeError(f"{op}: the tensor of shape {self.shape} is empty; specify the dim to "
                               f"reduce, one of non-zero size")
        self._check_reduced_not_empty(op, axes)
        return R.MaxMin.apply(self, axes=axes, keepdim=self._keepdim(keepdim, keepdims), largest=largest)

    def amax(self, dim=(), keepdim=False, *, keepdims=False, axis=None):
        """The largest values over dim (all dims by default); ties share the gradient."""
        return self._amax_amin('amax', dim, keepdim, keepdims, axis, largest=True)

    def amin(self, dim=(), keepdim=False, *, keepdims=False, axis=None):
        return self._amax_amin('amin', dim, keepdim, keepdims, axis, largest=False)

    def aminmax(self, *, dim=None, keepdim=False):
        if dim is None and self.array.size == 0:
            raise RuntimeError(f"aminmax: cannot compute over the empty tensor of shape {self.shape}; "
                               f"specify a dim of non-zero size")
        if dim is not None:
            self._check_reduced_not_empty('aminmax', (normalize_dim('aminmax', dim, self.ndim),))
        return return_types.aminmax(self.amin(dim if dim is not None else (), keepdim),
                                    self.amax(dim if dim is not None else (), keepdim))

    def _arg_extreme(self, op, dim, keepdim, axis, largest):
        dim = self._dim(dim, axis)
        if dim is None:
            if self.array.size == 0:
                raise IndexError(f"{op}: the tensor of shape {self.shape} is empty; specify a dim "
                                 f"of non-zero size")
            flat = self.array.reshape(-1)
            return Tensor._wrap(self.xp.asarray(flat.argmax() if largest else flat.argmin()).astype(np.int64))
        axis = normalize_dim(op, dim, self.ndim)
        if self.ndim == 0:
            return Tensor._wrap(self.xp.zeros((), dtype=np.int64))
        self._check_reduced_not_empty(op, (axis,))
        idx = (self.array.argmax(axis=axis) if largest else self.array.argmin(axis=axis)).astype(np.int64)
        return Tensor._wrap(self.xp.expand_dims(idx, axis) if keepdim else idx)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return self._arg_extreme('argmax', dim, keepdim, axis, largest=True)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return self._arg_extreme('argmin', dim, keepdim, axis, largest=False)

    def _logical(self, fn, op, dim, keepdim, keepdims, axis):
        axes = normalize_dims(op, self._dim(dim, axis), self.ndim)
        out = fn(self.array.astype(np.bool_, copy=False), axis=axes, keepdims=self._keepdim(keepdim, keepdims))
        return Tensor._wrap(self.xp.asarray(out))

    def any(self, dim=None, keepdim=False, *, keepdims=False, axis=None):
        return self._logical(self.xp.any, 'any', dim, keepdim, keepdims, axis)

    def all(self, dim=None, keepdim=False, *, keepdims=False, axis=None):
        return self._logical(self.xp.all, 'all', dim, keepdim, keepdims, axis)

    def count_nonzero(self, dim=None, *, axis=None):
        axes = normalize_dims('count_nonzero', self._dim(dim, axis), self.ndim)
        return Tensor._wrap(self.xp.asarray((self.array != 0).sum(axis=axes)).astype(np.int64))

    def norm(self, p='fro', dim=None, keepdim=False, *, dtype=None, axis=None):
        """The vector p-norm over dim (all dims by default): p = 'fro' (2), any number, inf, -inf, 0."""
        self = amp.cast('norm', self) if amp.on and dtype is None else self
        x = self if dtype is None else self.to(dtype)
        x._float_only('norm')
        if p is None or p == 'fro':
            p = 2.0
        if isinstance(p, str) or not isinstance(p, numbers.Real):
            raise ValueError(f"norm: p must be 'fro' or a number (inf, -inf and 0 included), got {p!r}; "
                             f"the nuclear norm is not supported")
        axes = normalize_dims('norm', self._dim(dim, axis), self.ndim)
        if builtins.abs(p) == float('inf') and any(self.shape[a] == 0 for a in axes):
            raise RuntimeError(f"norm: cannot compute the {p} norm over an empty dim (tensor shape "
                               f"{self.shape}): the max/min of nothing is undefined")
        return L.Norm.apply(x, p=builtins.float(p), axes=axes, keepdim=keepdim)

    def dist(self, other, p=2):
        """The p-norm of self - other (broadcast)."""
        if amp.on:
            self, other = amp.cast('dist', self, other)
        return (self - other).norm(p)

    def softmax(self, dim=-1, dtype=None):
        if dtype is not None:                    # torch: cast first, then normalize in that dtype
            return self.to(dtype).softmax(dim)
        self = amp.cast('softmax', self) if amp.on else self
        self._float_only('softmax')
        axis = normalize_dim('softmax', dim, self.ndim)
        if self.array.size == 0:             # nothing to normalize: an empty result, as torch
            return Clone.apply(self)
        if self.ndim == 0:                   # one element along a virtual axis of size 1
            return self.reshape(1).softmax(0).reshape(())
        return N.Softmax.apply(self, dim=axis)

    def log_softmax(self, dim=-1, dtype=None):
        if dtype is not None:
            return self.to(dtype).log_softmax(dim)
        self = amp.cast('log_softmax', self) if amp.on else self
        self._float_only('log_softmax')
        axis = normalize_dim('log_softmax', dim, self.ndim)
        if self.array.size == 0:
            return Clone.apply(self)
        if self.ndim == 0:
            return self.reshape(1).log_softmax(0).reshape(())
        return N.LogSoftmax.apply(self, dim=axis)

    # ------------------------------------------------------------ scans, sorting, counting

    def _scan_input(self, op, dim, dtype):
        if dim is None:
            raise TypeError(f"{op}: missing the dim to scan along (dim= or axis=)")
        x = self if dtype is None else self.to(dtype)
        if dtype is None and x.dtype.kind in 'bui':   # ints accumulate in int64, as torch
            x = x.to(dtypes.int64)
        return x, normalize_dim(op, dim, self.ndim)

    def cumsum(self, dim=None, *, dtype=None, axis=None):
        self = amp.cast('cumsum', self) if amp.on and dtype is None else self
        x, axis = self._scan_input('cumsum', self._dim(dim, axis), dtype)
        return C.Cumsum.apply(x.reshape(1), dim=0).reshape(()) if self.ndim == 0 else C.Cumsum.apply(x, dim=axis)

    def cumprod(self, dim=None, *, dtype=None, axis=None):
        self = amp.cast('cumprod', self) if amp.on and dtype is None else self
        x, axis = self._scan_input('cumprod', self._dim(dim, axis), dtype)
        return C.Cumprod.apply(x.reshape(1), dim=0).reshape(()) if self.ndim == 0 else C.Cumprod.apply(x, dim=axis)

    def logcumsumexp(self, dim, *, axis=None):
        self._float_only('logcumsumexp')
        axis = normalize_dim('logcumsumexp', self._dim(dim, axis), self.ndim)
        if self.ndim == 0:
            return self.clone()
        return C.LogCumSumExp.apply(self, dim=axis)

    def _cum_extreme(self, op, dim, largest):
        axis = normalize_dim(op, dim, self.ndim)
        result = return_types.cummax if largest else return_types.cummin
        if self.ndim == 0:
            return result(self.clone(), Tensor._wrap(self.xp.zeros((), dtype=np.int64)))
        indices = C.running_extreme_indices(self.array, axis, largest)
        return result(G.Gather.apply(self, index=indices, dim=axis), Tensor._wrap(indices))

    def cummax(self, dim, *, axis=None):
        return self._cum_extreme('cummax', self._dim(dim, axis), largest=True)

    def cummin(self, dim, *, axis=None):
        return self._cum_extreme('cummin', self._dim(dim, axis), largest=False)

    def sort(self, dim=-1, descending=False, *, stable=False, axis=None):
        """(values, indices) along dim; always stable here (stable=True is torch's promise)."""
        axis = normalize_dim('sort', dim if axis is None else axis, self.ndim)
        if self.ndim == 0:
            return return_types.sort(self.clone(), Tensor._wrap(self.xp.zeros((), dtype=np.int64)))
        indices = O.sort_indices(self.array, axis, descending)
        return return_types.sort(G.Gather.apply(self, index=indices, dim=axis), Tensor._wrap(indices))

    def argsort(self, dim=-1, descending=False, *, stable=False, axis=None):
        return self.sort(dim, descending, stable=stable, axis=axis).indices

    def msort(self):
        return self.sort(0).values

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The k largest (or smallest) along dim, best first: (values, indices)."""
        axis = normalize_dim('topk', dim, self.ndim)
        n = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"topk: k ({k}) is out of range for dim {dim} of size {n} "
                               f"(tensor shape {self.shape}); expected 0 <= k <= {n}")
        if self.ndim == 0:
            return return_types.topk(self.clone(), Tensor._wrap(self.xp.zeros((), dtype=np.int64)))
        order = O.sort_indices(self.array, axis, descending=largest)
        indices = self.xp.take(order, self.xp.arange(k), axis=axis)
        return return_types.topk(G.Gather.apply(self, index=indices, dim=axis), Tensor._wrap(indices))

    def _one_per_row(self, op, result, dim, keepdim, find):
        """(values, indices) of one element picked per row along dim by find(array, axis)."""
        axis = normalize_dim(op, dim, self.ndim)
        if self.ndim == 0:
            return result(self.clone(), Tensor._wrap(self.xp.zeros((), dtype=np.int64)))
        self._check_reduced_not_empty(op, (axis,))
        return self._picked(result, find(self.array, axis), axis, keepdim)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """The k-th smallest element (k from 1) along dim: (values, indices)."""
        n = self.shape[normalize_dim('kthvalue', dim, self.ndim)] if self.ndim else 1
        if not 1 <= k <= n:
            raise IndexError(f"kthvalue: k ({k}) is out of range for dim {dim} of size {n} "
                             f"(tensor shape {self.shape}); expected 1 <= k <= {n}")
        return self._one_per_row('kthvalue', return_types.kthvalue, dim, keepdim,
                                 lambda a, ax: O.pick(O.sort_indices(a, ax), ax, k - 1))

    def _median(self, op, dim, keepdim, ignore_nan):
        if dim is None:                           # the lower median of all elements, no index
            if self.array.size == 0:                 # NaN, still in the graph as torch
                return self.reshape(-1).sum() * float('nan')
            return getattr(self.reshape(-1), op)(0).values
        return self._one_per_row(op, getattr(return_types, op), dim, keepdim,
                                 lambda a, ax: O.median_indices(a, ax, ignore_nan))

    def median(self, dim=None, keepdim=False, *, axis=None):
        """The lower median (of two middle values, the smaller), as torch."""
        return self._median('median', self._dim(dim, axis), keepdim, ignore_nan=False)

    def nanmedian(self, dim=None, keepdim=False, *, axis=None):
        return self._median('nanmedian', self._dim(dim, axis), keepdim, ignore_nan=True)

    def mode(self, dim=-1, keepdim=False):
        """The most frequent value along dim (the smallest of equally frequent ones)."""
        return self._one_per_row('mode', return_types.mode, dim, keepdim, O.mode_indices)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (sorted), optionally with where each element went and counts."""
        axis = self._unique_dim('unique', dim)
        values, inverse, counts = O.unique(self.array, axis)
        return self._unique_result(values, inverse, counts, return_inverse, return_counts)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        axis = self._unique_dim('unique_consecutive', dim)
        values, inverse, counts = O.unique_consecutive(self.array, axis)
        return self._unique_result(values, inverse, counts, return_inverse, return_counts)

    def _unique_dim(self, op, dim):
        axis = None if dim is None else normalize_dim(op, dim, self.ndim)
        if axis is not None and any(n == 0 for i, n in enumerate(self.shape) if i != axis):
            raise RuntimeError(f"{op}: there are 0-sized dims other than dim {dim} in shape "
                               f"{self.shape}, so unique slices along it are undefined")
        return axis

    @staticmethod
    def _unique_result(values, inverse, counts, return_inverse, return_counts):
        out = (Tensor._wrap(values),)
        if return_inverse:
            out += (Tensor._wrap(inverse),)
        if return_counts:
            out += (Tensor._wrap(counts),)
        return out[0] if len(out) == 1 else out

    def bincount(self, weights=None, minlength=0):
        """How often each value 0, 1, ... occurs in a 1-D non-negative integer tensor."""
        if self.ndim != 1 or self.dtype.kind not in 'iu':
            raise RuntimeError(f"bincount: expected a 1-D integer tensor, got shape {self.shape} "
                               f"and dtype {self.dtype}")
        if self.array.size and builtins.int(self.array.min()) < 0:
            raise RuntimeError("bincount: the input must hold non-negative integers")
        w = None if weights is None else self._operand(weights, 'bincount').array
        if w is not None and w.shape != self.shape:
            raise RuntimeError(f"bincount: weights of shape {tuple(w.shape)} must match the input {self.shape}")
        out = self.xp.bincount(self.array, weights=w, minlength=minlength)
        if w is None or self.array.size == 0:     # torch: counts, even with weights, when empty
            return Tensor._wrap(out.astype(np.int64))
        return Tensor._wrap(out.astype(w.dtype if w.dtype in (np.float32, np.float64) else np.float64))

    def histc(self, bins=100, min=0, max=0):
        """Counts in `bins` equal bins over [min, max] (min == max: the data's range)."""
        self._float_only('histc')
        if bins <= 0:
            raise RuntimeError(f"histc: bins must be positive, got {bins}")
        if min > max:
            raise RuntimeError(f"histc: max ({max}) must be larger than or equal to min ({min})")
        return Tensor._wrap(O.histc(self.array, bins, min, max))

    def histogram(self, bins=100, *, range=None, weight=None, density=False):
        """(hist, bin_edges) as torch.histogram: bins a count or a 1-D tensor of edges."""
        self._float_only('histogram')
        edges = bins.array if isinstance(bins, Tensor) else bins
        w = None if weight is None else self._operand(weight, 'histogram').array
        hist, edges = self.xp.histogram(self.array.reshape(-1), bins=edges, range=range,
                                        weights=None if w is None else w.reshape(-1), density=density)
        return return_types.histogram(Tensor._wrap(hist.astype(self.dtype)), Tensor._wrap(edges.astype(self.dtype)))

    # ------------------------------------------------------------ gather and scatter

    def _index_tensor(self, op, index, want_ndim=None):
        if not isinstance(index, Tensor) or index.dtype.kind not in 'iu':
            raise TypeError(f"{op}: index must be an integer (int64) tensor, got "
                            f"{getattr(index, 'dtype', type(index).__name__)}")
        if index.device != self.device:
            raise RuntimeError(f"{op}: the index is on {index.device} but the tensor is on {self.device}")
        if want_ndim is not None and index.ndim != want_ndim:
            raise RuntimeError(f"{op}: index should have the same number of dims as the input "
                               f"({want_ndim}), got index shape {index.shape} for input shape {self.shape}")
        return index.array

    def _along_dim_checked(self, op, dim, index, src_shape=None):
        """(axis, index array) for gather/scatter: index has self's ndim; its sizes fit
        self's (and src's) except along dim; its values are in range."""
        axis = normalize_dim(op, dim, self.ndim)
        idx = self._index_tensor(op, index, builtins.max(self.ndim, 1) if index.ndim else index.ndim)
        if self.ndim == 0 or idx.ndim == 0:       # 0-d: treat as one element along a dim of 1
            idx = idx.reshape((1,) * builtins.max(self.ndim, 1))
        for d, n in enumerate(idx.shape):
            limit = self.shape[d] if self.ndim else 1
            if d != axis and n > limit or (src_shape is not None and n > src_shape[d]):
                raise RuntimeError(f"{op}: index shape {tuple(idx.shape)} is larger than the input "
                                   f"{self.shape}" + (f" or src {tuple(src_shape)}" if src_shape else "")
                                   + f" at dim {d} (only dim {axis} may be larger)")
        n = self.shape[axis] if self.ndim else 1
        if idx.size and self.device == 'cpu' and (idx.min() < 0 or idx.max() >= n):   # no negatives, as torch
            raise G.IndexOutOfRangeError(
                f"{op}: index {builtins.int(idx.max() if idx.max() >= n else idx.min())} is out of "
                f"bounds for dim {axis} with size {n} (valid: 0 to {n - 1})")
        return axis, idx

    def gather(self, dim, index, *, sparse_grad=False):
        """out[i][j] = self[index[i][j]][j] for dim 0 (index has self's number of dims)."""
        axis, idx = self._along_dim_checked('gather', dim, index)
        x = self.reshape((1,)) if self.ndim == 0 else self
        out = G.Gather.apply(x, index=idx, dim=axis)
        return out.reshape(index.shape) if self.ndim == 0 or index.ndim == 0 else out

    def take_along_dim(self, indices, dim=None):
        """self picked at indices along dim (indices broadcast against self except at dim);
        dim=None: over the flattened tensor."""
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        axis = normalize_dim('take_along_dim', dim, self.ndim)
        if indices.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim: input {self.shape} and indices {indices.shape} "
                               f"should have the same number of dims")
        shape = list(broadcast_shape('take_along_dim', self.shape[:axis] + (1,) + self.shape[axis + 1:],
                                     indices.shape[:axis] + (1,) + indices.shape[axis + 1:]))
        x = self.expand(shape[:axis] + [self.shape[axis]] + shape[axis + 1:])
        idx = Tensor._wrap(self.xp.broadcast_to(indices.array, shape[:axis] + [indices.shape[axis]] + shape[axis + 1:]))
        return x.gather(axis, idx)

    def _scatter_src(self, op, src):
        if not isinstance(src, Tensor):
            raise TypeError(f"{op}: src must be a tensor, got {type(src).__name__}")
        if src.dtype != self.dtype:
            raise RuntimeError(f"{op}: expected src ({src.dtype}) and self ({self.dtype}) to have the same dtype")
        return src

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        """self with self[index[i][j]][j] = src[i][j] (dim 0), or = value; reduce='add' /
        'multiply' combine instead of overwriting (as scatter_reduce 'sum' / 'prod')."""
        if src is not None and not isinstance(src, Tensor):
            src, value = None, src                # scatter(dim, index, 2.0)
        if reduce is not None:
            if reduce not in ('add', 'multiply'):
                raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
            if src is None:
                src = Tensor._wrap(self.xp.full(tuple(index.shape), value, dtype=self.array.dtype))
            return self.scatter_reduce(dim, index, src, 'sum' if reduce == 'add' else 'prod')
        if src is None:
            if value is None:
                raise TypeError("scatter: expected src (a tensor) or value (a number)")
            axis, idx = self._along_dim_checked('scatter', dim, index)
            return G.Scatter.apply(self, index=idx, dim=axis, value=value)
        src = self._scatter_src('scatter', src)
        axis, idx = self._along_dim_checked('scatter', dim, index, src.shape)
        return G.Scatter.apply(self, src, index=idx, dim=axis)

    def scatter_add(self, dim, index, src):
        """self with src[i][j] added at [index[i][j]][j] (dim 0); repeated indices all add."""
        src = self._scatter_src('scatter_add', src)
        axis, idx = self._along_dim_checked('scatter_add', dim, index, src.shape)
        return G.ScatterAdd.apply(self, src, index=idx, dim=axis)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        """Combine the src values sent to each place by 'sum', 'prod', 'mean', 'amax' or 'amin'."""
        if reduce not in ('sum', 'prod', 'mean', 'amax', 'amin'):
            raise BadArgument(f"scatter_reduce: reduce must be one of 'sum', 'prod', 'mean', 'amax', "
                             f"'amin', got {reduce!r}")
        src = self._scatter_src('scatter_reduce', src)
        axis, idx = self._along_dim_checked('scatter_reduce', dim, index, src.shape)
        return G.ScatterReduce.apply(self, src, index=idx, dim=axis, reduce=reduce, include_self=include_self)

    def _slices_index(self, op, dim, index, negative_ok=False):
        """(axis, 1-D index array) for index_select/add/copy/fill; as torch, only index_fill
        accepts (and wraps) negative indices."""
        axis = normalize_dim(op, dim, self.ndim)
        idx = self._index_tensor(op, index)
        if idx.ndim > 1:
            raise IndexError(f"{op}: index must be 1-D (or 0-d), got shape {tuple(idx.shape)}")
        idx = idx.reshape(-1)
        n = self.shape[axis] if self.ndim else 1
        low = -n if negative_ok else 0
        if idx.size and self.device == 'cpu' and (idx.min() < low or idx.max() >= n):
            raise G.IndexOutOfRangeError(f"{op}: index out of range: values must be in [{low}, {n}) for "
                                         f"dim {axis} of size {n} (tensor shape {self.shape})")
        return axis, idx % builtins.max(n, 1) if negative_ok else idx

    def index_select(self, dim, index):
        axis, idx = self._slices_index('index_select', dim, index)
        if self.ndim == 0:
            return self.reshape(1).index_select(0, index).reshape(() if index.ndim == 0 else -1)
        return G.IndexSelect.apply(self, index=idx, dim=axis)

    def _check_source(self, op, axis, idx, source):
        source = self._scatter_src(op, source)
        want = self.shape[:axis] + (idx.size,) + self.shape[axis + 1:]
        if source.shape != want:
            raise RuntimeError(f"{op}: source of shape {source.shape} should have shape {want} "
                               f"(self's shape {self.shape} with dim {axis} the index's length)")
        return source

    def index_add(self, dim, index, source, *, alpha=1):
        axis, idx = self._slices_index('index_add', dim, index)
        source = self._check_source('index_add', axis, idx, source)
        return G.IndexAdd.apply(self, source, index=idx, dim=axis, alpha=alpha)

    def index_copy(self, dim, index, source):
        axis, idx = self._slices_index('index_copy', dim, index)
        source = self._check_source('index_copy', axis, idx, source)
        return G.IndexCopy.apply(self, source, index=idx, dim=axis)

    def index_fill(self, dim, index, value):
        axis, idx = self._slices_index('index_fill', dim, index, negative_ok=True)
        return G.IndexCopy.apply(self, index=idx, dim=axis,
                                 value=value.item() if isinstance(value, Tensor) else value)

    def _mask(self, op, mask):
        mask = self._operand(mask, op)
        if mask.dtype != dtypes.bool_:
            raise TypeError(f"{op}: mask must be a bool tensor, got {mask.dtype}")
        return mask

    def masked_select(self, mask):
        """The elements where mask (broadcast with self) is True, as a 1-D tensor."""
        mask = self._mask('masked_select', mask)
        shape = broadcast_shape('masked_select', self.shape, mask.shape)
        x = self.expand(shape) if self.shape != shape else self
        return G.MaskedSelect.apply(x, mask=self.xp.broadcast_to(mask.array, shape))

    def masked_scatter(self, mask, source):
        """self with its masked places filled, in order, by source's elements."""
        mask = self._mask('masked_scatter', mask)
        if broadcast_shape('masked_scatter', mask.shape, self.shape) != self.shape:
            raise RuntimeError(f"masked_scatter: mask of shape {mask.shape} must broadcast to {self.shape}")
        m = self.xp.broadcast_to(mask.array, self.shape)
        source = self._scatter_src('masked_scatter', source)
        if builtins.int(m.sum()) > source.numel():
            raise RuntimeError(f"masked_scatter: the mask selects {builtins.int(m.sum())} places but "
                               f"source has only {source.numel()} elements")
        return G.MaskedScatter.apply(self, source, mask=m)

    def nonzero(self, *, as_tuple=False):
        """Indices of the non-zero elements: (n, ndim), or one 1-D tensor per dim."""
        found = self.xp.nonzero(self.array.reshape(1) if self.ndim == 0 else self.array)
        if as_tuple:
            return tuple(Tensor._wrap(i.astype(np.int64)) for i in found)
        if self.ndim == 0:
            return Tensor._wrap(self.xp.zeros((found[0].size, 0), dtype=np.int64))
        return Tensor._wrap(self.xp.stack(found, axis=1).astype(np.int64))

    def argwhere(self):
        return self.nonzero()

    def take(self, index):
        """self viewed as 1-D, picked at index (any shape)."""
        n = self.numel()
        idx = self._index_tensor('take', index)
        if idx.size and self.device == 'cpu' and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"take: index out of range for a tensor of {n} elements (shape {self.shape})")
        return G.Take.apply(self, index=idx % builtins.max(n, 1))

    # ------------------------------------------------------------ shape

    def reshape(self, *shape):
        shape = _shape_args(shape)
        n = self.array.size
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if shape.count(-1) > 1:
            raise RuntimeError(f"reshape: only one dimension can be -1, got shape {shape}")
        if (-1 in shape and (known == 0 or n % known)) or (-1 not in shape and known != n):
            raise RuntimeError(f"reshape: shape {shape} is invalid for input of size {n} "
                             f"(shape {self.shape})")
        return S.Reshape.apply(self, shape=shape)

    def view(self, *shape):
        """reshape that never copies, as torch: the new shape must fit the tensor's strides
        (a transposed tensor needs .contiguous() or .reshape() first)."""
        if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
            return self._view_dtype(shape[0])            # a bitcast (tensor_extras.py)
        out = self.reshape(*shape)
        if out.array.size and not _shares_memory(out.array, self.array):
            raise RuntimeError(
                f"view: size {tuple(out.shape)} is not compatible with the input's shape {tuple(self.shape)} "
                f"and strides (at least one dimension spans across two contiguous subspaces); use "
                f".reshape(...) instead, or .contiguous().view(...)")
        return out

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = normalize_dim('flatten', start_dim, self.ndim)
        e = normalize_dim('flatten', end_dim, self.ndim)
        if s > e:
            raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim}) "
                               f"for a tensor of shape {self.shape}")
        shape = self.shape[:s] + (-1,) + self.shape[e + 1:]
        return self.reshape(shape) if self.array.size else self.reshape(self.shape[:s] + (0,) + self.shape[e + 1:])

    def permute(self, *dims):
        dims = _shape_args(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute: got {len(dims)} dims {dims} for a tensor with {self.ndim} dims")
        axes = tuple(normalize_dim('permute', d, self.ndim) for d in dims)
        if sorted(axes) != list(range(self.ndim)):
            raise RuntimeError(f"permute: dims {dims} must be a permutation of 0..{self.ndim - 1}")
        return S.Permute.apply(self, axes=axes)

    def transpose(self, dim0, dim1):
        d0 = normalize_dim('transpose', dim0, self.ndim)
        d1 = normalize_dim('transpose', dim1, self.ndim)
        if self.ndim == 0:                   # transpose(0, -1) of a 0-d tensor: itself, as torch
            return S.Permute.apply(self, axes=())
        axes = list(range(self.ndim))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return S.Permute.apply(self, axes=tuple(axes))

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dims, got shape {self.shape}; use transpose")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def unsqueeze(self, dim):
        axis = normalize_dim('unsqueeze', dim, self.ndim + 1)
        return S.Reshape.apply(self, shape=self.shape[:axis] + (1,) + self.shape[axis:])

    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            axes = normalize_dims('squeeze', dim, self.ndim)
            shape = tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        return S.Reshape.apply(self, shape=shape)

    def expand(self, *shape):
        shape = _shape_args(shape)
        if len(shape) < self.ndim:
            raise RuntimeError(f"expand: the target shape {shape} has fewer dims than the tensor {self.shape}")
        lead = len(shape) - self.ndim
        target = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        for i, n in enumerate(self.shape):
            if n != 1 and n != target[lead + i]:
                raise RuntimeError(f"expand: the expanded size of the tensor ({target[lead + i]}) must "
                                 f"match the existing size ({n}) at non-singleton dimension {lead + i}; "
                                 f"target shape {shape}, tensor shape {self.shape}")
        return S.Expand.apply(self, shape=target)

    def expand_as(self, other):
        return self.expand(other.shape)

    def contiguous(self):
        return S.Contiguous.apply(self)

    def split(self, split_size=None, dim=0, *, split_size_or_sections=None):
        """Pieces of `split_size` along dim (the last may be smaller), or of the given sizes."""
        if split_size is None:
            split_size = split_size_or_sections
        if self.ndim == 0:
            raise RuntimeError("split: expects at least a 1-dimensional tensor, got a 0-d one")
        axis = normalize_dim('split', dim, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size, numbers.Integral):
            if split_size <= 0 and not (split_size == 0 and n == 0):
                raise RuntimeError(f"split: split_size must be positive, got {split_size}")
            # an empty dim splits into one empty piece, as torch
            sizes = [builtins.min(split_size, n - s) for s in range(0, n, split_size)] if n else [0]
        else:
            sizes = list(split_size)
            if builtins.sum(sizes) != n:
                raise RuntimeError(f"split: sizes {sizes} sum to {builtins.sum(sizes)}, but dim {dim} "
                                 f"has size {n}")
        return S.Split.apply(self, sizes=tuple(sizes), dim=axis)

    def chunk(self, chunks, dim=0):
        if not isinstance(chunks, numbers.Integral) or chunks <= 0:
            raise RuntimeError(f"chunk: expects `chunks` to be a positive int, got {chunks!r}")
        if self.ndim == 0:
            raise RuntimeError("chunk: expects at least a 1-dimensional tensor, got a 0-d one")
        n = self.shape[normalize_dim('chunk', dim, self.ndim)]
        if n == 0:                            # torch: `chunks` empty pieces
            return self.split([0] * chunks, dim)
        return self.split(builtins.max(1, -(-n // chunks)), dim)

    def tensor_split(self, indices_or_sections, dim=0):
        """n pieces as equal as can be (the first n % sections one longer), or the pieces
        between the given indices."""
        if self.ndim == 0:
            raise RuntimeError("tensor_split: expects at least a 1-dimensional tensor, got a 0-d one")
        axis = normalize_dim('tensor_split', dim, self.ndim)
        n = self.shape[axis]
        if isinstance(indices_or_sections, Tensor):
            indices_or_sections = indices_or_sections.tolist()
        if isinstance(indices_or_sections, numbers.Integral):
            k = indices_or_sections
            if k <= 0:
                raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
            sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        else:
            bounds = [builtins.min(builtins.max(i + n if i < 0 else i, 0), n) for i in indices_or_sections]
            edges = [0] + bounds + [n]
            if any(b < a for a, b in zip(edges, edges[1:])):   # a decreasing index: empty pieces
                return tuple(self.narrow(axis, a, builtins.max(b - a, 0)) for a, b in zip(edges, edges[1:]))
            sizes = [b - a for a, b in zip(edges, edges[1:])]
        return S.Split.apply(self, sizes=tuple(sizes), dim=axis)

    def _split_evenly(self, op, sections, dim):
        if isinstance(sections, numbers.Integral) and (sections <= 0 or self.shape[dim] % sections):
            raise RuntimeError(f"{op}: dim {dim} of size {self.shape[dim]} is not divisible by the "
                               f"split size {sections} (tensor shape {self.shape}); use tensor_split")
        return self.tensor_split(sections, dim)

    def hsplit(self, sections):
        if self.ndim == 0:
            raise RuntimeError("hsplit: expects at least a 1-dimensional tensor, got a 0-d one")
        return self._split_evenly('hsplit', sections, 1 if self.ndim > 1 else 0)

    def vsplit(self, sections):
        if self.ndim < 2:
            raise RuntimeError(f"vsplit: expects at least a 2-dimensional tensor, got shape {self.shape}")
        return self._split_evenly('vsplit', sections, 0)

    def dsplit(self, sections):
        if self.ndim < 3:
            raise RuntimeError(f"dsplit: expects at least a 3-dimensional tensor, got shape {self.shape}")
        return self._split_evenly('dsplit', sections, 2)

    def unbind(self, dim=0):
        """The slices along dim, each without that dim."""
        if self.ndim == 0:
            raise RuntimeError("unbind: expects at least a 1-dimensional tensor, got a 0-d one")
        axis = normalize_dim('unbind', dim, self.ndim)
        pieces = S.Split.apply(self, sizes=(1,) * self.shape[axis], dim=axis)
        return tuple(p.squeeze(axis) for p in pieces)

    def narrow(self, dim, start, length):
        """The slice [start, start + length) along dim (a view in torch; a copy-free slice here)."""
        axis = normalize_dim('narrow', dim, self.ndim)
        n = self.shape[axis]
        start = builtins.int(start)
        if start < 0:
            start += n
        if not (0 <= start <= n and 0 <= length and start + length <= n):
            raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dim {axis} of size "
                             f"{n} (tensor shape {self.shape})")
        return I.GetItem.apply(self, index=I.TorchIndex((slice(None),) * axis + (slice(start, start + length),)))

    def select(self, dim, index):
        """The slice at index along dim, without that dim: x.select(1, 2) is x[:, 2]."""
        axis = normalize_dim('select', dim, self.ndim)
        n = self.shape[axis]
        if not -n <= index < n:
            raise IndexError(f"select: index {index} is out of range for dim {axis} of size {n} "
                             f"(tensor shape {self.shape})")
        return I.GetItem.apply(self, index=I.TorchIndex((slice(None),) * axis + (builtins.int(index) % n,)))

    def movedim(self, source, destination):
        """Move dims to new positions; the others keep their order."""
        src = source if isinstance(source, (tuple, list)) else (source,)
        dst = destination if isinstance(destination, (tuple, list)) else (destination,)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: source {source} and destination {destination} must have "
                               f"the same number of dims")
        src = [normalize_dim('movedim', d, self.ndim) for d in src]
        dst = [normalize_dim('movedim', d, self.ndim) for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError(f"movedim: repeated dim in source {source} or destination {destination}")
        rest = iter([d for d in range(self.ndim) if d not in src])
        placed = dict(zip(dst, src))
        return S.Permute.apply(self, axes=tuple(placed[i] if i in placed else next(rest) for i in range(self.ndim)))

    moveaxis = movedim

    def swapaxes(self, axis0, axis1):
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def unflatten(self, dim, sizes):
        """Split dim into several dims of the given sizes (one may be -1)."""
        axis = normalize_dim('unflatten', dim, self.ndim)
        sizes = tuple(builtins.int(n) for n in sizes)
        known = math.prod(n for n in sizes if n != -1)
        if sizes.count(-1) == 1 and known:       # infer -1 from this dim alone (an empty dim too)
            sizes = tuple(self.shape[axis] // known if n == -1 else n for n in sizes)
        if math.prod(sizes) != self.shape[axis]:
            raise RuntimeError(f"unflatten: sizes {sizes} do not multiply to the size {self.shape[axis]} "
                               f"of dim {dim} (tensor shape {self.shape})")
        return self.reshape(self.shape[:axis] + sizes + self.shape[axis + 1:])

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def broadcast_to(self, *shape):
        return self.expand(*shape)

    def flip(self, *dims):
        dims = _shape_args(dims)
        axes = tuple(normalize_dim('flip', d, self.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"flip: dims {dims} has a repeated dim")
        return S.Flip.apply(self, axes=axes if self.ndim else ())

    def fliplr(self):
        if self.ndim < 2:
            raise RuntimeError(f"fliplr: input must be >= 2-d, got shape {self.shape}")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise RuntimeError("flipud: input must be >= 1-d, got a 0-d tensor")
        return self.flip(0)

    def roll(self, shifts, dims=None):
        """Shift elements along dims, wrapping around (dims=None: the flattened tensor)."""
        if dims is None:
            if not isinstance(shifts, numbers.Integral):
                shifts = tuple(shifts)
                if len(shifts) != 1:
                    raise RuntimeError(f"roll: without dims, shifts must be one int, got {shifts}")
                shifts = shifts[0]
            return S.Roll.apply(self.reshape(-1), shifts=builtins.int(shifts), axes=0).reshape(self.shape)
        shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        axes = tuple(normalize_dim('roll', d, self.ndim) for d in dims)
        if self.ndim == 0:
            return self.clone()
        return S.Roll.apply(self, shifts=tuple(builtins.int(s) for s in shifts), axes=axes)

    def repeat(self, *sizes):
        """Copies of the whole tensor along each dim, as torch (NumPy's tile)."""
        sizes = _shape_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: the number of repeat dims ({len(sizes)}) cannot be smaller "
                               f"than the tensor's number of dims ({self.ndim}, shape {self.shape})")
        if any(n < 0 for n in sizes):
            raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes}")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape) if len(sizes) > self.ndim else self
        return S.Tile.apply(x, reps=sizes)

    def tile(self, *dims):
        dims = _shape_args(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        """Each element (or slice along dim) repeated in place: [a, a, b, b, ...]."""
        x = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else normalize_dim('repeat_interleave', dim, self.ndim)
        if x.ndim == 0:
            x = x.reshape(1)
        n = x.shape[axis]
        if isinstance(repeats, Tensor):
            reps = repeats.array.reshape(-1)
            if reps.size == 1:
                reps = builtins.int(reps[0])
            elif reps.size != n:
                raise RuntimeError(f"repeat_interleave: repeats has {reps.size} values but dim {axis} "
                                   f"has size {n}; give one per slice or a single int")
        else:
            reps = builtins.int(repeats)
        if (reps < 0 if isinstance(reps, builtins.int) else builtins.bool((reps < 0).any())):
            raise RuntimeError("repeat_interleave: repeats must be non-negative")
        return S.RepeatInterleave.apply(x, repeats=reps, axis=axis)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The diagonal of the (dim1, dim2) planes (offset > 0: above), as the last dim."""
        d1 = normalize_dim('diagonal', dim1, self.ndim)
        d2 = normalize_dim('diagonal', dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same dim ({dim1}, {dim2})")
        return S.Diagonal.apply(self, offset=builtins.int(offset), dim1=d1, dim2=d2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """Matrices with the last dim on their (dim1, dim2) diagonal, zeros elsewhere."""
        d1 = normalize_dim('diag_embed', dim1, self.ndim + 1)
        d2 = normalize_dim('diag_embed', dim2, self.ndim + 1)
        if d1 == d2:
            raise RuntimeError(f"diag_embed: dim1 and dim2 cannot be the same dim ({dim1}, {dim2})")
        x = self.reshape(1) if self.ndim == 0 else self
        return S.DiagEmbed.apply(x, offset=builtins.int(offset), dim1=d1, dim2=d2)

    def diag(self, diagonal=0):
        """1-D: the square matrix with it on a diagonal. 2-D: that diagonal."""
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag: expects a 1-D or 2-D tensor, got shape {self.shape}")

    def trace(self):
        if self.ndim != 2:
            raise RuntimeError(f"trace: expects a matrix (2-D tensor), got shape {self.shape}")
        return self.diagonal().sum()

    def _triangle(self, op, diagonal, lower):
        if self.ndim < 2:
            raise RuntimeError(f"{op}: input must have at least 2 dims, got shape {self.shape}")
        return S.Triangle.apply(self, diagonal=builtins.int(diagonal), lower=lower)

    def tril(self, diagonal=0):
        """The lower triangle of the last two dims (diagonal > 0 keeps more); differentiable."""
        return self._triangle('tril', diagonal, lower=True)

    def triu(self, diagonal=0):
        return self._triangle('triu', diagonal, lower=False)

    def outer(self, vec2):
        """The outer product of two 1-D tensors: (n,) x (m,) -> (n, m)."""
        vec2 = self._operand(vec2, 'outer')
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer: expects two 1-D tensors, got shapes {self.shape} and {vec2.shape}")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    # ------------------------------------------------------------ new tensors like this one

    def _new(self, fill, size, dtype, device, requires_grad):
        t = Tensor._wrap(fill(self.xp if device is None else get_xp(normalize_device(device)),
                              _shape_args(size), dtypes.to_dtype(dtype) or self.dtype))
        return t.requires_grad_(True) if requires_grad else t

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(lambda xp, s, d: xp.zeros(s, dtype=d), size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(lambda xp, s, d: xp.ones(s, dtype=d), size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(lambda xp, s, d: xp.empty(s, dtype=d), size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return self._new(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (size,), dtype, device,
                         requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor of data, with self's dtype and device unless given."""
        t = Tensor(as_array(data, dtypes.to_dtype(dtype) or self.dtype, device or self.device))
        return t.requires_grad_(True) if requires_grad else t

    def nelement(self):
        return self.numel()

    # ------------------------------------------------------------ matmul

    def matmul(self, other):
        if amp.on:                                  # autocast: the GEMM in bf16/fp16 (minitensor/amp.py)
            self, other = amp.cast('matmul', self, other)
        other = self._operand(other, 'matmul')
        a, b = self.array.shape, other.array.shape
        if not a or not b:
            raise RuntimeError(f"matmul: both arguments need at least 1 dim, got shapes {a} and {b}")
        k_a = a[-1]
        k_b = b[0] if len(b) == 1 else b[-2]
        if k_a != k_b:
            raise RuntimeError(
                f"matmul: shapes {a} and {b} cannot be multiplied: {k_a} != {k_b} (the last dim "
                f"of the first must equal the {'only' if len(b) == 1 else 'second-to-last'} "
                f"dim of the second)")
        if len(a) > 2 and len(b) > 2 and a[:-2] != b[:-2]:
            broadcast_shape('matmul (batch dims)', a[:-2], b[:-2])
        if self.array.dtype is not other.array.dtype and self.dtype != other.dtype:
            raise TypeError(f"matmul: expected both tensors to have the same dtype, got {self.dtype} "
                            f"and {other.dtype}; convert one with .to()")
        return M.MatMul.apply(self, other)

    # ------------------------------------------------------------ indexing

    def __getitem__(self, index):
        return I.GetItem.apply(self, index=I.convert_index(index, self.shape, self.device))

    def __setitem__(self, index, value):
        """In-place write, as torch: xbow[b, t] = x[b, :t+1].mean(0). A value that
        requires grad joins the graph (logits[i] = model(x)): the gradient reaches the
        value and the part of this tensor that was not overwritten."""
        value = self._operand(value, 'setitem')
        if value.device != self.device:
            raise RuntimeError(f"setitem: the value is on {value.device} but the tensor is on "
                               f"{self.device}")
        inplace.setitem(self, I.convert_index(index, self.shape, self.device), value,
                        I.index_put, IndexPut)

    # ------------------------------------------------------------ printing

    def __repr__(self):
        return tensor_repr(self)

    def __format__(self, spec):
        return tensor_format(self, spec)


def _shares_memory(a, b):
    """True when reshape gave a view of b's memory (no copy was needed)."""
    base_a = a if a.base is None else a.base
    base_b = b if b.base is None else b.base
    return base_a is base_b or a.base is b or base_a is b


autograd.Tensor = Tensor      # Function.apply wraps its outputs in Tensors


class _RemovableHandle:
    """What register_hook returns: handle.remove() unregisters the hook."""

    def __init__(self, hooks, entry):
        self.hooks, self.entry = hooks, entry

    def remove(self):
        if self.entry in self.hooks:
            self.hooks.remove(self.entry)
