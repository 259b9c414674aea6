"""Elementwise ops: forward against NumPy, gradients by central differences, over
hypothesis shapes of rank 0-4 and broadcast pairs."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST, broadcast_pairs, check_op, random_array, seeds, shapes

erf = np.vectorize(math.erf, otypes=[np.float64])     # the reference erf (NumPy has none)

# name -> (minitensor fn, numpy reference, value range, kinks to stay away from)
UNARY = {
    'neg': (lambda x: -x, lambda a: -a, (-2, 2), ()),
    'exp': (lambda x: x.exp(), np.exp, (-2, 2), ()),
    'log': (lambda x: x.log(), np.log, (0.2, 3), ()),
    'sqrt': (lambda x: x.sqrt(), np.sqrt, (0.2, 3), ()),
    'tanh': (lambda x: x.tanh(), np.tanh, (-3, 3), ()),
    'sigmoid': (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), (-5, 5), ()),
    'relu': (lambda x: x.relu(), lambda a: np.maximum(a, 0), (-2, 2), (0,)),
    'gelu_exact': (lambda x: x.gelu(), lambda a: 0.5 * a * (1 + erf(a / math.sqrt(2))), (-3, 3), ()),
    'gelu_none_kw': (lambda x: x.gelu(approximate='none'),
                     lambda a: 0.5 * a * (1 + erf(a / math.sqrt(2))), (-3, 3), ()),
    'gelu_tanh': (lambda x: x.gelu(approximate='tanh'),
                  lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))),
                  (-3, 3), ()),
    'abs': (lambda x: x.abs(), np.abs, (-2, 2), (0,)),
    'clamp': (lambda x: x.clamp(-0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), (-2, 2), (-0.5, 0.7)),
    'clamp_min': (lambda x: x.clamp(min=0.1), lambda a: np.maximum(a, 0.1), (-2, 2), (0.1,)),
    'clamp_max': (lambda x: x.clip(max=0.3), lambda a: np.minimum(a, 0.3), (-2, 2), (0.3,)),
    'pow_2': (lambda x: x ** 2, lambda a: a ** 2, (-2, 2), ()),
    'pow_3': (lambda x: x ** 3, lambda a: a ** 3, (-2, 2), ()),
    'pow_half': (lambda x: x ** 0.5, np.sqrt, (0.2, 3), ()),
    'pow_neg': (lambda x: x ** -1.5, lambda a: a ** -1.5, (0.2, 3), ()),
    'pow_method': (lambda x: x.pow(2.5), lambda a: a ** 2.5, (0.2, 3), ()),
    'rpow': (lambda x: 2 ** x, lambda a: 2 ** a, (-2, 2), ()),
    'rsub': (lambda x: 2 - x, lambda a: 2 - a, (-2, 2), ()),
    'radd': (lambda x: 1.5 + x, lambda a: 1.5 + a, (-2, 2), ()),
    'rmul': (lambda x: 3 * x, lambda a: 3 * a, (-2, 2), ()),
    'rdiv': (lambda x: 1 / x, lambda a: 1 / a, (0.3, 3), ()),
    'div_scalar': (lambda x: x / 4, lambda a: a / 4, (-2, 2), ()),
    'sub_scalar': (lambda x: x - 1, lambda a: a - 1, (-2, 2), ()),
    'python_sum': (lambda x: sum([x, x * 2, x]), lambda a: 4 * a, (-2, 2), ()),
    'fn_exp': (lambda x: mt.exp(x), np.exp, (-2, 2), ()),
    'fn_tanh': (lambda x: mt.tanh(x), np.tanh, (-2, 2), ()),
    'fn_log': (lambda x: mt.log(x), np.log, (0.2, 3), ()),
}

BINARY = {
    'add': (lambda a, b: a + b, np.add, (-2, 2)),
    'sub': (lambda a, b: a - b, np.subtract, (-2, 2)),
    'mul': (lambda a, b: a * b, np.multiply, (-2, 2)),
    'div': (lambda a, b: a / b, np.divide, (0.3, 2)),
    'pow': (lambda a, b: a ** b, np.power, (0.3, 2)),
    'maximum': (lambda a, b: a.maximum(b), np.maximum, (-2, 2)),
    'minimum': (lambda a, b: mt.minimum(a, b), np.minimum, (-2, 2)),
    'max_elementwise': (lambda a, b: mt.max(a, b), np.maximum, (-2, 2)),
    'where': (lambda a, b: mt.where(a > b * 0.5, a, b), lambda a, b: np.where(a > b * 0.5, a, b), (-2, 2)),
}


@pytest.mark.parametrize('name', sorted(UNARY))
@FAST
@given(shape=shapes(), seed=seeds())
def test_unary(name, shape, seed):
    fn, ref, (lo, hi), kinks = UNARY[name]
    check_op(fn, ref, [random_array(shape, seed, lo, hi, away_from=kinks)])


@pytest.mark.parametrize('name', sorted(BINARY))
@FAST
@given(pair=broadcast_pairs(), seed=seeds())
def test_binary_broadcast(name, pair, seed):
    fn, ref, (lo, hi) = BINARY[name]
    a = random_array(pair[0], seed, lo, hi)
    b = random_array(pair[1], seed + 1, lo, hi)
    check_op(fn, ref, [a, b])


@FAST
@given(shape=shapes(), seed=seeds())
def test_tensor_used_on_both_sides(shape, seed):
    """x * x and x / x: one leaf feeding both inputs gets both contributions."""
    a = random_array(shape, seed, 0.5, 2)
    check_op(lambda x: x * x + x / (x + 1), lambda a: a * a + a / (a + 1), [a])


def test_masked_fill_forward_and_grad():
    a = random_array((3, 4), 0)
    mask = np.tril(np.ones((4, 4)))[:3] == 0
    check_op(lambda x: x.masked_fill(mt.tensor(mask), -7.0), lambda a: np.where(mask, -7.0, a), [a])
    x = mt.tensor(a, requires_grad=True)
    x.masked_fill(mt.tensor(mask), float('-inf')).exp().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(mask, 0, np.exp(a)))


def test_masked_fill_broadcast_mask():
    a = random_array((2, 3, 3), 1)
    mask = np.tril(np.ones((3, 3))) == 0                       # (3, 3) broadcasts over the batch
    check_op(lambda x: x.masked_fill(mt.tensor(mask), 0.5), lambda a: np.where(mask, 0.5, a), [a])


def test_max_min_elementwise_ties_split_the_gradient():
    a = mt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mt.tensor([1.0, 1.0, 4.0], requires_grad=True)
    a.maximum(b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 1, 0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0, 1])


def test_relu_and_abs_grad_at_zero_is_zero():
    x = mt.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (x.relu() + x.abs()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1, 0, 2])


def test_sigmoid_extremes_do_not_overflow():
    x = mt.tensor([-1000.0, 0.0, 1000.0])
    with np.errstate(over='raise', invalid='raise'):   # underflow to 0 is fine
        np.testing.assert_allclose(x.sigmoid().numpy(), [0, 0.5, 1])


def test_pow_with_tensor_exponent_grad_of_both():
    a = random_array((2, 3), 3, 0.5, 2)
    b = random_array((3,), 4, -1, 2)
    check_op(lambda x, y: x ** y, np.power, [a, b])
    check_op(lambda y: mt.tensor(a) ** y, lambda b: a ** b, [b])


# ---------------------------------------------------------------- comparisons, dtypes

@pytest.mark.parametrize('op', ['__eq__', '__ne__', '__lt__', '__le__', '__gt__', '__ge__'])
def test_comparisons_return_bool_tensors(op):
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[2.0], [2.0]])
    out = getattr(mt.tensor(a), op)(mt.tensor(b))
    assert out.dtype == mt.bool and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), getattr(a, op)(b))
    assert getattr(mt.tensor(a), op)(2.0).dtype == mt.bool


def test_bool_logic():
    a, b = mt.tensor([True, False, True]), mt.tensor([True, True, False])
    assert (a & b).tolist() == [True, False, False]
    assert (a | b).tolist() == [True, True, True]
    assert (~a).tolist() == [False, True, False]


@pytest.mark.parametrize('scalar', [2, 2.5, True])
@pytest.mark.parametrize('op', [lambda x, s: x + s, lambda x, s: s - x, lambda x, s: x * s,
                                lambda x, s: x / s, lambda x, s: s / x, lambda x, s: x ** s])
def test_python_scalars_never_promote_float32(scalar, op):
    x = mt.tensor([1.0, 2.0])
    assert op(x, scalar).dtype == mt.float32


def test_int_tensor_with_python_float_gives_float32():
    """torch: an int tensor times a Python float is float32 (the default float dtype)."""
    i = mt.arange(4)
    assert (i * 0.5).dtype == mt.float32
    assert (i + 1.5).dtype == mt.float32
    assert (i / 2).dtype == mt.float32
    assert (i + 1).dtype == mt.int64
    np.testing.assert_allclose((i * 0.5).numpy(), [0, 0.5, 1, 1.5])


def test_mixed_tensor_dtypes_follow_torch():
    """float32 with an int tensor stays float32 (torch), not float64 (NumPy's rule)."""
    f = mt.tensor([1.0, 2.0])
    i = mt.tensor([1, 2])
    assert (f + i).dtype == mt.float32
    assert (f ** i).dtype == mt.float32
    assert (f * f.double()).dtype == mt.float64
    assert (i + mt.tensor([True, False])).dtype == mt.int64


def test_grad_flows_through_dtype_cast():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == mt.float32
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('shape', [(), (4,), (2, 3)])
def test_erf_keeps_shape_and_dtype(shape, dtype):
    """erf is our own (no SciPy): any shape, 0-d included, comes back as an array of its dtype."""
    from minitensor.ops.special import erf as mt_erf
    x = np.linspace(-3, 3, max(1, math.prod(shape))).reshape(shape).astype(dtype)
    out = mt_erf(x)
    assert isinstance(out, np.ndarray) and out.shape == shape and out.dtype == dtype
    np.testing.assert_allclose(out, erf(x.astype(np.float64)), rtol=3e-7 if dtype == np.float32 else 1e-15,
                               atol=0)
