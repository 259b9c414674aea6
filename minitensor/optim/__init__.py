"""minitensor.optim: optimizers, learning-rate schedules and gradient clipping (torch names)."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .more import Adadelta, Adamax, NAdam, RAdam, Rprop
from .lr_scheduler import CosineWarmupLR, LambdaLR, LRScheduler, get_cosine_schedule
from .optimizer import Optimizer
from .rmsprop import Adagrad, RMSprop
from .sgd import SGD
