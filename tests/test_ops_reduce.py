"""Reductions: sum, mean, var, std, max, min, amax/amin, argmax/argmin, with dim as
an int or a tuple, keepdim= and keepdims=; gradients by central differences."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST, check_op, random_array, seeds, shapes


@st.composite
def shape_and_dims(draw, min_rank=0, tuple_ok=True):
    """A shape and a dim argument for it: None, an int (maybe negative), or a tuple."""
    shape = draw(shapes(min_rank=min_rank))
    nd = len(shape)
    if nd == 0:
        return shape, None
    options = [st.none(), st.integers(-nd, nd - 1)]
    if tuple_ok:
        options.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple))
    return shape, draw(st.one_of(*options))


def np_axes(dim):
    return dim if dim is None or isinstance(dim, tuple) else (dim,)


REDUCTIONS = {
    'sum': (lambda x, d, k: x.sum(d, keepdim=k), lambda a, d, k: a.sum(axis=np_axes(d), keepdims=k)),
    'sum_kw': (lambda x, d, k: x.sum(dim=d, keepdims=k), lambda a, d, k: a.sum(axis=np_axes(d), keepdims=k)),
    'mt_sum': (lambda x, d, k: mt.sum(x, d, keepdim=k), lambda a, d, k: a.sum(axis=np_axes(d), keepdims=k)),
    'mean': (lambda x, d, k: x.mean(d, keepdim=k), lambda a, d, k: a.mean(axis=np_axes(d), keepdims=k)),
    'mt_mean': (lambda x, d, k: mt.mean(x, dim=d, keepdims=k), lambda a, d, k: a.mean(axis=np_axes(d), keepdims=k)),
    'amax': (lambda x, d, k: x.amax(d, keepdim=k), lambda a, d, k: a.max(axis=np_axes(d), keepdims=k)),
    'amin': (lambda x, d, k: x.amin(d, keepdim=k), lambda a, d, k: a.min(axis=np_axes(d), keepdims=k)),
}


@pytest.mark.parametrize('name', sorted(REDUCTIONS))
@FAST
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=seeds())
def test_reduction(name, sd, keepdim, seed):
    (shape, dim), (fn, ref) = sd, REDUCTIONS[name]
    check_op(lambda x: fn(x, dim, keepdim), lambda a: ref(a, dim, keepdim), [random_array(shape, seed)])


@FAST
@given(sd=shape_and_dims(min_rank=1), keepdim=st.booleans(), correction=st.sampled_from([0, 1]), seed=seeds())
def test_var_and_std(sd, keepdim, correction, seed):
    shape, dim = sd
    n = int(np.prod([shape[a] for a in (np_axes(dim) or range(len(shape)))]))
    if n <= correction:                       # var of one element with Bessel: nan, as torch
        return
    a = random_array(shape, seed)
    check_op(lambda x: x.var(dim, keepdim=keepdim, correction=correction),
             lambda a: a.var(axis=np_axes(dim), keepdims=keepdim, ddof=correction), [a])
    if n == 1:                                # std is sqrt(0) there: no derivative (torch: nan)
        return
    check_op(lambda x: x.std(dim, keepdims=keepdim, unbiased=bool(correction)),
             lambda a: a.std(axis=np_axes(dim), keepdims=keepdim, ddof=correction), [a])


def test_var_default_is_unbiased():
    x = mt.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(np.var([1, 2, 3, 4], ddof=1))
    assert mt.var(x, unbiased=False).item() == pytest.approx(np.var([1, 2, 3, 4]))


@pytest.mark.parametrize('largest', [True, False])
@FAST
@given(shape=shapes(min_rank=1), data=st.data(), keepdim=st.booleans(), seed=seeds())
def test_max_min_with_dim_gives_values_and_indices(largest, shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = random_array(shape, seed)
    op = 'max' if largest else 'min'
    values, indices = getattr(mt.tensor(a), op)(dim, keepdim=keepdim)
    ref_idx = a.argmax(dim) if largest else a.argmin(dim)
    if keepdim:
        ref_idx = np.expand_dims(ref_idx, dim)
    assert indices.dtype == mt.int64
    np.testing.assert_array_equal(indices.numpy(), ref_idx)
    check_op(lambda x: getattr(x, op)(dim, keepdim=keepdim)[0],
             lambda a: getattr(a, op)(axis=dim, keepdims=keepdim), [a])
    check_op(lambda x: getattr(mt, op)(x, dim=dim, keepdims=keepdim)[0],
             lambda a: getattr(a, op)(axis=dim, keepdims=keepdim), [a])


@pytest.mark.parametrize('op', ['max', 'min'])
@FAST
@given(shape=shapes(), seed=seeds())
def test_max_min_without_dim_is_the_value(op, shape, seed):
    a = random_array(shape, seed)
    out = check_op(lambda x: getattr(x, op)(), lambda a: getattr(a, op)(), [a])
    assert out.shape == ()


def test_max_ties_share_the_gradient_without_dim():
    x = mt.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5])


def test_max_with_dim_sends_the_gradient_to_the_index_it_returns():
    x = mt.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    values, idx = x.max(1)
    values.sum().backward()
    expected = np.zeros((1, 3))
    expected[0, idx.item()] = 1
    np.testing.assert_allclose(x.grad.numpy(), expected)


@pytest.mark.parametrize('op', ['argmax', 'argmin'])
@FAST
@given(shape=shapes(min_rank=1), data=st.data(), keepdim=st.booleans(), seed=seeds())
def test_argmax_argmin(op, shape, data, keepdim, seed):
    a = random_array(shape, seed)
    x = mt.tensor(a)
    flat = getattr(x, op)()
    assert flat.dtype == mt.int64 and flat.item() == getattr(a, op)()
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    out = getattr(mt, op)(x, dim, keepdim=keepdim)
    ref = getattr(a, op)(axis=dim)
    np.testing.assert_array_equal(out.numpy(), np.expand_dims(ref, dim) if keepdim else ref)


def test_sum_of_ints_and_bools_is_int64():
    assert mt.arange(4).sum().item() == 6
    assert (mt.arange(4) > 1).sum().dtype == mt.int64
    assert (mt.arange(4) > 1).sum().item() == 2


def test_sum_dtype_argument():
    out = mt.tensor([1.0, 2.0]).sum(dtype=mt.float64)
    assert out.dtype == mt.float64 and out.item() == 3.0


def test_reduction_over_a_duplicate_free_tuple_of_negative_dims():
    a = random_array((2, 3, 4), 0)
    np.testing.assert_allclose(mt.tensor(a).sum((-1, 0)).numpy(), a.sum(axis=(0, 2)))


def test_empty_dim_tuple_reduces_everything_as_torch():
    a = random_array((2, 3), 0)
    check_op(lambda x: x.sum(()), lambda a: a.sum(), [a])
    check_op(lambda x: x.mean(dim=[]), lambda a: a.mean(), [a])


@pytest.mark.parametrize('dim', [0, -1])
def test_zero_dim_tensors_accept_dim_0_and_minus_1(dim):
    """torch treats a 0-d tensor as having one virtual dim of size 1."""
    a = random_array((), 0)
    check_op(lambda x: x.sum(dim), lambda a: a, [a])
    check_op(lambda x: x.mean(dim, keepdim=True), lambda a: a, [a])
    check_op(lambda x: x.amax(dim), lambda a: a, [a])
    check_op(lambda x: x.max(dim)[0], lambda a: a, [a])
    assert mt.tensor(a).min(dim)[1].item() == 0
    check_op(lambda x: x.softmax(dim), lambda a: np.ones(()), [a])
    check_op(lambda x: x.log_softmax(dim), lambda a: np.zeros(()), [a])
    check_op(lambda x: x.transpose(0, dim), lambda a: a, [a])
    with pytest.raises(IndexError, match=r"sum: dim 1 is out of range for a tensor with 0 dims"):
        mt.tensor(a).sum(1)
