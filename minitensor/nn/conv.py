"""Convolution and pooling layers (torch's names, defaults and initialisation)."""
import math

from .. import creation
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def _ntuple(value, d):
    return (value,) * d if isinstance(value, int) else tuple(value)


class _ConvNd(Module):
    """Shared by Conv1d/Conv2d: weight (out, in/groups, *k) and bias (out,), init as torch
    (kaiming-uniform with a = sqrt(5), so U(+-1/sqrt(fan_in)), and the bias the same)."""

    _d = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode='zeros', device='cpu', dtype=None):
        super().__init__()
        name, d = type(self).__name__, self._d
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must be divisible by groups ({groups})")
        if padding_mode not in ('zeros', 'reflect', 'replicate', 'circular'):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ('same', 'valid'):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 f"'valid', 'same'")
            if padding == 'same' and any(s != 1 for s in _ntuple(stride, d)):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _ntuple(kernel_size, d), _ntuple(stride, d)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, d)
        self.dilation, self.padding_mode = _ntuple(dilation, d), padding_mode
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(creation.empty(*shape, device=device, dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            fan_in = (in_channels // groups) * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            self.bias = Parameter(creation.empty(out_channels, device=device, dtype=dtype))
            init.uniform_(self.bias, -bound, bound)
        else:
            self.register_parameter('bias', None)

    def _pad_args(self):
        """A non-zeros padding_mode pads with F.pad first, then convolves unpadded (as torch)."""
        if self.padding_mode == 'zeros' or self.padding == 'valid':
            return None
        if self.padding == 'same':
            total = [dl * (k - 1) for dl, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in total]
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(v for lo_hi in reversed(pairs) for v in lo_hi)

    def forward(self, x):
        conv = F.conv1d if self._d == 1 else F.conv2d
        pads = self._pad_args()
        if pads is not None:
            return conv(F.pad(x, pads, mode=self.padding_mode), self.weight, self.bias, self.stride,
                        0, self.dilation, self.groups)
        return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._d:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self._d:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != 'zeros':
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution over (N, C, L) inputs."""
    _d = 1


class Conv2d(_ConvNd):
    """2-d convolution over (N, C, H, W) inputs."""
    _d = 2


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of the last dim."""

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Max over windows of the last two dims."""

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class _AvgPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of the last dim."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of the last two dims."""

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool1d(Module):
    """Mean-pool the last dim to output_size cells."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Mean-pool the last two dims to output_size (an int, or a pair; None keeps a size)."""

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)
