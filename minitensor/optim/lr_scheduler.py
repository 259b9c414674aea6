"""Learning-rate schedules: LambdaLR, nanoGPT's warm-up + cosine decay, CosineWarmupLR.

A scheduler sets `group['lr']` of its optimizer's groups. As in torch, creating one
applies the lr of step 0, and each `.step()` (after `optimizer.step()`) moves to the next.
"""
import math


def get_cosine_schedule(step, max_lr, warmup_iters, lr_decay_iters, min_lr):
    """nanoGPT's get_lr: linear warm-up to max_lr, cosine decay to min_lr, then min_lr."""
    if step < warmup_iters:
        # (step + 1) so the very first step already learns (lr > 0)
        return max_lr * (step + 1) / (warmup_iters + 1)
    if step >= lr_decay_iters:     # ">=": at lr_decay_iters the cosine has reached min_lr
        return min_lr
    decay_ratio = (step - warmup_iters) / (lr_decay_iters - warmup_iters)   # 0 -> 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))                  # 1 -> 0
    return min_lr + coeff * (max_lr - min_lr)


class LRScheduler:
    """Base: remembers each group's initial lr and the step count; subclasses give lr(step)."""

    def __init__(self, optimizer):
        if not hasattr(optimizer, 'param_groups'):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            # kept in the optimizer's state_dict, so a resumed run finds the same base lrs
            group.setdefault('initial_lr', group['lr'])
        self.base_lrs = [group['initial_lr'] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def get_lr(self):
        raise NotImplementedError

    def step(self):
        """Advance one step and write the new lr into every parameter group."""
        self.last_epoch += 1
        self._apply(self.get_lr())

    def _apply(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group['lr'] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self):
        """The lr of each group as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self):
        """Numbers only (the optimizer and any lambdas are left out), as torch."""
        return {'last_epoch': self.last_epoch, 'base_lrs': list(self.base_lrs),
                '_last_lr': list(self._last_lr)}

    def load_state_dict(self, state_dict):
        """Restore the step count and re-apply its lr (so load order does not matter)."""
        self.last_epoch = state_dict['last_epoch']
        self.base_lrs = list(state_dict['base_lrs'])
        self._apply(state_dict['_last_lr'])


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(step); one function for all groups or one per group."""

    def __init__(self, optimizer, lr_lambda):
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer)

    def get_lr(self):
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]


class CosineWarmupLR(LRScheduler):
    """get_cosine_schedule applied to every group, with its initial lr as max_lr."""

    def __init__(self, optimizer, warmup_iters, max_iters, min_lr=0.0):
        if not 0 <= warmup_iters <= max_iters:
            raise ValueError(f"CosineWarmupLR: need 0 <= warmup_iters <= max_iters, got "
                             f"warmup_iters={warmup_iters}, max_iters={max_iters}")
        self.warmup_iters, self.max_iters, self.min_lr = warmup_iters, max_iters, min_lr
        super().__init__(optimizer)

    def get_lr(self):
        return [get_cosine_schedule(self.last_epoch, base, self.warmup_iters, self.max_iters,
                                    self.min_lr) for base in self.base_lrs]
