"""torch's remaining top-level names that programs call: each compared with torch where it
computes something, or checked for torch's behaviour where it is bookkeeping."""
import numpy as np
import pytest

import minitensor as mt

torch = pytest.importorskip('torch')


def same(a, b):
    assert tuple(a.shape) == tuple(b.shape)
    assert a.dtype.name == str(b.dtype).replace('torch.', '')
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize('make', [
    lambda L: L.as_tensor([1, 2]), lambda L: L.asarray([1.5, 2.0]), lambda L: L.scalar_tensor(3),
    lambda L: L.diagflat(L.tensor([[1, 2], [3, 4]])), lambda L: L.combinations(L.tensor([1., 2., 3.])),
    lambda L: L.combinations(L.tensor([1, 2, 3]), 3, with_replacement=True),
    lambda L: L.combinations(L.tensor([1., 2.]), 3), lambda L: L.FloatTensor([1, 2]), lambda L: L.LongTensor([1.7]),
    lambda L: L.BoolTensor([1, 0]), lambda L: L.isreal(L.tensor([1.0])), lambda L: L.conj(L.tensor([1.0])),
    lambda L: L.chain_matmul(L.eye(2), L.ones(2, 3)), lambda L: L.relu_(L.tensor([-1.0, 2.0])),
    lambda L: L.nn.ReLU(True)(L.tensor([-1.0, 2.0])),
])
def test_values_as_torch(make):
    same(make(mt), make(torch))


def test_dtype_rules_as_torch():
    for a, b in [(lambda L: L.tensor([1]), 1.5), (lambda L: L.tensor([1], dtype=L.int32), lambda L: L.tensor(2)),
                 (lambda L: L.tensor([1.0]), lambda L: L.tensor(2.0, dtype=L.float64))]:
        ours = mt.result_type(a(mt), b(mt) if callable(b) else b)
        theirs = torch.result_type(a(torch), b(torch) if callable(b) else b)
        assert ours.name == str(theirs).replace('torch.', '')
    for x, y in [('int32', 'float16'), ('uint8', 'int8'), ('bool', 'int64')]:
        assert mt.promote_types(getattr(mt, x), getattr(mt, y)).name == \
            str(torch.promote_types(getattr(torch, x), getattr(torch, y))).replace('torch.', '')
    for x, y in [('float32', 'int32'), ('int32', 'float32'), ('int64', 'bool'), ('bool', 'int8')]:
        assert mt.can_cast(getattr(mt, x), getattr(mt, y)) == torch.can_cast(getattr(torch, x), getattr(torch, y))
    assert mt.typename(mt.zeros(1)) == torch.typename(torch.zeros(1))
    assert mt.LongTensor(2, 3).shape == (2, 3)


def test_rng_state_round_trip_and_bookkeeping_names():
    mt.manual_seed(3)
    state = mt.get_rng_state()
    a = mt.rand(4)
    mt.set_rng_state(state)
    assert (mt.rand(4) == a).all()
    assert mt.initial_seed() == 3
    mt.set_num_threads(1)
    assert mt.get_num_threads() == 1
    mt.use_deterministic_algorithms(True)
    assert mt.are_deterministic_algorithms_enabled()
    mt.use_deterministic_algorithms(False)
    assert repr(mt.channels_last) == 'minitensor.channels_last'


def test_testing_assert_close():
    mt.testing.assert_close(mt.tensor([1.0, 2.0]), mt.tensor([1.0, 2.000001]))
    mt.testing.assert_close([mt.tensor(1), {'a': mt.tensor([2.0])}], [mt.tensor(1), {'a': mt.tensor([2.0])}])
    with pytest.raises(AssertionError, match='not close'):
        mt.testing.assert_close(mt.tensor([1.0, 2.0]), mt.tensor([1.0, 2.1]))
    with pytest.raises(AssertionError, match='dtype'):
        mt.testing.assert_close(mt.tensor([1.0]), mt.tensor([1.0], dtype=mt.float64))
    with pytest.raises(AssertionError, match='shape'):
        mt.testing.assert_close(mt.tensor([1.0]), mt.tensor([1.0, 1.0]))
    mt.testing.assert_close(mt.tensor([float('nan')]), mt.tensor([float('nan')]), equal_nan=True)
    mt.testing.assert_allclose(mt.tensor([1.0]), np.array([1.0]))


@pytest.mark.parametrize('args', [(), (2, 3), (5,), ([1, 2],), ([[True, False]],), ([1.5, -2.0],)])
def test_tensor_constructor_forms_as_torch(args):
    """torch.Tensor(): empty; Tensor(2, 3): sizes; Tensor(list): the default float dtype."""
    ours, theirs = mt.Tensor(*args), torch.Tensor(*args)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype.name == 'float32'
    if args and not isinstance(args[0], int):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_scalar_chain_as_micrograd_checks_it():
    """A micrograd-style engine check: a chain of scalar ops on 1-element double tensors made with
    Tensor([...]).double(), values and both gradients equal to torch's."""
    def chain(L):
        a = L.Tensor([-3.0]).double()
        b = L.Tensor([1.5]).double()
        a.requires_grad = True
        b.requires_grad = True
        c = a * b + b ** 3 - a
        c = c + c * 2 + (a - b).relu() + 1
        d = (c * a).relu() + c / (b + 4.0) - (-c).relu() * 0.5
        e = d ** 2 / 3.0 + 7.0 / (d * d + 1)
        e.backward()
        return e.data.item(), a.grad.item(), b.grad.item()
    np.testing.assert_allclose(chain(mt), chain(torch), rtol=1e-12)


@pytest.mark.parametrize('kwargs', [{}, {'batch_first': True, 'padding_value': -1.0},
                                    {'batch_first': True, 'padding_side': 'left'}])
def test_pad_sequence_as_torch(kwargs):
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 3)) for n in (4, 1, 3)]
    ours = mt.nn.utils.rnn.pad_sequence([mt.tensor(s, requires_grad=True) for s in seqs], **kwargs)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], **kwargs)
    same(ours, theirs)
    back = mt.nn.utils.rnn.unpad_sequence(mt.nn.utils.rnn.pad_sequence([mt.tensor(s) for s in seqs]), [4, 1, 3])
    assert [tuple(b.shape) for b in back] == [(4, 3), (1, 3), (3, 3)]
