"""minitensor.nn.parallel: DistributedDataParallel, as torch.nn.parallel."""
from .distributed import DistributedDataParallel
