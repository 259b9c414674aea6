"""clip_grad_norm_: scale all gradients together so their global norm is at most max_norm."""
import math

from ..backend import xp_of
from ..tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale the gradients of `parameters` in one go; returns the total norm (0-d Tensor).

    The gradients are REBOUND to scaled copies, never scaled in place: a backward may
    share one gradient array between two tensors. The norm and the scale factor stay
    on the device (no host sync), unless error_if_nonfinite asks to look at the norm.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = [p for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not params:
        return Tensor(0.0)
    grads = [p.grad.array for p in params]
    devices = {p.grad.device for p in params}
    if len(devices) > 1:
        raise RuntimeError(f"clip_grad_norm_: gradients are on several devices {sorted(devices)}; "
                           f"move the model to one device first")
    xp = xp_of(grads[0])
    if norm_type == math.inf:
        # stack the per-gradient maxima: Python's max() would compare on the host
        total = xp.max(xp.stack([xp.max(xp.abs(g)) if g.size else xp.zeros((), g.dtype)
                                 for g in grads]))
    elif norm_type == 2.0:
        # a dot product per gradient: no temporary the size of the gradient
        total = xp.sqrt(sum(xp.dot(g.ravel(), g.ravel()) for g in grads))
    else:
        total = sum(xp.sum(xp.abs(g) ** norm_type) for g in grads) ** (1.0 / norm_type)
    total = xp.asarray(total)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {float(total)}; pass error_if_nonfinite=False to "
                           f"clip anyway")
    # the 1e-6 keeps the division finite for zero gradients; coef <= 1, so clipping never grows
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for p, g in zip(params, grads):
        p.grad = Tensor._wrap(g * coef.astype(g.dtype))
    return Tensor._wrap(total)
