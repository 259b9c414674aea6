"""nn.functional beyond the core (re-exported as F.*): shrink activations and rrelu,
transposed and 3-d convolutions, more pooling, interpolate/upsample, pixel shuffles,
unfold/fold, distances, group/instance/RMS/local-response norms, channel dropouts and
the remaining losses.

All are compositions of differentiable ops (their gradients come from the pieces), as
torch writes most of them in Python; each says which pieces.
"""
import math
import numbers

import numpy as np

from .. import creation
from ..autograd import no_grad
from ..tensor import Tensor
from .functional_conv import (_adaptive_avg_pool, _avg_pool, _check_input, _conv, _max_pool, _ntuple,
                              avg_pool1d, avg_pool2d, pad)
from .functional_loss import _reduce, _reduction

__all__ = [
    'hardshrink', 'softshrink', 'rrelu', 'softmin', 'gumbel_softmax', 'relu_', 'elu_',
    'leaky_relu_', 'hardtanh_', 'threshold_', 'rrelu_', 'conv3d', 'conv_transpose1d',
    'conv_transpose2d', 'conv_transpose3d', 'max_pool3d', 'avg_pool3d', 'adaptive_avg_pool3d',
    'adaptive_max_pool1d', 'adaptive_max_pool2d', 'lp_pool1d', 'lp_pool2d', 'max_unpool1d',
    'max_unpool2d', 'max_unpool3d', 'interpolate', 'upsample', 'upsample_nearest',
    'upsample_bilinear', 'pixel_shuffle', 'pixel_unshuffle', 'channel_shuffle', 'unfold', 'fold',
    'pairwise_distance', 'pdist', 'bilinear', 'group_norm', 'instance_norm', 'rms_norm',
    'local_response_norm', 'dropout1d', 'dropout2d', 'dropout3d', 'alpha_dropout',
    'feature_alpha_dropout', 'margin_ranking_loss', 'hinge_embedding_loss', 'soft_margin_loss',
    'multilabel_soft_margin_loss', 'cosine_embedding_loss', 'triplet_margin_loss',
    'triplet_margin_with_distance_loss', 'poisson_nll_loss', 'gaussian_nll_loss',
    'multi_margin_loss',
]

# ---------------------------------------------------------------- activations


def _float_input(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind != 'f':
        raise TypeError(f"{op}: expected a floating point tensor, got {input.dtype}; convert with .float()")
    return input


def hardshrink(input, lambd=0.5):
    """input where |input| > lambd, else 0 (NaN passes through)."""
    return _float_input('hardshrink', input).hardshrink(lambd)


def softshrink(input, lambd=0.5):
    """input - lambd above lambd, input + lambd below -lambd, 0 between: input - clamp(input)."""
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}")
    x = _float_input('softshrink', input)
    return x - x.clamp(-lambd, lambd)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element when
    training, and is (lower + upper) / 2 otherwise."""
    x = _float_input('rrelu', input)
    if training:
        slope = creation.rand(x.shape, dtype=x.dtype, device=x.device) * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2
    out = creation.where(x > 0, x, x * slope)    # the slope is the derivative at 0 too, as torch
    if inplace:
        from .. import inplace as inplace_ops
        return inplace_ops.commit(input, out, 'rrelu_')
    return out


def softmin(input, dim=None, dtype=None):
    """softmax(-input)."""
    x = input if dtype is None else input.to(dtype)
    return (-x).softmax(-1 if dim is None else dim)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + Gumbel noise) / tau); hard: one-hot of the argmax in the forward, the
    soft sample's gradient in the backward (straight-through)."""
    u = creation.rand(logits.shape, dtype=logits.dtype, device=logits.device)
    gumbels = -(-(u.clamp(min=1e-20)).log()).log()
    y = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y
    index = y.argmax(dim, keepdim=True)
    one = creation.zeros_like(y).scatter(dim, index, 1.0)
    return one - y.detach() + y


def relu_(input):
    return input.relu_()


def elu_(input, alpha=1.0):
    from .functional import elu
    return elu(input, alpha, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    from .functional import leaky_relu
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    from .functional import hardtanh
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold, value):
    from .functional import threshold as threshold_fn
    return threshold_fn(input, threshold, value, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


# ---------------------------------------------------------------- convolution

def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution of (N, C, D, H, W) with weight (O, C/groups, kD, kH, kW)."""
    return _conv('conv3d', 3, input, weight, bias, stride, padding, dilation, groups)


def _spread(x, axis, stride):
    """Insert stride - 1 zeros between the elements of x along axis (n -> (n-1)*stride + 1)."""
    n = x.shape[axis]
    if stride == 1 or n == 0:
        return x
    zeros_shape = x.shape[:axis + 1] + (stride - 1,) + x.shape[axis + 1:]
    z = creation.zeros(zeros_shape, dtype=x.dtype, device=x.device)
    y = creation.cat([x.unsqueeze(axis + 1), z], axis + 1)                 # (..., n, stride, ...)
    y = y.reshape(x.shape[:axis] + (n * stride,) + x.shape[axis + 1:])
    return y.narrow(axis, 0, (n - 1) * stride + 1)


def _conv_transpose(op, d, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """The gradient of a convolution w.r.t. its input, as an op: spread the input by the
    stride, pad by dilation*(k-1) - padding (+ output_padding on the high side), and convolve
    with the kernel flipped and its in/out channels swapped per group."""
    x, unbatched = _check_input(op, input, d, weight)
    if weight.ndim != d + 2:
        raise RuntimeError(f"{op}: expected a {d + 2}-d weight (in_channels, out_channels/groups, "
                           f"*kernel), got shape {weight.shape}")
    stride = _ntuple(op, 'stride', stride, d)
    pad_in = _ntuple(op, 'padding', padding, d)
    out_pad = _ntuple(op, 'output_padding', output_padding, d)
    dilation = _ntuple(op, 'dilation', dilation, d)
    if min(stride) < 1 or min(dilation) < 1 or min(pad_in) < 0:
        raise RuntimeError(f"{op}: stride {stride} and dilation {dilation} must be positive and "
                           f"padding {pad_in} non-negative")
    for s, dl, o in zip(stride, dilation, out_pad):
        if not 0 <= o < max(s, dl):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, "
                               f"but got output_padding={out_pad}, stride={stride}, dilation={dilation}")
    c_in, c_out_g = weight.shape[0], weight.shape[1]
    if not isinstance(groups, numbers.Integral) or groups < 1 or c_in % groups:
        raise RuntimeError(f"{op}: in_channels ({c_in}) must be divisible by groups ({groups})")
    if x.shape[1] != c_in:
        raise RuntimeError(f"{op}: given a weight of shape {weight.shape}, expected the input "
                           f"{x.shape} to have {c_in} channels, but got {x.shape[1]} channels instead")
    kernel = weight.shape[2:]
    if bias is not None and bias.shape != (c_out_g * groups,):
        raise RuntimeError(f"{op}: bias has shape {bias.shape}, expected ({c_out_g * groups},)")
    for i in range(d):
        x = _spread(x, 2 + i, stride[i])
    amounts = []
    for i in reversed(range(d)):                 # F.pad lists the last dim first
        edge = dilation[i] * (kernel[i] - 1) - pad_in[i]
        amounts += [edge, edge + out_pad[i]]
    x = pad(x, tuple(amounts))
    w = weight.reshape((groups, c_in // groups, c_out_g) + kernel).transpose(1, 2)
    w = w.reshape((groups * c_out_g, c_in // groups) + kernel).flip(tuple(range(2, 2 + d)))
    out = _conv(op, d, x, w, bias, 1, 0, dilation, groups)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-d convolution of (N, C_in, L) with weight (C_in, C_out/groups, k)."""
    return _conv_transpose('conv_transpose1d', 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-d convolution of (N, C_in, H, W) with weight (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose('conv_transpose2d', 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 3-d convolution of (N, C_in, D, H, W) with weight (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transpose('conv_transpose3d', 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


# ---------------------------------------------------------------- pooling

def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of the last three dims of (N, C, D, H, W)."""
    return _max_pool('max_pool3d', 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows of the last three dims of (N, C, D, H, W)."""
    return _avg_pool('avg_pool3d', 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def adaptive_avg_pool3d(input, output_size):
    return _adaptive_avg_pool('adaptive_avg_pool3d', 3, input, output_size)


def _adaptive_max_pool(op, d, input, output_size, return_indices):
    """Max over torch's adaptive windows, one dim at a time (a box's max is separable)."""
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported")
    x, unbatched = _check_input(op, input, d)
    sizes = (output_size,) * d if isinstance(output_size, numbers.Integral) or output_size is None \
        else tuple(output_size)
    if len(sizes) != d:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {d}, got {output_size}")
    out = x
    for i in range(d):
        axis = x.ndim - d + i
        size = x.shape[axis]
        o = size if sizes[i] is None else int(sizes[i])
        if size == 0 or o <= 0:
            raise RuntimeError(f"{op}: cannot pool an input of shape {x.shape} to {output_size}")
        pieces = [out.narrow(axis, (j * size) // o, -((-(j + 1) * size) // o) - (j * size) // o)
                  .amax(axis, keepdim=True) for j in range(o)]
        out = creation.cat(pieces, axis)
    return out.squeeze(0) if unbatched else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max_pool('adaptive_max_pool1d', 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max_pool('adaptive_max_pool2d', 2, input, output_size, return_indices)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p), as torch: from avg_pool1d of x^p."""
    k = _ntuple('lp_pool1d', 'kernel_size', kernel_size, 1)[0]
    out = avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu() * k).pow(1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p), as torch: from avg_pool2d of x^p."""
    kh, kw = _ntuple('lp_pool2d', 'kernel_size', kernel_size, 2)
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu() * (kh * kw)).pow(1.0 / norm_type)


def _max_unpool(op, d, input, indices, kernel_size, stride, padding, output_size):
    """Scatter each pooled value back to the flat position its index names; zeros elsewhere."""
    x, unbatched = _check_input(op, input, d)
    if indices.shape != input.shape:
        raise RuntimeError(f"{op}: expected indices of shape {input.shape}, got {indices.shape}")
    idx = indices.unsqueeze(0) if unbatched else indices
    kernel = _ntuple(op, 'kernel_size', kernel_size, d)
    stride = kernel if stride is None else _ntuple(op, 'stride', stride, d)
    padding = _ntuple(op, 'padding', padding, d)
    if output_size is None:
        spatial = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + kernel[i] for i in range(d))
    else:
        spatial = tuple(int(s) for s in tuple(output_size)[-d:])
    n, c = x.shape[:2]
    total = int(np.prod(spatial))
    flat_idx = idx.reshape(n, c, -1)
    if flat_idx.numel() and (int(flat_idx.min()) < 0 or int(flat_idx.max()) >= total):
        raise RuntimeError(f"{op}: found an invalid max index {int(flat_idx.max())} for an output "
                           f"of size {spatial}")
    out = creation.zeros((n, c, total), dtype=x.dtype, device=x.device)
    out = out.scatter(2, flat_idx, x.reshape(n, c, -1)).reshape((n, c) + spatial)
    return out.squeeze(0) if unbatched else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool('max_unpool1d', 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool('max_unpool2d', 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool('max_unpool3d', 3, input, indices, kernel_size, stride, padding, output_size)


# ---------------------------------------------------------------- interpolate / upsample

_LINEAR_MODES = {'linear': 1, 'bilinear': 2, 'trilinear': 3, 'bicubic': 2}
_MODES = ('nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area')
_CUBIC_A = -0.75                                 # torch's (Keys') cubic convolution parameter


def _output_sizes(op, x, d, size, scale_factor):
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size or scale_factor must be given")
    if size is not None:
        sizes = (size,) * d if isinstance(size, numbers.Integral) else tuple(size)
        if len(sizes) != d:
            raise ValueError(f"{op}: size {size} must have {d} elements for a {x.ndim}-d input "
                             f"(N, C and {d} spatial dims)")
        return tuple(int(s) for s in sizes), (None,) * d
    scales = (scale_factor,) * d if isinstance(scale_factor, numbers.Number) else tuple(scale_factor)
    if len(scales) != d:
        raise ValueError(f"{op}: scale_factor {scale_factor} must have {d} elements")
    return tuple(int(math.floor(x.shape[2 + i] * float(s))) for i, s in enumerate(scales)), scales


def _nearest_source(xp, n_in, n_out, scale, exact):
    """torch's nearest (floor(dst * scale)) or nearest-exact (floor((dst + .5) * scale)) sources,
    computed in float32 as torch does (so boundary cases round as torch's)."""
    s = np.float32(1.0 / scale) if scale is not None else np.float32(n_in) / np.float32(n_out)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor(((dst + np.float32(0.5)) if exact else dst) * s).astype(np.int64)
    return xp.asarray(np.minimum(src, n_in - 1))


def _linear_weights(n_in, n_out, scale, align_corners, dtype):
    """(i0, i1, w0, w1) along one dim: out[j] = w0[j] x[i0[j]] + w1[j] x[i1[j]] (torch's
    area_pixel_compute_source_index, in the input's float type)."""
    ft = np.float32 if dtype == np.float32 else np.float64
    dst = np.arange(n_out, dtype=ft)
    if align_corners:
        s = ft((n_in - 1) / (n_out - 1)) if n_out > 1 else ft(0)
        src = dst * s
    else:
        s = ft(1.0 / scale) if scale is not None else ft(n_in) / ft(n_out)
        src = np.maximum((dst + ft(0.5)) * s - ft(0.5), ft(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(ft)
    return i0, i1, (ft(1) - w1).astype(ft), w1


def _cubic_weights(n_in, n_out, scale, align_corners, dtype):
    """(taps (4, n_out), weights (4, n_out)): torch's bicubic along one dim, the source index
    unclamped below 0 and each tap clamped into the input."""
    ft = np.float32 if dtype == np.float32 else np.float64
    dst = np.arange(n_out, dtype=ft)
    if align_corners:
        s = ft((n_in - 1) / (n_out - 1)) if n_out > 1 else ft(0)
        src = dst * s
    else:
        s = ft(1.0 / scale) if scale is not None else ft(n_in) / ft(n_out)
        src = (dst + ft(0.5)) * s - ft(0.5)
    base = np.floor(src)
    t = (src - base).astype(ft)
    a = ft(_CUBIC_A)

    def near(x):                                 # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):                                  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    weights = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)]).astype(ft)
    taps = np.clip(base.astype(np.int64)[None, :] + np.arange(-1, 3)[:, None], 0, n_in - 1)
    return taps, weights


def interpolate(input, size=None, scale_factor=None, mode='nearest', align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial): nearest, nearest-exact, (bi/tri)linear
    (separable: two taps per dim, index_select + weights) or area (adaptive average pool)."""
    op = 'interpolate'
    if mode not in _MODES:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; use one of {_MODES}")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    d = input.ndim - 2
    if d < 1:
        raise ValueError(f"{op}: expected an input (N, C, *spatial) of at least 3 dims, got {input.shape}")
    if mode in _LINEAR_MODES and _LINEAR_MODES[mode] != d:
        raise NotImplementedError(f"{op}: mode {mode!r} needs a {_LINEAR_MODES[mode] + 2}-d input, got "
                                  f"{input.ndim}-d {tuple(input.shape)}")
    if align_corners is not None and mode not in _LINEAR_MODES:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: "
                         f"linear | bilinear | bicubic | trilinear")
    sizes, scales = _output_sizes(op, input, d, size, scale_factor)
    if recompute_scale_factor:
        scales = (None,) * d
    if mode == 'area':
        return _adaptive_avg_pool(op, d, input, sizes)
    x = input
    xp = x.xp
    for i in range(d):
        axis = 2 + i
        n_in, n_out = x.shape[axis], sizes[i]
        if n_out < 1 or n_in < 1:
            raise RuntimeError(f"{op}: input {tuple(input.shape)} and output {sizes} sizes should be "
                               f"greater than 0")
        if mode in ('nearest', 'nearest-exact'):
            x = x.index_select(axis, Tensor._wrap(_nearest_source(xp, n_in, n_out, scales[i],
                                                                 mode == 'nearest-exact')))
            continue
        if x.dtype.kind != 'f':
            raise NotImplementedError(f"{op}: mode {mode!r} needs a floating point input, got {x.dtype}")
        shape = (n_out,) + (1,) * (x.ndim - axis - 1)
        if mode == 'bicubic':
            taps, weights = _cubic_weights(n_in, n_out, scales[i], bool(align_corners), x.dtype)
            x = sum(x.index_select(axis, Tensor._wrap(xp.asarray(taps[k])))
                    * Tensor._wrap(xp.asarray(weights[k].reshape(shape).astype(x.dtype))) for k in range(4))
            continue
        i0, i1, w0, w1 = _linear_weights(n_in, n_out, scales[i], bool(align_corners), x.dtype)
        w0 = Tensor._wrap(xp.asarray(w0.reshape(shape).astype(x.dtype)))
        w1 = Tensor._wrap(xp.asarray(w1.reshape(shape).astype(x.dtype)))
        x = (x.index_select(axis, Tensor._wrap(xp.asarray(i0))) * w0
             + x.index_select(axis, Tensor._wrap(xp.asarray(i1))) * w1)
    return x


def upsample(input, size=None, scale_factor=None, mode='nearest', align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode='nearest')


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)


# ---------------------------------------------------------------- rearrangements

def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle: expected an input of at least 3 dims whose channel dim "
                           f"(-3) is divisible by upscale_factor^2 = {r * r}, got {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    x = x.permute(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    if input.ndim < 3 or input.shape[-1] % r or input.shape[-2] % r:
        raise RuntimeError(f"pixel_unshuffle: expected an input of at least 3 dims whose height and "
                           f"width are divisible by downscale_factor = {r}, got {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    x = x.permute(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, C, *) with C = g k -> channels reordered as (k, g) instead of (g, k)."""
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"channel_shuffle: number of channels ({c}) must be divisible by groups ({groups})")
    rest = input.shape[2:]
    return input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C kh kw, L), the kh kw values of each sliding block as a
    column (C outermost, then kernel row, then kernel column; blocks in row-major order)."""
    op = 'unfold'
    x, unbatched = _check_input(op, input, 2)
    kh, kw = _ntuple(op, 'kernel_size', kernel_size, 2)
    dh, dw = _ntuple(op, 'dilation', dilation, 2)
    ph, pw = _ntuple(op, 'padding', padding, 2)
    sh, sw = _ntuple(op, 'stride', stride, 2)
    x = pad(x, (pw, pw, ph, ph))
    n, c, h, w = x.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise RuntimeError(f"{op}: the padded input {(h, w)} is smaller than the dilated kernel "
                           f"{(dh * (kh - 1) + 1, dw * (kw - 1) + 1)}")
    blocks = [x[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
              for i in range(kh) for j in range(kw)]
    out = creation.stack(blocks, 2).reshape(n, c * kh * kw, oh * ow)     # (N, C, kh kw, oh, ow)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, the adjoint of unfold: (N, C kh kw, L) -> (N, C, H, W), overlapping values summed."""
    op = 'fold'
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    H, W = _ntuple(op, 'output_size', output_size, 2)
    kh, kw = _ntuple(op, 'kernel_size', kernel_size, 2)
    dh, dw = _ntuple(op, 'dilation', dilation, 2)
    ph, pw = _ntuple(op, 'padding', padding, 2)
    sh, sw = _ntuple(op, 'stride', stride, 2)
    n, ckk, L = x.shape
    hp, wp = H + 2 * ph, W + 2 * pw
    oh, ow = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    if ckk % (kh * kw) or oh * ow != L:
        raise RuntimeError(f"{op}: expected an input (N, C*{kh * kw}, {oh * ow}) for output_size "
                           f"{(H, W)}, got {tuple(input.shape)}")
    c = ckk // (kh * kw)
    cols = x.reshape(n, c, kh * kw, oh, ow)
    total = None
    for i in range(kh):
        for j in range(kw):
            block = _spread(_spread(cols[:, :, i * kw + j], 2, sh), 3, sw)   # (N, C, sh(oh-1)+1, ...)
            top, left = i * dh, j * dw
            placed = pad(block, (left, wp - left - block.shape[3], top, hp - top - block.shape[2]))
            total = placed if total is None else total + placed
    out = total[:, :, ph: ph + H, pw: pw + W]
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------- distances

def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim."""
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


def pdist(input, p=2):
    """The p-norm distances between the rows of an (N, M) input, for i < j (N(N-1)/2 of them)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    rows = creation.triu_indices(n, n, 1, device=input.device)
    return (input.index_select(0, rows[0]) - input.index_select(0, rows[1])).norm(p, dim=-1)


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    o, i, j = weight.shape
    if input1.shape[-1] != i or input2.shape[-1] != j:
        raise RuntimeError(f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} "
                           f"do not match the weight {tuple(weight.shape)} (last dims {i} and {j})")
    t = input1 @ weight.permute(1, 0, 2).reshape(i, o * j)                 # (..., o j)
    y = (t.reshape(t.shape[:-1] + (o, j)) * input2.unsqueeze(-2)).sum(-1)  # (..., o)
    return y if bias is None else y + bias


# ---------------------------------------------------------------- normalization

def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, *) over each group of C / num_groups channels and all spatial dims."""
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"group_norm: expected the number of channels ({c}) to be divisible by "
                           f"num_groups ({num_groups}), input {tuple(input.shape)}")
    x = input.reshape(n, num_groups, -1)
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, correction=0)
    y = ((x - mean) / (var + eps).sqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) of (N, C, *) over its spatial dims."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input (N, C, *spatial), got {tuple(input.shape)}")
    n, c = input.shape[:2]
    axes = tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if use_input_stats:
        mean = input.mean(axes, keepdim=True)
        var = input.var(axes, keepdim=True, correction=0)
        if running_mean is not None:
            with no_grad():
                count = int(np.prod(input.shape[2:]))
                m = momentum
                running_mean.copy_((1 - m) * running_mean + m * mean.reshape(n, c).mean(0))
                unbiased = var.reshape(n, c).mean(0) * (count / max(count - 1, 1))
                running_var.copy_((1 - m) * running_var + m * unbiased)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    y = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """input / sqrt(mean(input^2 over the last len(normalized_shape) dims) + eps) * weight;
    eps defaults to the dtype's machine epsilon, as torch."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    k = len(tuple(normalized_shape))
    if tuple(input.shape[input.ndim - k:]) != tuple(normalized_shape):
        raise RuntimeError(f"rms_norm: normalized_shape {tuple(normalized_shape)} does not match the "
                           f"last dims of the input {tuple(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    axes = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """input / (k + alpha * mean of squares over `size` neighbouring channels) ^ beta (torch's
    formula: an average pool over the channel dim of the padded squares)."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher input, got {tuple(input.shape)}")
    if input.numel() == 0:
        return input
    div = (input * input).unsqueeze(1)
    if input.ndim == 3:
        div = pad(div, (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.shape
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1)
        div = div.reshape(sizes)
    return input / (div * alpha + k).pow(beta)


# ---------------------------------------------------------------- dropout variants

def _check_p(op, p):
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _feature_dropout(op, input, p, training, min_dims):
    _check_p(op, p)
    if not training or p == 0:
        return input
    if input.ndim < min_dims:
        raise RuntimeError(f"{op}: expected an input of at least {min_dims} dims, got {tuple(input.shape)}")
    if p == 1:
        return input * 0.0
    keep_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    keep = (creation.rand(keep_shape, device=input.device) >= p).to(input.dtype)
    return input * keep / (1 - p)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) with probability p."""
    return _feature_dropout('dropout1d', input, p, training, 2)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) with probability p."""
    return _feature_dropout('dropout2d', input, p, training, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) with probability p."""
    return _feature_dropout('dropout3d', input, p, training, 2)


_SELU_ALPHA_PRIME = 1.7580993408473766


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's mean and variance: dropped values go to -alpha', then an
    affine map restores the statistics (torch's constants)."""
    _check_p('alpha_dropout', p)
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    keep = (creation.rand(input.shape, device=input.device) >= p).to(input.dtype)
    a = 1 / math.sqrt((_SELU_ALPHA_PRIME ** 2 * p + 1) * (1 - p))
    b = (keep - 1) * (_SELU_ALPHA_PRIME * a) + _SELU_ALPHA_PRIME * a * p
    return input * (keep * a) + b


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p('feature_alpha_dropout', p)
    if not training or p == 0:
        return input
    keep_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    keep = (creation.rand(keep_shape, device=input.device) >= p).to(input.dtype)
    a = 1 / math.sqrt((_SELU_ALPHA_PRIME ** 2 * p + 1) * (1 - p))
    b = (keep - 1) * (_SELU_ALPHA_PRIME * a) + _SELU_ALPHA_PRIME * a * p
    return input * (keep * a) + b


# ---------------------------------------------------------------- losses

def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction='mean'):
    """max(0, -target (input1 - input2) + margin)."""
    reduction = _reduction('margin_ranking_loss', reduction, size_average, reduce)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction='mean'):
    """input where target == 1, max(0, margin - input) where target == -1."""
    reduction = _reduction('hinge_embedding_loss', reduction, size_average, reduce)
    zero = creation.zeros_like(input)
    margin_clamp = (margin - input).clamp(min=0)
    out = creation.where(target != 1, margin_clamp, zero) + creation.where(target != -1, input, zero)
    return _reduce(out, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction='mean'):
    """log(1 + exp(-target input))."""
    reduction = _reduction('soft_margin_loss', reduction, size_average, reduce)
    return _reduce((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction='mean'):
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)), averaged over the classes (dim 1)."""
    from .functional import logsigmoid
    reduction = _reduction('multilabel_soft_margin_loss', reduction, size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(dim=input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction='mean'):
    """1 - cos(x1, x2) where target == 1, max(0, cos - margin) where target == -1."""
    reduction = _reduction('cosine_embedding_loss', reduction, size_average, reduce)
    dim = 1 if input1.ndim == 2 else 0
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    zero = creation.zeros_like(cos)
    out = (creation.where(target == 1, 1 - cos, zero)
           + creation.where(target == -1, (cos - margin).clamp(min=0), zero))
    return _reduce(out, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction='mean'):
    """max(d(a, p) - d(a, n) + margin, 0) with d the pairwise p-norm distance."""
    reduction = _reduction('triplet_margin_loss', reduction, size_average, reduce)
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = d_an.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_ap - d_an).clamp(min=0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction='mean'):
    dist = distance_function if distance_function is not None else pairwise_distance
    d_ap, d_an = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_an = d_an.minimum(dist(positive, negative))
    return _reduce((margin + d_ap - d_an).clamp(min=0), _reduction('triplet_margin_with_distance_loss',
                                                                    reduction))


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction='mean'):
    """exp(input) - target input (log_input), else input - target log(input + eps); full adds
    Stirling's approximation of log(target!) where target > 1."""
    reduction = _reduction('poisson_nll_loss', reduction, size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        t = target
        safe = creation.where(t > 1, t, creation.ones_like(t))
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + creation.where(t > 1, stirling, creation.zeros_like(stirling))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction='mean'):
    """0.5 (log var + (input - target)^2 / var) (+ 0.5 log 2 pi); var is clamped to eps
    without stopping its gradient, as torch (an in-place clamp under no_grad)."""
    if isinstance(var, numbers.Number):
        var = creation.full_like(input, float(var))
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size {tuple(var.shape)} for an "
                             f"input of size {tuple(input.shape)}")
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"gaussian_nll_loss: {reduction} is not a valid value for reduction")
    if bool((var.detach() < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    var = var + (var.detach().clamp(min=eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction='mean'):
    """sum over classes i != y of max(0, margin - x[y] + x[i])^p / C (weighted by weight[y])."""
    if p not in (1, 2):
        raise ValueError("multi_margin_loss: only p == 1 and p == 2 supported")
    reduction = _reduction('multi_margin_loss', reduction, size_average, reduce)
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = target.reshape(-1, 1)
    c = x.shape[1]
    picked = x.gather(1, t)                                           # (N, 1)
    z = (margin - picked + x).clamp(min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, t.reshape(-1)).reshape(-1, 1)
    not_target = creation.ones_like(z).scatter(1, t, 0.0)
    loss = (z * not_target).sum(1) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)

