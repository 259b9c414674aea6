"""Learning-rate schedules with torch's names: LambdaLR, StepLR, MultiStepLR, ExponentialLR,
LinearLR, CosineAnnealingLR, OneCycleLR, SequentialLR, ReduceLROnPlateau; and nanoGPT's
warm-up + cosine decay (get_cosine_schedule, CosineWarmupLR).

A scheduler sets `group['lr']` of its optimizer's groups. As in torch, creating one
applies the lr of step 0, and each `.step()` (after `optimizer.step()`) moves to the next.
Every schedule here is a closed form of the step count (torch's "chainable" forms give
the same numbers to rounding when one scheduler drives the lr).
"""
import bisect
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

    def __init__(self, optimizer, last_epoch=-1):
        if not hasattr(optimizer, 'param_groups'):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            # kept in the optimizer's state_dict, so a resumed run finds the same base lrs
            if last_epoch == -1:
                group.setdefault('initial_lr', group['lr'])
            elif 'initial_lr' not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                               f"resuming an optimizer ({type(self).__name__}(last_epoch={last_epoch}))")
        self.base_lrs = [group['initial_lr'] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self):
        raise NotImplementedError

    def step(self, epoch=None):
        """Advance one step (or jump to `epoch`) and write the new lr into every group."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
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


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (step // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (how many milestones are <= step)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** step."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = initial_lr * factor, factor moving linearly from start_factor to end_factor over
    total_iters steps, then staying at end_factor."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got "
                             f"start_factor={start_factor}, end_factor={end_factor}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        done = min(self.total_iters, self.last_epoch) / self.total_iters if self.total_iters else 1.0
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * step / T_max)) / 2 (SGDR without restarts)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cos = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy: lr rises from max_lr/div_factor to max_lr over pct_start of the run,
    then anneals to initial_lr/final_div_factor; momentum (or Adam's beta1) cycles inversely."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy='cos', cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: you must define either total_steps OR (epochs AND "
                                 "steps_per_epoch)")
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"OneCycleLR: expected a positive integer total_steps, got {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: expected a float between 0 and 1 for pct_start, got {pct_start}")
        if anneal_strategy not in ('cos', 'linear'):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [(up, 'initial_lr', 'max_lr', 'max_momentum', 'base_momentum'),
                           (float(2 * pct_start * total_steps) - 2, 'max_lr', 'initial_lr',
                            'base_momentum', 'max_momentum'),
                           (total_steps - 1, 'initial_lr', 'min_lr', 'max_momentum', 'max_momentum')]
        else:
            self.phases = [(up, 'initial_lr', 'max_lr', 'max_momentum', 'base_momentum'),
                           (total_steps - 1, 'max_lr', 'min_lr', 'base_momentum', 'max_momentum')]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if 'momentum' not in optimizer.defaults and 'betas' not in optimizer.defaults:
                raise ValueError("OneCycleLR: optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = 'betas' in optimizer.defaults
        for group, top in zip(groups, max_lrs):
            if last_epoch == -1:
                group['initial_lr'] = top / div_factor
                group['max_lr'] = top
                group['min_lr'] = group['initial_lr'] / final_div_factor
            if cycle_momentum:
                if self.use_beta1:
                    group['betas'] = (max_momentum,) + tuple(group['betas'][1:])
                else:
                    group['momentum'] = max_momentum
                group['max_momentum'], group['base_momentum'] = max_momentum, base_momentum
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == 'cos':
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the specified number of "
                             f"total steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self.phases):
                if step <= end or i == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m0], group[m1], pct)
                        if self.use_beta1:
                            group['betas'] = (momentum,) + tuple(group['betas'][1:])
                        else:
                            group['momentum'] = momentum
                    break
                start = end
        return lrs


class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the given milestones (each later one
    restarts from its own step 0), e.g. LinearLR warm-up then CosineAnnealingLR."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1 or len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones for "
                             f"{len(schedulers)} schedulers, got {len(milestones)}")
        for i, s in enumerate(schedulers):
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {i} drives another optimizer than the "
                                 f"one given")
        self.optimizer, self._schedulers, self._milestones = optimizer, list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        self.base_lrs = [g['initial_lr'] for g in optimizer.param_groups]
        for group in optimizer.param_groups:          # undo the steps the schedulers took when made
            group['lr'] = group['initial_lr']
        for s in self._schedulers:
            s.last_epoch -= 1
        self._schedulers[0].step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler.step(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        return {'last_epoch': self.last_epoch, '_last_lr': list(self._last_lr),
                '_schedulers': [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict):
        self.last_epoch = state_dict['last_epoch']
        for s, sd in zip(self._schedulers, state_dict['_schedulers']):
            s.load_state_dict(sd)
        self._last_lr = list(state_dict['_last_lr'])


class ReduceLROnPlateau:
    """Multiply the lr by `factor` when a metric (passed to step) stops improving for
    `patience` steps; then wait `cooldown` steps; never below min_lr. torch's rules."""

    def __init__(self, optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau: factor should be < 1.0")
        if mode not in ('min', 'max'):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown; use 'min' or 'max'")
        if threshold_mode not in ('rel', 'abs'):
            raise ValueError(f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown; "
                             f"use 'rel' or 'abs'")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = threshold, threshold_mode, cooldown, eps
        self.best = math.inf if mode == 'min' else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self._last_lr = [g['lr'] for g in optimizer.param_groups]

    def _is_better(self, a):
        if self.mode == 'min':
            return a < (self.best * (1 - self.threshold) if self.threshold_mode == 'rel'
                        else self.best - self.threshold)
        return a > (self.best * (1 + self.threshold) if self.threshold_mode == 'rel'
                    else self.best + self.threshold)

    def step(self, metrics):
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0                # bad steps in cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group['lr'] * self.factor, floor)
                if group['lr'] - new_lr > self.eps:
                    group['lr'] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g['lr'] for g in self.optimizer.param_groups]

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != 'optimizer'}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


# ---------------------------------------------------------------- more of torch's schedules

class ConstantLR(LRScheduler):
    """lr = initial_lr * factor for the first total_iters steps, then initial_lr."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 < factor <= 1:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        scale = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * scale for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = initial_lr * (1 - min(step, total_iters) / total_iters) ** power."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        scale = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [base * scale for base in self.base_lrs]


class MultiplicativeLR(LRScheduler):
    """Each step multiplies every group's lr by lr_lambda(step) (one function or one per group)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        n = len(optimizer.param_groups)
        self.lr_lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(self.lr_lambdas) != n:
            raise ValueError(f"Expected {n} lr_lambdas, but got {len(self.lr_lambdas)}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch > 0:
            return [g['lr'] * fn(self.last_epoch) for g, fn in zip(groups, self.lr_lambdas)]
        return [g['lr'] for g in groups]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from initial_lr to eta_min over T_0 steps, restarting; each period
    T_mult times longer than the last (SGDR)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cos = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult ** n
        else:
            self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        self._apply(self.get_lr())

