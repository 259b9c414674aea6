"""Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay).

The math follows torch.optim.Adam / AdamW operation for operation (amsgrad and
maximize included), so a float64 run matches torch to rounding. torch's foreach=,
fused= and capturable= choose kernels, not math: they are accepted and the engine
picks its own path (the fused GPU kernel when it applies).
"""
import math

from .. import cuda
from .optimizer import Optimizer, check_hyperparameter


class Adam(Optimizer):
    """Adam: per-element step sizes from running moments of the gradient."""

    decoupled_weight_decay = False   # Adam adds wd * p to the gradient (L2 regularization)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=None):
        name = type(self).__name__
        check_hyperparameter(name, 'lr', lr)
        check_hyperparameter(name, 'eps', eps)
        check_hyperparameter(name, 'betas[0]', betas[0], 0.0, 1.0, high_open=True)
        check_hyperparameter(name, 'betas[1]', betas[1], 0.0, 1.0, high_open=True)
        check_hyperparameter(name, 'weight_decay', weight_decay)
        if differentiable:
            raise RuntimeError(f"{name}: differentiable=True is not supported")
        if decoupled_weight_decay is not None:
            self.decoupled_weight_decay = bool(decoupled_weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=bool(amsgrad), maximize=bool(maximize), foreach=foreach,
                                      capturable=capturable, differentiable=False, fused=fused))

    def _update(self, p, grad, group, state):
        xp = p.xp
        lr, (beta1, beta2), eps, wd = group['lr'], group['betas'], group['eps'], group['weight_decay']
        amsgrad = group.get('amsgrad', False)
        if not state:
            if cuda.graphs.is_capturing():
                raise RuntimeError(f"{type(self).__name__}: the optimizer state does not exist yet, "
                                   f"and creating it under CUDA-graph capture would zero it at every "
                                   f"replay; take one eager step (warm-up) before capturing")
            state['step'] = 0
            state['exp_avg'] = xp.zeros_like(p.array)      # m: running mean of grad
            state['exp_avg_sq'] = xp.zeros_like(p.array)   # v: running mean of grad**2
            if amsgrad:
                state['max_exp_avg_sq'] = xp.zeros_like(p.array)
        if group.get('maximize', False):
            grad = -grad                                   # ascend: a new array, grad stays intact
        m, v = state['exp_avg'], state['exp_avg_sq']
        if not amsgrad and cuda.fusable(p.array, grad, m, v):   # the lines below, in one launch
            def step_values():
                # what changes between steps; under CUDA-graph capture this runs before every replay
                state['step'] += 1
                t = state['step']
                return cuda.adam_step_values(group['lr'], wd, self.decoupled_weight_decay,
                                             1 - beta1 ** t, 1 - beta2 ** t)
            hyper = cuda.graphs.step_values(step_values, 3, p.dtype)
            return cuda.adam_update(p.array, grad, m, v, hyper, beta1, beta2, eps, wd,
                                    self.decoupled_weight_decay)
        state['step'] += 1
        t = state['step']

        if wd != 0:
            if self.decoupled_weight_decay:
                p.array *= 1 - lr * wd                     # AdamW: shrink p, outside the moments
            else:
                grad = grad + wd * p.array                 # Adam: L2 term joins the gradient

        m *= beta1                                        # m = beta1 * m + (1 - beta1) * g
        m += (1 - beta1) * grad
        v *= beta2                                        # v = beta2 * v + (1 - beta2) * g**2
        v += (1 - beta2) * (grad * grad)

        # m and v start at zero, so early on they underestimate E[g] and E[g**2] by the
        # factors (1 - beta**t); dividing those out removes the bias toward zero.
        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        step_size = lr / bias_correction1
        if amsgrad:                                       # the largest v so far: steps never grow back
            vmax = state['max_exp_avg_sq']
            xp.maximum(vmax, v, out=vmax)
            denom = xp.sqrt(vmax) / math.sqrt(bias_correction2) + eps
        else:
            denom = xp.sqrt(v) / math.sqrt(bias_correction2) + eps   # sqrt(v_hat) + eps
        p.array -= step_size * (m / denom)                 # p -= lr * m_hat / (sqrt(v_hat) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * wd before the Adam step."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused)
