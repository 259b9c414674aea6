"""nn.utils: gradient clipping (implemented beside the optimizers, minitensor/optim/clip.py)
and flattening parameters into one vector and back."""
from ..autograd import no_grad
from ..creation import cat
from ..optim.clip import clip_grad_norm_, clip_grad_value_  # noqa: F401  (torch.nn.utils names)
from ..tensor import Tensor


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-d tensor (differentiable)."""
    params = list(parameters)
    if params and len({p.device for p in params}) > 1:
        raise TypeError("parameters_to_vector: found parameters on different devices")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-d `vec` into the parameters (in place, no graph)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-d Tensor, got "
                        f"{getattr(vec, 'shape', type(vec).__name__)}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} elements but the "
                         f"parameters hold {total}")
    with no_grad():
        start = 0
        for p in params:
            n = p.numel()
            p.array = vec.array[start:start + n].reshape(p.shape).astype(p.dtype, copy=True)
            start += n
