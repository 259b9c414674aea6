"""mt.amp: torch.amp's names, so mixed-precision training loops run unchanged.

autocast is an accepted no-op until minitensor computes in bf16/fp16: inside it every
op runs in the dtype of its tensors (float32 by default), which is what torch computes
with autocast disabled. GradScaler is torch's loss scaling, operation for operation
(scale, unscale_, step skipping on inf/NaN gradients, growth and backoff), so a loop
written for it behaves as in torch; with float32 gradients it is rarely needed.
"""
import functools
import math
import warnings

from .autograd import no_grad
from .backend import gpu_available

_DEVICE_TYPES = ('cuda', 'cpu', 'gpu')


class autocast:
    """torch.amp.autocast(device_type, dtype=None, enabled=True, cache_enabled=None):
    a context manager and decorator accepted as a no-op (ops compute in their tensors' own dtype)."""

    def __init__(self, device_type='cuda', dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str) or device_type.split(':')[0] not in _DEVICE_TYPES:
            raise ValueError(f"autocast: device_type must be one of {', '.join(map(repr, _DEVICE_TYPES))}, "
                             f"got {device_type!r}")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


def is_autocast_available(device_type):
    return device_type in _DEVICE_TYPES


class GradScaler:
    """Loss scaling as torch.amp.GradScaler: scale(loss).backward(); [unscale_(opt)]; step(opt); update().

    step() skips optimizer.step() when any gradient is inf or NaN; update() then
    multiplies the scale by backoff_factor, or by growth_factor after growth_interval
    steps in a row without one. With device='cuda' and no GPU it disables itself with a
    warning, as torch does.
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
        self._per_optimizer = {}      # id(optimizer) -> {'stage': 'unscaled'|'stepped', 'found_inf': bool}

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
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group['params']:
                    if p.grad is None:
                        continue
                    # a new tensor, never in place: a gradient array may be shared (engine rule)
                    p.grad = p.grad * inv_scale
                    found_inf = found_inf or not bool(p.grad.isfinite().all())
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
            if any(s['found_inf'] for s in self._per_optimizer.values()):
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
