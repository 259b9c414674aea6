"""nn.functional: the losses and the similarity helpers (re-exported as F.*), torch's signatures.

cross_entropy's common case (integer targets, no class weights) is the fused Function
in ops/nn.py. The other losses are composed from Tensor ops plus the few closed-form
pieces of ops/loss.py (a stable softplus, clamped-log BCE, a per-row class pick, a
norm with a defined gradient at 0), so every input, weight and target gets its gradient.
"""
import numpy as np

from .. import amp, creation
from ..arrays import as_array
from ..errors import BadTarget
from ..ops import loss as L
from ..ops import nn as N
from ..tensor import Tensor

_REDUCTIONS = ('none', 'mean', 'sum')


def _reduction(op, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """torch's legacy size_average/reduce flags folded into reduction, then validated."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = 'none' if not reduce else ('mean' if size_average else 'sum')
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; expected one "
                         f"of {', '.join(repr(r) for r in allowed)}")
    return reduction


def _reduce(loss, reduction):
    if reduction == 'none':
        return loss
    return loss.sum() if reduction == 'sum' else loss.mean()


def _as_tensor(x, like):
    return x if isinstance(x, Tensor) else Tensor(x, dtype=like.dtype, device=like.device)


def _same_shape(op, input, target):
    if input.shape != target.shape:
        raise ValueError(f"{op}: target size {target.shape} must be the same as input size "
                         f"{input.shape}")


# ---------------------------------------------------------------- class-index losses

def _class_layout(op, input, target):
    """(N, C) / (N, C, d...) / (C,) input with matching target -> ((M, C) input, (M,) target,
    shape of the unreduced loss)."""
    if input.ndim == 1:                                   # one sample: (C,) with ()
        return input.unsqueeze(0), target.reshape(1), ()
    if input.ndim < 2 or target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError(f"{op}: expected input (N, C) with target (N,), or (N, C, d...) with "
                         f"(N, d...), but got input {input.shape} and target {target.shape}; for a "
                         f"language model use logits.view(B*T, C) and targets.view(B*T)")
    c = input.shape[1]
    if input.ndim > 2:                                    # (N, C, d...) -> (N*d..., C)
        axes = (0,) + tuple(range(2, input.ndim)) + (1,)
        return input.permute(*axes).reshape(-1, c), target.reshape(-1), target.shape
    return input, target, target.shape


def _check_targets(op, t, c, ignore_index):
    """Class ids must lie in [0, C) unless they equal ignore_index (negative ids too, as torch)."""
    if hasattr(t, 'get'):       # a GPU array: checking would synchronize the step; trust it
        return
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"{op}: target {int(t[bad][0])} is out of bounds for {c} classes "
                         f"(valid targets are 0..{c - 1}, or ignore_index={ignore_index})")


def _check_class_weight(op, weight, input, c):
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or weight.shape != (c,):
        raise ValueError(f"{op}: weight must be a tensor of shape ({c},) (one per class), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    if weight.dtype != input.dtype:
        raise TypeError(f"{op}: weight is {weight.dtype} but the input is {input.dtype}")
    return weight


def _weighted_nll(logp, t, weight, ignore_index, reduction, label_smoothing, out_shape):
    """Class-weighted NLL of (M, C) log-probabilities, torch's normalization: 'mean' divides
    by the summed weight of the kept targets; smoothing adds eps/C * -(w . logp)."""
    xp = logp.xp
    c = logp.shape[1]
    keep = t != ignore_index
    safe = xp.where(keep, t, 0).astype(np.int64, copy=False)
    keep_f = Tensor._wrap(keep.astype(logp.dtype))
    picked = L.PickClass.apply(logp, target=safe)                           # (M,)
    w_t = weight[Tensor._wrap(safe)] * keep_f if weight is not None else keep_f
    loss = -(picked * w_t)
    if label_smoothing:
        smooth = -((logp * weight).sum(1) if weight is not None else logp.sum(1)) * keep_f
        loss = (1 - label_smoothing) * loss + (label_smoothing / c) * smooth
    if reduction == 'none':
        return loss.reshape(out_shape)
    if reduction == 'sum':
        return loss.sum()
    return loss.sum() / w_t.sum()                          # 0/0 = NaN when all are ignored, as torch


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction='mean'):
    """Negative log-likelihood of log-probabilities: -weight[t] * input[i, t], torch's shapes."""
    if amp.on:
        input, weight = amp.cast('nll_loss', input, weight)
    reduction = _reduction('nll_loss', reduction, size_average, reduce)
    if not isinstance(target, Tensor) or target.dtype.kind not in 'iu':
        raise TypeError(f"nll_loss: expected an integer (long) target tensor, got "
                        f"{getattr(target, 'dtype', type(target).__name__)}")
    x, t, out_shape = _class_layout('nll_loss', input, target)
    c = x.shape[1]
    _check_targets('nll_loss', t.array, c, ignore_index)
    weight = _check_class_weight('nll_loss', weight, input, c)
    return _weighted_nll(x, t.array, weight, ignore_index, reduction, 0.0, out_shape)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction='mean', label_smoothing=0.0):
    """Softmax cross-entropy from logits: class-index targets ((N, C) with (N,), or
    (N, C, d...) with (N, d...)) or class-probability targets of the input's shape."""
    if amp.on:
        input, target, weight = amp.cast('cross_entropy', input, target, weight)
    reduction = _reduction('cross_entropy', reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(target, Tensor):
        target = Tensor._wrap(as_array(target, None, input.device))   # ints stay ints (not Tensor(list)'s floats)
    if input.device != target.device:
        raise RuntimeError(f"cross_entropy: input is on {input.device} but target is on {target.device}")
    if target.dtype.kind == 'f':
        if target.shape != input.shape:
            raise BadTarget(f"cross_entropy: a float target holds class probabilities and must "
                            f"have the input's shape {input.shape}, got {target.shape}; for "
                            f"integer class indices of shape {input.shape[:1] + input.shape[2:]} "
                            f"use target.long()")
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    if target.dtype.kind not in 'iu':
        raise TypeError(f"cross_entropy: expected integer class indices or float class "
                        f"probabilities as target, got {target.dtype}")
    x, t, out_shape = _class_layout('cross_entropy', input, target)
    c = x.shape[1]
    _check_targets('cross_entropy', t.array, c, ignore_index)
    weight = _check_class_weight('cross_entropy', weight, input, c)
    if weight is not None:
        return _weighted_nll(x.log_softmax(1), t.array, weight, ignore_index, reduction,
                             label_smoothing, out_shape)
    loss = N.CrossEntropy.apply(x, target=t.array.astype(np.int64, copy=False), ignore_index=ignore_index,
                                reduction=reduction, label_smoothing=label_smoothing)
    return loss.reshape(out_shape) if reduction == 'none' else loss


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    """-(sum over classes of weight_c * q_c * log softmax(x)_c); 'mean' divides by the samples."""
    _same_shape('cross_entropy', input, target)
    if target.dtype != input.dtype:
        raise TypeError(f"cross_entropy: probability target is {target.dtype} but the input is "
                        f"{input.dtype}")
    dim = 0 if input.ndim == 1 else 1
    c = input.shape[dim]
    weight = _check_class_weight('cross_entropy', weight, input, c)
    q = target * (1 - label_smoothing) + label_smoothing / c if label_smoothing else target
    logp = input.log_softmax(dim)
    if weight is not None:
        logp = logp * weight.reshape((c,) + (1,) * (input.ndim - dim - 1))
    loss = -(logp * q).sum(dim)
    if reduction == 'mean':
        return loss.sum() / (input.numel() // c if c else 0)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- binary losses

def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction='mean'):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1]; logs clamped at -100."""
    if amp.on:
        input, target, weight = amp.cast('binary_cross_entropy', input, target, weight)
    reduction = _reduction('binary_cross_entropy', reduction, size_average, reduce)
    target = _as_tensor(target, input)
    _same_shape('binary_cross_entropy', input, target)
    x = input.array
    if not hasattr(x, 'get') and x.size and not ((x >= 0) & (x <= 1)).all():
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                           "(pass probabilities, e.g. sigmoid(logits), or use "
                           "binary_cross_entropy_with_logits)")
    loss = L.BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction='mean', pos_weight=None):
    """BCE of sigmoid(x) computed from the logits, stably:
    (1 - y) x + (1 + (pos_weight - 1) y) * log(1 + exp(-x))."""
    if amp.on:
        input, target, weight, pos_weight = amp.cast('binary_cross_entropy_with_logits', input, target,
                                                     weight, pos_weight)
    reduction = _reduction('binary_cross_entropy_with_logits', reduction, size_average, reduce)
    target = _as_tensor(target, input)
    _same_shape('binary_cross_entropy_with_logits', input, target)
    softplus_neg = L.SoftplusNeg.apply(input)                    # -log sigmoid(x)
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- distribution losses

def kl_div(input, target, size_average=None, reduce=None, reduction='mean', log_target=False):
    """KL(target || exp(input)) pointwise: target * (log target - input), 0 where target is 0.

    input holds log-probabilities; log_target=True means target does too. 'batchmean'
    divides the sum by the batch size (the true KL divergence); 'mean' by every element.
    """
    if amp.on:
        input, target = amp.cast('kl_div', input, target)
    reduction = _reduction('kl_div', reduction, size_average, reduce,
                           allowed=_REDUCTIONS + ('batchmean',))
    target = _as_tensor(target, input)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target.array > 0
        # log of 1 where target is 0: 0 * log(1) = 0 there, and its gradient stays finite
        safe = creation.where(Tensor._wrap(positive), target, 1.0)
        loss = target * safe.log() - target * input
    if reduction == 'batchmean':
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- regression losses

def l1_loss(input, target, size_average=None, reduce=None, reduction='mean', weight=None):
    """|input - target| (broadcast), reduced."""
    if amp.on:
        input, target, weight = amp.cast('l1_loss', input, target, weight)
    reduction = _reduction('l1_loss', reduction, size_average, reduce)
    loss = (input - target).abs()
    return _reduce(loss * weight if weight is not None else loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction='mean', weight=None):
    """(input - target)^2 (broadcast), reduced."""
    if amp.on:
        input, target, weight = amp.cast('mse_loss', input, target, weight)
    reduction = _reduction('mse_loss', reduction, size_average, reduce)
    diff = input - target
    loss = diff * diff
    return _reduce(loss * weight if weight is not None else loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction='mean', beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (plain L1 when beta is 0)."""
    if amp.on:
        input, target = amp.cast('smooth_l1_loss', input, target)
    reduction = _reduction('smooth_l1_loss', reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    diff = input - target
    a = diff.abs()
    if beta == 0:
        return _reduce(a, reduction)
    loss = creation.where(a < beta, diff * diff * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction='mean', delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1 scaled by delta."""
    if amp.on:
        input, target, weight = amp.cast('huber_loss', input, target, weight)
    reduction = _reduction('huber_loss', reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    diff = input - target
    a = diff.abs()
    loss = creation.where(a < delta, diff * diff * 0.5, (a - 0.5 * delta) * delta)
    return _reduce(loss * weight if weight is not None else loss, reduction)


# ---------------------------------------------------------------- similarity

def _norm(x, p, dim, keepdim):
    axis = dim % x.ndim if x.ndim else None
    return L.VectorNorm.apply(x, p=float(p), axes=(axis,) if axis is not None else None,
                              keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along dim."""
    input = amp.cast('normalize', input) if amp.on else input
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    return input / _norm(input, p, dim, True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1/||x1|| * x2/||x2||) along dim (inputs broadcast), each norm at least eps, as torch."""
    if amp.on:
        x1, x2 = amp.cast('cosine_similarity', x1, x2)
    n1 = _norm(x1, 2, dim, True).clamp(min=eps)
    n2 = _norm(x2, 2, dim, True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)
