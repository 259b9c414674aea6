"""Every loss and reduction against torch (float64 forward and the gradients of input and
target), the nll/cross_entropy target rules, and mt.gradcheck of the new Functions."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F
from torch_diff import Op, check_against_torch

torch = pytest.importorskip('torch')
from hypothesis import strategies as st  # noqa: E402

REDUCTIONS = ['mean', 'sum', 'none']
PROB = (0.02, 0.98)


def run(name, fn, shapes, domain=(-2.0, 2.0), dtypes='float64', seed=0):
    op = Op(name, fn, shapes=st.just(tuple(shapes)), domain=domain, dtypes=dtypes, nonfinite=False)
    check_against_torch(op, shapes, seed)


def _w(L, c, seed=3):
    """A fixed class-weight tensor (no grad: torch refuses gradients for it)."""
    return L.tensor(np.random.default_rng(seed).uniform(0.2, 2.0, c))


@pytest.mark.parametrize('reduction', REDUCTIONS)
def test_regression_losses(reduction):
    r = reduction
    run('l1', lambda L, a, b: L.nn.functional.l1_loss(a, b, reduction=r), [(3, 4), (3, 4)])
    run('mse', lambda L, a, b: L.nn.functional.mse_loss(a, b, reduction=r), [(3, 4), (3, 4)])
    run('smooth_l1', lambda L, a, b: L.nn.functional.smooth_l1_loss(a, b, reduction=r, beta=0.7),
        [(3, 4), (3, 4)])
    run('smooth_l1_0', lambda L, a, b: L.nn.functional.smooth_l1_loss(a, b, reduction=r, beta=0.0),
        [(5,), (5,)])
    run('huber', lambda L, a, b: L.nn.functional.huber_loss(a, b, reduction=r, delta=1.5),
        [(3, 4), (3, 4)], domain=(-4, 4))


@pytest.mark.parametrize('reduction', REDUCTIONS)
def test_binary_losses(reduction):
    r = reduction
    run('bce', lambda L, p, y: L.nn.functional.binary_cross_entropy(p, y, reduction=r),
        [(3, 4), (3, 4)], domain=PROB)
    run('bce_weight', lambda L, p, y: L.nn.functional.binary_cross_entropy(
        p, y, weight=L.tensor([0.5, 1.0, 2.0, 0.1], dtype=L.float64), reduction=r), [(3, 4), (3, 4)], domain=PROB)
    run('bce_logits', lambda L, x, y: L.nn.functional.binary_cross_entropy_with_logits(x, y, reduction=r),
        [(3, 4), (3, 4)], domain=((-30, 30), (0, 1)))
    run('bce_logits_pos_weight', lambda L, x, y: L.nn.functional.binary_cross_entropy_with_logits(
        x, y, weight=L.tensor([1.0, 0.5, 2.0, 3.0], dtype=L.float64),
        pos_weight=L.tensor([0.3, 1.0, 2.0, 5.0], dtype=L.float64), reduction=r),
        [(3, 4), (3, 4)], domain=((-8, 8), (0, 1)))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")   # torch's hint about batchmean
@pytest.mark.parametrize('reduction', REDUCTIONS + ['batchmean'])
@pytest.mark.parametrize('log_target', [False, True])
def test_kl_div(reduction, log_target):
    dom = ((-3, -0.1), (-3, -0.1) if log_target else (0.0, 1.0))
    run('kl_div', lambda L, x, t: L.nn.functional.kl_div(x, t, reduction=reduction, log_target=log_target),
        [(3, 5), (3, 5)], domain=dom)


def test_kl_div_zero_target_is_zero():
    x = mt.tensor([[-1.0, -2.0]], requires_grad=True)
    loss = F.kl_div(x, mt.tensor([[0.0, 1.0]]), reduction='sum')
    assert loss.item() == pytest.approx(2.0)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, -1.0]])


@pytest.mark.parametrize('reduction', REDUCTIONS)
@pytest.mark.parametrize('smoothing', [0.0, 0.25])
@pytest.mark.parametrize('weighted', [False, True])
def test_cross_entropy_class_targets(reduction, smoothing, weighted):
    targets = np.array([1, -100, 3, 0, 2, 3])
    targets3 = np.array([[0, 2, -100], [1, 1, 3]])

    def fn(target):
        def f(L, x):
            w = _w(L, 4) if weighted else None
            return L.nn.functional.cross_entropy(x, L.tensor(target), weight=w, reduction=reduction,
                                                 label_smoothing=smoothing)
        return f
    run('ce', fn(targets), [(6, 4)])
    run('ce_nd', fn(targets3), [(2, 4, 3)])
    run('ce_one_sample', fn(np.array(2)), [(4,)])


@pytest.mark.parametrize('reduction', REDUCTIONS)
@pytest.mark.parametrize('smoothing', [0.0, 0.3])
def test_cross_entropy_probability_targets(reduction, smoothing):
    def f(L, x, p):
        return L.nn.functional.cross_entropy(x, p, weight=_w(L, 4), reduction=reduction,
                                             label_smoothing=smoothing)
    run('ce_soft', f, [(5, 4), (5, 4)], domain=((-3, 3), (0, 1)))
    run('ce_soft_nd', lambda L, x, p: L.nn.functional.cross_entropy(x, p, reduction=reduction,
                                                                    label_smoothing=smoothing),
        [(2, 4, 3), (2, 4, 3)], domain=((-3, 3), (0, 1)))


@pytest.mark.parametrize('reduction', REDUCTIONS)
def test_nll_loss(reduction):
    t = np.array([1, -100, 3, 0, 2])
    run('nll', lambda L, x: L.nn.functional.nll_loss(x, L.tensor(t), reduction=reduction), [(5, 4)])
    run('nll_weight', lambda L, x: L.nn.functional.nll_loss(x, L.tensor(t), weight=_w(L, 4),
                                                            reduction=reduction), [(5, 4)])
    run('nll_nd', lambda L, x: L.nn.functional.nll_loss(x, L.tensor([[0, 2], [1, -100]]), weight=_w(L, 3),
                                                        reduction=reduction), [(2, 3, 2)])
    run('nll_ignore_5', lambda L, x: L.nn.functional.nll_loss(x, L.tensor([5, 0, 2]), ignore_index=5,
                                                              reduction=reduction), [(3, 4)])


def test_nll_and_cross_entropy_refuse_bad_ids_as_torch():
    for fn in (F.nll_loss, F.cross_entropy):
        with pytest.raises(IndexError):
            fn(mt.randn(3, 4), mt.tensor([0, -1, 2]))
        with pytest.raises(IndexError):
            fn(mt.randn(3, 4), mt.tensor([0, 4, 2]))
        with pytest.raises(ValueError, match='reduction'):
            fn(mt.randn(3, 4), mt.tensor([0, 1, 2]), reduction='avg')
    with np.errstate(invalid='ignore'):                                            # 0 / 0
        assert np.isnan(F.nll_loss(mt.randn(2, 3), mt.tensor([-100, -100])).item())   # as torch


def test_similarity():
    run('cosine', lambda L, a, b: L.nn.functional.cosine_similarity(a, b), [(3, 5, 2), (3, 5, 2)])
    run('cosine_dim', lambda L, a, b: L.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-3),
        [(4, 3), (4, 3)])
    run('normalize', lambda L, x: L.nn.functional.normalize(x), [(3, 5, 2)])
    run('normalize_p3', lambda L, x: L.nn.functional.normalize(x, p=3, dim=-1), [(3, 5)])
    run('normalize_p1', lambda L, x: L.nn.functional.normalize(x, p=1, dim=0), [(3, 5)])
    x = mt.zeros(2, 3, requires_grad=True)        # a zero row: finite output and gradient
    F.normalize(x, dim=1).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def _g(*shape, lo=-2, hi=2, seed=0):
    return mt.tensor(np.random.default_rng(seed).uniform(lo, hi, shape), requires_grad=True)


@pytest.mark.parametrize('fn, inputs', [
    (lambda p, y: F.binary_cross_entropy(p, y, reduction='none'), lambda: (_g(6, lo=0.05, hi=0.95), _g(6, lo=0, hi=1, seed=1))),
    (lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=mt.tensor([2.0]).double()),
     lambda: (_g(6, lo=-5, hi=5), _g(6, lo=0, hi=1, seed=1))),
    (lambda x, w: F.cross_entropy(x, mt.tensor([0, 2, -100, 1]), weight=w, label_smoothing=0.1),
     lambda: (_g(4, 3), _g(3, lo=0.5, hi=2, seed=1))),
    (lambda x, p: F.cross_entropy(x, p, label_smoothing=0.2), lambda: (_g(3, 4), _g(3, 4, lo=0, hi=1, seed=1))),
    (lambda x: F.nll_loss(x, mt.tensor([1, 0, 2])), lambda: (_g(3, 3),)),
    (lambda x, t: F.kl_div(x, t, reduction='batchmean'), lambda: (_g(2, 3, lo=-3, hi=-0.1), _g(2, 3, lo=0.1, hi=1, seed=1))),
    (lambda a, b: F.cosine_similarity(a, b, dim=0), lambda: (_g(4, 2), _g(4, 2, seed=1))),
    (lambda x: F.normalize(x, p=3), lambda: (_g(2, 4),)),
], ids=['bce', 'bce_logits', 'ce_weight', 'ce_soft', 'nll', 'kl', 'cosine', 'normalize'])
def test_gradcheck(fn, inputs):
    assert mt.gradcheck(fn, inputs())


def test_loss_modules_match_functional():
    x = mt.randn(4, 3).double()
    t = mt.tensor([0, 2, 1, 2])
    p = mt.rand(4, 3).double()
    w = mt.tensor([1.0, 2.0, 0.5]).double()
    cases = [
        (nn.CrossEntropyLoss(weight=w, label_smoothing=0.1), F.cross_entropy(x, t, weight=w, label_smoothing=0.1), (x, t)),
        (nn.NLLLoss(reduction='sum'), F.nll_loss(x, t, reduction='sum'), (x, t)),
        (nn.BCELoss(), F.binary_cross_entropy(p, p), (p, p)),
        (nn.BCEWithLogitsLoss(pos_weight=w), F.binary_cross_entropy_with_logits(x, p, pos_weight=w), (x, p)),
        (nn.KLDivLoss(reduction='batchmean'), F.kl_div(x, p, reduction='batchmean'), (x, p)),
        (nn.SmoothL1Loss(beta=0.5), F.smooth_l1_loss(x, p, beta=0.5), (x, p)),
        (nn.HuberLoss(delta=2.0), F.huber_loss(x, p, delta=2.0), (x, p)),
        (nn.L1Loss(), F.l1_loss(x, p), (x, p)),
        (nn.MSELoss(reduction='none'), F.mse_loss(x, p, reduction='none'), (x, p)),
        (nn.CosineSimilarity(dim=0), F.cosine_similarity(x, p, dim=0), (x, p)),
    ]
    for module, expected, args in cases:
        np.testing.assert_array_equal(module(*args).numpy(), expected.numpy())
    assert 'weight' in nn.CrossEntropyLoss(weight=w).state_dict()
    with pytest.raises(ValueError):
        nn.MSELoss(reduction='avg')


def test_errors():
    with pytest.raises(ValueError, match='same as input size'):
        F.binary_cross_entropy_with_logits(mt.randn(3), mt.rand(3, 1))
    with pytest.raises(RuntimeError, match='between 0 and 1'):
        F.binary_cross_entropy(mt.tensor([1.5]), mt.tensor([1.0]))
    with pytest.raises(ValueError, match='weight'):
        F.cross_entropy(mt.randn(2, 3), mt.tensor([0, 1]), weight=mt.ones(4))
