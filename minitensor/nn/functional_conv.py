"""nn.functional: convolution, pooling, padding, batch norm, one_hot (re-exported as F.*).

These check and normalise torch's arguments (ints or tuples, 'same'/'valid', ceil_mode,
unbatched inputs) and call the Functions in ops/conv.py, ops/pool.py and ops/norm.py.
"""
import numbers

from .. import amp, dtypes
from ..autograd import no_grad
from ..errors import ShapeError
from ..ops import conv as C
from ..ops import norm as NO
from ..ops import pool as P
from ..tensor import Tensor


def _ntuple(op, name, value, d):
    """An int -> (value,) * d; a tuple/list of d ints as is."""
    if isinstance(value, numbers.Integral):
        return (int(value),) * d
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * d
    if len(value) != d:
        raise ShapeError(f"{op}: {name} must be an int or a tuple of {d} ints, got {value}")
    return value


def _check_input(op, input, d, weight=None):
    """Accept (N, C, *S) or unbatched (C, *S); returns (batched input, was_unbatched)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (d + 1, d + 2):
        raise RuntimeError(f"{op}: expected a {d + 1}-d (unbatched) or {d + 2}-d (batched) input, "
                           f"got shape {input.shape}")
    if weight is not None:
        if input.dtype != weight.dtype:
            raise TypeError(f"{op}: input is {input.dtype} but the weight is {weight.dtype}; "
                            f"convert one with .to() (e.g. model.double() or x.float())")
        if input.device != weight.device:
            raise RuntimeError(f"{op}: input is on {input.device} but the weight is on {weight.device}")
    if input.ndim == d + 1:
        return input.unsqueeze(0), True
    return input, False


# ---------------------------------------------------------------- convolution

def _conv(op, d, input, weight, bias, stride, padding, dilation, groups):
    if amp.on:                                   # autocast: conv1d/conv2d in bf16/fp16
        input, weight, bias = amp.cast(op, input, weight, bias)
    x, unbatched = _check_input(op, input, d, weight)
    if weight.ndim != d + 2:
        raise RuntimeError(f"{op}: expected a {d + 2}-d weight (out_channels, in_channels/groups, "
                           f"*kernel), got shape {weight.shape}")
    stride, dilation = _ntuple(op, 'stride', stride, d), _ntuple(op, 'dilation', dilation, d)
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    kernel = weight.shape[2:]
    c, o_ch = x.shape[1], weight.shape[0]
    if c != weight.shape[1] * groups:
        raise RuntimeError(f"{op}: given groups={groups} and a weight of shape {weight.shape}, "
                           f"expected the input {x.shape} to have {weight.shape[1] * groups} "
                           f"channels, but got {c} channels instead")
    if o_ch % groups:
        raise RuntimeError(f"{op}: out_channels ({o_ch}) must be divisible by groups ({groups})")
    if bias is not None and bias.shape != (o_ch,):
        raise RuntimeError(f"{op}: bias has shape {bias.shape}, expected ({o_ch},)")
    if isinstance(padding, str):
        if padding == 'valid':
            pads = ((0, 0),) * d
        elif padding == 'same':
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride {stride})")
            total = [dl * (k - 1) for dl, k in zip(dilation, kernel)]
            pads = tuple((t // 2, t - t // 2) for t in total)    # the extra one on the right, as torch
        else:
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple, got {padding!r}")
    else:
        pads = tuple((p, p) for p in _ntuple(op, 'padding', padding, d))
        if min(p for p, _ in pads) < 0:
            raise RuntimeError(f"{op}: negative padding {padding} is not supported")
    for i in range(d):
        size = x.shape[2 + i] + sum(pads[i])
        if size < dilation[i] * (kernel[i] - 1) + 1:
            raise RuntimeError(f"{op}: the padded input size along spatial dim {i} is {size}, "
                               f"smaller than the (dilated) kernel size "
                               f"{dilation[i] * (kernel[i] - 1) + 1}; input {x.shape}, weight "
                               f"{weight.shape}, padding {padding}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = C.ConvNd.apply(*inputs, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution of (N, C, L) with weight (O, C/groups, k)."""
    return _conv('conv1d', 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution of (N, C, H, W) with weight (O, C/groups, kH, kW)."""
    return _conv('conv2d', 2, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------- pooling

def _pool_geometry(op, d, x, kernel_size, stride, padding, dilation, ceil_mode, effective):
    """Per-dim kernel, stride, ((lo, hi) pads), dilation and output sizes, as torch computes them."""
    kernel = _ntuple(op, 'kernel_size', kernel_size, d)
    stride = kernel if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) \
        else _ntuple(op, 'stride', stride, d)
    pad = _ntuple(op, 'padding', padding, d)
    dilation = _ntuple(op, 'dilation', dilation, d)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} "
                         f"must be positive")
    pads, out = [], []
    for i in range(d):
        ext = dilation[i] * (kernel[i] - 1) + 1 if effective else kernel[i]
        if not 0 <= pad[i] <= ext // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got "
                               f"pad={pad[i]}, kernel_size={kernel[i]} and dilation={dilation[i]}")
        size = x.shape[x.ndim - d + i]
        span = size + 2 * pad[i] - dilation[i] * (kernel[i] - 1) - 1
        o = (span + (stride[i] - 1 if ceil_mode else 0)) // stride[i] + 1
        if ceil_mode and (o - 1) * stride[i] >= size + pad[i]:
            o -= 1                             # the last window must start inside the input
        if o < 1:
            raise RuntimeError(f"{op}: output size is too small: input {x.shape}, kernel "
                               f"{kernel}, stride {stride}, padding {pad}, dilation {dilation} "
                               f"give {o} along spatial dim {i}")
        need = (o - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
        pads.append((pad[i], max(pad[i], need - size - pad[i])))
        out.append(o)
    return kernel, stride, tuple(pads), dilation, tuple(out)


def _max_pool(op, d, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _check_input(op, input, d)
    if x.dtype.kind != 'f':
        if x.dtype.kind == 'b':
            raise NotImplementedError(f"{op}: not implemented for bool tensors")
        with no_grad():                          # integers: no gradient, as torch; exact via float64
            out = _max_pool(op, d, input.double(), kernel_size, stride, padding, dilation, ceil_mode,
                            return_indices)
        return (out[0].to(x.dtype), out[1]) if return_indices else out.to(x.dtype)
    kernel, stride, pads, dilation, out_shape = _pool_geometry(
        op, d, x, kernel_size, stride, padding, dilation, ceil_mode, effective=True)
    out = P.MaxPoolNd.apply(x, kernel=kernel, stride=stride, padding=pads, dilation=dilation,
                            out_shape=out_shape)
    if not return_indices:
        return out.squeeze(0) if unbatched else out
    fn = P.MaxPoolNd()                           # the winners, from a forward of our own
    fn.forward(x.array, kernel=kernel, stride=stride, padding=pads, dilation=dilation,
               out_shape=out_shape)
    idx = Tensor._wrap(fn.indices())
    return (out.squeeze(0), idx.squeeze(0)) if unbatched else (out, idx)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of the last dim of (N, C, L)."""
    return _max_pool('max_pool1d', 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of the last two dims of (N, C, H, W)."""
    return _max_pool('max_pool2d', 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(op, d, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, unbatched = _check_input(op, input, d)
    if x.dtype.kind != 'f':
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")
    kernel, stride, pads, _, out_shape = _pool_geometry(
        op, d, x, kernel_size, stride, padding, 1, ceil_mode, effective=False)
    xp = x.xp
    if divisor_override:
        divisor = xp.asarray(divisor_override, dtype=x.dtype)
    else:
        # how many cells each window averages, per dim: padded cells count when asked,
        # cells past the padding (ceil mode) never do; the product over dims is the divisor
        divisor = xp.ones(out_shape, dtype=x.dtype)
        for i in range(d):
            size, (lo, _) = x.shape[x.ndim - d + i], pads[i]
            start = xp.arange(out_shape[i]) * stride[i] - lo
            end = xp.minimum(start + kernel[i], size + lo)
            if not count_include_pad:
                start, end = xp.maximum(start, 0), xp.minimum(end, size)
            divisor = divisor * (end - start).astype(x.dtype).reshape((-1,) + (1,) * (d - 1 - i))
    out = P.AvgPoolNd.apply(x, kernel=kernel, stride=stride, padding=pads, out_shape=out_shape,
                            divisor=divisor)
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of the last dim of (N, C, L)."""
    return _avg_pool('avg_pool1d', 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows of the last two dims of (N, C, H, W)."""
    return _avg_pool('avg_pool2d', 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _cat(tensors, dim):
    from ..creation import cat
    return cat(tensors, dim)


def _adaptive_avg_pool(op, d, input, output_size):
    """Separable: averaging over a box is averaging along each dim in turn (cell i of a dim
    averages floor(i*size/out) .. ceil((i+1)*size/out)-1)."""
    x, unbatched = _check_input(op, input, d)
    if x.dtype.kind != 'f':
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")
    sizes = (output_size,) * d if isinstance(output_size, numbers.Integral) or output_size is None \
        else tuple(output_size)
    if len(sizes) != d:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {d}, got {output_size}")
    out = x
    for i in range(d):
        axis = x.ndim - d + i
        size = x.shape[axis]
        o = size if sizes[i] is None else int(sizes[i])
        if o < 0 or (size == 0 and o > 0):
            raise RuntimeError(f"{op}: cannot pool an input of shape {x.shape} to {output_size}")
        if o and size % o == 0:                  # equal, disjoint windows: a reshape and a mean
            k = size // o
            out = out.reshape(out.shape[:axis] + (o, k) + out.shape[axis + 1:]).mean(axis + 1)
        elif o:                                  # window by window, so NaN/inf stay in their windows
            out = _cat([out.narrow(axis, (j * size) // o, -((-(j + 1) * size) // o) - (j * size) // o)
                        .mean(axis, keepdim=True) for j in range(o)], axis)
        else:
            out = out.narrow(axis, 0, 0)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg_pool('adaptive_avg_pool1d', 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg_pool('adaptive_avg_pool2d', 2, input, output_size)


# ---------------------------------------------------------------- padding

_PAD_MODES = {'constant', 'reflect', 'replicate', 'circular'}


def pad(input, pad, mode='constant', value=None):
    """Pad the last len(pad)//2 dims; pad = (last_lo, last_hi, 2nd_last_lo, 2nd_last_hi, ...).

    Negative amounts crop. Modes: constant (with value, default 0), reflect (mirror,
    edge not repeated), replicate (edge repeated), circular (wrap around).
    """
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad: padding length must be even and at most twice the number of dims "
                         f"({input.ndim}), got {len(pad)}: {pad}")
    if mode != 'constant' and value not in (None, 0):
        raise ValueError(f"pad: a padding value is only accepted with mode='constant', got mode={mode!r}")
    pads = []
    for i in range(len(pad) // 2):
        axis, lo, hi = input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        size = input.shape[axis]
        if size + lo + hi < 0 or (mode == 'constant' and (min(lo, 0) + min(hi, 0) < -size)):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) of dim {axis} of an input of shape "
                               f"{input.shape} leaves a negative size")
        if mode == 'reflect' and (max(lo, hi) >= size):
            raise RuntimeError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the size "
                               f"{size} of dim {axis} of the input of shape {input.shape}")
        if mode == 'circular' and max(lo, hi) > size:
            raise RuntimeError(f"pad: circular padding ({lo}, {hi}) must be at most the size {size} "
                               f"of dim {axis} of the input of shape {input.shape}")
        if mode == 'replicate' and size == 0 and (lo > 0 or hi > 0):
            raise RuntimeError(f"pad: replicate padding needs a non-empty dim {axis}, input {input.shape}")
        if lo or hi:
            pads.append((axis, lo, hi))
    if not pads:
        return input
    return P.Pad.apply(input, pads=tuple(pads), mode=mode, value=0 if value is None else value)


# ---------------------------------------------------------------- normalization

def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize (N, C, *) per channel: batch statistics when training (updating the running
    ones in place if given), the running statistics otherwise."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dims (N, C, ...), got "
                         f"shape {input.shape}")
    c = input.shape[1]
    for name, t in (('running_mean', running_mean), ('running_var', running_var),
                    ('weight', weight), ('bias', bias)):
        if t is not None and t.shape != (c,):
            raise RuntimeError(f"batch_norm: {name} has shape {t.shape}, expected ({c},) for an "
                               f"input of shape {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var must be given when not training")
    if training and input.numel() // max(c, 1) <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got "
                         f"input of shape {input.shape}")
    if weight is None and bias is not None:       # the Function takes bias only after a weight
        weight = Tensor._wrap(input.xp.ones(c, dtype=input.dtype))
    inputs = [input] + [t for t in (weight, bias) if t is not None]
    stats = {}
    if training:
        out = NO.BatchNorm.apply(*inputs, eps=eps, stats_out=stats)
        if running_mean is not None and momentum is not None:
            with no_grad():
                m = running_mean.dtype.type(momentum)
                running_mean.array = (1 - m) * running_mean.array + m * stats['mean'].astype(running_mean.dtype)
                running_var.array = (1 - m) * running_var.array + m * stats['var'].astype(running_var.dtype)
        return out
    return NO.BatchNorm.apply(*inputs, running_mean=running_mean.array, running_var=running_var.array,
                              eps=eps)


# ---------------------------------------------------------------- one_hot

def one_hot(tensor, num_classes=-1):
    """(…) int64 class ids -> (…, num_classes) int64 of 0s and 1s; -1 means max + 1."""
    if not isinstance(tensor, Tensor) or tensor.dtype != dtypes.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensors of dtype int64, got "
                           f"{getattr(tensor, 'dtype', type(tensor).__name__)}; use .long()")
    xp = tensor.xp
    t = tensor.array
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("one_hot: can not infer the total number of classes from an empty "
                               "tensor; pass num_classes")
        num_classes = int(t.max()) + 1
    if t.size and int(t.min()) < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(t.min())}")
    if t.size and int(t.max()) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                           f"({num_classes}), got {int(t.max())}")
    return Tensor._wrap((t[..., None] == xp.arange(num_classes)).astype(xp.int64))
