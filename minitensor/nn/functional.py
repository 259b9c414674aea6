"""nn.functional (imported as F): the stateless forms of the layers.

The fused ops (cross_entropy, layer_norm, softmax, log_softmax) are single Functions
in minitensor/ops/nn.py with closed-form backward passes.
"""
import math
import numbers

import numpy as np

from .. import amp
from .. import inplace as inplace_ops
from ..ops import activation as A
from ..ops import dispatch as D
from ..ops import index as I
from ..ops import matmul as M
from ..ops import nn as N
from ..errors import DtypeMismatch
from ..random_hash import next_seed
from ..tensor import Tensor
from .functional_conv import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d,  # noqa: F401
                              avg_pool2d, batch_norm, conv1d, conv2d, max_pool1d, max_pool2d,
                              one_hot, pad)
from .functional_more import *  # noqa: F401,F403  (conv_transpose*, interpolate, more losses, ...)
from .functional_loss import (_reduction, binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                              cosine_similarity, cross_entropy, huber_loss, kl_div, l1_loss,
                              mse_loss, nll_loss, normalize, smooth_l1_loss)


def linear(input, weight, bias=None):
    """input @ weight.T + bias; weight is (out_features, in_features)."""
    if amp.on:                                   # autocast: the GEMM in bf16/fp16 (minitensor/amp.py)
        input, weight, bias = amp.cast('linear', input, weight, bias)
    x, w = input.array, weight.array
    if not (x.ndim and w.ndim == 2 and x.shape[-1] == w.shape[1] and x.dtype is w.dtype
            and type(x) is type(w)):              # the common case passes without the checks
        _check_linear(input, weight)
    return M.Linear.apply(input, weight) if bias is None else M.Linear.apply(input, weight, bias)


def _check_linear(input, weight):
    if input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {input.shape} has {input.shape[-1]} features, "
                         f"but the weight of shape {weight.shape} expects {weight.shape[1]}")
    if input.dtype != weight.dtype:
        raise DtypeMismatch(f"linear: input is {input.dtype} but the weight is {weight.dtype}; "
                        f"convert one with .to() (e.g. model.double() or x.float())")
    if input.device != weight.device:
        raise RuntimeError(f"linear: input is on {input.device} but the weight is on {weight.device}; "
                           f"move the input with .to('{weight.device}') or the model with model.to()")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """weight[input]: rows of the table picked by integer indices of any shape.

    padding_idx: that row gets no gradient. max_norm: each row looked up whose norm
    exceeds max_norm is first rescaled IN PLACE to that norm (as torch does).
    """
    if not isinstance(input, Tensor) or input.dtype.kind not in 'iu':
        raise TypeError(f"embedding: indices must be an integer tensor, got "
                        f"{getattr(input, 'dtype', type(input).__name__)}; use .long()")
    if input.device != weight.device:
        raise RuntimeError(f"embedding: indices are on {input.device} but the weight is on "
                           f"{weight.device}; move them with .to('{weight.device}')")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    n = weight.shape[0]
    if input.device == 'cpu' and input.numel() and (input.array.min() < 0 or input.array.max() >= n):
        bad = input.array[(input.array < 0) | (input.array >= n)].reshape(-1)[0]
        raise IndexError(f"embedding: index {int(bad)} is out of range for an embedding table with "
                         f"{n} rows (valid indices are 0..{n - 1})")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings ({n})")
        padding_idx %= n
    if max_norm is not None:
        _renorm_rows(weight, input.array, max_norm, norm_type)
    return I.Embedding.apply(weight, idx=input.array, padding_idx=padding_idx)


def _renorm_rows(weight, idx, max_norm, norm_type):
    """Rows of `weight` named in idx whose norm exceeds max_norm, scaled down to it (no graph)."""
    xp = weight.xp
    rows = xp.unique(idx.reshape(-1))
    w = weight.array[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight.array[rows] = w * scale[:, None]


def relu(input):
    return input.relu()


def gelu(input, approximate='none'):
    return input.gelu(approximate=approximate)


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


# ---------------------------------------------------------------- activations (ops/activation.py)

def _activation_input(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind != 'f':
        raise TypeError(f"{op}: expected a floating point tensor, got {input.dtype}; convert with .float()")
    return input


def _maybe_inplace(input, out, inplace, op):
    """inplace=True (torch's flag): the result written into input, under torch's in-place rules."""
    return inplace_ops.commit(input, out, op + '_') if inplace else out


def silu(input, inplace=False):
    """input * sigmoid(input)."""
    return _maybe_inplace(input, A.SiLU.apply(_activation_input('silu', input)), inplace, 'silu')


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * input)) / beta, and input itself where beta * input > threshold."""
    input = amp.cast('softplus', input) if amp.on else input
    return A.Softplus.apply(_activation_input('softplus', input), beta=beta, threshold=threshold)


def mish(input, inplace=False):
    """input * tanh(softplus(input))."""
    return _maybe_inplace(input, A.Mish.apply(_activation_input('mish', input)), inplace, 'mish')


def elu(input, alpha=1.0, inplace=False):
    """input where > 0, else alpha * (exp(input) - 1)."""
    return _maybe_inplace(input, A.ELU.apply(_activation_input('elu', input), alpha=alpha), inplace, 'elu')


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(input, alpha) with the self-normalizing constants."""
    out = A.ELU.apply(_activation_input('selu', input), alpha=_SELU_ALPHA, scale=_SELU_SCALE)
    return _maybe_inplace(input, out, inplace, 'selu')


def celu(input, alpha=1.0, inplace=False):
    """input where > 0, else alpha * (exp(input / alpha) - 1)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    out = A.ELU.apply(_activation_input('celu', input), alpha=alpha, input_scale=1.0 / alpha)
    return _maybe_inplace(input, out, inplace, 'celu')


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where > 0, else negative_slope * input."""
    out = A.LeakyReLU.apply(_activation_input('leaky_relu', input), negative_slope=negative_slope)
    return _maybe_inplace(input, out, inplace, 'leaky_relu')


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """input clipped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    out = A.Hardtanh.apply(_activation_input('hardtanh', input), min_val=min_val, max_val=max_val)
    return _maybe_inplace(input, out, inplace, 'hardtanh')


def relu6(input, inplace=False):
    """min(max(input, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input, inplace=False):
    """input * relu6(input + 3) / 6."""
    return _maybe_inplace(input, A.Hardswish.apply(_activation_input('hardswish', input)), inplace, 'hardswish')


def hardsigmoid(input, inplace=False):
    """relu6(input + 3) / 6."""
    out = A.Hardsigmoid.apply(_activation_input('hardsigmoid', input))
    return _maybe_inplace(input, out, inplace, 'hardsigmoid')


def logsigmoid(input):
    """log(sigmoid(input)), without overflow."""
    return A.LogSigmoid.apply(_activation_input('logsigmoid', input))


def softsign(input):
    """input / (1 + |input|)."""
    return input / (_activation_input('softsign', input).abs() + 1)


def tanhshrink(input):
    """input - tanh(input)."""
    return input - _activation_input('tanhshrink', input).tanh()


def threshold(input, threshold, value, inplace=False):
    """input where input > threshold, else value."""
    out = A.Threshold.apply(_activation_input('threshold', input), threshold=threshold, value=value)
    return _maybe_inplace(input, out, inplace, 'threshold')


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of input along dim."""
    _activation_input('glu', input)
    if input.ndim == 0:
        raise RuntimeError("glu: does not support 0-d (scalar) tensors")
    n = input.size(dim)
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size {n} "
                           f"(input shape {tuple(input.shape)})")
    a, b = input.split([n // 2, n // 2], dim)
    return a * b.sigmoid()


def prelu(input, weight):
    """input where > 0, else weight * input; weight has 1 element or one per channel (dim 1)."""
    if amp.on:
        input, weight = amp.cast('prelu', input, weight)
    _activation_input('prelu', input)
    if not isinstance(weight, Tensor) or weight.ndim > 1:
        raise ValueError(f"prelu: weight must be a 0-d or 1-d tensor, got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise RuntimeError(f"prelu: weight has {n} elements but the input {tuple(input.shape)} has "
                           f"{channels} channels (dim 1); use 1 or {channels} parameters")
    if n == 1 or input.ndim < 2:
        w = weight.reshape(())
    else:                                        # (C,) -> (C, 1, ..., 1) to broadcast over dim 1
        w = weight.reshape((n,) + (1,) * (input.ndim - 2))
    if w.dtype != input.dtype:
        raise TypeError(f"prelu: input is {input.dtype} but the weight is {w.dtype}")
    return A.PReLU.apply(input, w)


def softmax(input, dim=-1, _stacklevel=3, dtype=None):
    return input.softmax(dim, dtype=dtype)


def log_softmax(input, dim=-1, _stacklevel=3, dtype=None):
    return input.log_softmax(dim, dtype=dtype)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last len(normalized_shape) dims, then scale and shift."""
    if amp.on:
        input, weight, bias = amp.cast('layer_norm', input, weight, bias)
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    n = len(normalized_shape)
    if input.shape[input.ndim - n:] != normalized_shape:
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} does not match the last "
                         f"dims of the input of shape {input.shape}")
    for name, p in (('weight', weight), ('bias', bias)):
        if p is not None and p.shape != normalized_shape:
            raise ValueError(f"layer_norm: {name} has shape {p.shape}, expected {normalized_shape}")
    if weight is None and bias is not None:   # the Function takes a bias only after a weight
        weight = Tensor._wrap(input.xp.ones(normalized_shape, dtype=input.dtype))
    inputs = [t for t in (input, weight, bias) if t is not None]
    return N.LayerNorm.apply(*inputs, n_axes=n, eps=eps)


def dropout(input, p=0.5, training=True, generator=None):
    """Zero elements with probability p, scale the rest by 1/(1-p); identity when not training."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    return D.dropout(input, p, generator)     # the engine picks the GPU's hash-mask kernel


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False, generator=None):
    """softmax(query @ key^T * scale + mask) @ value, as torch's F.scaled_dot_product_attention.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).
    attn_mask: bool (True = takes part) or float (added to the scores), broadcastable to
    the scores' shape (..., L, S) without enlarging it. is_causal: query i sees keys 0..i (torch's tril(ones(L, S)), top-left).
    scale: default 1 / sqrt(E). dropout_p: applied to the attention weights whenever > 0
    (pass 0.0 in eval, as torch). enable_gqa: key/value with fewer heads (dim -3) are
    shared by groups of query heads. The engine runs the lecture's lines, or on the GPU
    one fused kernel each way for the causal case.
    """
    op = 'scaled_dot_product_attention'
    if amp.on:
        query, key, value, attn_mask = amp.cast(op, query, key, value, attn_mask)
    for name, t in (('query', query), ('key', key), ('value', value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"{op}: {name} must have at least 2 dims (..., seq, features), got shape {t.shape}")
        if t.dtype.kind != 'f':
            raise TypeError(f"{op}: {name} must be a floating point tensor, got {t.dtype}")
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(f"{op}: expected query, key and value to have the same dtype, got "
                           f"{query.dtype}, {key.dtype} and {value.dtype}")
    if not query.device == key.device == value.device:
        raise RuntimeError(f"{op}: expected query, key and value on one device, got "
                           f"{query.device}, {key.device} and {value.device}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{op}: query {query.shape} and key {key.shape} must have the same last dim "
                           f"(E): {query.shape[-1]} != {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: key {key.shape} and value {value.shape} must have the same "
                           f"sequence length (dim -2): {key.shape[-2]} != {value.shape[-2]}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: an explicit attn_mask should not be set when is_causal=True "
                           f"(pass one or the other)")
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{op}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
        if attn_mask.dtype != np.bool_ and attn_mask.dtype != query.dtype:
            raise RuntimeError(f"{op}: attn_mask must be bool or {query.dtype} like the query, "
                               f"got {attn_mask.dtype}")
        if attn_mask.device != query.device:
            raise RuntimeError(f"{op}: attn_mask is on {attn_mask.device} but the query is on {query.device}")
        scores_shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + (query.shape[-2], key.shape[-2])
        try:
            fits = np.broadcast_shapes(attn_mask.shape, scores_shape) == scores_shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{op}: attn_mask of shape {attn_mask.shape} does not broadcast to the "
                               f"attention scores' shape {scores_shape} (..., L, S) without enlarging it")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads or value.shape[-3] != kv_heads:
            raise RuntimeError(f"{op}: with enable_gqa the query's {heads} heads must be a multiple of the "
                               f"key's and value's heads, got {key.shape[-3]} and {value.shape[-3]}")
        key, value = (_repeat_heads(t, heads // kv_heads) for t in (key, value))
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    return D.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale, generator)


def _repeat_heads(t, groups):
    """(..., H, S, E) -> (..., H * groups, S, E), each head repeated `groups` times in place."""
    lead, (h, s, e) = t.shape[:-3], t.shape[-3:]
    return t.unsqueeze(-3).expand(lead + (h, groups, s, e)).reshape(lead + (h * groups, s, e))


def causal_softmax(scores, scale=1.0, dropout_p=0.0, training=True, generator=None):
    """dropout(softmax(scale * scores masked to the past)) over square (..., T, T) scores.

    The attention core as one op: the lecture's
    `F.dropout(F.softmax((scores * scale).masked_fill(tril == 0, -inf), -1), p)`,
    fused into one kernel each way on the GPU. Its dropout mask is HashDropout's.
    """
    if scores.ndim < 2 or scores.shape[-1] != scores.shape[-2]:
        raise ValueError(f"causal_softmax: expected square (..., T, T) scores, got shape {scores.shape}")
    if not 0 <= dropout_p < 1:
        raise ValueError(f"causal_softmax: dropout probability must be in [0, 1), got {dropout_p}")
    p = dropout_p if training else 0.0
    seed = next_seed(generator) if p else 0
    return N.CausalSoftmax.apply(scores, scale=scale, dropout_p=p, seed=seed)
