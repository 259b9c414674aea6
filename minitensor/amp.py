"""mt.amp: torch.amp's autocast and GradScaler.

autocast(device_type, dtype) makes the ops of torch's autocast lists run in the dtype
torch picks, on tensors of that device type only ('cuda'/'gpu' or 'cpu'):

- LOWER: GEMM-like ops (matmul, linear, conv, attention) cast their floating inputs to
  the autocast dtype (bfloat16 or float16) and run there, accumulating in float32;
- FP32: ops that need range or precision (softmax, log_softmax, layer_norm, the
  losses, sum, prod, cumsum, exp, log, pow, ...) cast 16-bit inputs up to float32;
- PROMOTE: ops with several inputs run in the widest input dtype;
- every other op runs in the dtype of its inputs (the engine's usual promotion).

The lists are torch's (its "Autocast Op Reference"; ATen's autocast_mode.h for CUDA and
autocast_mode.cpp for the CPU, whose FP32 list is shorter: softmax, layer_norm, sum and
exp stay in bfloat16 there), restricted to the ops minitensor has. float64 and integer
tensors are never cast, nor are ops called with an explicit dtype=. The casts are
ordinary `Tensor.to` calls, so gradients flow back through them in each input's own
dtype: float32 parameters (the master weights) get float32 gradients.

The hook is one call, `cast(op, *tensors)`, at the entry of each listed op (grep for
`amp.cast(`); it costs one module attribute test (`amp.on`) when autocast is off.
The state is per process (torch's is per thread).
"""
import functools
import math
import warnings

from . import autograd, dtypes
from .autograd import no_grad
from .backend import gpu_available

_DEVICE_TYPES = ('cuda', 'cpu', 'gpu')

# ---------------------------------------------------------------- the op lists

_LOWER_BOTH = {'matmul', 'mm', 'bmm', 'baddbmm', 'addmm', 'addbmm', 'linear', 'einsum', 'prelu',
               'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d',
               'conv_transpose3d', 'linalg_vecdot', 'scaled_dot_product_attention'}
LOWER = {
    'gpu': _LOWER_BOTH | {'mv', 'addmv', 'addr', 'chain_matmul', 'multi_dot', 'lstm_cell', 'gru_cell',
                          'rnn_tanh_cell', 'rnn_relu_cell'},
    'cpu': _LOWER_BOTH,
}
# float32 on both device types: the losses, prod and cdist
_FP32_BOTH = {'cross_entropy', 'nll_loss', 'mse_loss', 'l1_loss', 'smooth_l1_loss', 'huber_loss',
                'kl_div', 'binary_cross_entropy_with_logits', 'poisson_nll_loss',
                'cosine_embedding_loss', 'hinge_embedding_loss', 'margin_ranking_loss',
                'multilabel_margin_loss', 'soft_margin_loss', 'triplet_margin_loss',
                'multi_margin_loss', 'cdist', 'prod'}
FP32 = {
    'gpu': _FP32_BOTH | {'acos', 'asin', 'cosh', 'erfinv', 'exp', 'expm1', 'log', 'log10', 'log2',
                           'log1p', 'reciprocal', 'rsqrt', 'sinh', 'tan', 'pow', 'softplus',
                           'layer_norm', 'rms_norm', 'group_norm', 'norm', 'cosine_similarity', 'dist',
                           'pdist', 'renorm', 'logsumexp', 'softmax', 'log_softmax', 'cumprod',
                           'cumsum', 'sum', 'vector_norm', 'matrix_norm', 'interpolate', 'normalize',
                           'softmin'},
    'cpu': _FP32_BOTH | {'binary_cross_entropy', 'trace', 'inverse', 'pinverse', 'cholesky'},
}
PROMOTE = {'addcdiv', 'addcmul', 'atan2', 'bilinear', 'cross', 'dot', 'vdot', 'index_put',
           'tensordot', 'scatter_add', 'cat', 'stack', 'index_copy'}
# CUDA autocast refuses these (float16 saturates them); torch raises the same error
BANNED = {'gpu': {'binary_cross_entropy'}, 'cpu': set()}
_KNOWN = set().union(*LOWER.values(), *FP32.values(), PROMOTE, *BANNED.values())

# ---------------------------------------------------------------- the state

on = False                       # any device type enabled: the one test a listed op pays when off
_enabled = {'gpu': False, 'cpu': False}
_dtype = {'gpu': dtypes.float16, 'cpu': dtypes.bfloat16}   # torch's defaults
_cache_enabled = True
_cache = {}                      # id(leaf) -> (leaf, its version, the cast): torch's weight-cast cache
_nesting = 0                     # enabled regions entered; the cache empties when it returns to 0


def _device(device_type):
    """'cuda'/'gpu' -> 'gpu', 'cpu' -> 'cpu' (torch's device type strings, with an index)."""
    if not isinstance(device_type, str) or device_type.split(':')[0] not in _DEVICE_TYPES:
        raise RuntimeError(f"autocast: device_type must be one of 'cuda', 'cpu' (or 'gpu'), "
                           f"got {device_type!r}")
    return 'cpu' if device_type.startswith('cpu') else 'gpu'


def is_autocast_enabled(device_type='cuda'):
    """Whether autocast is on for device_type (torch.is_autocast_enabled)."""
    return _enabled[_device(device_type)]


def set_autocast_enabled(device_type, enabled=None):
    """torch.set_autocast_enabled(device_type, enabled) (or the old one-argument form for CUDA)."""
    global on
    if enabled is None:
        device_type, enabled = 'cuda', device_type
    _enabled[_device(device_type)] = bool(enabled)
    on = any(_enabled.values())


def get_autocast_dtype(device_type):
    """The dtype autocast casts to on device_type (float16 for CUDA, bfloat16 for the CPU by default)."""
    return _dtype[_device(device_type)]


def set_autocast_dtype(device_type, dtype):
    _dtype[_device(device_type)] = dtypes.wrap(dtypes.to_dtype(dtype))


def get_autocast_gpu_dtype():
    return _dtype['gpu']


def get_autocast_cpu_dtype():
    return _dtype['cpu']


def is_autocast_cpu_enabled():
    return _enabled['cpu']


def is_autocast_cache_enabled():
    return _cache_enabled


def set_autocast_cache_enabled(enabled):
    global _cache_enabled
    _cache_enabled = bool(enabled)


def clear_autocast_cache():
    _cache.clear()


def is_autocast_available(device_type):
    return isinstance(device_type, str) and device_type.split(':')[0] in _DEVICE_TYPES


# ---------------------------------------------------------------- the hook

def cast(op, *args):
    """args with the floating tensors of this autocast device cast as torch's lists say for
    `op` (anything else passes through). Callers test `amp.on` first."""
    device = None
    for a in args:
        if isinstance(a, autograd.Tensor):       # the first Tensor decides the device type
            device = a.device
            break
    if device is None or not _enabled[device]:
        return args if len(args) > 1 else args[0]
    if op in LOWER[device]:
        target = _dtype[device]
    elif op in FP32[device]:
        target = dtypes.float32
    elif op in PROMOTE:
        floats = [a.dtype for a in args if _eligible(a, device, allow_float64=True)]
        target = dtypes.wrap(dtypes.promote_types(*floats)) if floats else None
    elif op in BANNED[device]:
        raise RuntimeError(
            f"{op} and its module are unsafe to autocast (float16/bfloat16 inputs saturate its "
            f"log). Many models use a sigmoid layer right before it; combine the two with "
            f"binary_cross_entropy_with_logits (BCEWithLogitsLoss), which is safe to autocast")
    elif op in _KNOWN:                           # on the other device type's lists only
        target = None
    else:
        raise KeyError(f"amp.cast: {op!r} is on no autocast list (an engine bug)")
    if target is None:
        return args if len(args) > 1 else args[0]
    out = tuple(_cast(a, target) if _eligible(a, device, op in PROMOTE) else a for a in args)
    return out if len(out) > 1 else out[0]


def _eligible(a, device, allow_float64=False):
    """A floating tensor on the autocast device; float64 only where promoting (torch's rule)."""
    if not isinstance(a, autograd.Tensor) or a.device != device:
        return False
    d = a.dtype
    return d.is_floating_point and (allow_float64 or d != dtypes.float64)


def _cast(t, target):
    if t.dtype == target:
        return t
    # a leaf parameter cast to the low dtype is kept for the rest of the region (torch's cache),
    # unless it was modified in place since
    cacheable = (_cache_enabled and t.requires_grad and t.grad_fn is None and target == _dtype[t.device]
                 and t.dtype == dtypes.float32)
    if cacheable:
        hit = _cache.get(id(t))
        if hit is not None and hit[0] is t and hit[1] == t._version:
            return hit[2]
    out = t.to(target)
    if cacheable:
        _cache[id(t)] = (t, t._version, out)
    return out


# ---------------------------------------------------------------- autocast

class autocast:
    """torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None): a context
    manager and decorator that runs the listed ops in mixed precision (see above)."""

    def __init__(self, device_type='cuda', dtype=None, enabled=True, cache_enabled=None):
        self.device = _device(device_type)
        self.device_type = device_type
        self.fast_dtype = _dtype[self.device] if dtype is None else dtypes.wrap(dtypes.to_dtype(dtype))
        self._cache_enabled = _cache_enabled if cache_enabled is None else bool(cache_enabled)
        self._enabled = bool(enabled)
        if self._enabled and self.device == 'gpu' and not gpu_available():
            warnings.warn("CUDA is not available. Disabling autocast.", stacklevel=2)
            self._enabled = False
        if self._enabled and self.fast_dtype not in (dtypes.bfloat16, dtypes.float16):
            kind = 'CPU' if self.device == 'cpu' else 'CUDA'
            warnings.warn(f"In {kind} autocast, but the target dtype is not supported. Disabling "
                          f"autocast.\n{kind} Autocast only supports dtypes of minitensor.bfloat16, "
                          f"minitensor.float16 currently.", stacklevel=2)
            self._enabled = False
        if self._enabled and self.device == 'gpu' and self.fast_dtype == dtypes.bfloat16:
            from .cuda import is_bf16_supported
            if not is_bf16_supported():
                raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch "
                                   "dtype to float16.")
        self._saved = []          # a stack: the same instance may be entered again (recursion)

    def __enter__(self):
        global on, _cache_enabled, _nesting
        self._saved.append((_enabled[self.device], _dtype[self.device], _cache_enabled))
        _enabled[self.device] = self._enabled
        _dtype[self.device] = self.fast_dtype
        _cache_enabled = self._cache_enabled
        on = any(_enabled.values())
        if self._enabled:
            _nesting += 1
        return self

    def __exit__(self, *exc):
        global on, _cache_enabled, _nesting
        if self._enabled:
            _nesting -= 1
            if _nesting == 0:                       # leaving the outermost region: drop the casts
                _cache.clear()
        _enabled[self.device], _dtype[self.device], _cache_enabled = self._saved.pop()
        on = any(_enabled.values())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


class GradScaler:
    """Loss scaling as torch.amp.GradScaler: scale(loss).backward(); [unscale_(opt)]; step(opt); update().

    step() skips optimizer.step() when any gradient is inf or NaN; update() then
    multiplies the scale by backoff_factor, or by growth_factor after growth_interval
    steps in a row without one. The inf/NaN test stays on the device (one boolean per
    optimizer) until step() reads it: one synchronization per step, as torch's. With
    device='cuda' and no GPU it disables itself with a warning, as torch does.
    """

    def __init__(self, device='cuda', init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = bool(enabled)
        if device == 'cuda' and self._enabled and not gpu_available():
            warnings.warn("GradScaler is enabled, but CUDA is not available.  Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
            if backoff_factor >= 1.0:
                raise ValueError(f"GradScaler: backoff_factor must be < 1.0, got {backoff_factor}")
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer = {}      # id(optimizer) -> {'stage': 'unscaled'|'stepped', 'found_inf': ...}

    def is_enabled(self):
        return self._enabled

    def scale(self, outputs):
        """outputs * scale (a tensor, or a list/tuple of tensors); outputs unchanged when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer):
        """Divide optimizer's gradients by the scale and note whether any is inf or NaN."""
        if not self._enabled:
            return
        state = self._per_optimizer.setdefault(id(optimizer), {'stage': 'ready', 'found_inf': False})
        if state['stage'] == 'unscaled':
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state['stage'] == 'stepped':
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = 1.0 / self._scale
        found_inf = False             # becomes a 0-d bool array on the gradients' device
        with no_grad():
            for group in optimizer.param_groups:
                for p in group['params']:
                    if p.grad is None:
                        continue
                    # a new tensor, never in place: a gradient array may be shared (engine rule)
                    p.grad = p.grad * inv_scale
                    xp = p.grad.xp
                    found_inf = xp.logical_or(found_inf, ~xp.isfinite(p.grad.array).all())
        state['stage'], state['found_inf'] = 'unscaled', found_inf

    def step(self, optimizer, *args, **kwargs):
        """unscale_ (unless done already), then optimizer.step() unless a gradient is inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if 'closure' in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._per_optimizer.get(id(optimizer), {'stage': 'ready'})
        if state['stage'] == 'stepped':
            raise RuntimeError("step() has already been called since the last update().")
        if state['stage'] == 'ready':
            self.unscale_(optimizer)
            state = self._per_optimizer[id(optimizer)]
        state['found_inf'] = bool(state['found_inf'])          # the step's one synchronization
        out = None if state['found_inf'] else optimizer.step(*args, **kwargs)
        state['stage'] = 'stepped'
        return out

    def update(self, new_scale=None):
        """Back off after a skipped step, grow after growth_interval good ones; or set new_scale."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        else:
            if not self._per_optimizer:
                raise RuntimeError("update: no inf checks were recorded prior to update(); call "
                                   "scaler.step(optimizer) (or unscale_) first")
            if any(bool(s['found_inf']) for s in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def state_dict(self):
        """scale, growth_factor, backoff_factor, growth_interval, _growth_tracker ({} when disabled)."""
        if not self._enabled:
            return {}
        return {'scale': self._scale, 'growth_factor': self._growth_factor,
                'backoff_factor': self._backoff_factor, 'growth_interval': self._growth_interval,
                '_growth_tracker': self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._scale = float(state_dict['scale'])
        self._growth_factor = float(state_dict['growth_factor'])
        self._backoff_factor = float(state_dict['backoff_factor'])
        self._growth_interval = int(state_dict['growth_interval'])
        self._growth_tracker = int(state_dict['_growth_tracker'])
