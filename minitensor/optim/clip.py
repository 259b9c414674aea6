"""Gradient clipping: clip_grad_norm_ (all gradients scaled together so their global norm
is at most max_norm) and clip_grad_value_ (each element clamped)."""
import math

from .. import cuda
from ..backend import xp_of
from ..tensor import Tensor


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of `parameters` in one go; returns the total norm (0-d Tensor).

    The gradients are REBOUND to scaled copies, never scaled in place: a backward may
    share one gradient array between two tensors. The norm and the scale factor stay
    on the device (no host sync), unless error_if_nonfinite asks to look at the norm.
    float16 gradients are summed in float32 (their squares overflow float16 above 256),
    and the norm is returned in the gradients' dtype, as torch. foreach= picks torch's
    kernels, not the math: accepted and ignored.
    """
    params = _with_grads(parameters)
    norm_type = float(norm_type)
    if not params:
        return Tensor(0.0)
    grads = [p.grad.array for p in params]
    devices = {p.grad.device for p in params}
    if len(devices) > 1:
        raise RuntimeError(f"clip_grad_norm_: gradients are on several devices {sorted(devices)}; "
                           f"move the model to one device first")
    xp = xp_of(grads[0])
    wide = [g.astype(xp.float32) if g.dtype == xp.float16 else g for g in grads]
    if norm_type == math.inf:
        # stack the per-gradient maxima: Python's max() would compare on the host
        total = xp.max(xp.stack([xp.max(xp.abs(g)) if g.size else xp.zeros((), g.dtype)
                                 for g in wide]))
    elif norm_type == 2.0:
        # one reduction per gradient, no temporary the size of the gradient (on the GPU
        # our own kernel: CuPy's cuBLAS dot cannot be captured in a CUDA graph)
        if all(cuda.fusable(g) for g in wide):
            total = xp.sqrt(cuda.sum_of_squares(wide))
        else:
            total = xp.sqrt(sum(xp.dot(g.ravel(), g.ravel()) for g in wide))
    else:
        total = sum(xp.sum(xp.abs(g) ** norm_type) for g in wide) ** (1.0 / norm_type)
    total = xp.asarray(total)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {float(total)}; pass error_if_nonfinite=False to "
                           f"clip anyway")
    # the 1e-6 keeps the division finite for zero gradients; coef <= 1, so clipping never grows
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for p, g in zip(params, grads):
        p.grad = Tensor._wrap(g * coef.astype(g.dtype))
    return Tensor._wrap(total.astype(grads[0].dtype, copy=False))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to [-clip_value, clip_value] (gradients are rebound)."""
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        g = p.grad.array
        p.grad = Tensor._wrap(xp_of(g).clip(g, -clip_value, clip_value))
