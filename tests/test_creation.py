"""Creation functions, dtypes, seeding, conversions, function forms and repr."""
import numpy as np
import pytest

import minitensor as mt


@pytest.mark.parametrize('make', [mt.zeros, mt.ones, mt.randn, mt.rand, mt.empty])
def test_shapes_as_varargs_tuple_or_list(make):
    assert make(2, 3).shape == make((2, 3)).shape == make([2, 3]).shape == (2, 3)
    assert make(()).shape == ()
    out = make(2, dtype=mt.float64, requires_grad=True)
    assert out.dtype == mt.float64 and out.requires_grad and out.is_leaf and out.device == 'cpu'


def test_zeros_ones_full_values_and_dtypes():
    assert mt.zeros(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]] and mt.zeros(1).dtype == mt.float32
    assert mt.ones(3, dtype=mt.int64).tolist() == [1, 1, 1]
    assert mt.full((2,), 1.5).tolist() == [1.5, 1.5] and mt.full((2,), 1.5).dtype == mt.float32
    assert mt.full((2,), 7).dtype == mt.int64
    assert mt.full((2,), float('-inf')).tolist() == [float('-inf')] * 2


def test_like_functions_follow_their_argument():
    x = mt.randn(2, 3, dtype=mt.float64)
    for like in (mt.zeros_like(x), mt.ones_like(x), mt.full_like(x, 2.0), mt.randn_like(x), mt.rand_like(x)):
        assert like.shape == (2, 3) and like.dtype == mt.float64 and not like.requires_grad
    assert mt.zeros_like(x, dtype=mt.float32).dtype == mt.float32
    assert mt.ones_like(x, requires_grad=True).requires_grad
    assert mt.full_like(x, 2.0).tolist() == [[2.0] * 3] * 2


def test_tensor_dtypes():
    assert mt.tensor(1.5).dtype == mt.float32 and mt.tensor(1.5).shape == ()
    assert mt.tensor([1.0, 2.0]).dtype == mt.float32          # python floats -> float32
    assert mt.tensor([1, 2]).dtype == mt.int64
    assert mt.tensor([True, False]).dtype == mt.bool
    assert mt.tensor(np.zeros(3)).dtype == mt.float64           # a float64 array keeps float64
    assert mt.tensor(np.zeros(3, dtype=np.float32)).dtype == mt.float32
    assert mt.tensor([1, 2], dtype=mt.float64).dtype == mt.float64
    assert mt.tensor([1.0], dtype='float64').dtype == mt.float64
    x = mt.tensor([1.5, 2.5])
    assert x.float().dtype == mt.float32 and x.double().dtype == mt.float64
    assert x.long().dtype == mt.int64 and x.long().tolist() == [1, 2]
    assert x.to(mt.float64).dtype == mt.float64 and x.type(mt.int32).dtype == mt.int32
    with pytest.raises(ValueError, match="tensor: the nested lists are ragged"):
        mt.tensor([[1.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match="unknown dtype 'float8'"):
        mt.zeros(2, dtype='float8')


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    t, f = mt.tensor(a), mt.from_numpy(a)
    a[0] = 5
    assert t.tolist()[0] == 0 and f.tolist()[0] == 5
    assert f.dtype == mt.float64
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray"):
        mt.from_numpy([1.0])


def test_arange():
    assert mt.arange(5).tolist() == [0, 1, 2, 3, 4] and mt.arange(5).dtype == mt.int64
    assert mt.arange(2, 8, 3).tolist() == [2, 5]
    assert mt.arange(0, 1, 0.25).dtype == mt.float32
    assert mt.arange(3, dtype=mt.float64).dtype == mt.float64


def test_tril_triu():
    x = mt.ones(3, 3)
    np.testing.assert_array_equal(mt.tril(x).numpy(), np.tril(np.ones((3, 3))))
    np.testing.assert_array_equal(mt.triu(x, 1).numpy(), np.triu(np.ones((3, 3)), 1))
    np.testing.assert_array_equal(mt.tril(mt.ones(2, 4, 4), -1).numpy(), np.tril(np.ones((2, 4, 4)), -1))
    with pytest.raises(RuntimeError, match="tril: input must have at least 2 dims"):
        mt.tril(mt.ones(3))


def test_manual_seed_reproduces_every_draw():
    def draws():
        return (mt.randn(3, 4).numpy(), mt.rand(5).numpy(), mt.randint(0, 10, (6,)).numpy(),
                mt.multinomial(mt.tensor([0.2, 0.3, 0.5]), 4, replacement=True).numpy(), mt.randperm(5).numpy())
    mt.manual_seed(1337)
    first = draws()
    mt.manual_seed(1337)
    second = draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    mt.manual_seed(1338)
    assert not np.array_equal(mt.randn(3, 4).numpy(), first[0])


def test_generator_objects():
    g = mt.Generator().manual_seed(42)
    a = mt.randn(4, generator=g)
    b = mt.randint(low=0, high=5, size=(8,), generator=mt.Generator().manual_seed(42))
    g2 = mt.Generator().manual_seed(42)
    np.testing.assert_array_equal(a.numpy(), mt.randn(4, generator=g2).numpy())
    assert b.tolist() == mt.randint(low=0, high=5, size=(8,), generator=mt.Generator().manual_seed(42)).tolist()
    assert g.initial_seed() == 42
    mt.manual_seed(0)                      # a private generator does not touch the global one
    x = mt.randn(3).numpy()
    mt.manual_seed(0)
    mt.randn(3, generator=mt.Generator().manual_seed(1))
    np.testing.assert_array_equal(mt.randn(3).numpy(), x)


def test_randint_forms():
    mt.manual_seed(0)
    for t in (mt.randint(5, (100,)), mt.randint(0, 5, (100,)), mt.randint(low=0, high=5, size=(100,))):
        assert t.dtype == mt.int64 and t.shape == (100,)
        assert t.numpy().min() >= 0 and t.numpy().max() <= 4
    assert set(mt.randint(3, 6, (200,)).tolist()) == {3, 4, 5}
    with pytest.raises(RuntimeError, match="low < high"):
        mt.randint(5, 5, (2,))


def test_random_statistics():
    mt.manual_seed(0)
    x = mt.randn(100_000).numpy()
    assert abs(x.mean()) < 0.02 and abs(x.std() - 1) < 0.02
    u = mt.rand(100_000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01


# ---------------------------------------------------------------- multinomial

def test_multinomial_frequencies_match_probabilities():
    mt.manual_seed(1337)
    p = np.array([0.1, 0.0, 0.6, 0.3])
    draws = mt.multinomial(mt.tensor(p), 20_000, replacement=True).numpy()
    freq = np.bincount(draws, minlength=4) / draws.size
    assert freq[1] == 0                                         # zero probability: never drawn
    np.testing.assert_allclose(freq, p, atol=0.015)


def test_multinomial_accepts_unnormalised_weights_and_rows():
    mt.manual_seed(0)
    w = mt.tensor([[0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    out = mt.multinomial(w, 3, replacement=True)
    assert out.shape == (2, 3) and out.dtype == mt.int64
    assert out.tolist() == [[2, 2, 2], [0, 0, 0]]
    assert mt.multinomial(mt.tensor([1.0, 2.0]), num_samples=1).shape == (1,)


def test_multinomial_without_replacement_draws_distinct_categories():
    mt.manual_seed(3)
    probs = mt.tensor([[0.1, 0.2, 0.3, 0.4]] * 50)
    out = mt.multinomial(probs, 4).numpy()
    assert all(sorted(row) == [0, 1, 2, 3] for row in out)
    first = mt.multinomial(mt.tensor([[0.05, 0.05, 0.9]] * 4000), 1).numpy()[:, 0]
    assert abs((first == 2).mean() - 0.9) < 0.02


def test_multinomial_with_generator_is_reproducible():
    p = mt.tensor([0.25, 0.25, 0.5])
    a = mt.multinomial(p, 10, replacement=True, generator=mt.Generator().manual_seed(7))
    b = mt.multinomial(p, 10, replacement=True, generator=mt.Generator().manual_seed(7))
    assert a.tolist() == b.tolist()


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="cannot sample n_sample \\(4\\) > prob_dist size \\(3\\)"):
        mt.multinomial(mt.tensor([0.2, 0.3, 0.5]), 4)
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        mt.multinomial(mt.tensor([0.0, 0.3, 0.7]), 3)
    with pytest.raises(RuntimeError, match="inf, nan or element < 0"):
        mt.multinomial(mt.tensor([-0.1, 1.1]), 1)
    with pytest.raises(RuntimeError, match="inf, nan or element < 0"):
        mt.multinomial(mt.tensor([0.0, 0.0]), 1)
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        mt.multinomial(mt.ones(2, 2, 2), 1)


# ---------------------------------------------------------------- conversions, forms, repr

def test_item_tolist_numpy_to_cpu():
    x = mt.tensor([[1.0, 2.0]])
    assert mt.tensor([3.5]).item() == 3.5 and isinstance(mt.tensor(3).item(), int)
    assert x.tolist() == [[1.0, 2.0]]
    assert isinstance(x.numpy(), np.ndarray)
    assert x.to('cpu') is x and x.cpu() is x and x.to('cpu', mt.float64).dtype == mt.float64
    with pytest.raises(RuntimeError, match="only a tensor with one element"):
        x.item()
    w = mt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach\\(\\).numpy\\(\\)"):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.0, 1.0]
    assert float(mt.tensor(2.5)) == 2.5 and int(mt.tensor(3)) == 3
    assert f"{mt.tensor(0.123456):.3f}" == '0.123'


def test_function_forms():
    x = mt.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert mt.sum(x, 1, keepdim=True).tolist() == [[3.0], [7.0]]
    assert mt.mean(x).item() == 2.5
    np.testing.assert_allclose(mt.exp(x).numpy(), np.exp(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(mt.softmax(x, dim=-1).numpy(), x.softmax(-1).numpy())
    assert mt.matmul(x, x).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert mt.transpose(x, 0, 1).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert mt.allclose(x, x + 1e-9) and not mt.allclose(x, x + 1)
    assert mt.is_tensor(x) and not mt.is_tensor(1.0)
    with pytest.raises(TypeError, match="sum: expected a Tensor"):
        mt.sum([1, 2])


def test_repr_like_torch():
    assert repr(mt.tensor([1.0, 2.5])) == 'tensor([1.0000, 2.5000])'
    assert repr(mt.tensor([1.0, 2.0])) == 'tensor([1., 2.])'
    assert repr(mt.tensor(1.5)) == 'tensor(1.5000)'
    assert repr(mt.tensor([0.1234567, -2.0])) == 'tensor([ 0.1235, -2.0000])'
    assert repr(mt.tensor([1e-5, 1.0])) == 'tensor([1.0000e-05, 1.0000e+00])'
    assert repr(mt.tensor([1, 2])) == 'tensor([1, 2])'
    assert repr(mt.tensor([True])) == 'tensor([True])'   # torch pads only to the widest: [ True, False]
    assert repr(mt.tensor([1.0], dtype=mt.float64)) == 'tensor([1.], dtype=minitensor.float64)'
    assert repr(mt.ones(1, requires_grad=True)) == 'tensor([1.], requires_grad=True)'
    assert repr(mt.ones(1, requires_grad=True) * 2) == 'tensor([2.], grad_fn=<MulBackward>)'
    assert repr(mt.zeros(2, 2)) == 'tensor([[0., 0.],\n        [0., 0.]])'


def test_bool_of_tensors():
    assert bool(mt.tensor([1.0])) and not bool(mt.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mt.ones(2))
