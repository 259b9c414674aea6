"""BatchNorm1d/2d: per-channel normalization with running statistics, as torch."""
from .. import creation, dtypes
from . import functional as F
from .module import Module
from .parameter import Parameter


def init_norm_state(module, num_features, eps, momentum, affine, track_running_stats, device, dtype):
    """What torch's batch and instance norms share (_NormBase): weight (ones) and bias (zeros)
    if affine, else None parameters; running_mean/var and num_batches_tracked buffers if
    track_running_stats, else None buffers (so state_dict keys match torch's)."""
    module.num_features, module.eps, module.momentum = num_features, eps, momentum
    module.affine, module.track_running_stats = affine, track_running_stats
    if affine:
        module.weight = Parameter(creation.ones(num_features, device=device, dtype=dtype))
        module.bias = Parameter(creation.zeros(num_features, device=device, dtype=dtype))
    else:
        module.register_parameter('weight', None)
        module.register_parameter('bias', None)
    if track_running_stats:
        module.register_buffer('running_mean', creation.zeros(num_features, device=device, dtype=dtype))
        module.register_buffer('running_var', creation.ones(num_features, device=device, dtype=dtype))
        module.register_buffer('num_batches_tracked', creation.zeros((), dtype=dtypes.int64, device=device))
    else:
        module.register_buffer('running_mean', None)
        module.register_buffer('running_var', None)
        module.register_buffer('num_batches_tracked', None)


class _BatchNorm(Module):
    """weight (ones) and bias (zeros) if affine; running_mean/var and num_batches_tracked
    buffers if track_running_stats. Training normalizes with the batch's statistics and
    updates the running ones (unbiased variance); eval uses the running ones."""

    _input_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device='cpu', dtype=None):
        super().__init__()
        init_norm_state(self, num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def forward(self, x):
        if x.ndim not in self._input_dims:
            want = ' or '.join(f"{d}D" for d in self._input_dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input (got {x.ndim}D input "
                             f"of shape {x.shape})")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels in "
                             f"dim 1, got input of shape {x.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array = self.num_batches_tracked.array + 1
            if self.momentum is None:        # a cumulative average over all batches seen
                factor = 1.0 / int(self.num_batches_tracked.array)
        use_batch = self.training or not self.track_running_stats
        tracking = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if tracking else None,
                            self.running_var if tracking else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs (statistics over N, or N and L)."""
    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs (statistics over N, H and W)."""
    _input_dims = (4,)
