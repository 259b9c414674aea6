"""Module: the base of every layer. Registers Parameters, sub-modules and buffers
by attribute assignment, as torch.nn.Module does."""
from collections import OrderedDict

from ..autograd import no_grad
from ..backend import normalize_device, to_device
from ..tensor import Tensor
from .parameter import Parameter


class Module:
    """Base class: subclasses set attributes in __init__ and define forward()."""

    def __init__(self):
        object.__setattr__(self, '_parameters', OrderedDict())
        object.__setattr__(self, '_modules', OrderedDict())
        object.__setattr__(self, '_buffers', OrderedDict())
        object.__setattr__(self, 'training', True)

    # ------------------------------------------------------------ registration

    def __setattr__(self, name, value):
        if '_parameters' not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning "
                               f"attributes in __init__")
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that belongs to the module but is not trained (e.g. the causal mask)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        object.__setattr__(self, name, tensor)
        self._buffers[name] = (tensor, persistent)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None")
        object.__setattr__(self, name, param)
        if param is not None:
            self._parameters[name] = param

    def add_module(self, name, module):
        setattr(self, name, module)

    # ------------------------------------------------------------ calling

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ traversal

    def named_modules(self, prefix=''):
        """(dotted name, module) for self and every descendant, depth first."""
        stack = [(prefix, self)]
        seen = set()
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = list(module._modules.items())
            for child_name, child in reversed(children):
                if child is not None:
                    stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix='', recurse=True):
        """(dotted name, Parameter), each shared parameter once, as torch."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix=''):
        for module_name, module in self.named_modules(prefix):
            for name, (b, _) in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    def buffers(self):
        return (b for _, b in self.named_buffers())

    def num_parameters(self, trainable_only=False):
        """How many numbers the model learns (nanoGPT's get_num_params)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------ modes and devices

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, 'training', bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        """Move every parameter and buffer to `device` in place (as torch); returns self."""
        device = normalize_device(device)
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.array = to_device(p.array, device)
                    if p.grad is not None:
                        p.grad = Tensor._wrap(to_device(p.grad.array, device))
            for name, (b, persistent) in list(m._buffers.items()):
                if b is not None:
                    b.array = to_device(b.array, device)
        return self

    def cpu(self):
        return self.to('cpu')

    def gpu(self):
        return self.to('gpu')

    cuda = gpu

    def double(self):
        return self._cast_floats('float64')

    def float(self):
        return self._cast_floats('float32')

    def _cast_floats(self, dtype):
        for t in list(self.parameters()) + list(self.buffers()):
            if t.dtype.kind == 'f':
                t.array = t.array.astype(dtype)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._wrap(p.xp.zeros_like(p.array))

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ------------------------------------------------------------ state dict

    def state_dict(self):
        """name -> Tensor for every parameter and persistent buffer (shared, not copied)."""
        out = OrderedDict()
        for module_name, module in self.named_modules():
            dot = module_name + '.' if module_name else ''
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p.detach()
            for name, (b, persistent) in module._buffers.items():
                if b is not None and persistent:
                    out[dot + name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into the model's tensors; they keep their device and dtype.

        With strict=True, any missing or unexpected key, or any shape mismatch, raises
        one error that lists them all. Returns (missing_keys, unexpected_keys).
        """
        own = {}
        for module_name, module in self.named_modules():
            dot = module_name + '.' if module_name else ''
            for name, p in module._parameters.items():
                if p is not None:
                    own[dot + name] = p
            for name, (b, persistent) in module._buffers.items():
                if b is not None and persistent:
                    own[dot + name] = b
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
        return missing, unexpected

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
