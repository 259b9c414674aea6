"""Composite ops that are single Functions for stability and speed.

Each has a closed-form backward instead of a chain of primitive ops:
softmax, log_softmax, cross_entropy (fused), layer_norm, dropout, and the attention
core causal_softmax. On the GPU several dispatch to fused kernels (minitensor/cuda/):
forward records `self.fused = cuda.fusable(...)` once and backward branches on that
record; the xp code below is their reference.
"""
import numpy as np

from .. import cuda
from ..autograd import Function
from ..backend import is_gpu, quiet_nonfinite, xp_of
from ..random_hash import dropout_keys, keep_mask
from .precision import float32_math


def stable_shift(x, axis):
    """max over `axis` (keepdims), raised to at least the dtype's lowest finite value.

    Subtracting the max keeps exp() from overflowing; raising a -inf max (a fully
    masked row) to a finite value keeps such a row from turning into (-inf) - (-inf) =
    NaN: it stays -inf. A NaN or +inf max stays: such a row comes out NaN, as in torch.
    One maximum on the (..., 1) maxima (not isneginf and where: a third of the calls).
    """
    xp = xp_of(x)
    m = x.max(axis=axis, keepdims=True)
    return xp.maximum(m, np.finfo(m.dtype).min, out=m if m.ndim else None)   # (NumPy's finfo: CuPy's dtypes are NumPy's)


def nonzero_sum(s):
    """s with its zeros (the sums of fully masked rows) replaced by 1, so dividing by
    it or taking its log leaves such a row at 0 / -inf; a NaN sum stays NaN."""
    xp = xp_of(s)
    return xp.where(s == 0, s.dtype.type(1), s)


def _by_blas(a):
    """Row reductions of a as BLAS products with ones: on the CPU, for float32/float64.
    NumPy's reduction over a short last axis is several times slower (0.08 vs 0.015 ms on
    a (12, 4, 64, 64) float32 array); on the GPU a reduction is one kernel, the product
    two (the ones, the GEMV), so the GPU keeps its reductions; small arrays too (the
    calls around the product cost more than the reduction saves)."""
    return a.dtype.kind == 'f' and a.dtype.itemsize >= 4 and a.size >= 4096 and not is_gpu(a)


def sum_last(a):
    """a.sum(axis=-1, keepdims=True)."""
    if not _by_blas(a):
        return a.sum(axis=-1, keepdims=True)
    n = a.shape[-1]
    rows = a.reshape(a.size // n if n else _prod(a.shape[:-1]), n)
    return (rows @ xp_of(a).ones(n, dtype=a.dtype)).reshape(a.shape[:-1] + (1,))


def dot_last(a, b):
    """(a * b).sum(axis=-1, keepdims=True) for same-shaped a and b, without the product array."""
    if not _by_blas(a) or a.shape != b.shape:
        return (a * b).sum(axis=-1, keepdims=True)
    n = a.shape[-1]
    m = a.size // n if n else _prod(a.shape[:-1])
    return xp_of(a).einsum('ij,ij->i', a.reshape(m, n), b.reshape(m, n)).reshape(a.shape[:-1] + (1,))


def sum_rows(a):
    """a.sum(axis=0) of a matrix."""
    if not _by_blas(a):
        return a.sum(axis=0)
    return xp_of(a).ones(a.shape[0], dtype=a.dtype) @ a


def _prod(shape):
    out = 1
    for n in shape:
        out *= n
    return out


@float32_math
class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)).

    A fully -inf row gives all zeros (torch: NaN; our documented policy, so masked
    attention rows stay finite); a row holding NaN or +inf gives NaN, as torch.
    """

    def forward(self, x, dim=-1):
        xp = xp_of(x)
        self.dim = dim
        self.last = dim in (-1, x.ndim - 1)
        with quiet_nonfinite(x):                # inf - inf in a +inf row: NaN is the answer
            y = x - stable_shift(x, dim)        # a fresh array: the rest works in place
            xp.exp(y, out=y)
            s = sum_last(y) if self.last else y.sum(axis=dim, keepdims=True)
            y /= nonzero_sum(s)                 # 0/1 = 0 for a masked row
        self.save_for_backward(y)
        return y

    def backward(self, g):                       # dx = y * (g - sum(g * y))
        (y,) = self.saved
        if self.last:
            dx = g - dot_last(g, y)
            dx *= y
            return dx
        gy = g * y
        dx = gy - y * gy.sum(axis=self.dim, keepdims=True)   # = y*g - y*sum(g*y)
        return dx


@float32_math
class LogSoftmax(Function):
    """y = x - logsumexp(x), computed without ever taking log of a softmax output.

    A fully -inf row gives -inf everywhere (log of the zeros softmax gives) and a
    zero gradient, never NaN (torch: NaN); a row holding NaN or +inf gives NaN, as torch.
    """

    def forward(self, x, dim=-1):
        xp = xp_of(x)
        self.dim = dim
        self.last = dim in (-1, x.ndim - 1)
        with quiet_nonfinite(x):                # inf - inf in a +inf row: NaN is the answer
            shifted = x - stable_shift(x, dim)
            e = xp.exp(shifted)
            s = sum_last(e) if self.last else e.sum(axis=dim, keepdims=True)
            # s == 0 only in a fully masked row, whose shifted values are all -inf already:
            # log(1) there keeps them -inf without a log(0) warning or a -inf - (-inf) NaN
            y = shifted - xp.log(nonzero_sum(s))
        self.save_for_backward(y)
        return y

    def backward(self, g):                       # dx = g - softmax(x) * sum(g)
        (y,) = self.saved
        xp = xp_of(y)
        p = xp.exp(y)                            # softmax; exactly 0 where y is -inf
        dx = g - p * (sum_last(g) if self.last else g.sum(axis=self.dim, keepdims=True))   # = g where y is -inf
        masked_row = xp.isneginf(y.max(axis=self.dim, keepdims=True))
        return xp.where(masked_row, g.dtype.type(0), dx)   # a fully -inf row: no gradient


@float32_math
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
        self.fused = cuda.fusable(logits) and not label_smoothing
        if self.fused:                                             # one pass; saves no (N, C) probs
            loss, saved = cuda.cross_entropy_forward(logits, target, ignore_index)
        else:
            safe_target = xp.where(keep, target, 0)
            shifted = logits - logits.max(axis=1, keepdims=True)       # (N, C)
            e = xp.exp(shifted)
            sum_e = sum_last(e)                                        # (N, 1)
            lse = xp.log(sum_e)[:, 0]                                  # (N,)
            picked = xp.take_along_axis(shifted, safe_target[:, None], axis=1)[:, 0]
            loss = lse - picked                                        # -log p[target]
            if label_smoothing:
                loss = (1 - label_smoothing) * loss + label_smoothing * (lse - shifted.mean(axis=1))
            loss = xp.where(keep, loss, loss.dtype.type(0))
            saved = (e / sum_e, safe_target, keep)                    # softmax probs
        n_kept = keep.sum()                                            # a device scalar: no sync
        self.save_for_backward(*saved, n_kept)
        if reduction == 'none':
            return loss
        if reduction == 'sum':
            return xp.asarray(loss.sum())
        n_kept = n_kept.astype(loss.dtype)
        return xp.where(n_kept > 0, loss.sum() / xp.maximum(n_kept, 1), xp.nan).astype(loss.dtype)

    def backward(self, g):
        *saved, n_kept = self.saved
        if self.fused:                           # dL/dloss_row, then one pass over the logits
            xp = xp_of(g)
            if self.reduction == 'mean':
                g = g / xp.maximum(n_kept, 1).astype(g.dtype)
            return cuda.cross_entropy_backward(g, cuda.CrossEntropySaved(*saved))
        probs, target, keep = saved
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
            scale = (g / xp.maximum(n_kept, 1).astype(g.dtype)) * keep[:, None]
        return (grad * scale).astype(probs.dtype, copy=False)


@float32_math
class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last `n` axes.

    With xhat = (x - mean) * rstd and dxhat = g * weight, the closed form is
    dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
    """

    def forward(self, x, weight=None, bias=None, n_axes=1, eps=1e-5):
        xp = xp_of(x)
        axes = tuple(range(x.ndim - n_axes, x.ndim))
        self.axes, self.has_weight, self.has_bias = axes, weight is not None, bias is not None
        self.fused = (bias is not None and cuda.fusable(x, weight, bias)
                      and cuda.layer_norm.fits(weight.size))
        if self.fused:                                      # one warp per row; saves x, mean, rstd
            y, saved = cuda.layer_norm_forward(x, weight, bias, eps)
            self.save_for_backward(saved)                   # a LayerNormSaved
            return y
        # float16 statistics overflow (300**2 > 65504) and lose the mean: work in float32
        self.dtype = x.dtype
        if x.dtype == xp.float16:
            x = x.astype(xp.float32)
        # the statistics over the normalized axes as one last axis (row sums by sum_last)
        n = _prod(x.shape[x.ndim - n_axes:])
        rows = x.reshape(x.shape[:x.ndim - n_axes] + (n,))
        xhat = rows - sum_last(rows) * (1 / max(n, 1))     # centered; fresh, so in place below
        var = dot_last(xhat, xhat) * (1 / n if n else float('nan'))   # (..., 1); NaN over no elements
        rstd = 1 / xp.sqrt(var + eps)                       # (..., 1)
        xhat *= rstd
        xhat = xhat.reshape(x.shape)
        rstd = rstd.reshape(rstd.shape[:-1] + (1,) * n_axes)
        self.save_for_backward(xhat, rstd, weight)
        out = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            out += bias
        return out.astype(self.dtype, copy=False)

    def backward(self, g):
        if self.fused:
            return cuda.layer_norm_backward(g, self.saved)
        xhat, rstd, weight = self.saved
        xp = xp_of(g)
        k = len(self.axes)
        norm_shape = xhat.shape[xhat.ndim - k:]
        n = _prod(norm_shape)
        r = _prod(xhat.shape[:xhat.ndim - k])
        g = g.astype(xhat.dtype, copy=False).reshape(r, n)  # float16 in float32, as forward
        xh = xhat.reshape(r, n)                             # (rows, n): the normalized axes as one
        dxhat = g * weight.reshape(n) if weight is not None else g
        inv = 1 / n if n else float('nan')
        dx = xh * (dot_last(dxhat, xh) * inv)              # built in place, one buffer
        xp.subtract(dxhat, dx, out=dx)
        dx -= sum_last(dxhat) * inv
        dx *= rstd.reshape(r, 1)
        dx = dx.reshape(xhat.shape)
        dtype = self.dtype
        dw = sum_rows(g * xh).reshape(norm_shape).astype(dtype, copy=False) if self.has_weight else None
        db = sum_rows(g).reshape(norm_shape).astype(dtype, copy=False) if self.has_bias else None
        return ((dx.astype(dtype, copy=False),) + ((dw,) if self.has_weight else ())
                + ((db,) if self.has_bias else ()))


class Dropout(Function):
    """Zero each element with probability p and scale the rest by 1/(1-p)."""

    def forward(self, x, mask=None):
        self.save_for_backward(mask)                         # mask already holds 0 or 1/(1-p)
        return x * mask

    def backward(self, g):
        (mask,) = self.saved
        return g * mask


class HashDropout(Function):
    """Dropout whose mask is a hash of (seed, element index): recomputed in backward, not stored."""

    def forward(self, x, p=0.5, seed=0, keys=None):
        """keys: dropout_keys(seed, p) drawn by the caller, or their device slot under
        CUDA-graph capture (graphs.step_values); the fused kernel reads them."""
        self.p, self.seed = p, seed
        self.keys = keys if keys is not None else dropout_keys(seed, p)
        self.fused = cuda.fusable_elementwise(x)
        return self._apply(x)

    def backward(self, g):                                   # the same mask, the same scale
        return self._apply(g)

    def _apply(self, x):
        if self.fused:
            return cuda.hash_dropout(x, self.p, self.keys)
        keep = keep_mask(xp_of(x), x.shape, self.seed, self.p)
        return x * (keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p)))


@float32_math
class CausalSoftmax(Function):
    """The attention core: dropout(softmax(masked(scale * scores))) over (..., T, T) scores.

    Query t sees keys 0..t (the lecture's tril mask). Dropout uses the hash mask of
    HashDropout over the flat index of the scores, so backward recomputes it.
    With P the softmax and D = keep / (1 - p):  Y = P * D,
    dL/dscores = scale * P * (dY * D - sum(P * dY * D)).
    """

    def forward(self, scores, scale=1.0, dropout_p=0.0, seed=0, keys=None):
        self.scale, self.p, self.seed = scale, dropout_p, seed
        self.keys = keys if keys is not None else dropout_keys(seed, dropout_p)
        self.fused = cuda.fusable(scores)
        if self.fused:
            probs, y = cuda.causal_softmax_forward(scores, scale, dropout_p, self.keys)
            self.save_for_backward(probs)
            return y
        xp = xp_of(scores)
        t_q, t_k = scores.shape[-2:]
        future = xp.triu(xp.ones((t_q, t_k), dtype=bool), k=1)              # (T, T) True above the diagonal
        x = xp.where(future, -xp.inf, scores * scores.dtype.type(scale)).astype(scores.dtype, copy=False)
        with quiet_nonfinite(x):
            probs = x - stable_shift(x, -1)
            xp.exp(probs, out=probs)
            s = probs.sum(axis=-1, keepdims=True)
            probs /= nonzero_sum(s)                                           # a -inf row stays 0
        self.save_for_backward(probs)
        return probs * self._keep_scale(probs) if dropout_p else probs

    def backward(self, g):
        (probs,) = self.saved
        if self.fused:
            return cuda.causal_softmax_backward(g, probs, self.scale, self.p, self.keys)
        dp = g * self._keep_scale(probs) if self.p else g                     # through the dropout
        pdp = probs * dp
        return (pdp - probs * pdp.sum(axis=-1, keepdims=True)) * probs.dtype.type(self.scale)

    def _keep_scale(self, like):
        keep = keep_mask(xp_of(like), like.shape, self.seed, self.p)
        return keep.astype(like.dtype) * like.dtype.type(1.0 / (1.0 - self.p))
