"""One-launch elementwise fast paths: hash dropout, ReLU, and the whole Adam/AdamW update.

Portable references: ops/nn.py HashDropout, ops/elementwise.py ReLU, optim/adam.py
Adam._update (same operations in the same order, in the parameter's dtype).
"""
import numpy as np

from ..random_hash import drop_threshold, hash_keys
from .common import elementwise_kernel

_DROPOUT = ('T x, uint32 k1, uint32 k2, uint32 thr, T scale', 'T y',
            'y = mt_keep((unsigned int)i, k1, k2, thr) ? (T)(x * scale) : (T)0',
            'mt_hash_dropout')


def hash_dropout(x, p, seed):
    """x * keep / (1 - p), keep from the hash of (seed, flat index); used both ways."""
    if x.size >= 1 << 32:
        raise ValueError(f"dropout: {x.size} elements is more than the hash mask's 2**32 indices")
    k1, k2 = hash_keys(seed)
    scale = x.dtype.type(1.0 / (1.0 - p))
    return elementwise_kernel(*_DROPOUT)(x, np.uint32(k1), np.uint32(k2),
                                         np.uint32(drop_threshold(p)), scale)


def relu_forward(a):
    return elementwise_kernel('T a', 'T y', 'y = a <= (T)0 ? (T)0 : a', 'mt_relu')(a)


def relu_backward(g, y):
    """The gradient from the saved OUTPUT: y <= 0 exactly where a <= 0 (NaN passes g, as torch)."""
    return elementwise_kernel('T g, T y', 'T dx', 'dx = y <= (T)0 ? (T)0 : g', 'mt_relu_bwd')(g, y)


_ADAM = ('T g, T decay, T l2, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, '
         'T step_size, T sqrt_bc2, T eps',
         'T p, T m, T v',
         '''
         T grad = g;
         if (l2 != (T)0) grad = grad + l2 * p;          // Adam: L2 term joins the gradient
         p = p * decay;                                  // AdamW: decoupled decay (1 otherwise)
         m = m * beta1 + one_minus_beta1 * grad;
         v = v * beta2 + one_minus_beta2 * (grad * grad);
         T denom = sqrt(v) / sqrt_bc2 + eps;
         p = p - step_size * (m / denom);
         ''',
         'mt_adam_update')


def adam_update(p, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, bias_correction1,
                bias_correction2):
    """Update p, m, v in place with one launch (the math of Adam._update)."""
    t = p.dtype.type
    decay = 1 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
    l2 = 0.0 if decoupled else weight_decay
    elementwise_kernel(*_ADAM)(grad, t(decay), t(l2), t(beta1), t(1 - beta1), t(beta2), t(1 - beta2),
                               t(lr / bias_correction1), t(bias_correction2 ** 0.5), t(eps), p, m, v)
