"""minitensor.nn: modules, layers, functional (F), init and utils, as torch.nn."""
from . import functional, init, utils
from .layers import (GELU, CrossEntropyLoss, Dropout, Embedding, Identity, LayerNorm, Linear,
                     ModuleList, MSELoss, ReLU, Sequential, Sigmoid, Softmax, Tanh)
from .module import Module
from .parameter import Parameter
from . import parallel  # noqa: E402  (needs Module)
