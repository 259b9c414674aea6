"""Batch normalization over (N, C, *) with a closed-form backward.

Training: statistics of the batch over every axis but C (biased variance in the
normalization, as torch). Eval: the running statistics, which are constants.
float16 inputs are normalized in float32 and cast back.
"""
from ..autograd import Function
from ..backend import xp_of
from .precision import float32_math


def _channel(a, ndim):
    """A (C,) array shaped (1, C, 1, ...) to broadcast against (N, C, *)."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


@float32_math
class BatchNorm(Function):
    """y = (x - mean) * rstd * weight + bias, per channel.

    With xhat = (x - mean) * rstd and dxhat = g * weight:
      batch stats:   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
      running stats: dx = rstd * dxhat (mean and rstd are constants)
    dweight = sum(g * xhat), dbias = sum(g), over every axis but C.
    With batch stats, forward puts the batch mean, the unbiased variance and the count
    per channel into the dict `stats_out`, for the caller's running-average update
    (it is filled under no_grad too, when no graph records this op).
    """

    def forward(self, x, weight=None, bias=None, running_mean=None, running_var=None, eps=1e-5,
                stats_out=None):
        xp = xp_of(x)
        self.dtype = x.dtype
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.has_weight, self.has_bias = weight is not None, bias is not None
        self.use_batch = running_mean is None
        xf = x.astype(xp.float32) if x.dtype == xp.float16 else x    # accumulate fp16 in fp32
        if self.use_batch:
            mean = xf.mean(axis=self.axes, keepdims=True)
            xhat = xf - mean                                           # fresh: scaled in place below
            var = (xhat * xhat).mean(axis=self.axes, keepdims=True)    # biased, as torch normalizes
            n = xf.size // xf.shape[1]
            if stats_out is not None:
                stats_out.update(mean=mean.reshape(-1), var=var.reshape(-1) * (n / max(n - 1, 1)))
        else:
            xhat = xf - _channel(running_mean.astype(xf.dtype, copy=False), x.ndim)
            var = _channel(running_var.astype(xf.dtype, copy=False), x.ndim)
        rstd = 1 / xp.sqrt(var + eps)
        xhat *= rstd
        out = xhat * _channel(weight, x.ndim) if weight is not None else xhat.copy()
        if bias is not None:
            out += _channel(bias, x.ndim)
        self.save_for_backward(xhat, rstd, weight)
        return out.astype(x.dtype, copy=False)

    def backward(self, g):
        xp = xp_of(g)
        xhat, rstd, weight = self.saved
        gf = g.astype(xhat.dtype, copy=False)
        dxhat = gf * _channel(weight, g.ndim) if weight is not None else gf
        dx = None
        if self.needs_grad[0]:
            if self.use_batch:
                dx = xhat * (dxhat * xhat).mean(axis=self.axes, keepdims=True)
                xp.subtract(dxhat, dx, out=dx)
                dx -= dxhat.mean(axis=self.axes, keepdims=True)
                dx *= rstd
            else:
                dx = dxhat * rstd
            dx = dx.astype(self.dtype, copy=False)
        grads = (dx,)
        if self.has_weight:
            grads += ((gf * xhat).sum(axis=self.axes).astype(self.dtype, copy=False),)
        if self.has_bias:
            grads += (gf.sum(axis=self.axes).astype(self.dtype, copy=False),)
        return grads
