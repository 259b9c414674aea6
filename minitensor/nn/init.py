"""nn.init: fill parameters in place (under no_grad), as torch.nn.init."""
import math

from .. import random as mt_random
from ..autograd import no_grad


@no_grad()
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    draw = mt_random.standard_normal(tensor.shape, tensor.dtype, tensor.device, generator)
    tensor.array[...] = draw * std + mean
    return tensor


@no_grad()
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    draw = mt_random.uniform(tensor.shape, tensor.dtype, tensor.device, generator)
    tensor.array[...] = a + (b - a) * draw
    return tensor


@no_grad()
def zeros_(tensor):
    tensor.array[...] = 0
    return tensor


@no_grad()
def ones_(tensor):
    tensor.array[...] = 1
    return tensor


@no_grad()
def constant_(tensor, value):
    tensor.array[...] = value
    return tensor


def fan_in(tensor):
    """Inputs per output unit: weight.shape[1] (times the receptive field, if any)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan_in: needs a tensor with at least 2 dims, got shape {tensor.shape}")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive


def kaiming_uniform_(tensor, a=math.sqrt(5), generator=None):
    """U(-bound, bound), bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)).

    With torch's default a = sqrt(5) for nn.Linear this is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    if tensor.numel() == 0:       # nothing to fill (nn.Linear(0, n)); fan_in would be 0
        return tensor
    gain = math.sqrt(2.0 / (1 + a * a))
    bound = gain * math.sqrt(3.0 / fan_in(tensor))
    return uniform_(tensor, -bound, bound, generator)
