"""Shape ops: reshape/view (with -1), transpose, permute, unsqueeze, squeeze, expand,
contiguous, flatten, t(), cat, stack, split/chunk; forward against NumPy and
gradients by central differences."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST, check_op, random_array, seeds, shapes


@FAST
@given(shape=shapes(), data=st.data(), seed=seeds())
def test_reshape_and_view_with_minus_one(shape, data, seed):
    a = random_array(shape, seed)
    n = a.size
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    d = data.draw(st.sampled_from(divisors))
    check_op(lambda x: x.reshape(d, -1), lambda a: a.reshape(d, -1), [a])
    check_op(lambda x: x.view((-1, d)), lambda a: a.reshape(-1, d), [a])
    check_op(lambda x: mt.reshape(x, [n]), lambda a: a.reshape(n), [a])


@FAST
@given(shape=shapes(min_rank=1), data=st.data(), seed=seeds())
def test_transpose_permute(shape, data, seed):
    nd = len(shape)
    d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    perm = tuple(data.draw(st.permutations(range(nd))))
    a = random_array(shape, seed)
    check_op(lambda x: x.transpose(d0, d1), lambda a: np.swapaxes(a, d0, d1), [a])
    check_op(lambda x: mt.transpose(x, d0, d1), lambda a: np.swapaxes(a, d0, d1), [a])
    check_op(lambda x: x.permute(*perm), lambda a: a.transpose(perm), [a])
    check_op(lambda x: x.permute(perm), lambda a: a.transpose(perm), [a])
    check_op(lambda x: x.T, lambda a: a.T, [a])


@FAST
@given(shape=shapes(max_rank=3), data=st.data(), seed=seeds())
def test_unsqueeze_squeeze(shape, data, seed):
    nd = len(shape)
    d = data.draw(st.integers(-nd - 1, nd))
    a = random_array(shape, seed)
    check_op(lambda x: x.unsqueeze(d), lambda a: np.expand_dims(a, d), [a])
    check_op(lambda x: x.unsqueeze(d).squeeze(d), lambda a: a, [a])
    check_op(lambda x: x.squeeze(), lambda a: a.squeeze(), [a])
    if nd:
        s = data.draw(st.integers(-nd, nd - 1))
        ref = (lambda a: a.squeeze(s)) if shape[s] == 1 else (lambda a: a)   # torch: no-op if not 1
        check_op(lambda x: x.squeeze(s), ref, [a])


@FAST
@given(shape=shapes(max_rank=3), data=st.data(), seed=seeds())
def test_expand(shape, data, seed):
    target = tuple(data.draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    a = random_array(shape, seed)
    check_op(lambda x: x.expand(*(lead + target)), lambda a: np.broadcast_to(a, lead + target), [a])
    minus_one = lead + (-1,) * len(shape)
    check_op(lambda x: x.expand(minus_one), lambda a: np.broadcast_to(a, lead + shape), [a])


@FAST
@given(shape=shapes(min_rank=1), data=st.data(), seed=seeds())
def test_flatten_and_contiguous(shape, data, seed):
    nd = len(shape)
    start = data.draw(st.integers(0, nd - 1))
    end = data.draw(st.integers(start, nd - 1))
    a = random_array(shape, seed)
    ref_shape = shape[:start] + (-1,) + shape[end + 1:]
    check_op(lambda x: x.flatten(start, end), lambda a: a.reshape(ref_shape), [a])
    check_op(lambda x: x.flatten(), lambda a: a.reshape(-1), [a])
    check_op(lambda x: x.transpose(0, -1).contiguous(), lambda a: np.ascontiguousarray(np.swapaxes(a, 0, -1)), [a])


def test_t_on_0_1_2_dims():
    for shape in [(), (3,), (2, 3)]:
        a = random_array(shape, 0)
        check_op(lambda x: x.t(), lambda a: a.T, [a])
    check_op(lambda x: mt.t(x), lambda a: a.T, [random_array((2, 3), 1)])
    with pytest.raises(RuntimeError, match="t: expects a tensor with <= 2 dims"):
        mt.randn(2, 3, 4).t()


@FAST
@given(shape=shapes(min_rank=1, max_rank=3), data=st.data(), seed=seeds())
def test_cat(shape, data, seed):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    arrays = []
    for i, n in enumerate(sizes):
        s = list(shape)
        s[dim] = n
        arrays.append(random_array(tuple(s), seed + i))
    check_op(lambda *xs: mt.cat(list(xs), dim=dim), lambda *a: np.concatenate(a, axis=dim), arrays)
    check_op(lambda *xs: mt.cat(xs, dim), lambda *a: np.concatenate(a, axis=dim), arrays)


@FAST
@given(shape=shapes(max_rank=3), data=st.data(), seed=seeds())
def test_stack(shape, data, seed):
    nd = len(shape)
    dim = data.draw(st.integers(-nd - 1, nd))
    k = data.draw(st.integers(1, 3))
    arrays = [random_array(shape, seed + i) for i in range(k)]
    check_op(lambda *xs: mt.stack(list(xs), dim=dim), lambda *a: np.stack(a, axis=dim), arrays)


@FAST
@given(shape=shapes(min_rank=1), data=st.data(), seed=seeds())
def test_split_chunk(shape, data, seed):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    n = shape[dim]
    size = data.draw(st.integers(1, n + 1))
    a = random_array(shape, seed)
    bounds = list(range(size, n, size))
    check_op(lambda x: x.split(size, dim=dim), lambda a: np.split(a, bounds, axis=dim), [a])
    check_op(lambda x: mt.split(x, size, dim), lambda a: np.split(a, bounds, axis=dim), [a])
    chunks = data.draw(st.integers(1, 4))
    pieces = mt.tensor(a).chunk(chunks, dim)
    per = -(-n // chunks)
    assert [p.shape[dim] for p in pieces] == [min(per, n - s) for s in range(0, n, per)]
    check_op(lambda x: x.chunk(chunks, dim), lambda a: np.split(a, list(range(per, n, per)), axis=dim), [a])


def test_split_with_sizes_and_use_of_some_pieces():
    a = random_array((7, 2), 0)
    check_op(lambda x: x.split([2, 4, 1]), lambda a: np.split(a, [2, 6]), [a])
    check_op(lambda x: x.split([3, 4])[1] * 2, lambda a: a[3:] * 2, [a])


def test_shape_queries():
    x = mt.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.shape == (2, 3, 4)
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and mt.numel(x) == 24
    assert len(x) == 2 and [r.shape for r in x] == [(3, 4), (3, 4)]
    with pytest.raises(TypeError, match="len"):
        len(mt.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(mt.tensor(1.0))


def test_views_of_the_lecture_shapes():
    B, T, C = 4, 8, 32
    x = mt.randn(B, T, C)
    assert x.view(B * T, C).shape == (32, 32)
    assert x.view(B, T, 4, 8).transpose(1, 2).shape == (B, 4, T, 8)
    assert x.view(B, T, 4, 8).transpose(1, 2).contiguous().view(B, T, C).shape == (B, T, C)
