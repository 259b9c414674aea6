"""FlashAttention: softmax(scale * q k^T, causal) @ v with hash dropout as ONE Function whose
backward recomputes the probabilities from the saved row log-sum-exp L.

On the GPU (float32 CuPy, fast paths on) forward and backward are the tiled kernels of
cuda/flash_attention.py, which never hold a (..., Tq, Tk) array. The xp branch below is
their reference on whole matrices (and what gradcheck runs in float64 on the CPU):
    S = scale * q k^T, masked (-inf where causal hides key j from query i: j > i)
    L = logsumexp_j S (+inf for a row with no visible key),   P = exp(S - L)
    Y = P * keep / (1 - p),  O = Y v                         (keep: HashDropout's mask)
    D = rowsum(dO * O) = sum_j P dP,   dP = keep / (1 - p) * (dO v^T)
    dS = P * (dP - D) * scale,  dq = dS k,  dk = dS^T q,  dv = Y^T dO
"""
from ..autograd import Function
from ..backend import quiet_nonfinite, xp_of
from ..cuda import flash_attention as flash
from ..random_hash import dropout_keys, keep_mask_from_keys
from .nn import stable_shift


class FlashAttention(Function):
    """Scaled dot-product attention (causal or unmasked) with dropout, saving O and L only."""

    def forward(self, q, k, v, scale=1.0, causal=True, dropout_p=0.0, seed=0, keys=None):
        """keys: dropout_keys(seed, p) drawn by the caller, or their device slot under
        CUDA-graph capture (dispatch.step_dropout_keys); else made from seed."""
        self.scale, self.causal, self.p = scale, causal, dropout_p
        self.keys = keys if keys is not None else dropout_keys(seed, dropout_p)
        self.fused = flash.takes(q, k, v)
        if self.fused:                          # tensor cores for half types and under allow_tf32
            self.variant = flash.variant_for(q.shape[-1], q.dtype.name)
            out, lse = flash.flash_attention_forward(q, k, v, scale, causal, dropout_p, self.keys, self.variant)
            self.save_for_backward(q, k, v, out, lse)
            return out
        xp = xp_of(q)
        s = self._scores(q, k)                                               # (..., Tq, Tk)
        with quiet_nonfinite(s):
            m = stable_shift(s, -1)                                          # (..., Tq, 1)
            e = xp.exp(s - m)
            total = e.sum(axis=-1, keepdims=True)
            lse = xp.where(total == 0, xp.inf, m + xp.log(xp.where(total == 0, 1, total)))
            y = e / xp.where(total == 0, 1, total)                          # a row with no key: zeros
        if dropout_p:
            y = y * self._keep_scale(y)
        out = y @ v                                                          # (..., Tq, HD)
        self.save_for_backward(q, k, v, out, lse.astype(q.dtype, copy=False))
        return out

    def backward(self, g):
        q, k, v, out, lse = self.saved
        if self.fused:
            return flash.flash_attention_backward(g, q, k, v, out, lse, self.scale, self.causal,
                                                  self.p, self.keys, self.variant)
        xp = xp_of(q)
        s = self._scores(q, k)
        with quiet_nonfinite(s):
            probs = xp.exp(s - lse)                                          # (..., Tq, Tk); 0 where masked
        delta = (g * out).sum(axis=-1, keepdims=True)                       # (..., Tq, 1)
        dp = g @ xp.swapaxes(v, -1, -2)                                      # (..., Tq, Tk)
        y = probs
        if self.p:
            keep = self._keep_scale(probs)
            dp, y = dp * keep, probs * keep
        ds = probs * (dp - delta) * q.dtype.type(self.scale)
        return ds @ k, xp.swapaxes(ds, -1, -2) @ q, xp.swapaxes(y, -1, -2) @ g

    def _scores(self, q, k):
        xp = xp_of(q)
        s = (q @ xp.swapaxes(k, -1, -2)) * q.dtype.type(self.scale)          # (..., Tq, Tk)
        if self.causal:                                                      # top-left aligned, as torch
            tq, tk = s.shape[-2:]
            s = xp.where(xp.triu(xp.ones((tq, tk), dtype=bool), k=1), -xp.inf, s).astype(q.dtype, copy=False)
        return s

    def _keep_scale(self, like):
        keep = keep_mask_from_keys(xp_of(like), like.shape, self.keys)
        return keep.astype(like.dtype) * like.dtype.type(1.0 / (1.0 - self.p))
