"""nn.init: fill parameters in place (under no_grad), as torch.nn.init."""
import math

from .. import random as mt_random
from ..autograd import no_grad


@no_grad()
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    tensor.array[...] = mt_random.standard_normal(tensor.shape, tensor.dtype, tensor.device, generator, mean, std)
    return tensor


@no_grad()
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    tensor.array[...] = mt_random.uniform(tensor.shape, tensor.dtype, tensor.device, generator, a, b)
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


def _calculate_fan_in_and_fan_out(tensor):
    """(inputs, outputs) per unit of a weight: dims 1 and 0, times the receptive field
    (the kernel's size) for convolution weights, as torch computes them."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions, got shape {tuple(tensor.shape)}")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def fan_in(tensor):
    """Inputs per output unit: weight.shape[1] (times the receptive field, if any)."""
    return _calculate_fan_in_and_fan_out(tensor)[0]


def _fan(tensor, mode):
    if mode not in ('fan_in', 'fan_out'):
        raise ValueError(f"init: mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in_, fan_out_ = _calculate_fan_in_and_fan_out(tensor)
    return fan_in_ if mode == 'fan_in' else fan_out_


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance through `nonlinearity` (torch's table)."""
    linear = ('linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d',
              'conv_transpose3d', 'sigmoid')
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == 'tanh':
        return 5.0 / 3
    if nonlinearity == 'relu':
        return math.sqrt(2.0)
    if nonlinearity == 'leaky_relu':
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"init: negative_slope {slope} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == 'selu':
        return 3.0 / 4
    raise ValueError(f"init: unsupported nonlinearity {nonlinearity}")


def kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu', generator=None):
    """U(-bound, bound), bound = gain * sqrt(3 / fan), He et al. 2015.

    nn.Linear and nn.Conv call it with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    if tensor.numel() == 0:       # nothing to fill (nn.Linear(0, n)); the fan would be 0
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu', generator=None):
    """N(0, std^2), std = gain / sqrt(fan), He et al. 2015."""
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)), generator)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)), Glorot & Bengio 2010."""
    fan_in_, fan_out_ = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in_ + fan_out_))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)), Glorot & Bengio 2010."""
    fan_in_, fan_out_ = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in_ + fan_out_)), generator)


@no_grad()
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) restricted to [a, b]: draws outside are drawn again."""
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    xp = tensor.xp
    out = xp.empty(tensor.shape, dtype=tensor.array.dtype)
    todo = xp.ones(tensor.shape, dtype=bool)
    for _ in range(1000):                     # each round keeps most draws: a few rounds suffice
        draw = mt_random.standard_normal(tensor.shape, tensor.dtype, tensor.device, generator) * std + mean
        ok = todo & (draw >= a) & (draw <= b)
        out[ok] = draw[ok]
        todo &= ~ok
        if not bool(todo.any()):
            break
    else:
        raise ValueError(f"trunc_normal_: [{a}, {b}] holds almost none of N({mean}, {std}^2)")
    tensor.array[...] = out
    return tensor


@no_grad()
def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix (rows or columns orthonormal), Saxe et al. 2013."""
    if tensor.ndim < 2:
        raise ValueError("orthogonal_: only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    xp = tensor.xp
    flat = mt_random.standard_normal((rows, cols), tensor.dtype, tensor.device, generator)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diagonal(r))           # a unique, uniformly distributed Q
    if rows < cols:
        q = q.T
    tensor.array[...] = (gain * q).reshape(tensor.shape)
    return tensor


@no_grad()
def eye_(tensor):
    """The identity matrix (2-D tensors)."""
    if tensor.ndim != 2:
        raise ValueError("eye_: only tensors with 2 dimensions are supported")
    tensor.array[...] = tensor.xp.eye(*tensor.shape, dtype=tensor.array.dtype)
    return tensor


def normal(tensor, mean=0.0, std=1.0):
    """Deprecated torch name of normal_."""
    return normal_(tensor, mean, std)


def uniform(tensor, a=0.0, b=1.0):
    """Deprecated torch name of uniform_."""
    return uniform_(tensor, a, b)
