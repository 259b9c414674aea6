"""Differential testing against PyTorch: one table entry per op, one runner for all.

A table entry is one line:

    Op('sin', lambda L, x: L.sin(x))
    Op('softplus_b2', lambda L, x: L.nn.functional.softplus(x, beta=2), domain=(-5, 5))
    Op('atan2', lambda L, y, x: L.atan2(y, x), kinks=(0,))

The function receives the library `L` (minitensor or torch) followed by its tensor
inputs, so the same code runs on both: `L.sin(x)`, `x.sin()`, `L.nn.functional.gelu(x)`.
Its arity gives the number of tensor inputs. `check_against_torch` draws input
shapes (broadcasting ones by default, zero-size dims included), values in the
entry's domain, a memory layout (contiguous, transposed or sliced: the op sees a
non-contiguous view on both sides) and optionally NaN/inf, then compares the forward
(values and dtype) and the gradient of every float input for a random upstream
gradient. `torch_diff_test(TABLE)` turns a table into a parametrized hypothesis test.

Other ops' tables (reductions, shapes, losses) reuse this with their own `shapes=`
strategy, e.g. Op('sum_dim', lambda L, x: x.sum(-1), shapes=ranked(1)).
"""
import inspect
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitensor as mt

torch = pytest.importorskip('torch')   # every user of this module skips cleanly without torch

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------- shape strategies

def shapes(min_rank=0, max_rank=3, min_side=0, max_side=4):
    """One shape; sides start at 0 so that empty tensors come up."""
    return st.lists(st.integers(min_side, max_side), min_size=min_rank, max_size=max_rank).map(tuple)


@st.composite
def broadcast_shapes(draw, n, max_rank=3, max_side=4):
    """n shapes that broadcast together: a common shape, each input dropping some leading
    dims and setting some dims to 1. Sizes of 0 appear (a 0 broadcasts with 1 only)."""
    out = draw(shapes(0, max_rank, 0, max_side))

    def one():
        lead = draw(st.integers(0, len(out)))
        return tuple(1 if draw(st.booleans()) else s for s in out[lead:])
    return tuple(one() for _ in range(n))


def same_shapes(n, **kw):
    """n inputs of one shape (ops that do not broadcast)."""
    return shapes(**kw).map(lambda s: (s,) * n)


def ranked(min_rank, max_rank=3, n=1, max_side=4):
    """n inputs of one shape of rank >= min_rank (ops that take a dim)."""
    return same_shapes(n, min_rank=min_rank, max_rank=max_rank, max_side=max_side)


# ---------------------------------------------------------------- the table entry

@dataclass
class Op:
    """One op of a differential table: fn(L, *inputs) runs on minitensor and on torch."""
    name: str
    fn: object
    domain: object = (-2.0, 2.0)     # (low, high), or one (low, high) per input
    kinks: tuple = ()                # points the values keep 0.05 away from (no derivative there)
    dtypes: object = 'float64'       # dtype name of every input, or one per input
    grad: bool = True                # compare gradients (float inputs only; False where torch has none)
    nonfinite: bool = True           # also draw NaN/+inf/-inf into the inputs
    shapes: object = None            # a strategy of input shape tuples; default broadcast_shapes
    rtol: float = 1e-10
    atol: float = 1e-12
    arity: int = field(init=False)

    def __post_init__(self):
        self.arity = len(inspect.signature(self.fn).parameters) - 1
        if isinstance(self.dtypes, str):
            self.dtypes = (self.dtypes,) * self.arity
        if not isinstance(self.domain[0], (tuple, list)):
            self.domain = (tuple(self.domain),) * self.arity
        if self.shapes is None:
            self.shapes = broadcast_shapes(self.arity)


# ---------------------------------------------------------------- inputs

def _values(rng, shape, dtype, domain, kinks, nonfinite):
    lo, hi = domain
    if dtype == 'bool':
        return rng.random(shape) < 0.5
    if dtype.startswith('int'):
        return rng.integers(int(lo), int(hi) + 1, size=shape).astype(dtype)
    a = rng.uniform(lo, hi, size=shape)
    for k in kinks:
        close = np.abs(a - k) < 0.05
        a = np.where(close, k + np.where(a >= k, 0.05, -0.05), a)
    if nonfinite and a.size:
        special = rng.random(shape) < 0.25
        a = np.where(special, rng.choice([np.nan, np.inf, -np.inf], size=shape), a)
    return a.astype(dtype)


def _layout(array, how):
    """The same values as `array`, as a contiguous, transposed or strided (sliced) view."""
    if how == 'transposed' and array.ndim >= 2:
        return np.ascontiguousarray(array.swapaxes(-1, -2)).swapaxes(-1, -2)
    if how == 'sliced' and array.ndim >= 1:
        wide = np.repeat(array, 2, axis=-1)            # every other element is the value
        return wide[..., ::2]
    return np.ascontiguousarray(array)


def _torch_dtype_name(dtype):
    return str(dtype).replace('torch.', '')


def _as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, mt.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _outputs(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _assert_close(name, what, ours, theirs, rtol, atol):
    ours, theirs = _as_numpy(ours), _as_numpy(theirs)
    assert ours.shape == theirs.shape, f"{name}: {what} shape {ours.shape} vs torch {theirs.shape}"
    if theirs.dtype == bool or theirs.dtype.kind in 'iu':
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{name}: {what} differs from torch")
    else:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{name}: {what} differs from torch")


# ---------------------------------------------------------------- the runner

def check_against_torch(op, input_shapes, seed, layout='contiguous', nonfinite=False):
    """Run op on minitensor and torch with the same inputs; compare forward and gradients."""
    rng = np.random.default_rng(seed)
    arrays = [_layout(_values(rng, s, d, dom, op.kinks, nonfinite and op.nonfinite), layout)
              for s, d, dom in zip(input_shapes, op.dtypes, op.domain)]
    grads = op.grad and any(d.startswith('float') for d in op.dtypes)
    ours = [mt.from_numpy(a) for a in arrays]
    theirs = [torch.from_numpy(a) for a in arrays]
    for o, t in zip(ours, theirs):
        if grads and o.dtype.kind == 'f':
            o.requires_grad_(True)
            t.requires_grad_(True)

    try:
        expected = _outputs(op.fn(torch, *theirs))
    except Exception as e:      # torch refuses these inputs: so must we, with the same class
        with pytest.raises(type(e)):
            op.fn(mt, *ours)
        return
    got = _outputs(op.fn(mt, *ours))
    assert len(got) == len(expected), f"{op.name}: {len(got)} outputs vs torch's {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        if isinstance(e, torch.Tensor):
            assert isinstance(g, mt.Tensor), f"{op.name}: output {i} is {type(g).__name__}, not a Tensor"
            assert g.dtype.name == _torch_dtype_name(e.dtype), (
                f"{op.name}: output {i} dtype {g.dtype} vs torch {e.dtype}")
        _assert_close(op.name, f"output {i}", g, e, op.rtol, op.atol)

    if not grads:
        return
    pairs = [(g, e) for g, e in zip(got, expected)
             if isinstance(e, torch.Tensor) and e.requires_grad]
    assert all(g.requires_grad for g, _ in pairs), f"{op.name}: output does not require grad"
    if not pairs:
        return
    seeds = [rng.standard_normal(e.shape) for _, e in pairs]
    torch.autograd.backward([e for _, e in pairs], [torch.from_numpy(s) for s in seeds])
    loss = None
    for (g, _), s in zip(pairs, seeds):
        term = (g * mt.from_numpy(s)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for i, (o, t) in enumerate(zip(ours, theirs)):
        if not t.requires_grad:
            continue
        t_grad = t.grad if t.grad is not None and not t.grad._is_zerotensor() else torch.zeros_like(t)
        o_grad = o.grad if o.grad is not None else mt.zeros(o.shape, dtype=o.dtype)
        _assert_close(op.name, f"gradient of input {i}", o_grad, t_grad, op.rtol, op.atol)


def torch_diff_test(table):
    """A pytest test function parametrized over `table` (a list of Op)."""
    names = [op.name for op in table]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, f"duplicate op names in the table: {sorted(dupes)}"

    @pytest.mark.parametrize('op', table, ids=names)
    @SETTINGS
    @given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1),
           layout=st.sampled_from(['contiguous', 'transposed', 'sliced']),
           nonfinite=st.booleans())
    def test(op, data, seed, layout, nonfinite):
        input_shapes = data.draw(op.shapes, label='shapes')
        with np.errstate(all='ignore'):
            check_against_torch(op, input_shapes, seed, layout, nonfinite)
    return test
