"""The lecture's "mathematical trick in self-attention": four ways to average the past
tokens give the same result, and the self-attention head runs forward and backward."""
import numpy as np
import pytest

import minitensor as mt


@pytest.fixture
def x():
    mt.manual_seed(1337)
    B, T, C = 4, 8, 2
    return mt.randn(B, T, C)


def version1(x):
    """Loops: xbow[b, t] = mean_{i<=t} x[b, i]."""
    B, T, C = x.shape
    xbow = mt.zeros((B, T, C))
    for b in range(B):
        for t in range(T):
            xprev = x[b, :t + 1]           # (t, C)
            xbow[b, t] = mt.mean(xprev, 0)
    return xbow


def version2(x):
    """A lower-triangular averaging matrix: (T, T) @ (B, T, C) -> (B, T, C)."""
    T = x.shape[1]
    wei = mt.tril(mt.ones(T, T))
    wei = wei / wei.sum(1, keepdim=True)
    return wei @ x


def version3(x):
    """masked_fill with -inf and softmax: the form attention uses."""
    T = x.shape[1]
    tril = mt.tril(mt.ones(T, T))
    wei = mt.zeros((T, T))
    wei = wei.masked_fill(tril == 0, float('-inf'))
    wei = mt.softmax(wei, dim=-1)
    return wei @ x


def test_the_three_averages_agree(x):
    x1, x2, x3 = version1(x), version2(x), version3(x)
    expected = np.cumsum(x.numpy(), axis=1) / np.arange(1, 9)[None, :, None]
    np.testing.assert_allclose(x1.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert mt.allclose(x1, x2, atol=1e-6)
    assert mt.allclose(x1, x3, atol=1e-6)
    assert x3.dtype == mt.float32


def test_version4_self_attention_head():
    mt.manual_seed(1337)
    B, T, C = 4, 8, 32
    x = mt.randn(B, T, C)
    head_size = 16
    leaves = [mt.randn(C, head_size, requires_grad=True) for _ in range(3)]
    key, query, value = (w * C ** -0.5 for w in leaves)
    k = x @ key                                        # (B, T, 16)
    q = x @ query                                      # (B, T, 16)
    wei = q @ k.transpose(-2, -1) * head_size ** -0.5  # (B, T, T)
    tril = mt.tril(mt.ones(T, T))
    wei = wei.masked_fill(tril == 0, float('-inf'))
    wei = wei.softmax(dim=-1)
    v = x @ value
    out = wei @ v
    assert out.shape == (B, T, head_size)
    w = wei.detach().numpy()
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-5)
    assert (np.triu(w[0], 1) == 0).all() and w[0, 0, 0] == 1.0     # no peeking at the future
    out.sum().backward()
    for w in leaves:
        assert w.grad.shape == (C, head_size) and np.isfinite(w.grad.numpy()).all()
        assert np.abs(w.grad.numpy()).sum() > 0


def test_attention_head_gradients_by_gradcheck():
    mt.manual_seed(0)
    B, T, C, hs = 2, 4, 3, 2
    x = mt.randn(B, T, C, dtype=mt.float64)
    params = [mt.randn(C, hs, dtype=mt.float64, requires_grad=True) for _ in range(3)]
    tril = mt.tril(mt.ones(T, T))

    def head(wk, wq, wv):
        wei = (x @ wq) @ (x @ wk).transpose(-2, -1) * hs ** -0.5
        wei = wei.masked_fill(tril == 0, float('-inf')).softmax(-1)
        return wei @ (x @ wv)
    assert mt.gradcheck(head, tuple(params))
