"""Composite ops that are single Functions for stability and speed.

Each has a closed-form backward instead of a chain of primitive ops:
softmax, log_softmax, cross_entropy (fused), layer_norm, dropout.
"""
from ..autograd import Function
from ..backend import xp_of


def stable_shift(x, axis):
    """max over `axis` (keepdims), with -inf (a fully masked row) replaced by 0.

    Subtracting the max keeps exp() from overflowing; replacing a -inf max keeps a
    row of all -inf from turning into (-inf) - (-inf) = NaN.
    """
    xp = xp_of(x)
    m = x.max(axis=axis, keepdims=True)
    return xp.where(xp.isfinite(m), m, m.dtype.type(0))


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)); a fully -inf row gives all zeros."""

    def forward(self, x, dim=-1):
        xp = xp_of(x)
        self.dim = dim
        y = x - stable_shift(x, dim)            # a fresh array: the rest works in place
        xp.exp(y, out=y)
        s = y.sum(axis=dim, keepdims=True)
        y /= xp.where(s > 0, s, s.dtype.type(1))   # 0/1 = 0 for a masked row
        self.save_for_backward(y)
        return y

    def backward(self, g):                       # dx = y * (g - sum(g * y))
        (y,) = self.saved
        gy = g * y
        dx = gy - y * gy.sum(axis=self.dim, keepdims=True)   # = y*g - y*sum(g*y)
        return dx


class LogSoftmax(Function):
    """y = x - logsumexp(x), computed without ever taking log of a softmax output.

    A fully -inf row gives -inf everywhere (log of the zeros softmax gives) and a
    zero gradient, never NaN.
    """

    def forward(self, x, dim=-1):
        xp = xp_of(x)
        self.dim = dim
        shifted = x - stable_shift(x, dim)
        s = xp.exp(shifted).sum(axis=dim, keepdims=True)
        # s == 0 only in a fully masked row, whose shifted values are all -inf already:
        # log(1) there keeps them -inf without a log(0) warning or a -inf - (-inf) NaN
        y = shifted - xp.log(xp.where(s > 0, s, s.dtype.type(1)))
        self.save_for_backward(y)
        return y

    def backward(self, g):                       # dx = g - softmax(x) * sum(g)
        (y,) = self.saved
        xp = xp_of(y)
        p = xp.exp(y)                            # softmax; exactly 0 in a masked row
        dx = g - p * g.sum(axis=self.dim, keepdims=True)
        return xp.where(xp.isneginf(y), g.dtype.type(0), dx)


class CrossEntropy(Function):
    """Fused log_softmax + negative log-likelihood over (N, C) logits and (N,) targets.

    loss_i = logsumexp(x_i) - [(1 - eps) x_i[t_i] + eps * mean_j x_ij]
    dloss_i/dx_i = softmax(x_i) - q_i,  q_i = (1 - eps) onehot(t_i) + eps / C
    Rows whose target is ignore_index contribute nothing; 'mean' divides by the
    number of rows that are not ignored (NaN if all are, as torch).
    """

    def forward(self, logits, target=None, ignore_index=-100, reduction='mean',
                label_smoothing=0.0):
        xp = xp_of(logits)
        n, c = logits.shape
        self.reduction, self.eps = reduction, label_smoothing
        keep = target != ignore_index                              # (N,)
        safe_target = xp.where(keep, target, 0)
        shifted = logits - logits.max(axis=1, keepdims=True)       # (N, C)
        e = xp.exp(shifted)
        sum_e = e.sum(axis=1, keepdims=True)                       # (N, 1)
        lse = xp.log(sum_e)[:, 0]                                  # (N,)
        picked = xp.take_along_axis(shifted, safe_target[:, None], axis=1)[:, 0]
        loss = lse - picked                                        # -log p[target]
        if label_smoothing:
            loss = (1 - label_smoothing) * loss + label_smoothing * (lse - shifted.mean(axis=1))
        loss = xp.where(keep, loss, loss.dtype.type(0))
        self.n_kept = keep.sum()
        self.save_for_backward(e / sum_e, safe_target, keep)       # softmax probs
        if reduction == 'none':
            return loss
        if reduction == 'sum':
            return xp.asarray(loss.sum())
        n_kept = self.n_kept.astype(loss.dtype)
        return xp.where(n_kept > 0, loss.sum() / xp.maximum(n_kept, 1), xp.nan).astype(loss.dtype)

    def backward(self, g):
        probs, target, keep = self.saved
        xp = xp_of(probs)
        n, c = probs.shape
        grad = probs.copy()                                        # softmax - q
        if self.eps:
            grad -= self.eps / c
        grad[xp.arange(n), target] -= 1 - self.eps
        if self.reduction == 'none':
            scale = g[:, None] * keep[:, None]
        elif self.reduction == 'sum':
            scale = g * keep[:, None]
        else:
            scale = (g / xp.maximum(self.n_kept, 1).astype(g.dtype)) * keep[:, None]
        return (grad * scale).astype(probs.dtype, copy=False)


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last `n` axes.

    With xhat = (x - mean) * rstd and dxhat = g * weight, the closed form is
    dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
    """

    def forward(self, x, weight=None, bias=None, n_axes=1, eps=1e-5):
        xp = xp_of(x)
        axes = tuple(range(x.ndim - n_axes, x.ndim))
        self.axes, self.has_weight, self.has_bias = axes, weight is not None, bias is not None
        xhat = x - x.mean(axis=axes, keepdims=True)         # centered; fresh, so in place below
        var = (xhat * xhat).mean(axis=axes, keepdims=True)
        rstd = 1 / xp.sqrt(var + eps)                       # (..., 1)
        xhat *= rstd
        self.save_for_backward(xhat, rstd, weight)
        out = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        xhat, rstd, weight = self.saved
        axes = self.axes
        lead = tuple(range(g.ndim - len(axes)))            # the batch axes
        dxhat = g * weight if weight is not None else g
        dx = xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)   # built in place, one buffer
        xp_of(g).subtract(dxhat, dx, out=dx)
        dx -= dxhat.mean(axis=axes, keepdims=True)
        dx *= rstd
        dw = (g * xhat).sum(axis=lead) if self.has_weight else None
        db = g.sum(axis=lead) if self.has_bias else None
        return (dx,) + ((dw,) if self.has_weight else ()) + ((db,) if self.has_bias else ())


class Dropout(Function):
    """Zero each element with probability p and scale the rest by 1/(1-p)."""

    def forward(self, x, mask=None):
        self.save_for_backward(mask)                         # mask already holds 0 or 1/(1-p)
        return x * mask

    def backward(self, g):
        (mask,) = self.saved
        return g * mask
