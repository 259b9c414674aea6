"""SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD's math)."""
from .optimizer import Optimizer, check_hyperparameter


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        check_hyperparameter('SGD', 'lr', lr)
        check_hyperparameter('SGD', 'momentum', momentum)
        check_hyperparameter('SGD', 'weight_decay', weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(nesterov=True needs momentum > 0 and dampening = 0), got "
                             f"momentum={momentum}, dampening={dampening}")
        if differentiable:
            raise RuntimeError("SGD: differentiable=True is not supported")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=bool(maximize), foreach=foreach, differentiable=False,
                                      fused=fused))

    def _update(self, p, grad, group, state):
        lr, momentum, wd = group['lr'], group['momentum'], group['weight_decay']
        if group.get('maximize', False):
            grad = -grad                           # a new array, grad stays intact
        if wd != 0:
            grad = grad + wd * p.array             # L2 penalty: a new array, grad stays intact
        if momentum != 0:
            buf = state.get('momentum_buffer')
            if buf is None:                        # the first step starts the buffer at grad
                buf = state['momentum_buffer'] = grad.copy()
            else:                                  # buf = momentum * buf + (1 - dampening) * grad
                buf *= momentum
                buf += (1 - group['dampening']) * grad
            grad = grad + momentum * buf if group['nesterov'] else buf
        p.array -= lr * grad
