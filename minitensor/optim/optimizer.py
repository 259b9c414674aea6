"""Optimizer: parameter groups, per-parameter state, zero_grad, step, state_dict.

Subclasses write the math of ONE parameter's update in `_update(p, grad, group, state)`
on raw backend arrays. `_step_group` loops over a group's parameters and calls it;
a fused multi-tensor GPU path can replace `_step_group` without touching the math.

Engine rule: gradient arrays are never modified in place (a backward may hand one
array to two inputs), so updates read `p.grad.array` and never write into it.
Parameter and state arrays are ours and are updated in place.
"""
import copy
import numbers

from ..autograd import no_grad
from .. import dtypes
from ..backend import to_device
from ..inplace import bump_version
from ..tensor import Tensor


class Optimizer:
    """Base of the optimizers: groups of parameters with their own hyperparameters."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}          # Parameter -> dict of its state (keyed by identity)
        self.param_groups = []
        if isinstance(params, Tensor) or isinstance(params, dict):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts "
                f"(parameter groups), got a single {type(params).__name__}; pass "
                f"model.parameters() or [tensor]")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list; did the "
                             f"model register its Parameters (nn.Parameter / nn.Module attributes)?")
        if not isinstance(groups[0], dict):
            groups = [{'params': groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a dict {'params': [...], 'lr': ...}; missing hyperparameters take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict with a 'params' key, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group.get('params')
        if params is None:
            raise ValueError("add_param_group: the group has no 'params' key")
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize Tensors, but "
                                f"parameter {i} of the group is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor "
                                 f"(parameter {i} of the group has a grad_fn); use a "
                                 f"Parameter or a tensor created with requires_grad=True")
        seen = {id(p) for g in self.param_groups for p in g['params']}
        if len(params) != len({id(p) for p in params}) or any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             f"parameter group (or twice in one); each may appear once")
        group['params'] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Drop the gradients (None, the default) or rebind them to fresh zero arrays."""
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:   # a new array: the old one may be shared with another tensor's grad
                    p.grad = Tensor._wrap(p.grad.xp.zeros_like(p.grad.array))

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns closure()'s loss if given."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group):
        """The per-parameter loop; a fused multi-tensor fast path would replace this."""
        for p in group['params']:
            if p.grad is None:
                continue
            self._update(p, p.grad.array, group, self.state.setdefault(p, {}))
            bump_version(p)     # an in-place update, as torch's: a graph that saved p now refuses backward

    def _update(self, p, grad, group, state):
        raise NotImplementedError(f"{type(self).__name__} must define _update")

    # ------------------------------------------------------------ checkpoints

    def state_dict(self):
        """{'state': {index: {name: Tensor | number}}, 'param_groups': [...]}, as torch.

        Parameters are named by their position across all groups. Arrays are COPIED
        into Tensors, so steps taken after this call do not change the saved state.
        """
        index, groups = {}, []
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != 'params'}
            saved['params'] = []
            for p in group['params']:
                index.setdefault(id(p), len(index))
                saved['params'].append(index[id(p)])
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for p in group['params']:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: _export(v) for k, v in self.state[p].items()}
        return {'state': state, 'param_groups': groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state; state arrays move to each parameter's device."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or 'param_groups' not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected the dict that "
                             f"optimizer.state_dict() returns (keys 'state', 'param_groups')")
        saved_groups = state_dict['param_groups']
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s) but this optimizer has {len(self.param_groups)}")
        by_index = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved['params']) != len(group['params']):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(saved['params'])} parameter(s) in the state dict but "
                                 f"{len(group['params'])} in this optimizer")
            by_index.update(zip(saved['params'], group['params']))
        new_state = {}
        for idx, entries in state_dict.get('state', {}).items():
            if idx not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {idx}, "
                                 f"which no parameter group lists")
            p = by_index[idx]
            new_state[p] = {k: _import(v, p, k, idx, name) for k, v in entries.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != 'params':
                    group[k] = copy.deepcopy(v)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != 'params']
        return "\n".join(lines + [")"])


def _export(value):
    """A state value as state_dict stores it: arrays become Tensors holding a copy."""
    if isinstance(value, Tensor):
        return Tensor._wrap(value.array.copy())
    if hasattr(value, 'shape') and hasattr(value, 'dtype'):   # a numpy or cupy array
        return Tensor._wrap(value.copy())
    return copy.deepcopy(value)


def _import(value, p, key, idx, opt_name):
    """A state_dict value as the optimizer keeps it: a raw array on p's device (a copy)."""
    if isinstance(value, Tensor):
        value = value.array
    if not (hasattr(value, 'shape') and hasattr(value, 'dtype')):
        return copy.deepcopy(value)        # step counts and other Python numbers
    if value.ndim and tuple(value.shape) != tuple(p.shape):
        raise ValueError(f"{opt_name}.load_state_dict: state '{key}' of parameter {idx} has "
                         f"shape {tuple(value.shape)} but the parameter has shape "
                         f"{tuple(p.shape)}; was the state dict saved for another model?")
    array = to_device(value, p.device)
    # floating state (moments, momentum) follows the parameter's dtype, as torch does
    dtype = p.dtype if dtypes.is_floating(array.dtype) else array.dtype
    return array.astype(dtype, copy=True)


_TORCH_LABELS = {
    'lr': 'Invalid learning rate', 'eps': 'Invalid epsilon value',
    'betas[0]': 'Invalid beta parameter at index 0', 'betas[1]': 'Invalid beta parameter at index 1',
    'weight_decay': 'Invalid weight_decay value', 'momentum': 'Invalid momentum value',
    'alpha': 'Invalid alpha value', 'lr_decay': 'Invalid lr_decay value',
    'initial_accumulator_value': 'Invalid initial_accumulator_value value',
}


def check_hyperparameter(opt, name, value, low=0.0, high=None, high_open=False):
    """Raise torch's ValueError ("Invalid learning rate: -1"), naming the optimizer and the
    valid range, for a bad setting. Written `not low <= value` so that NaN fails too."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and low <= value
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bracket = ')' if high_open else ']'
        valid = f"[{low}, {high}{bracket}" if high is not None else f">= {low}"
        label = _TORCH_LABELS.get(name, f"Invalid {name} value")
        raise ValueError(f"{label}: {value!r} ({opt}: invalid {name}; expected a number in {valid})")
