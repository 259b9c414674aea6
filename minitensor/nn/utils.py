"""nn.utils: gradient clipping, implemented beside the optimizers (minitensor/optim/clip.py)."""
from ..optim.clip import clip_grad_norm_  # noqa: F401  (torch.nn.utils.clip_grad_norm_)
