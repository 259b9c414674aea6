"""Adamax, Adadelta, NAdam, RAdam and Rprop, each torch.optim's math operation for operation
(so a float64 run follows torch's to rounding)."""
import numpy as np

from .. import dtypes
from .optimizer import Optimizer, check_hyperparameter


def _init_hyper(name, **values):
    for key, value in values.items():
        check_hyperparameter(name, key, value)


def _decayed(p, grad, wd, maximize):
    if maximize:
        grad = -grad
    return grad + wd * p.array if wd != 0 else grad


class Adamax(Optimizer):
    """Adam with the infinity norm: u = max(beta2 u, |g| + eps); p -= lr / (1 - beta1^t) m / u."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _init_hyper('Adamax', lr=lr, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=bool(maximize), foreach=foreach))

    def _update(self, p, grad, group, state):
        xp = p.xp
        beta1, beta2 = group['betas']
        if not state:
            state['step'] = 0
            state['exp_avg'] = xp.zeros_like(p.array)
            state['exp_inf'] = xp.zeros_like(p.array)
        state['step'] += 1
        grad = _decayed(p, grad, group['weight_decay'], group['maximize'])
        m, u = state['exp_avg'], state['exp_inf']
        m += (grad - m) * (1 - beta1)                      # lerp toward grad
        xp.maximum(u * beta2, xp.abs(grad) + group['eps'], out=u)
        clr = group['lr'] / (1 - beta1 ** state['step'])
        p.array -= clr * (m / u)


class Adadelta(Optimizer):
    """Steps of sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g, scaled by lr."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _init_hyper('Adadelta', lr=lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=bool(maximize), foreach=foreach))

    def _update(self, p, grad, group, state):
        xp = p.xp
        rho, eps = group['rho'], group['eps']
        if not state:
            state['step'] = 0
            state['square_avg'] = xp.zeros_like(p.array)
            state['acc_delta'] = xp.zeros_like(p.array)
        state['step'] += 1
        grad = _decayed(p, grad, group['weight_decay'], group['maximize'])
        sq, acc = state['square_avg'], state['acc_delta']
        sq *= rho
        sq += (1 - rho) * grad * grad
        std = xp.sqrt(sq + eps)
        delta = xp.sqrt(acc + eps) / std * grad
        acc *= rho
        acc += (1 - rho) * delta * delta
        p.array -= group['lr'] * delta


class NAdam(Optimizer):
    """Adam with Nesterov momentum and torch's momentum-decay schedule mu_t."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _init_hyper('NAdam', lr=lr, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=bool(maximize), foreach=foreach))

    def _update(self, p, grad, group, state):
        xp = p.xp
        beta1, beta2 = group['betas']
        lr, eps, wd, md = group['lr'], group['eps'], group['weight_decay'], group['momentum_decay']
        if not state:
            state['step'] = 0
            state['mu_product'] = 1.0
            state['exp_avg'] = xp.zeros_like(p.array)
            state['exp_avg_sq'] = xp.zeros_like(p.array)
        state['step'] += 1
        t = state['step']
        if group['maximize']:
            grad = -grad
        if wd != 0:
            if group['decoupled_weight_decay']:
                p.array *= 1 - lr * wd
            else:
                grad = grad + wd * p.array
        bias_correction2 = 1 - beta2 ** t
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * md))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * md))
        # torch keeps mu_product as a 0-d tensor of its scalar dtype (float32 unless the default is float64)
        scalar = np.float64 if dtypes.default_float == dtypes.float64 else np.float32
        state['mu_product'] = float(scalar(state['mu_product']) * scalar(mu))
        mu_product = state['mu_product']
        m, v = state['exp_avg'], state['exp_avg_sq']
        m += (grad - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * grad * grad
        denom = xp.sqrt(v / bias_correction2) + eps
        p.array -= (lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        p.array -= (lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)


class RAdam(Optimizer):
    """Adam with the variance rectification term (plain momentum SGD while rho_t <= 5)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        _init_hyper('RAdam', lr=lr, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=bool(maximize),
                                      foreach=foreach))

    def _update(self, p, grad, group, state):
        xp = p.xp
        beta1, beta2 = group['betas']
        lr, eps, wd = group['lr'], group['eps'], group['weight_decay']
        if not state:
            state['step'] = 0
            state['exp_avg'] = xp.zeros_like(p.array)
            state['exp_avg_sq'] = xp.zeros_like(p.array)
        state['step'] += 1
        t = state['step']
        if group['maximize']:
            grad = -grad
        if wd != 0:
            if group['decoupled_weight_decay']:
                p.array *= 1 - lr * wd
            else:
                grad = grad + wd * p.array
        m, v = state['exp_avg'], state['exp_avg_sq']
        m += (grad - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        corrected = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2 ** t) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = (bias_correction2 ** 0.5) / (xp.sqrt(v) + eps)
            p.array -= corrected * lr * adaptive * rect
        else:
            p.array -= corrected * lr


class Rprop(Optimizer):
    """Resilient backprop: per-element step sizes grown by etaplus while the gradient keeps its
    sign and shrunk by etaminus (skipping that step) when it flips."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        _init_hyper('Rprop', lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      maximize=bool(maximize), foreach=foreach))

    def _update(self, p, grad, group, state):
        xp = p.xp
        etaminus, etaplus = group['etas']
        lo, hi = group['step_sizes']
        if not state:
            state['step'] = 0
            state['prev'] = xp.zeros_like(p.array)
            state['step_size'] = xp.full_like(p.array, group['lr'])
        state['step'] += 1
        if group['maximize']:
            grad = -grad
        sign = xp.sign(grad * state['prev'])
        factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1.0)).astype(p.array.dtype)
        step_size = xp.clip(state['step_size'] * factor, lo, hi)
        state['step_size'] = step_size
        grad = xp.where(factor == etaminus, 0, grad).astype(p.array.dtype)
        p.array -= xp.sign(grad) * step_size
        state['prev'] = grad



