"""Fused CuPy kernels: GPU fast paths for ops in minitensor/ops/.

Each function here has exactly the meaning of the portable `xp` code of its op, which
stays the readable reference (tests/gpu/test_cuda_kernels.py checks one against the
other). An op dispatches here with one `if cuda.fusable(x):`. Kernels are compiled on
first use and cached at module level; CuPy comes only through backend.cupy_module().

Set `minitensor.cuda.enabled = False` (or MINITENSOR_NO_FUSED=1) to run the portable
paths on the GPU too, e.g. to compare speed or results.
"""
import os

import numpy as np

from ..backend import is_gpu

enabled = not os.environ.get('MINITENSOR_NO_FUSED')


def fusable(*arrays):
    """True when the fused kernels apply: enabled, and every array is a float32 CuPy array."""
    return enabled and all(is_gpu(a) and a.dtype == np.float32 for a in arrays)


from .attention import causal_softmax_backward, causal_softmax_forward  # noqa: E402
from .cross_entropy import cross_entropy_backward, cross_entropy_forward  # noqa: E402
from .elementwise import adam_update, hash_dropout, relu_backward, relu_forward  # noqa: E402
from .layer_norm import layer_norm_backward, layer_norm_forward  # noqa: E402
