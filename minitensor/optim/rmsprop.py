"""RMSprop and Adagrad: per-element step sizes from accumulated squared gradients
(torch.optim.RMSprop / Adagrad's math, operation for operation)."""
from .optimizer import Optimizer, check_hyperparameter


class RMSprop(Optimizer):
    """p -= lr * g / (sqrt(running mean of g^2) + eps), optionally centered and with momentum."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False, differentiable=False):
        check_hyperparameter('RMSprop', 'lr', lr)
        check_hyperparameter('RMSprop', 'eps', eps)
        check_hyperparameter('RMSprop', 'momentum', momentum)
        check_hyperparameter('RMSprop', 'weight_decay', weight_decay)
        check_hyperparameter('RMSprop', 'alpha', alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, capturable=capturable,
                                      foreach=foreach, maximize=bool(maximize), differentiable=False))

    def _update(self, p, grad, group, state):
        xp = p.xp
        lr, alpha, eps, wd, momentum = (group['lr'], group['alpha'], group['eps'],
                                        group['weight_decay'], group['momentum'])
        if not state:
            state['step'] = 0
            state['square_avg'] = xp.zeros_like(p.array)
            if momentum > 0:
                state['momentum_buffer'] = xp.zeros_like(p.array)
            if group['centered']:
                state['grad_avg'] = xp.zeros_like(p.array)
        state['step'] += 1
        if group['maximize']:
            grad = -grad
        if wd != 0:
            grad = grad + wd * p.array
        sq = state['square_avg']
        sq *= alpha                                          # E[g^2] = alpha E[g^2] + (1 - alpha) g^2
        sq += (1 - alpha) * (grad * grad)
        if group['centered']:                                # subtract E[g]^2: a variance estimate
            ga = state['grad_avg']
            ga *= alpha
            ga += (1 - alpha) * grad
            avg = xp.sqrt(sq - ga * ga) + eps
        else:
            avg = xp.sqrt(sq) + eps
        if momentum > 0:
            buf = state['momentum_buffer']
            buf *= momentum
            buf += grad / avg
            p.array -= lr * buf
        else:
            p.array -= lr * (grad / avg)


class Adagrad(Optimizer):
    """p -= clr * g / (sqrt(sum of g^2) + eps), clr = lr / (1 + (step - 1) * lr_decay)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_hyperparameter('Adagrad', 'lr', lr)
        check_hyperparameter('Adagrad', 'lr_decay', lr_decay)
        check_hyperparameter('Adagrad', 'weight_decay', weight_decay)
        check_hyperparameter('Adagrad', 'initial_accumulator_value', initial_accumulator_value)
        check_hyperparameter('Adagrad', 'eps', eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      foreach=foreach, maximize=bool(maximize), differentiable=False,
                                      fused=fused))

    def _update(self, p, grad, group, state):
        xp = p.xp
        if not state:
            state['step'] = 0
            state['sum'] = xp.full_like(p.array, group['initial_accumulator_value'])
        state['step'] += 1
        if group['maximize']:
            grad = -grad
        if group['weight_decay'] != 0:
            grad = grad + group['weight_decay'] * p.array
        clr = group['lr'] / (1 + (state['step'] - 1) * group['lr_decay'])
        acc = state['sum']
        acc += grad * grad
        p.array -= clr * (grad / (xp.sqrt(acc) + group['eps']))
