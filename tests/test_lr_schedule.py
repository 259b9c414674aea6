"""Learning-rate schedules: nanoGPT's cosine with warm-up, CosineWarmupLR, LambdaLR."""
import math

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
from minitensor.optim import CosineWarmupLR, LambdaLR, get_cosine_schedule


def nanogpt_get_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
    """nanoGPT train.py's get_lr, copied as written there."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


def optimizer(*lrs):
    groups = [{'params': [nn.Parameter(mt.zeros(2))], 'lr': lr} for lr in lrs]
    return mt.optim.AdamW(groups)


def test_cosine_schedule_matches_nanogpt_everywhere():
    for it in range(0, 1200):
        assert get_cosine_schedule(it, 6e-4, 100, 1000, 6e-5) == pytest.approx(
            nanogpt_get_lr(it, 6e-4, 100, 1000, 6e-5), rel=1e-15, abs=0)


def test_cosine_schedule_landmarks():
    lr = lambda it: get_cosine_schedule(it, 1.0, 10, 110, 0.1)  # noqa: E731
    assert lr(0) == pytest.approx(1 / 11)                 # warm-up starts above zero
    assert lr(9) == pytest.approx(10 / 11)
    assert lr(10) == 1.0                                  # the peak, right after warm-up
    assert lr(60) == pytest.approx(0.55)                  # half-way down: (max + min) / 2
    assert lr(110) == pytest.approx(0.1) and lr(5000) == 0.1
    decay = [lr(it) for it in range(10, 111)]
    assert all(a > b for a, b in zip(decay, decay[1:]))   # strictly decreasing


def test_cosine_schedule_without_warmup_or_decay_span():
    assert get_cosine_schedule(0, 1.0, 0, 100, 0.0) == 1.0
    # warmup == lr_decay_iters: warm up, then min_lr (no 0/0 at the boundary)
    assert get_cosine_schedule(4, 1.0, 5, 5, 0.2) == pytest.approx(5 / 6)
    assert get_cosine_schedule(5, 1.0, 5, 5, 0.2) == 0.2


def test_cosine_warmup_lr_drives_every_group():
    opt = optimizer(1e-3, 1e-2)
    sched = CosineWarmupLR(opt, warmup_iters=5, max_iters=50, min_lr=1e-5)
    for it in range(60):
        expected = [get_cosine_schedule(it, base, 5, 50, 1e-5) for base in (1e-3, 1e-2)]
        assert sched.get_last_lr() == pytest.approx(expected, rel=1e-15)
        assert [g['lr'] for g in opt.param_groups] == pytest.approx(expected, rel=1e-15)
        opt.step()
        sched.step()


def test_lambda_lr_scales_initial_lr_per_group():
    opt = optimizer(0.1, 0.2)
    sched = LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: 1.0 / (e + 1)])
    for e in range(6):
        assert sched.get_last_lr() == pytest.approx([0.1 * 0.5 ** e, 0.2 / (e + 1)], rel=1e-15)
        sched.step()
    assert opt.param_groups[0]['initial_lr'] == 0.1


def test_lambda_lr_needs_one_function_per_group():
    with pytest.raises(ValueError, match='expected 2 lr_lambdas'):
        LambdaLR(optimizer(0.1, 0.2), [lambda e: 1.0])


def test_bad_cosine_arguments():
    with pytest.raises(ValueError, match='warmup_iters <= max_iters'):
        CosineWarmupLR(optimizer(0.1), warmup_iters=10, max_iters=5)


@pytest.mark.parametrize('load_scheduler_first', [False, True])
def test_scheduler_state_dict_resumes_the_schedule(load_scheduler_first, tmp_path):
    opt = optimizer(1e-3)
    sched = CosineWarmupLR(opt, warmup_iters=3, max_iters=20, min_lr=1e-4)
    for _ in range(7):
        opt.step()
        sched.step()
    mt.save({'opt': opt.state_dict(), 'sched': sched.state_dict()}, tmp_path / 's.ckpt')
    expected = []
    for _ in range(5):
        expected.append(opt.param_groups[0]['lr'])
        sched.step()

    ckpt = mt.load(tmp_path / 's.ckpt')
    opt2 = optimizer(1e-3)
    sched2 = CosineWarmupLR(opt2, warmup_iters=3, max_iters=20, min_lr=1e-4)
    if load_scheduler_first:
        sched2.load_state_dict(ckpt['sched'])
        opt2.load_state_dict(ckpt['opt'])
    else:
        opt2.load_state_dict(ckpt['opt'])
        sched2.load_state_dict(ckpt['sched'])
    assert sched2.last_epoch == 7
    got = []
    for _ in range(5):
        got.append(opt2.param_groups[0]['lr'])
        sched2.step()
    assert got == expected


def test_lambda_lr_matches_torch():
    torch = pytest.importorskip('torch')
    fn = lambda e: 0.9 ** e if e > 2 else (e + 1) / 3   # noqa: E731
    opt = optimizer(0.3)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.3)
    ours, theirs = LambdaLR(opt, fn), torch.optim.lr_scheduler.LambdaLR(topt, fn)
    for _ in range(12):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-15)
        topt.step()
        ours.step()
        theirs.step()
