"""softmax / log_softmax on rows holding NaN, +inf and -inf, against torch: a NaN or
+inf anywhere in a row makes the row NaN; -inf entries get probability 0 and, in
log_softmax's backward, torch's g - p * sum(g). A row that is entirely -inf is our
documented policy (DESIGN.md, README): softmax 0, log_softmax -inf, gradients 0,
where torch gives NaN."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
import minitensor.nn.functional as F
from strategies import FAST

NAN, INF = float('nan'), float('inf')

ROWS = [[NAN, 0.0, 1.0], [INF, 0.0, 1.0], [INF, INF, 1.0], [INF, -INF, 1.0], [-INF, 0.0, 1.0],
        [-INF, -INF, 2.0], [NAN, -INF, -INF], [0.5, -1.0, 3.0]]


def ours(fn, x, g, dim):
    t = mt.tensor(x, requires_grad=True)
    y = getattr(t, fn)(dim)
    y.backward(mt.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


def theirs(fn, x, g, dim):
    torch = pytest.importorskip('torch')
    t = torch.tensor(x, requires_grad=True)
    y = getattr(t, fn)(dim)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


def fully_masked(x, dim):
    return np.all(np.isneginf(x), axis=dim, keepdims=True)


def check(fn, x, g, dim):
    y, dx = ours(fn, x, g, dim)
    ty, tdx = theirs(fn, x, g, dim)
    masked = np.broadcast_to(fully_masked(x, dim), x.shape)
    # torch's values everywhere except fully -inf rows, where our policy holds
    np.testing.assert_allclose(y[~masked], ty[~masked], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dx[~masked], tdx[~masked], rtol=1e-6, atol=1e-7)
    assert np.all(y[masked] == (0.0 if fn == 'softmax' else -INF))
    assert np.all(dx[masked] == 0.0)


@pytest.mark.parametrize('fn', ['softmax', 'log_softmax'])
@pytest.mark.parametrize('row', ROWS, ids=str)
def test_rows_against_torch(fn, row):
    x = np.array([row], dtype=np.float64)
    check(fn, x, np.array([[1.0, 2.0, 3.0]]), -1)


def test_the_issue_case():
    """softmax([nan, 0, 1]) gave values above 1; now the row is NaN."""
    assert np.isnan(mt.tensor([NAN, 0.0, 1.0]).softmax(-1).numpy()).all()
    assert np.isnan(F.log_softmax(mt.tensor([INF, 0.0, 1.0]), dim=-1).numpy()).all()


def test_fully_masked_row_policy():
    """Our decline of torch's NaN: a fully -inf row is 0 (softmax), -inf (log_softmax),
    with zero gradients, and the other rows are untouched."""
    x = mt.tensor([[-INF, -INF, -INF], [0.0, 1.0, -INF]], requires_grad=True)
    p = x.softmax(-1)
    np.testing.assert_array_equal(p.detach().numpy()[0], [0.0, 0.0, 0.0])
    assert abs(p.detach().numpy()[1].sum() - 1) < 1e-6
    (p * mt.tensor([[1.0, 2.0, 3.0]] * 2)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0], [0.0, 0.0, 0.0])
    x.grad = None
    lp = x.log_softmax(-1)
    assert np.isneginf(lp.detach().numpy()[0]).all()
    lp.backward(mt.ones(2, 3))
    np.testing.assert_array_equal(x.grad.numpy()[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(x.grad.numpy()[1][2], 1.0)     # torch: g - p * sum(g) = 1 at -inf


def test_attention_core_nan_row():
    """The portable causal softmax follows softmax: a NaN score poisons only its row."""
    s = mt.zeros(1, 3, 3)
    s.array[0, 2, 1] = NAN
    p = F.causal_softmax(s)
    out = p.numpy()[0]
    assert np.isnan(out[2]).all() and not np.isnan(out[:2]).any()
    np.testing.assert_allclose(out[1], [0.5, 0.5, 0.0])


@st.composite
def nonfinite_arrays(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    a = rng.standard_normal(shape) * 3
    flat = a.reshape(-1)
    for _ in range(draw(st.integers(0, 4))):
        flat[rng.integers(0, a.size)] = draw(st.sampled_from([NAN, INF, -INF, -INF]))
    if draw(st.booleans()):                                   # a fully -inf row somewhere
        a[(0,) * (a.ndim - 1)] = -INF
    dim = draw(st.integers(-a.ndim, a.ndim - 1))
    return a, rng.standard_normal(shape), dim


@FAST
@given(nonfinite_arrays(), st.sampled_from(['softmax', 'log_softmax']),
       st.sampled_from([np.float32, np.float64]))
def test_nonfinite_rows_match_torch(case, fn, dtype):
    pytest.importorskip('torch')
    a, g, dim = case
    check(fn, a.astype(dtype), g.astype(dtype), dim)
