"""Module: the base of every layer. Registers Parameters, sub-modules and buffers
by attribute assignment, as torch.nn.Module does."""
from collections import OrderedDict, namedtuple

from .. import dtypes
from ..autograd import no_grad
from ..backend import is_device_like, normalize_device, to_device
from ..tensor import Tensor
from .parameter import Parameter

# what load_state_dict returns, as torch (a named tuple: unpacks as (missing, unexpected))
_IncompatibleKeys = namedtuple('IncompatibleKeys', ['missing_keys', 'unexpected_keys'])


class RemovableHandle:
    """Returned by register_forward_(pre_)hook: .remove() unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks):
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _split_to_args(args, kwargs):
    """Module.to's arguments -> (device or None, dtype or None), as Tensor.to reads them."""
    device, dtype = kwargs.pop('device', None), kwargs.pop('dtype', None)
    kwargs.pop('non_blocking', None)
    if kwargs:
        raise TypeError(f"Module.to: unexpected keyword argument(s) {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):                       # to(other): its device and dtype
            device, dtype = a.device, a.dtype
        elif is_device_like(a):                          # 'cpu', 'cuda:0', mt.device('cuda')
            device = a
        elif a is not None:
            dtype = a
    dtype = dtypes.to_dtype(dtype)
    if dtype is not None and not dtypes.is_floating(dtype):
        raise TypeError(f"Module.to: only floating point dtypes are accepted, got {dtype}")
    return (normalize_device(device) if device is not None else None), dtype


class Module:
    """Base class: subclasses set attributes in __init__ and define forward()."""

    def __init__(self):
        object.__setattr__(self, '_parameters', OrderedDict())
        object.__setattr__(self, '_modules', OrderedDict())
        object.__setattr__(self, '_buffers', OrderedDict())
        object.__setattr__(self, '_non_persistent_buffers_set', set())
        object.__setattr__(self, '_forward_pre_hooks', OrderedDict())
        object.__setattr__(self, '_forward_hooks', OrderedDict())
        object.__setattr__(self, 'training', True)

    # ------------------------------------------------------------ registration

    def __setattr__(self, name, value):
        """Register Parameters and Modules by assignment; keep buffers buffers, as torch.

        Every attribute also lives in __dict__, so reading one is a plain lookup.
        Assigning one Parameter to two modules (weight tying) registers the same
        object twice; parameters() and optimizers see it once.
        """
        if '_parameters' not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning "
                               f"attributes in __init__")
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._buffers.pop(name, None)
            self._parameters[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' of "
                                f"{type(self).__name__} (nn.Parameter or None expected)")
            self._parameters[name] = None
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self._modules[name] = value
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                f"of {type(self).__name__} (nn.Module or None expected)")
            self._modules[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' of "
                                f"{type(self).__name__} (Tensor or None expected)")
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        object.__delattr__(self, name)

    def _check_new_name(self, kind, name):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if '.' in name or name == '':
            raise KeyError(f"{kind} name can't be empty or contain \".\", got {name!r}")
        taken = name in self.__dict__ and not (name in self._parameters or name in self._buffers
                                               or name in self._modules)
        if taken:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that belongs to the module but is not trained (e.g. the causal mask)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._check_new_name('buffer', name)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """Register `param` (a Parameter, or None for an absent one) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign '{type(param).__name__}' as "
                            f"parameter '{name}' (nn.Parameter or None expected)")
        self._check_new_name('parameter', name)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name, module):
        """Register `module` (or None) as the child `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        self._check_new_name('module', name)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target):
        """The module at dotted path `target` ('' is self), as torch."""
        module = self
        for item in target.split('.') if target else ():
            if item not in module._modules or module._modules[item] is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}` "
                                     f"(looking up {target!r})")
            module = module._modules[item]
        return module

    def get_parameter(self, target):
        """The Parameter at dotted path `target` (e.g. 'fc.weight')."""
        module_path, _, name = target.rpartition('.')
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def get_buffer(self, target):
        """The buffer at dotted path `target`."""
        module_path, _, name = target.rpartition('.')
        module = self.get_submodule(module_path)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer `{name}`")
        return module._buffers[name]

    # ------------------------------------------------------------ calling

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def register_forward_pre_hook(self, hook):
        """hook(module, args) runs before forward; a non-None return replaces args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """hook(module, args, output) runs after forward; a non-None return replaces output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------ traversal

    def named_modules(self, memo=None, prefix='', remove_duplicate=True):
        """(dotted name, module) for self and every descendant, pre-order as torch.

        A module reachable by two paths is yielded once unless remove_duplicate=False.
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                sub = f"{prefix}.{name}" if prefix else name
                yield from child.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        """(name, child) for each direct child, each child object once."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        return (m for _, m in self.named_children())

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_name, module in modules:
            for name, t in getattr(module, table).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{module_name}.{name}" if module_name else name), t

    def named_parameters(self, prefix='', recurse=True, remove_duplicate=True):
        """(dotted name, Parameter), each shared (tied) parameter once, as torch."""
        return self._named_members('_parameters', prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix='', recurse=True, remove_duplicate=True):
        return self._named_members('_buffers', prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def num_parameters(self, trainable_only=False):
        """How many numbers the model learns (nanoGPT's get_num_params)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def apply(self, fn):
        """fn(m) for every child (recursively), then for self; returns self (for init)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ modes, devices, dtypes

    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, 'training', mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, *args, **kwargs):
        """to(device), to(dtype), to(device, dtype), to(tensor): in place (as torch); returns self.

        A dtype converts floating parameters and buffers only (integer buffers stay).
        """
        device, dtype = _split_to_args(args, dict(kwargs))
        for t in self._tensors():
            array = t.array
            if dtype is not None and dtypes.is_floating(array.dtype) and array.dtype != dtype:
                array = array.astype(dtype)
            if device is not None:
                array = to_device(array, device)
            if array is not t.array:
                t.array = array
                if t.grad is not None:
                    g = t.grad.array.astype(array.dtype, copy=False)
                    t.grad = Tensor._wrap(to_device(g, device) if device is not None else g)
        return self

    def _tensors(self):
        """Every parameter and buffer, each object once."""
        return list(self.parameters()) + list(self.buffers())

    def cpu(self):
        return self.to('cpu')

    def gpu(self):
        return self.to('gpu')

    cuda = gpu

    def double(self):
        return self.to(dtypes.float64)

    def float(self):
        return self.to(dtypes.float32)

    def half(self):
        return self.to(dtypes.float16)

    def bfloat16(self):
        return self.to(dtypes.bfloat16)

    def type(self, dst_type):
        return self.to(dst_type)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:   # a new array: the old one may be shared with another tensor's grad
                p.grad = Tensor._wrap(p.xp.zeros_like(p.array))

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ------------------------------------------------------------ state dict

    def _state_entries(self):
        """(key, tensor) for every parameter and persistent buffer, under EVERY path.

        No deduplication, as torch: a tied weight appears under both of its names.
        """
        for module_name, module in self.named_modules(remove_duplicate=False):
            dot = module_name + '.' if module_name else ''
            for name, p in module._parameters.items():
                if p is not None:
                    yield dot + name, p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    yield dot + name, b

    def state_dict(self, destination=None, prefix='', keep_vars=False):
        """name -> Tensor for every parameter and persistent buffer (shared, not copied)."""
        out = OrderedDict() if destination is None else destination
        for k, t in self._state_entries():
            out[prefix + k] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values into the model's tensors; they keep their device and dtype.

        With strict=True, any missing or unexpected key, or any shape mismatch, raises
        one error that lists them all. Returns a named tuple (missing_keys, unexpected_keys).
        """
        if not hasattr(state_dict, 'keys'):
            raise TypeError(f"load_state_dict: expected a dict of name -> Tensor, got "
                            f"{type(state_dict).__name__}")
        own = dict(self._state_entries())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, target in own.items():
            if k in state_dict:
                shape = tuple(getattr(state_dict[k], 'shape', ()))
                if shape != target.shape:
                    mismatched.append(f"{k}: checkpoint {shape} vs model {target.shape}")
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(f"load_state_dict: error(s) loading state dict into "
                               f"{type(self).__name__}: " + " | ".join(problems))
        with no_grad():
            for k, target in own.items():
                if k in state_dict:
                    value = state_dict[k]
                    array = value.array if isinstance(value, Tensor) else value
                    target.array = to_device(array, target.device).astype(target.dtype, copy=True)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing

    def extra_repr(self):
        return ''

    def __repr__(self):
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace('\n', '\n  ')
            lines.append(f"({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
