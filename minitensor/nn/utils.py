"""nn.utils: gradient clipping (implemented beside the optimizers)."""


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients so their global norm is at most max_norm; returns the norm."""
    from ..optim.clip import clip_grad_norm_ as clip
    return clip(parameters, max_norm, norm_type)
