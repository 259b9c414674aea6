"""minitensor: a from-scratch reverse-mode autograd engine on NumPy (CPU) and CuPy (GPU).

PyTorch's names and semantics: `import minitensor as mt` where you would write
`import torch`.
"""
from . import dtypes, return_types
from .autograd import (Function, enable_grad, inference_mode, is_grad_enabled,
                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from .backend import (backends, device, get_float32_matmul_precision, gpu_available,
                      set_float32_matmul_precision, synchronize)
from .creation import (FUNCTION_FORMS, allclose, arange, cat, concat, concatenate, empty, eye,
                       from_numpy, full, full_like, is_floating_point, is_tensor, linspace,
                       multinomial, numel, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, stack, tensor, where, zeros, zeros_like)
from .creation import (atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, broadcast_tensors,
                       cdist, column_stack, dstack, einsum, empty_like, hstack, logspace, meshgrid,
                       randint_like, row_stack, tril_indices, triu_indices, vstack)
from .creation import bernoulli
from .dtypes import (bfloat16, bool_ as bool, double, dtype, finfo, float, float16, float32, float64,
                     half, iinfo, int, int8, int16, int32, int64, long, short, uint8)
from .gradcheck import gradcheck
from .printing import set_printoptions
from .random import Generator, default_generator, manual_seed
from .size import Size
from .tensor import Tensor

globals().update(FUNCTION_FORMS)   # mt.sum, mt.exp, mt.softmax, mt.matmul, ...
from .extras import *  # noqa: E402,F401,F403  (lgamma, copysign, special, ... : extras.__all__)

from . import distributed, nn, optim, utils  # noqa: E402  (they import the names above)
from . import distributions  # noqa: E402  (needs nn.functional)
from . import amp, cpu, cuda  # noqa: E402  (torch.cuda's, torch.cpu's and torch.amp's names, on purpose)
from .amp import (autocast, clear_autocast_cache, get_autocast_cpu_dtype, get_autocast_dtype,  # noqa: E402
                  get_autocast_gpu_dtype, is_autocast_cache_enabled, is_autocast_cpu_enabled,
                  is_autocast_enabled, set_autocast_cache_enabled, set_autocast_dtype,
                  set_autocast_enabled)
from .compat import compile, get_default_dtype, set_default_dtype  # noqa: E402
from .serialization import load, save  # noqa: E402

__version__ = '0.1.0'
