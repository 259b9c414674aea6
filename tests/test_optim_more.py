"""The added optimizers and schedules against torch.optim: eight float64 steps on the same
problem give the same parameters (to rounding), and the same lr sequence per step."""
import numpy as np
import pytest

import minitensor as mt

torch = pytest.importorskip('torch')
rng = np.random.default_rng(0)
W, X = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))


@pytest.mark.parametrize('name, kwargs', [
    ('Adamax', {}), ('Adamax', {'weight_decay': 0.1, 'maximize': True}), ('Adadelta', {}),
    ('Adadelta', {'weight_decay': 0.2, 'rho': 0.5}), ('NAdam', {}), ('NAdam', {'weight_decay': 0.1}),
    ('NAdam', {'weight_decay': 0.1, 'decoupled_weight_decay': True}), ('RAdam', {}),
    ('RAdam', {'weight_decay': 0.1, 'decoupled_weight_decay': True}), ('Rprop', {}),
    ('Rprop', {'etas': (0.3, 1.5), 'step_sizes': (1e-3, 0.2)}),
])
def test_optimizer_matches_torch(name, kwargs):
    results = []
    for L in (torch, mt):
        w, x = L.tensor(W, requires_grad=True), L.tensor(X)
        opt = getattr(L.optim, name)([w], lr=0.05, **kwargs)
        for _ in range(8):
            opt.zero_grad()
            loss = ((x @ w.T).tanh() ** 2).sum() - w.sum()
            loss.backward()
            opt.step()
        results.append(w.detach().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize('make', [
    lambda L, o: L.optim.lr_scheduler.ConstantLR(o, 0.5, 4),
    lambda L, o: L.optim.lr_scheduler.PolynomialLR(o, 10, 2.0),
    lambda L, o: L.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.95),
    lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 3, 2, 0.01),
    lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 4),
], ids=['constant', 'polynomial', 'multiplicative', 'warm_restarts_tmult2', 'warm_restarts'])
def test_schedule_matches_torch(make):
    seqs = []
    for L in (torch, mt):
        w = L.zeros(2, requires_grad=True)
        opt = L.optim.SGD([w], lr=0.1)
        sched = make(L, opt)
        lrs = []
        for _ in range(25):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]['lr'])
        seqs.append(lrs)
    np.testing.assert_allclose(seqs[1], seqs[0], rtol=1e-12, atol=1e-15)


def test_bad_hyperparameters_raise_value_error():
    w = mt.zeros(2, requires_grad=True)
    with pytest.raises(ValueError):
        mt.optim.Rprop([w], etas=(1.5, 1.2))
    with pytest.raises(ValueError):
        mt.optim.Adadelta([w], rho=1.5)
    with pytest.raises(ValueError):
        mt.optim.NAdam([w], lr=-1)
