"""mt.cpu: torch.cpu's names that CPU mixed-precision programs use (mt.cpu.amp.autocast)."""
from . import amp  # noqa: F401
