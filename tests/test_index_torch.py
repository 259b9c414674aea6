"""x[index] against torch: forward values and gradients over many index forms, including
the ones where torch and NumPy disagree (separated advanced indices, bools, uint8)."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST

torch = pytest.importorskip('torch')


class T:
    """An index tensor in a spec: becomes mt.tensor / torch.tensor of the array."""

    def __init__(self, array, dtype=None):
        self.array = np.asarray(array, dtype=dtype)

    def __repr__(self):
        return f"T({self.array.tolist()}, {self.array.dtype})"


def build(index, lib):
    """The spec with every T turned into a tensor of `lib` (mt or torch), lists kept."""
    if isinstance(index, T):
        return (mt.tensor(index.array, dtype=index.array.dtype) if lib is mt
                else torch.from_numpy(index.array.copy()))
    if isinstance(index, tuple):
        return tuple(build(i, lib) for i in index)
    if isinstance(index, list):
        return [build(i, lib) for i in index]
    return index


def torch_get(x, index):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')     # torch warns on uint8 masks and list-as-tuple
        return x[build(index, torch)]


def check(shape, index, seed=0):
    """Forward values, result shape and gradient (a weighted sum) equal torch's."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    xt = torch.tensor(a, requires_grad=True)
    try:
        yt = torch_get(xt, index)
    except (IndexError, ValueError, TypeError, RuntimeError) as e:
        with pytest.raises(type(e)):
            mt.tensor(a, requires_grad=True)[build(index, mt)]
        return
    x = mt.tensor(a, requires_grad=True)
    y = x[build(index, mt)]
    assert tuple(y.shape) == tuple(yt.shape), (index, y.shape, yt.shape)
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    w = rng.standard_normal(tuple(yt.shape))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        (yt * torch.tensor(w)).sum().backward()
    (y * mt.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


IDX = T([0, 2, -1, 2])                 # repeated and negative entries
CASES = [
    ((2, 3, 4, 5), (0, slice(None), T([0, 3]))),             # torch: (3, 2, 5); NumPy: (2, 3, 5)
    ((2, 3, 4, 5), (slice(None), 1, slice(None), T([4, 0]))),
    ((2, 3, 4, 5), (T([1, 0]), 0, T([1, 3]))),
    ((2, 3, 4, 5), (T([1, 0]), None, T([2, 1]))),
    ((2, 3, 4, 5), (0, T([1, 2]), slice(None), T([0, 3]))),
    ((2, 3, 4, 5), (Ellipsis, T([0, 4]))),
    ((2, 3, 4, 5), (T([1, 0]), Ellipsis, T([0, 4]))),
    ((2, 3, 4), (slice(None), T([2, 1]), Ellipsis, T([0, 3]))),
    ((4, 5, 3), (slice(1, None), T([0, 3, 3]), None, 2)),
    ((3, 4), True), ((3, 4), False), ((3, 4), (True, 1)), ((3, 4), (slice(None), False)),
    ((2, 3, 4), (T([1, 0]), True)), ((2, 3, 4), (slice(None), True, T([2, 0]))),
    ((2, 3, 4), (T([1, 0]), slice(None), True)),
    ((3, 4), T(True)), ((3, 4), T(False)), ((3, 4), (T(False), T([1]))),
    ((3, 4), T([1, 0, 1], np.uint8)), ((3, 4), T([[1, 0, 0, 1]] * 3, np.uint8)),
    ((3, 4), T([True, False, True])), ((3, 4), (slice(None), T([True, False, True, True]))),
    ((2, 3, 4), T(np.arange(6).reshape(2, 3) % 2 == 0)),
    ((2, 3, 4), (0, T(np.arange(12).reshape(3, 4) % 3 == 0))),
    ((3, 4), []), ((3, 4), (slice(None), [])), ((0, 4), []), ((3, 0), (slice(None), [])),
    ((5, 2), range(1, 4)), ((5, 2), range(4, 0, -2)), ((5, 2), [4, -1, 0, 0]),
    ((5, 2), [True, False, True, False, True]), ((2, 3), [[True, False, True], [False, True, True]]),
    ((5, 2), [[0, 1], [1, 0]]),                              # torch reads it as a tuple
    ((5, 2), [(0, 1), (1, 0)]), ((5, 2), [0, slice(None)]), ((5, 2), [T(1), T(0)]),
    ((5, 2), ([[0, 1], [4, 4]], 1)), ((5, 2), ([[0, 1], [4, 4]], [[1], [0]])),
    ((5, 2), T(3)), ((5, 2), (T(-1), T(0))), ((5, 2, 3), (T(2), slice(None), T([0, 2]))),
    ((5, 2), np.int64(3)), ((5, 2), (np.int32(-2), np.int64(1))), ((5, 2), np.array([1, 3])),
    ((5, 2), IDX), ((5, 2), T([[0, 4], [-5, -1]])), ((5, 2), (IDX, T([1]))),
    ((5, 2), T([0, 1], np.int32)), ((5,), T(np.array([], dtype=np.int64))),
    ((5, 2), (slice(None, None, 2), 1)), ((5, 2), (slice(-3, None), None)),
    ((), None), ((), Ellipsis), ((), True), ((), ()), ((4,), ()),
    # errors: torch's exception types
    ((5, 2), T([5])), ((5, 2), T([-6])), ((5, 2), 5), ((5, 2), (0, 0, 0)),
    ((5, 2), 1.5), ((5, 2), T([1.0])), ((5, 2), T([True, False])),
    ((5, 2), (Ellipsis, 0, Ellipsis)), ((5, 2), slice(None, None, -1)),
]


@pytest.mark.parametrize('shape,index', CASES, ids=[f"{s}-{i!r}"[:60] for s, i in CASES])
def test_index_matches_torch(shape, index):
    check(shape, index)


def test_numpy_rule_would_differ():
    """The case the issue found: torch selects with the int first, so idx keeps its place."""
    x = mt.arange(120).reshape(2, 3, 4, 5)
    assert x[0, :, mt.tensor([0, 2])].shape == (3, 2, 5)
    assert x[:, 1, :, mt.tensor([0, 2])].shape == (2, 4, 2)
    np.testing.assert_array_equal(x[0, :, [0, 2]].numpy(), x.numpy()[0][:, [0, 2]])


def test_embedding_style_gradient_counts_repeats():
    w = mt.tensor(np.eye(4), requires_grad=True)
    w[mt.tensor([[1, 1], [3, 1]])].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy().sum(1), [0, 12, 0, 4])


def test_index_dunder():
    t = mt.tensor(3)
    assert list(range(t)) == [0, 1, 2]
    assert [10, 20, 30, 40][mt.tensor([2])] == 30
    assert mt.arange(6)[mt.tensor(4)].item() == 4
    assert mt.arange(6)[mt.tensor(True)].shape == (1, 6)
    for bad in (mt.tensor(2.0), mt.tensor([1, 2])):
        with pytest.raises(TypeError, match="only integer tensors of a single element"):
            range(bad)


# ---------------------------------------------------------------- hypothesis mixes

@st.composite
def index_mixes(draw):
    """A shape and an index of up to 4 items: ints, slices, None, ..., bools, int
    tensors and lists (with negative entries), bool masks; sometimes out of range."""
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple))
    items, dim, used_ellipsis = [], 0, False
    for _ in range(draw(st.integers(0, 4))):
        n = shape[dim] if dim < len(shape) else 1
        kind = draw(st.sampled_from(['int', 'slice', 'none', 'ellipsis', 'bool', 'tensor',
                                     'list', 'mask', 'tensor0d']))
        lo, hi = -n - (draw(st.integers(0, 9)) == 0), n - 1 + (draw(st.integers(0, 9)) == 0)
        if kind == 'int':
            items.append(draw(st.integers(lo, hi)) if hi >= lo else 0)
        elif kind == 'tensor0d':
            items.append(T(draw(st.integers(lo, hi)) if hi >= lo else 0))
        elif kind == 'slice':
            start = draw(st.one_of(st.none(), st.integers(-5, 5)))
            stop = draw(st.one_of(st.none(), st.integers(-5, 5)))
            items.append(slice(start, stop, draw(st.sampled_from([None, 1, 2, 3]))))
        elif kind == 'none':
            items.append(None)
            continue
        elif kind == 'ellipsis':
            if used_ellipsis:
                continue
            used_ellipsis = True
            items.append(Ellipsis)
            continue
        elif kind == 'bool':
            items.append(draw(st.booleans()))
            continue
        elif kind in ('tensor', 'list'):
            ishape = draw(st.lists(st.integers(0, 3), min_size=1, max_size=2).map(tuple))
            vals = np.array(draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(ishape)),
                                          max_size=int(np.prod(ishape)))) if hi >= lo else
                            [0] * int(np.prod(ishape)), dtype=np.int64).reshape(ishape)
            items.append(T(vals) if kind == 'tensor' else vals.tolist())
        elif kind == 'mask':
            k = draw(st.integers(1, 2))
            mshape = tuple(shape[dim:dim + k]) or (1,)
            seed = draw(st.integers(0, 1000))
            items.append(T(np.random.default_rng(seed).random(mshape) < 0.5))
            dim += len(mshape) - 1
        dim += 1
    return shape, tuple(items)


@FAST
@given(index_mixes(), st.integers(0, 2 ** 16))
def test_index_mixes_match_torch(case, seed):
    shape, index = case
    check(shape, index, seed)
