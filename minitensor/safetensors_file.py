"""mt.save / mt.load for paths ending in `.safetensors`: the format of Hugging Face's
`safetensors` package (an 8-byte header length, a JSON header, raw little-endian
data), written and read through its NumPy API, so `safetensors.torch.load_file` reads
our files unchanged and we read PyTorch's.

The format holds a flat dict of named tensors (a state_dict). What it has no field
for, which tensors are Parameters, which require grad and which lived on the GPU, is
kept in the header's string metadata under "minitensor"; files without it load as
plain CPU tensors. GPU tensors are staged through host memory. bfloat16 is the
format's BF16 (NumPy's side holds it as ml_dtypes.bfloat16).
"""
import json
import os

import numpy as np

from . import dtypes
from .backend import gpu_available, to_device
from .tensor import Tensor

META_KEY = 'minitensor'


def _safetensors():
    """The safetensors package (with its NumPy API), or a clear ImportError."""
    try:
        import safetensors
        import safetensors.numpy  # noqa: F401  (save_file lives there)
    except ImportError:
        raise ImportError("the .safetensors format needs the safetensors package: "
                          "pip install 'minitensor[safetensors]' (or pip install safetensors), "
                          "or save to a .pt/.npz path instead") from None
    return safetensors


def save(obj, path):
    """Write a flat dict {name: Tensor} as a .safetensors file, atomically."""
    st = _safetensors()
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, Tensor)
                                            for k, v in obj.items()):
        raise TypeError(f"save: a .safetensors file holds a flat dict of str -> Tensor (e.g. "
                        f"model.state_dict()), got {type(obj).__name__}"
                        f"{'' if not isinstance(obj, dict) else ' with other keys or values'}; "
                        f"save nested objects (optimizer state, configs) to a .pt path")
    from .nn.parameter import Parameter
    arrays = {k: np.ascontiguousarray(to_device(t.array, 'cpu')) for k, t in obj.items()}
    extra = {'parameters': [k for k, t in obj.items() if isinstance(t, Parameter)],
             'requires_grad': [k for k, t in obj.items() if t.requires_grad],
             'gpu': [k for k, t in obj.items() if t.device != 'cpu']}
    metadata = {'format': 'pt', META_KEY: json.dumps(extra)}
    from .serialization import write_atomically
    write_atomically(path, lambda tmp: st.numpy.save_file(arrays, tmp, metadata=metadata))


def _names(extra, key, path):
    names = extra.get(key, []) if isinstance(extra, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"load: {path!r}: its {META_KEY!r} metadata is damaged ({key!r} is "
                         f"not a list of names)")
    return set(names)


def load(path, map_device):
    """A dict {name: Tensor} from a .safetensors file (ours, or PyTorch's)."""
    st = _safetensors()
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    try:
        with st.safe_open(path, framework='np') as f:    # validates header and offsets
            metadata = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:   # the package's own error types; the file is malformed
        raise ValueError(f"load: {path!r} is not a valid safetensors file "
                         f"({type(e).__name__}: {e})") from None
    try:
        extra = json.loads(metadata.get(META_KEY, '{}'))
    except (ValueError, RecursionError):
        raise ValueError(f"load: {path!r}: its {META_KEY!r} metadata is not valid JSON") from None
    params, grads, gpu = (_names(extra, k, path) for k in ('parameters', 'requires_grad', 'gpu'))
    from .nn.parameter import Parameter
    out = {}
    for k, a in arrays.items():
        if a.dtype.kind not in 'biuf' and not dtypes.is_floating(a.dtype):    # bfloat16: kind 'V'
            raise ValueError(f"load: {path!r}: tensor {k!r} has dtype {a.dtype}, which minitensor "
                             f"does not support")
        device = map_device('gpu' if k in gpu else 'cpu')
        if device == 'gpu' and not gpu_available():
            raise RuntimeError("load: the file holds tensors saved on the GPU, but no GPU is "
                               "available here; pass map_location='cpu'")
        a = to_device(np.array(a, copy=True) if not a.flags.writeable else a, device)
        wants_grad = (k in params or k in grads) and dtypes.is_floating(a.dtype)
        out[k] = (Parameter(Tensor._wrap(a), requires_grad=k in grads) if k in params
                  else Tensor._wrap(a, requires_grad=wants_grad))
    return out
