"""Indexing: ints, slices, None, ..., integer tensors/arrays/lists, pair indexing,
boolean masks; backward scatter-adds so repeated indices accumulate. __setitem__."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST, check_op, random_array, seeds, shapes


@st.composite
def basic_index(draw, shape):
    """A random basic index for `shape`: ints (maybe negative), slices (with steps),
    None and at most one Ellipsis."""
    index, dim = [], 0
    ellipsis_used = False
    while dim < len(shape):
        kind = draw(st.sampled_from(['int', 'slice', 'none', 'ellipsis', 'stop']))
        n = shape[dim]
        if kind == 'int':
            index.append(draw(st.integers(-n, n - 1)))
            dim += 1
        elif kind == 'slice':
            start = draw(st.none() | st.integers(-n, n))
            stop = draw(st.none() | st.integers(-n, n))
            step = draw(st.none() | st.integers(1, 2))
            index.append(slice(start, stop, step))
            dim += 1
        elif kind == 'none':
            index.append(None)
        elif kind == 'ellipsis' and not ellipsis_used:
            index.append(Ellipsis)
            ellipsis_used = True
            dim = len(shape) - draw(st.integers(0, len(shape) - dim))
        else:
            break
    return tuple(index)


@FAST
@given(shape=shapes(min_rank=1), data=st.data(), seed=seeds())
def test_basic_indexing(shape, data, seed):
    index = data.draw(basic_index(shape))
    a = random_array(shape, seed)
    check_op(lambda x: x[index], lambda a: a[index], [a])


@FAST
@given(shape=shapes(min_rank=1), data=st.data(), seed=seeds())
def test_integer_tensor_index_repeats_accumulate(shape, data, seed):
    n = shape[0]
    idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6)))
    a = random_array(shape, seed)
    check_op(lambda x: x[mt.tensor(idx)], lambda a: a[idx], [a])     # 1-D: embedding path
    idx2 = idx.reshape(1, -1)
    check_op(lambda x: x[idx2], lambda a: a[idx2], [a])               # 2-D numpy index
    check_op(lambda x: x[list(idx)], lambda a: a[idx], [a])                # a Python list
    x = mt.tensor(a, requires_grad=True)
    x[mt.tensor(idx)].sum().backward()
    counts = np.bincount(idx % n, minlength=n).astype(float)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(counts.reshape((n,) + (1,) * (len(shape) - 1)), shape))


def test_pair_indexing_as_in_the_lecture():
    """prob[mt.arange(24), targets]: the negative log-likelihood pick."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((24, 27))
    targets = rng.integers(0, 27, 24)
    check_op(lambda x: x[mt.arange(24), mt.tensor(targets)], lambda a: a[np.arange(24), targets], [logits])
    x = mt.tensor(logits, requires_grad=True)
    loss = -x.softmax(1)[mt.arange(24), mt.tensor(targets)].log().mean()
    loss.backward()
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = p.copy()
    expected[np.arange(24), targets] -= 1
    np.testing.assert_allclose(x.grad.numpy(), expected / 24, atol=1e-12)


def test_embedding_lookup_of_a_2d_index():
    """C[X] with X (B, T) of ints gives (B, T, emb) and scatter-adds rows back."""
    C = random_array((27, 4), 0)
    X = np.array([[1, 2, 1], [5, 1, 0]])
    check_op(lambda c: c[mt.tensor(X)], lambda c: c[X], [C])
    c = mt.tensor(C, requires_grad=True)
    c[mt.tensor(X)].sum().backward()
    assert c.grad.numpy()[1].tolist() == [3.0] * 4 and c.grad.numpy()[3].sum() == 0


@FAST
@given(shape=shapes(min_rank=1, max_rank=3), seed=seeds())
def test_boolean_mask(shape, seed):
    a = random_array(shape, seed)
    mask = a > 0.3
    check_op(lambda x: x[mt.tensor(mask)], lambda a: a[mask], [a])
    check_op(lambda x: x[x > 0.3], lambda a: a[a > 0.3], [a])
    row_mask = mask.reshape(shape[0], -1)[:, 0]
    check_op(lambda x: x[mt.tensor(row_mask)], lambda a: a[row_mask], [a])


def test_mixed_index_with_slices_and_arrays():
    a = random_array((4, 5, 3), 0)
    i = np.array([0, 3, 3])
    check_op(lambda x: x[:, i], lambda a: a[:, i], [a])
    # torch selects with the int first, so i keeps its place (NumPy would move it to the front)
    check_op(lambda x: x[1:, i, None, 2], lambda a: a[1:, :, None, 2][:, i], [a])
    check_op(lambda x: x[..., np.array([2, 2])], lambda a: a[..., np.array([2, 2])], [a])


def test_index_errors():
    x = mt.zeros(3, 4)
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for dim 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match=r"index 7 is out of bounds for dim 0 with size 3"):
        x[mt.tensor([0, 7])]
    with pytest.raises(IndexError, match="too many indices for a tensor of shape"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="boolean mask of shape"):
        x[mt.tensor([True, False])]
    with pytest.raises(IndexError, match="unsupported index of type float"):   # as torch
        x[1.5]


# ---------------------------------------------------------------- __setitem__

def test_setitem_lecture_loop():
    """xbow[b, t] = x[b, :t+1].mean(0): writes into a plain tensor."""
    mt.manual_seed(1337)
    B, T, C = 2, 5, 3
    x = mt.randn(B, T, C)
    xbow = mt.zeros((B, T, C))
    for b in range(B):
        for t in range(T):
            xbow[b, t] = x[b, :t + 1].mean(0)
    xn = x.numpy()
    expected = np.cumsum(xn, axis=1) / np.arange(1, T + 1)[None, :, None]
    np.testing.assert_allclose(xbow.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_setitem_with_numbers_slices_masks_and_arrays():
    x = mt.zeros(3, 4)
    x[0] = 1.0
    x[1, 1:3] = mt.tensor([2.0, 3.0])
    x[x == 0] = -1.0
    x[mt.tensor([2, 2]), mt.tensor([0, 3])] = 5.0
    assert x.tolist() == [[1, 1, 1, 1], [-1, 2, 3, -1], [5, -1, -1, -1]][:2] + [[5, -1, -1, 5]]


def test_setitem_follows_torchs_autograd_rules():
    """A leaf that requires grad is refused (torch's error); a non-leaf is rebased and a
    value that requires grad joins the graph (tests/test_setitem_grad.py goes further)."""
    w = mt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: a view of a leaf Variable|setitem: a leaf Variable"):
        w[0] = 1.0
    y = w * 2
    y[0] = 1.0                           # allowed: y's history becomes the write's
    y.sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 2.0]
    out = mt.zeros(3)
    out[1] = (w * 3).sum()
    assert out.requires_grad and not out.is_leaf
    with mt.no_grad():
        w[0] = 1.0                       # an update outside the graph is fine
    assert w.tolist() == [1.0, 0.0, 0.0]
