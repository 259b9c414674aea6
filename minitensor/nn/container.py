"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict (torch's)."""
from collections import OrderedDict

from ..tensor import Tensor
from .module import Module
from .parameter import Parameter


def _index(container, i):
    """A list index (negative allowed) -> a position, with torch's IndexError."""
    n = len(container)
    if not -n <= i < n:
        raise IndexError(f"{type(container).__name__}: index {i} is out of range for length {n}")
    return i % n


class Sequential(Module):
    """Modules applied in order; built from modules or from an OrderedDict of them."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[_index(self, i)]

    def __setitem__(self, i, module):
        self.add_module(list(self._modules)[_index(self, i)], module)

    def __delitem__(self, i):
        keys = list(self._modules)
        for k in (keys[i] if isinstance(i, slice) else [keys[_index(self, i)]]):
            delattr(self, k)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self


class ModuleList(Module):
    """A list of sub-modules, registered so their parameters are found."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, modules):
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        items = list(self._modules.values())
        items.insert(index, module)
        self._renumber(items)

    def __getitem__(self, i):
        items = list(self._modules.values())
        return ModuleList(items[i]) if isinstance(i, slice) else items[_index(self, i)]

    def __setitem__(self, i, module):
        self.add_module(str(_index(self, i)), module)

    def __delitem__(self, i):
        items = list(self._modules.values())
        del items[i if isinstance(i, slice) else _index(self, i)]
        self._renumber(items)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))


class ModuleDict(Module):
    """An ordered dict of sub-modules (nanoGPT keeps its transformer in one)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        pairs = modules.items() if hasattr(modules, 'items') else modules
        for key, m in pairs:
            self[key] = m

    def pop(self, key):
        m = self._modules[key]
        del self[key]
        return m

    def clear(self):
        for k in list(self._modules):
            del self[k]


def _as_parameter(value):
    """Tensors become Parameters, as torch's ParameterList/Dict do; Parameters stay."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(Module):
    """A list of Parameters, registered under '0', '1', ... so optimizers find them."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ParameterList([self[j] for j in range(len(self))[i]])
        return getattr(self, str(_index(self, i)))

    def __setitem__(self, i, value):
        value = _as_parameter(value)
        key = str(_index(self, i))
        if isinstance(value, Parameter):
            self.register_parameter(key, value)
        else:
            object.__setattr__(self, key, value)

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        lines = [f"({i}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
                 for i, p in enumerate(self) if isinstance(p, Tensor)]
        return "\n  " + "\n  ".join(lines) + "\n" if lines else ''


class ParameterDict(Module):
    """An ordered dict of Parameters (tensors given are wrapped as Parameters)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = OrderedDict()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        value = _as_parameter(value)
        self._keys[key] = None
        if isinstance(value, Parameter):
            self.register_parameter(key, value)
        else:
            object.__setattr__(self, key, value)

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __contains__(self, key):
        return key in self._keys

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def keys(self):
        return self._keys.keys()

    def values(self):
        return [self[k] for k in self._keys]

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def update(self, parameters):
        pairs = parameters.items() if hasattr(parameters, 'items') else parameters
        for key, value in pairs:
            self[key] = value

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default
