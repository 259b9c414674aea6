"""The fused cross-entropy: every reduction, ignore_index, label_smoothing, shapes,
stability, and torch parity where torch is importable."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F


def reference(logits, target, ignore_index=-100, reduction='mean', eps=0.0):
    """Straight from the definition, in float64 NumPy."""
    x = logits.astype(np.float64)
    n, c = x.shape
    logp = x - x.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    losses = np.zeros(n)
    keep = target != ignore_index
    for i in range(n):
        if keep[i]:
            q = np.full(c, eps / c)
            q[target[i]] += 1 - eps
            losses[i] = -(q * logp[i]).sum()
    if reduction == 'none':
        return losses
    if reduction == 'sum':
        return losses.sum()
    return losses.sum() / keep.sum() if keep.sum() else np.nan


CASES = [dict(), dict(reduction='sum'), dict(reduction='none'), dict(label_smoothing=0.1),
         dict(ignore_index=2), dict(ignore_index=2, label_smoothing=0.2, reduction='sum'),
         dict(reduction='none', label_smoothing=0.3, ignore_index=0)]


@pytest.mark.parametrize('kw', CASES)
def test_forward_matches_definition(kw):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((7, 5))
    target = np.array([0, 2, 4, 2, 1, 3, 2])
    out = F.cross_entropy(mt.tensor(logits), mt.tensor(target), **kw)
    ref = reference(logits, target, kw.get('ignore_index', -100), kw.get('reduction', 'mean'),
                    kw.get('label_smoothing', 0.0))
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('kw', CASES)
def test_gradcheck(kw):
    x = mt.randn(6, 4, dtype=mt.float64, requires_grad=True)
    target = mt.tensor([0, 3, 2, 2, 1, 0])
    assert mt.gradcheck(lambda x: F.cross_entropy(x, target, **kw), (x,))


def test_all_ignored_batch_gives_nan_mean_zero_sum_and_zero_grad():
    x = mt.randn(3, 4, requires_grad=True)
    t = mt.tensor([-100, -100, -100])
    loss = F.cross_entropy(x, t)
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
    assert F.cross_entropy(x, t, reduction='sum').item() == 0.0


def test_extreme_logits_stay_finite():
    x = mt.tensor([[-100.0, -3.0, 0.0, 100.0]], requires_grad=True)
    for target, expected in ((3, 0.0), (0, 200.0)):
        loss = F.cross_entropy(x, mt.tensor([target]))
        assert np.isfinite(loss.item())
        np.testing.assert_allclose(loss.item(), expected, atol=1e-4)
        loss.backward()
        assert np.isfinite(x.grad.numpy()).all()


def test_higher_dimensional_input():
    """(N, C, d) logits with (N, d) targets, as torch."""
    x = mt.randn(2, 5, 3, dtype=mt.float64, requires_grad=True)
    t = mt.tensor([[0, 4, 1], [2, 2, 3]])
    flat = F.cross_entropy(x.permute(0, 2, 1).reshape(6, 5), t.reshape(6))
    np.testing.assert_allclose(F.cross_entropy(x, t).item(), flat.item(), rtol=1e-12)
    assert F.cross_entropy(x, t, reduction='none').shape == (2, 3)
    assert mt.gradcheck(lambda x: F.cross_entropy(x, t), (x,))


def test_float32_stays_float32():
    loss = F.cross_entropy(mt.randn(4, 3), mt.tensor([0, 1, 2, 0]))
    assert loss.dtype == mt.float32


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"logits.view\(B\*T, C\)"):
        F.cross_entropy(mt.randn(2, 3, 5), mt.tensor([1, 2]))
    with pytest.raises(IndexError, match="target 5 is out of bounds for 5 classes"):
        F.cross_entropy(mt.randn(2, 5), mt.tensor([1, 5]))
    with pytest.raises(TypeError, match="integer class indices"):
        F.cross_entropy(mt.randn(2, 5), mt.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(mt.randn(2, 5), mt.tensor([1, 2]), reduction='avg')


@pytest.mark.parametrize('kw', CASES)
def test_torch_parity(kw):
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((8, 6)) * 3
    target = rng.integers(0, 6, 8)
    target[1] = kw.get('ignore_index', -100)
    x = mt.tensor(logits, requires_grad=True)
    out = F.cross_entropy(x, mt.tensor(target), **kw)
    out.backward(mt.ones_like(out))
    tx = torch.tensor(logits, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(tx, torch.tensor(target), **kw)
    tout.backward(torch.ones_like(tout))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
