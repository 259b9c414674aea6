"""Shared hypothesis strategies and checks for the engine's tests (minitorch style).

Shapes are drawn by hypothesis; array *values* come from a drawn seed, so every
example is a fresh random array (no ties, nothing exactly on a kink) and shrinking
moves to smaller shapes rather than to degenerate values.
"""
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import minitensor as mt

DEVICES = ['cpu', 'gpu']

# modest example counts: the whole suite must stay quick on 2 cores
FAST = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def shapes(min_rank=0, max_rank=4, min_side=1, max_side=4):
    """Shapes of rank 0-4; size-1 dims come up often (1 is the smallest side)."""
    return st.lists(st.integers(min_side, max_side), min_size=min_rank,
                    max_size=max_rank).map(tuple)


@st.composite
def broadcast_pairs(draw, max_rank=4, max_side=4):
    """Two shapes that broadcast: a common shape with leading dims dropped and some
    dims set to 1, independently for each side."""
    out = draw(shapes(0, max_rank, 1, max_side))

    def side():
        lead = draw(st.integers(0, len(out)))
        return tuple(1 if draw(st.booleans()) else n for n in out[lead:])
    return side(), side()


def seeds():
    return st.integers(0, 2 ** 32 - 1)


def random_array(shape, seed, low=-2.0, high=2.0, away_from=None):
    """float64 values uniform in [low, high); `away_from` pushes values at least 0.05
    away from a kink (relu at 0, clamp at its bounds), where no derivative exists."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(low, high, size=shape)
    for k in away_from or ():
        close = np.abs(a - k) < 0.05
        a = np.where(close, k + np.where(a >= k, 0.05, -0.05), a)
    return np.asarray(a, dtype=np.float64)


def leaf(array, device='cpu'):
    """A float64 leaf that requires grad."""
    return mt.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=True)


def to_numpy(t):
    return t.detach().numpy() if isinstance(t, mt.Tensor) else np.asarray(t)


def check_op(fn, ref, arrays, atol=1e-10, rtol=1e-7):
    """fn on minitensor float64 leaves: forward equals the NumPy reference `ref` on the
    same arrays, and backward passes mt.gradcheck (central differences)."""
    inputs = [leaf(a) for a in arrays]
    out = fn(*inputs)
    expected = ref(*arrays)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    exps = expected if isinstance(expected, (tuple, list)) else (expected,)
    for o, e in zip(outs, exps):
        e = np.asarray(e)
        assert o.shape == e.shape, (o.shape, e.shape)
        np.testing.assert_allclose(to_numpy(o), e, atol=atol, rtol=rtol)
    assert mt.gradcheck(fn, tuple(inputs))
    return out
