"""softmax and log_softmax: single Functions with closed-form backward; a fully -inf
row is defined (zeros / -inf) with a zero gradient, never NaN."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST, check_op, random_array, seeds, shapes


def np_softmax(a, dim):
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


@FAST
@given(shape=shapes(min_rank=1), data=st.data(), seed=seeds())
def test_softmax_and_log_softmax(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = random_array(shape, seed, -4, 4)
    check_op(lambda x: x.softmax(dim), lambda a: np_softmax(a, dim), [a])
    check_op(lambda x: mt.softmax(x, dim=dim), lambda a: np_softmax(a, dim), [a])
    check_op(lambda x: x.log_softmax(dim), lambda a: np.log(np_softmax(a, dim)), [a])
    check_op(lambda x: mt.log_softmax(x, dim), lambda a: np.log(np_softmax(a, dim)), [a])


def test_softmax_of_large_values_does_not_overflow():
    x = mt.tensor([[1000.0, 1001.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(x.softmax(-1).numpy(), [[0.26894142, 0.73105858], [0.5, 0.5]], rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(-1).numpy(), [[-1.31326169, -0.31326169], [-0.69314718] * 2], rtol=1e-6)


@pytest.mark.parametrize('dtype', [mt.float32, mt.float64])
def test_fully_masked_row_softmax_is_zero_with_zero_grad(dtype):
    with np.errstate(all='raise'):
        tril = mt.tril(mt.ones(4, 4))
        x = mt.randn(4, 4, dtype=dtype, requires_grad=True)
        mask = (tril == 0) | mt.tensor([[True] * 4, [False] * 4, [False] * 4, [False] * 4])
        wei = x.masked_fill(mask, float('-inf'))
        p = wei.softmax(-1)
        assert p.dtype == dtype
        pn = p.detach().numpy()
        np.testing.assert_array_equal(pn[0], 0)
        np.testing.assert_allclose(pn[1:].sum(-1), 1, rtol=1e-6)
        (p * mt.randn(4, 4, dtype=dtype)).sum().backward()
    g = x.grad.numpy()
    assert np.isfinite(g).all()
    np.testing.assert_array_equal(g[0], 0)
    np.testing.assert_array_equal(g[mask.numpy()], 0)


@pytest.mark.parametrize('dtype', [mt.float32, mt.float64])
def test_fully_masked_row_log_softmax_is_neg_inf_with_zero_grad(dtype):
    x = mt.randn(3, 5, dtype=dtype, requires_grad=True)
    mask = mt.tensor([[True] * 5, [False] * 5, [False, True, False, True, False]])
    with np.errstate(divide='raise', invalid='raise'):     # no log(0), no -inf - (-inf)
        y = x.masked_fill(mask, float('-inf')).log_softmax(-1)
    out = y.detach().numpy()
    assert np.isneginf(out[0]).all() and np.isneginf(out[2][[1, 3]]).all()
    assert not np.isnan(out).any()
    keep = ~mask.numpy()
    (y[mt.tensor(keep)]).sum().backward()         # the loss can only use the finite entries
    g = x.grad.numpy()
    assert np.isfinite(g).all()
    np.testing.assert_array_equal(g[0], 0)
    np.testing.assert_array_equal(g[mask.numpy()], 0)


def test_log_softmax_backward_ignores_upstream_grad_of_masked_entries():
    """Even when the upstream gradient of a -inf entry is nonzero, no NaN appears."""
    x = mt.tensor([[0.0, 1.0, 2.0]], dtype=mt.float64, requires_grad=True)
    y = x.masked_fill(mt.tensor([[False, True, False]]), float('-inf')).log_softmax(-1)
    y.backward(gradient=mt.ones(1, 3, dtype=mt.float64))
    assert np.isfinite(x.grad.numpy()).all()
    assert x.grad.numpy()[0, 1] == 0
