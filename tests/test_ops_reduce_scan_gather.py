"""Float64 mt.gradcheck (central differences) of every Function behind the reductions,
scans, sorting, gather/scatter, diagonal and einsum ops; torch's edge cases for empty
and 0-d inputs; named-tuple results; axis= aliases; clear errors."""
import math

import numpy as np
import pytest

import minitensor as mt

RNG = np.random.default_rng(0)


def leaf(*shape, low=-2.0, high=2.0):
    return mt.tensor(RNG.uniform(low, high, size=shape), dtype=mt.float64, requires_grad=True)


def idx(values):
    return mt.tensor(np.asarray(values, dtype=np.int64))


def with_zeros(*shape):
    a = RNG.uniform(-2, 2, size=shape)
    a[a < -0.5] = 0.0
    return mt.tensor(a, requires_grad=True)


# (name, fn, inputs): every Function, differentiated through each input that requires grad
CASES = [
    ('sum', lambda x: x.sum((0, 2)), [leaf(2, 3, 4)]),
    ('mean', lambda x: x.mean(-1, keepdim=True), [leaf(2, 3)]),
    ('var', lambda x: x.var(0, correction=0), [leaf(4, 3)]),
    ('std', lambda x: x.std(1), [leaf(2, 5)]),
    ('std_all', lambda x: x.std(), [leaf(3, 2)]),
    ('prod', lambda x: x.prod(1), [leaf(3, 4)]),
    ('prod_one_zero', lambda x: x.prod(-1), [mt.tensor([[0.0, 2.0, 3.0], [1.5, -2.0, 0.5]], dtype=mt.float64,
                                                       requires_grad=True)]),
    ('logsumexp', lambda x: x.logsumexp((0, 1)), [leaf(3, 2, 2)]),
    ('amax', lambda x: x.amax(1), [leaf(3, 4)]),
    ('max_dim', lambda x: x.max(0).values, [leaf(4, 3)]),
    ('min_all', lambda x: x.min(), [leaf(5)]),
    ('norm_2', lambda x: x.norm(dim=1), [leaf(3, 4)]),
    ('norm_1', lambda x: x.norm(1), [leaf(6, low=0.2, high=2)]),
    ('norm_inf', lambda x: x.norm(math.inf, 0), [leaf(5, 2)]),
    ('norm_3', lambda x: x.norm(3, -1), [leaf(2, 4)]),
    ('cdist', lambda a, b: mt.cdist(a, b), [leaf(3, 2), leaf(4, 2)]),
    ('cumsum', lambda x: x.cumsum(1), [leaf(2, 5)]),
    ('cumprod', lambda x: x.cumprod(0), [leaf(5, 2)]),
    ('logcumsumexp', lambda x: x.logcumsumexp(-1), [leaf(3, 6)]),
    ('cummax', lambda x: x.cummax(1).values, [leaf(3, 5)]),
    ('sort', lambda x: x.sort(-1, descending=True).values, [leaf(3, 4)]),
    ('topk', lambda x: x.topk(2, 0).values, [leaf(5, 3)]),
    ('kthvalue', lambda x: x.kthvalue(2, 1).values, [leaf(3, 4)]),
    ('median', lambda x: x.median(0).values, [leaf(5, 2)]),
    ('gather', lambda x: x.gather(1, idx([[0, 0, 2], [1, 2, 1]])), [leaf(2, 3)]),
    ('take_along_dim', lambda x: mt.take_along_dim(x, idx([[1], [0]]), 1), [leaf(2, 3)]),
    ('scatter', lambda x, s: x.scatter(0, idx([[1, 0, 2]]), s), [leaf(3, 3), leaf(2, 3)]),
    ('scatter_value', lambda x: x.scatter(1, idx([[0], [2]]), 1.5), [leaf(2, 3)]),
    ('scatter_add', lambda x, s: x.scatter_add(1, idx([[0, 0, 1], [2, 2, 2]]), s), [leaf(2, 3), leaf(2, 4)]),
    ('scatter_reduce_sum', lambda x, s: x.scatter_reduce(0, idx([0, 0, 2]), s, 'sum', include_self=False),
     [leaf(3), leaf(3)]),
    ('scatter_reduce_prod', lambda x, s: x.scatter_reduce(0, idx([0, 0, 2, 0]), s, 'prod'), [leaf(3), leaf(4)]),
    ('scatter_reduce_prod_zeros', lambda x, s: x.scatter_reduce(0, idx([0, 0, 1, 1]), s, 'prod'),
     [mt.tensor([0.0, 2.0, 1.0], dtype=mt.float64, requires_grad=True),
      mt.tensor([1.5, -1.0, 0.0, 3.0], dtype=mt.float64, requires_grad=True)]),
    ('scatter_reduce_mean', lambda x, s: x.scatter_reduce(0, idx([1, 1, 2]), s, 'mean'), [leaf(3), leaf(3)]),
    ('scatter_reduce_amax', lambda x, s: x.scatter_reduce(0, idx([1, 1, 0, 2]), s, 'amax', include_self=False),
     [leaf(3), leaf(4)]),
    ('scatter_reduce_amin', lambda x, s: x.scatter_reduce(0, idx([1, 1, 0]), s, 'amin'), [leaf(3), leaf(3)]),
    ('index_select', lambda x: x.index_select(0, idx([2, 0, 2])), [leaf(3, 2)]),
    ('index_add', lambda x, s: x.index_add(1, idx([0, 0, 2]), s, alpha=-0.5), [leaf(2, 3), leaf(2, 3)]),
    ('index_copy', lambda x, s: x.index_copy(0, idx([2, 0]), s), [leaf(3, 2), leaf(2, 2)]),
    ('index_fill', lambda x: x.index_fill(1, idx([1]), 0.5), [leaf(2, 3)]),
    ('masked_select', lambda x: x.masked_select(mt.tensor([True, False, True])), [leaf(2, 3)]),
    ('masked_scatter', lambda x, s: x.masked_scatter(mt.tensor([[True, False], [True, True]]), s),
     [leaf(2, 2), leaf(5)]),
    ('take', lambda x: x.take(idx([[0, 5], [5, 3]])), [leaf(2, 3)]),
    ('clone', lambda x: x.clone() * 2, [leaf(3)]),
    ('flip', lambda x: x.flip(0, 1), [leaf(2, 3)]),
    ('roll', lambda x: x.roll((1, -1), (0, 1)), [leaf(2, 3)]),
    ('repeat', lambda x: x.repeat(2, 1, 3), [leaf(2, 3)]),
    ('repeat_interleave', lambda x: x.repeat_interleave(idx([1, 0, 3]), dim=1), [leaf(2, 3)]),
    ('diagonal', lambda x: x.diagonal(1, 0, 2), [leaf(3, 2, 4)]),
    ('diag_embed', lambda x: x.diag_embed(-1), [leaf(2, 3)]),
    ('tril', lambda x: mt.tril(x, -1), [leaf(2, 3, 3)]),
    ('triu', lambda x: x.triu(1), [leaf(3, 4)]),
    ('einsum_bmm', lambda a, b: mt.einsum('bij,bjk->bik', a, b), [leaf(2, 3, 4), leaf(2, 4, 2)]),
    ('einsum_trace', lambda a: mt.einsum('ii', a), [leaf(3, 3)]),
    ('einsum_outer_sum', lambda a, b: mt.einsum('i,jk->ij', a, b), [leaf(3), leaf(2, 4)]),
]


@pytest.mark.parametrize('name,fn,inputs', CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, inputs):
    for t in inputs:
        t.grad = None
    assert mt.gradcheck(fn, tuple(inputs))


def test_prod_and_cumprod_gradients_at_zeros():
    x = with_zeros(4, 5)
    assert mt.gradcheck(lambda x: x.prod(1), (x,))
    assert mt.gradcheck(lambda x: x.cumprod(1), (x,))
    two_zeros = mt.tensor([0.0, 3.0, 0.0, 2.0], dtype=mt.float64, requires_grad=True)
    two_zeros.prod().backward()
    np.testing.assert_array_equal(two_zeros.grad.numpy(), [0, 0, 0, 0])


# ---------------------------------------------------------------- torch's edge cases (issue 12)

def test_max_over_an_empty_dim_raises_index_error_and_other_empty_dims_work():
    x = mt.zeros(0, 3)
    with pytest.raises(IndexError, match="max: expected reduction dim 0 to have non-zero size"):
        x.max(0)
    values, indices = x.max(1)
    assert values.shape == (0,) and indices.shape == (0,) and indices.dtype == mt.int64
    with pytest.raises(RuntimeError, match="max: the tensor of shape"):
        x.max()
    with pytest.raises(IndexError):
        x.amax(0)


def test_empty_reductions_and_softmax():
    assert mt.zeros(0, 3).sum().item() == 0
    assert np.isnan(mt.zeros(0, 3).mean(0).numpy()).all()
    assert mt.zeros(2, 0).softmax(-1).shape == (2, 0)
    assert mt.zeros(2, 0).log_softmax(1).shape == (2, 0)


def test_std_and_var_of_a_constant_are_zero_with_zero_gradient():
    for op in ('std', 'var'):
        x = mt.full((4,), 0.3, dtype=mt.float64, requires_grad=True)
        out = getattr(x, op)()
        out.backward()
        assert out.item() == pytest.approx(0, abs=1e-15)
        assert np.isfinite(x.grad.numpy()).all() and np.abs(x.grad.numpy()).max() < 1e-6


def test_split_chunk_flatten_cat_edge_cases():
    assert [p.shape for p in mt.zeros(0, 2).split(3)] == [(0, 2)]
    with pytest.raises(RuntimeError, match="chunk: expects `chunks` to be a positive int"):
        mt.zeros(4).chunk(0)
    with pytest.raises(RuntimeError, match="start_dim .* cannot come after end_dim"):
        mt.zeros(2, 3, 4).flatten(2, 1)
    with pytest.raises(RuntimeError, match="split: expects at least a 1-dimensional tensor"):
        mt.tensor(1.0).split(1)


# ---------------------------------------------------------------- API shape

def test_named_tuple_results():
    x = mt.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    m = x.max(1)
    assert isinstance(m, mt.return_types.max) and m.values.tolist() == [5.0, 7.0] and m.indices.tolist() == [1, 0]
    values, indices = x.min(dim=1)
    assert indices.tolist() == [0, 1]
    for r, fields in [(x.sort(1), ('values', 'indices')), (x.topk(1), ('values', 'indices')),
                      (x.kthvalue(1, 1), ('values', 'indices')), (x.median(1), ('values', 'indices')),
                      (x.mode(1), ('values', 'indices')), (x.cummax(1), ('values', 'indices')),
                      (mt.aminmax(x), ('min', 'max')), (mt.histogram(x, 2), ('hist', 'bin_edges'))]:
        assert r._fields == fields


def test_axis_and_keepdims_aliases():
    x = mt.arange(6.0).reshape(2, 3)
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert mt.mean(x, axis=0).tolist() == [1.5, 2.5, 3.5]
    assert x.max(axis=1).values.tolist() == [2.0, 5.0]
    assert x.amax(axis=0, keepdims=True).shape == (1, 3)
    assert x.argmax(axis=1).tolist() == [2, 2]
    assert x.std(axis=1).shape == (2,)
    assert (x > 1).any(axis=1).tolist() == [True, True]
    assert x.cumsum(axis=1).tolist() == [[0, 1, 3], [3, 7, 12]]


def test_tril_keeps_the_gradient():
    x = mt.ones(3, 3, requires_grad=True)
    mt.tril(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.tril(np.ones((3, 3))))


def test_creation_functions():
    np.testing.assert_allclose(mt.logspace(0, 2, 3).numpy(), [1, 10, 100])
    assert mt.eye(2, 3).shape == (2, 3)
    assert mt.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert mt.triu_indices(2, 3, 1).tolist() == [[0, 0, 1], [1, 2, 2]]
    assert mt.arange(0, 1, 0.25).dtype == mt.float32
    x = mt.zeros(2, 3, dtype=mt.float64)
    assert x.new_ones(4).dtype == mt.float64 and x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == mt.float64 and x.new_zeros((1, 2)).shape == (1, 2)
    assert x.new_empty(3).shape == (3,) and mt.empty_like(x).shape == (2, 3)
    r = mt.randint_like(mt.zeros(50, dtype=mt.int64), 3, 5)
    assert r.dtype == mt.int64 and 3 <= r.min().item() and r.max().item() < 5
    assert mt.numel(x) == 6 and x.nelement() == 6


def test_clear_errors():
    x = mt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="gather: index should have the same number of dims"):
        x.gather(1, idx([0, 1]))
    with pytest.raises(RuntimeError, match="gather: index 3 is out of bounds for dim 1 with size 3"):
        x.gather(1, idx([[0, 3]]))
    with pytest.raises(RuntimeError, match="scatter_add: index -1 is out of bounds"):
        x.scatter_add(1, idx([[-1]]), x)
    with pytest.raises(RuntimeError, match=r"index_select: index out of range: values must be in \[0, 3\)"):
        x.index_select(1, idx([-1]))
    assert x.index_fill(1, idx([-1]), 2.0)[:, 2].tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="index must be an integer"):
        x.index_select(0, mt.tensor([0.0]))
    with pytest.raises(RuntimeError, match="topk: k \\(4\\) is out of range"):
        x.topk(4)
    with pytest.raises(RuntimeError, match="einsum: subscript 'j' has size 2 in one operand and 3"):
        mt.einsum('ij,jk->ik', x, mt.zeros(2, 2))
    with pytest.raises(ValueError, match="einsum: the equation 'ij,jk' has 2 operands but 1"):
        mt.einsum('ij,jk', x)
    with pytest.raises(RuntimeError, match="repeat: the number of repeat dims"):
        x.repeat(2)


def test_nodes_keep_arrays_only_through_save_for_backward():
    """The engine's rule (tests/test_function_rules.py) over this file's Functions."""
    from test_function_rules import _holds_array, _nodes
    x, s = leaf(3, 4), leaf(3, 4)
    i = idx([[0, 1, 1, 3], [2, 2, 0, 1], [3, 0, 0, 0]])
    h = (x.gather(1, i) + x.scatter(1, i, s) + x.scatter_add(1, i, s) + x.scatter_reduce(1, i, s, 'prod')
         + x.index_select(1, idx([3, 2, 1, 0])) + x.index_add(0, idx([0, 0, 1]), s) + x.index_copy(0, idx([2, 1, 0]), s)
         + x.masked_scatter(x > 0, s) + x.take(i) + x.cumprod(1) + x.logcumsumexp(0) + x.cummax(1).values
         + x.sort(1).values + x.repeat_interleave(idx([1, 1, 1]), 0) + x.flip(0).roll(1, 1).tril() + x.prod(0)
         + x.norm(3, 0) + x.logsumexp(0) + x.std(0) + mt.einsum('ij,ij->ij', x, s) + x.diagonal().sum()
         + x.diag_embed().sum((1, 2))[:, None] + x.repeat(1, 1))
    loss = h.sum() + x.masked_select(x > 0).sum()
    nodes = _nodes(loss)
    assert len(nodes) > 25
    for fn in nodes:
        for name, value in vars(fn).items():
            assert name in ('saved', 'saved_versions') or not _holds_array(value), \
                f"{fn.name}.{name} holds an array outside save_for_backward"
    loss.backward()
    for fn in nodes:
        assert not fn.saved, f"{fn.name} kept its saved arrays after backward"


def test_scatter_of_a_value_with_reduce_as_torch():
    torch = pytest.importorskip('torch')
    for reduce in ('add', 'multiply'):
        ours = mt.full((3,), 3.0).scatter(0, mt.tensor([0, 0, 2]), 2.0, reduce=reduce)
        theirs = torch.full((3,), 3.0).scatter(0, torch.tensor([0, 0, 2]), 2.0, reduce=reduce)
        assert ours.tolist() == theirs.tolist()
