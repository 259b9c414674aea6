"""Optimizers' parameter trajectories and schedulers' lr sequences against torch, torch's
hyperparameter validation (NaN included), nanoGPT's param groups, clipping in float16."""
import inspect
import math

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
from minitensor.optim import lr_scheduler as ls

torch = pytest.importorskip('torch')


def _run(make_ours, make_theirs, steps=6, change_lr_at=3):
    """Two parameter groups, a quadratic-ish loss, a manual lr change mid-run (honoured at
    the next step, as torch); returns the final parameters of both."""
    rng = np.random.default_rng(0)
    a0, b0 = rng.standard_normal((3, 2)), rng.standard_normal(4)
    ours = [mt.tensor(a0, requires_grad=True), mt.tensor(b0, requires_grad=True)]
    theirs = [torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
    opt_o = make_ours([{'params': [ours[0]]}, {'params': [ours[1]], 'lr': 0.05}])
    opt_t = make_theirs([{'params': [theirs[0]]}, {'params': [theirs[1]], 'lr': 0.05}])
    for step in range(steps):
        if step == change_lr_at:
            opt_o.param_groups[0]['lr'] = 0.02
            opt_t.param_groups[0]['lr'] = 0.02
        for opt, (a, b), L in ((opt_o, ours, mt), (opt_t, theirs, torch)):
            opt.zero_grad()
            loss = (a * a * a).sum() + (b.tanh() * b).sum() + (a.sum() * b.sum())
            loss.backward()
            opt.step()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    return opt_o, opt_t


@pytest.mark.parametrize('name, kw', [
    ('Adam', dict(lr=0.1)),
    ('Adam', dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
    ('Adam', dict(lr=0.1, betas=(0.8, 0.9), maximize=True, foreach=False)),
    ('Adam', dict(lr=0.1, weight_decay=0.05, decoupled_weight_decay=True)),
    ('AdamW', dict(lr=0.1, weight_decay=0.1)),
    ('AdamW', dict(lr=0.1, weight_decay=0.1, amsgrad=True, maximize=True)),
    ('SGD', dict(lr=0.1)),
    ('SGD', dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ('SGD', dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ('RMSprop', dict(lr=0.01)),
    ('RMSprop', dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ('Adagrad', dict(lr=0.1)),
    ('Adagrad', dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5, maximize=True)),
])
def test_trajectory_matches_torch(name, kw):
    opt_o, opt_t = _run(lambda g: getattr(mt.optim, name)(g, **kw), lambda g: getattr(torch.optim, name)(g, **kw))
    ours_state = opt_o.state_dict()['state'].get(0, {})
    theirs_state = opt_t.state_dict()['state'].get(0, {})
    assert set(ours_state) == {k for k, v in theirs_state.items() if v is not None}


def test_nanogpt_configure_optimizers():
    assert 'fused' in inspect.signature(mt.optim.AdamW).parameters
    model = nn.Sequential(nn.Embedding(5, 4), nn.LayerNorm(4), nn.Linear(4, 5))
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    decay = [p for p in params.values() if p.dim() >= 2]
    nodecay = [p for p in params.values() if p.dim() < 2]
    opt = mt.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}],
                         lr=6e-4, betas=(0.9, 0.95), fused=True)
    assert [g['weight_decay'] for g in opt.param_groups] == [0.1, 0.0]
    model(mt.tensor([[1, 2]])).sum().backward()
    opt.step()
    extra = nn.Parameter(mt.ones(2))
    opt.add_param_group({'params': [extra], 'lr': 1.0})
    assert opt.param_groups[-1]['betas'] == (0.9, 0.95) and opt.param_groups[-1]['lr'] == 1.0


@pytest.mark.parametrize('make, match', [
    (lambda p: mt.optim.AdamW(p, lr=-1), 'Invalid learning rate: -1'),
    (lambda p: mt.optim.AdamW(p, lr=float('nan')), 'Invalid learning rate: nan'),
    (lambda p: mt.optim.Adam(p, eps=float('nan')), 'Invalid epsilon value'),
    (lambda p: mt.optim.Adam(p, betas=(0.9, float('nan'))), 'Invalid beta parameter at index 1'),
    (lambda p: mt.optim.Adam(p, betas=(-0.1, 0.9)), 'Invalid beta parameter at index 0'),
    (lambda p: mt.optim.AdamW(p, weight_decay=float('nan')), 'Invalid weight_decay value'),
    (lambda p: mt.optim.SGD(p, lr=0.1, momentum=float('nan')), 'Invalid momentum value'),
    (lambda p: mt.optim.SGD(p, lr=0.1, momentum=-0.5), 'Invalid momentum value'),
    (lambda p: mt.optim.RMSprop(p, alpha=-1), 'Invalid alpha value'),
    (lambda p: mt.optim.Adagrad(p, lr_decay=-1), 'Invalid lr_decay value'),
])
def test_validation_as_torch(make, match):
    with pytest.raises(ValueError, match=match):
        make([nn.Parameter(mt.ones(2))])


def _lrs(make_sched, opt_cls, n=25, metrics=None, **opt_kw):
    """The lr of both groups after each of n steps, for minitensor and torch."""
    out = []
    for lib in (mt, torch):
        p1, p2 = lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)
        opt = getattr(lib.optim, opt_cls)([{'params': [p1]}, {'params': [p2], 'lr': 0.5}], lr=0.1, **opt_kw)
        sched = make_sched(lib.optim.lr_scheduler, opt)
        def row():    # each group's lr, then its momentum (SGD) or beta1 (Adam)
            return ([g['lr'] for g in opt.param_groups]
                    + [g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups])
        seq = [row()]
        for i in range(n):
            opt.step()
            sched.step(metrics[i]) if metrics is not None else sched.step()
            seq.append(row())
        out.append(np.array(seq, dtype=float))
    return out


@pytest.mark.parametrize('make', [
    lambda L, o: L.StepLR(o, step_size=4, gamma=0.5),
    lambda L, o: L.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.3),
    lambda L, o: L.ExponentialLR(o, gamma=0.9),
    lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=10),
    lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
    lambda L, o: L.LambdaLR(o, lambda s: 1 / (1 + s)),
    lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=26),
    lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=30, pct_start=0.4, anneal_strategy='linear',
                              three_phase=True),
    lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                    L.CosineAnnealingLR(o, T_max=15)], milestones=[5]),
    lambda L, o: L.SequentialLR(o, [L.ExponentialLR(o, 0.5), L.StepLR(o, 3), L.ExponentialLR(o, 0.9)],
                                milestones=[4, 10]),
], ids=['step', 'multistep', 'exponential', 'linear', 'cosine', 'lambda', 'onecycle', 'onecycle3',
        'sequential', 'sequential3'])
@pytest.mark.parametrize('opt_cls, opt_kw', [('SGD', {'momentum': 0.9}), ('Adam', {})], ids=['sgd', 'adam'])
def test_scheduler_lr_sequence_matches_torch(make, opt_cls, opt_kw):
    ours, theirs = _lrs(make, opt_cls, **opt_kw)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [5, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2]
    for kw in ({'patience': 2}, {'patience': 1, 'cooldown': 2, 'factor': 0.5, 'min_lr': 0.04},
               {'mode': 'max', 'patience': 0, 'threshold_mode': 'abs', 'threshold': 0.5}):
        ours, theirs = _lrs(lambda L, o: L.ReduceLROnPlateau(o, **kw), 'SGD', n=len(metrics),
                            metrics=metrics)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_clip_grad_norm_float16_accumulates_in_float32():
    p = nn.Parameter(mt.zeros(1000, dtype=mt.float16))
    p.grad = mt.full((1000,), 300.0, dtype=mt.float16)      # squares overflow float16 (65504)
    total = nn.utils.clip_grad_norm_([p], max_norm=1.0, foreach=True)
    assert total.dtype == mt.float16
    assert float(total.item()) == pytest.approx(300 * math.sqrt(1000), rel=1e-3)
    g = p.grad.numpy().astype(np.float64)
    assert np.all(g > 0) and np.linalg.norm(g) == pytest.approx(1.0, rel=1e-2)


def test_clip_grad_value_and_vectors_match_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)) * 3
    ours, theirs = nn.Parameter(mt.tensor(a)), torch.nn.Parameter(torch.tensor(a))
    ours.grad, theirs.grad = mt.tensor(a * 2), torch.tensor(a * 2)
    nn.utils.clip_grad_value_([ours], 1.5)
    torch.nn.utils.clip_grad_value_([theirs], 1.5)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    nn.utils.vector_to_parameters(mt.arange(8).float(), m.parameters())
    np.testing.assert_array_equal(m.bias.detach().numpy(), [6.0, 7.0])
