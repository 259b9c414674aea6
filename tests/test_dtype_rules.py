"""torch's dtype rules (issue 12) and gradients at singular points, pinned by value and,
where torch is importable, checked against it."""
import numpy as np
import pytest

import minitensor as mt


def _pair(L, spec):
    """A tensor from ('f32', 'dim'|'0d') in library L (minitensor or torch)."""
    dtype, kind = spec
    values = {'f32': 1.5, 'f64': 2.5, 'i64': 3, 'i32': 4, 'b': True}[dtype]
    name = {'f32': 'float32', 'f64': 'float64', 'i64': 'int64', 'i32': 'int32', 'b': 'bool'}[dtype]
    t = L.tensor(values if kind == '0d' else [values, values], dtype=getattr(L, name))
    return t


CASES = [  # (left, right, the dtype torch gives)
    (('f32', 'dim'), ('f64', '0d'), 'float32'),       # a 0-d float64 does not promote float32
    (('i64', 'dim'), ('f64', '0d'), 'float64'),       # ... but lifts an int tensor to its own dtype
    (('i32', 'dim'), ('i64', '0d'), 'int32'),         # within a category the dimensioned wins
    (('b', 'dim'), ('i64', '0d'), 'int64'),
    (('b', 'dim'), ('f64', '0d'), 'float64'),
    (('f64', '0d'), ('f32', '0d'), 'float64'),        # both 0-d: ordinary promotion
    (('f32', 'dim'), ('f64', 'dim'), 'float64'),
    (('i64', 'dim'), ('f32', 'dim'), 'float32'),      # int and float32: float32 (not NumPy's float64)
]


@pytest.mark.parametrize('left, right, expected', CASES)
def test_zero_d_promotion(left, right, expected):
    for op in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: b - a, lambda a, b: mt.where(a == a, a, b)):
        assert op(_pair(mt, left), _pair(mt, right)).dtype == expected   # dtypes equal their names


@pytest.mark.parametrize('left, right, expected', CASES)
def test_zero_d_promotion_is_torchs(left, right, expected):
    torch = pytest.importorskip('torch')
    assert str((_pair(torch, left) + _pair(torch, right)).dtype) == 'torch.' + expected


def test_float_math_on_int_tensors_is_float32():
    i = mt.tensor([1, 2, 3])
    for op in ('exp', 'log', 'sqrt', 'sin', 'tanh', 'sigmoid', 'erf', 'rsqrt', 'reciprocal', 'log1p'):
        out = getattr(i, op)()
        assert out.dtype == mt.float32, op
    np.testing.assert_allclose(i.exp().numpy(), np.exp([1, 2, 3]), rtol=1e-6)
    assert (i / 2).dtype == mt.float32 and (i / mt.tensor(2.0, dtype=mt.float64)).dtype == mt.float64
    assert i.abs().dtype == i.square().dtype == i.floor().dtype == i.sign().dtype == mt.int64
    with pytest.raises(TypeError, match="silu: expected a floating point tensor, got int64"):
        mt.nn.functional.silu(i)


def test_int_clamp_with_float_bound_promotes():
    i = mt.tensor([0, 1, 2, 3])
    out = i.clamp(min=1.5)
    assert out.dtype == mt.float32 and out.tolist() == [1.5, 1.5, 2.0, 3.0]
    assert i.clamp(1, 2).dtype == mt.int64 and i.clamp(1, 2).tolist() == [1, 1, 2, 2]


@pytest.mark.parametrize('op', [lambda a, b: a // b, lambda a, b: a % b, lambda a, b: mt.fmod(a, b),
                                lambda a, b: mt.div(a, b, rounding_mode='trunc'), lambda a, b: 7 // b])
def test_integer_division_by_zero_raises(op):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(mt.tensor([7, -7]), mt.tensor([2, 0]))
    assert (mt.tensor([7.0]) // 0.0).tolist() == [float('inf')]      # floats follow IEEE, as torch


def test_integer_negative_power_raises():
    with pytest.raises(RuntimeError, match="integers to negative integer powers are not allowed"):
        mt.tensor([2, 3]) ** -1
    with pytest.raises(RuntimeError, match="integers to negative integer powers are not allowed"):
        mt.tensor([2, 3]) ** mt.tensor([1, -1])
    assert (mt.tensor([4]) ** 0.5).dtype == mt.float32


def test_mean_of_int_raises_as_torch():
    with pytest.raises(RuntimeError, match="mean: could not infer the output dtype"):
        mt.arange(4).mean()
    assert mt.arange(4).mean(dtype=mt.float32).item() == 1.5


def _grads(fn, *values):
    xs = [mt.tensor(v, dtype=mt.float64, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.tolist() for x in xs]


def test_pow_gradients_at_singular_points():
    """As torch: d(x**0)/dx = 0 at 0; d(x**x) = 0 at 0; d(x**y)/dy = 0 where x = 0, y >= 0;
    d/dy is NaN for a negative base (ln of a negative), d/dx finite there."""
    assert _grads(lambda x: x ** 0, [0.0, 2.0]) == [[0.0, 0.0]]
    assert _grads(lambda x: x ** x, [0.0]) == [[0.0]]
    gx, gy = _grads(lambda x, y: x ** y, [0.0, 0.0, 0.0, -2.0], [0.0, 2.0, 0.5, 3.0])
    assert gx[:2] == [0.0, 0.0] and gx[2] == float('inf') and gx[3] == 12.0
    assert gy[:3] == [0.0, 0.0, 0.0] and np.isnan(gy[3])


@pytest.mark.parametrize('fn, values, expected', [
    (lambda x: x.relu(), [0.0], [0.0]),
    (lambda x: x.abs(), [0.0], [0.0]),
    (lambda x: x.sign() + x.floor() + x.round(), [0.0, 1.5], [0.0, 0.0]),
    (lambda x: x.clamp(0.0, 1.0), [0.0, 1.0], [1.0, 1.0]),           # the bound passes the gradient
    (lambda x: mt.nn.functional.hardtanh(x), [-1.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
    (lambda x: mt.nn.functional.relu6(x), [0.0, 6.0], [0.0, 0.0]),
    (lambda x: mt.nn.functional.leaky_relu(x, 0.1), [0.0], [0.1]),
    (lambda x: mt.nn.functional.elu(x, 2.0), [0.0], [2.0]),
    (lambda x: mt.nn.functional.hardswish(x), [-3.0, 3.0], [0.0, 1.0]),
    (lambda x: mt.nn.functional.hardsigmoid(x), [-3.0, 3.0], [0.0, 0.0]),
    (lambda x: mt.nn.functional.threshold(x, 1.0, 5.0), [1.0], [0.0]),
    (lambda x: mt.nn.functional.softplus(x, beta=2, threshold=5), [3.0], [1.0]),
    (lambda x: mt.atan2(x, x), [0.0], [0.0]),
    (lambda x: mt.nan_to_num(x), [float('nan'), float('inf'), 1.0], [0.0, 0.0, 1.0]),
])
def test_gradients_at_kinks_are_torchs(fn, values, expected):
    assert _grads(fn, values) == [expected]


def test_gradients_at_kinks_match_torch():
    torch = pytest.importorskip('torch')
    tf = torch.nn.functional
    for name, ours, theirs, values in [
        ('hardswish', mt.nn.functional.hardswish, tf.hardswish, [-3.0, 3.0, 0.0]),
        ('hardsigmoid', mt.nn.functional.hardsigmoid, tf.hardsigmoid, [-3.0, 3.0]),
        ('relu6', mt.nn.functional.relu6, tf.relu6, [0.0, 6.0]),
        ('elu', mt.nn.functional.elu, tf.elu, [0.0]),
        ('celu', mt.nn.functional.celu, tf.celu, [0.0]),
        ('selu', mt.nn.functional.selu, tf.selu, [0.0]),
        ('leaky_relu', mt.nn.functional.leaky_relu, tf.leaky_relu, [0.0]),
        ('softsign', mt.nn.functional.softsign, tf.softsign, [0.0]),
        ('prelu', lambda x: mt.nn.functional.prelu(x, mt.tensor([0.25], dtype=mt.float64)),
         lambda x: tf.prelu(x, torch.tensor([0.25], dtype=torch.float64)), [0.0]),
        ('xlogy0', lambda x: mt.xlogy(x, x), lambda x: torch.xlogy(x, x), [0.0]),
        ('hypot0', lambda x: mt.hypot(x, x), lambda x: torch.hypot(x, x), [0.0]),
    ]:
        t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        theirs(t).sum().backward()
        np.testing.assert_array_equal(_grads(ours, values)[0], t.grad.tolist(), err_msg=name)
