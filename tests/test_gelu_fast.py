"""GELU's float32 CPU path (Phi from a rational fit of the Mills ratio, ops/special.py
gelu_parts) and the tanh form without a ** 3: accuracy against the exact GELU in
float64 over a dense grid, the tails, special values, 0-d and gradients."""
import math

import numpy as np
import pytest

import minitensor as mt
from minitensor.ops.special import gelu_parts


def _grid32():
    sweep = np.geomspace(1e-30, 12, 4001)
    return np.concatenate([np.linspace(-12, 12, 48001), sweep, -sweep]).astype(np.float32)


def _exact(x64):
    """GELU and its derivative in float64, exact also where 1 + erf cancels (x << 0)."""
    cdf = np.array([math.erfc(-v / math.sqrt(2)) / 2 for v in x64])
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    return x64 * cdf, cdf + x64 * pdf


def test_float32_gelu_and_gradient_to_float32_accuracy():
    x = _grid32()
    x64 = x.astype(np.float64)
    ref, dref = _exact(x64)
    t = mt.tensor(x, requires_grad=True)
    y = t.gelu()
    y.backward(mt.ones_like(y))
    assert y.dtype == mt.float32 and t.grad.dtype == mt.float32
    got, grad = y.detach().numpy().astype(np.float64), t.grad.numpy().astype(np.float64)
    scale = np.maximum(np.abs(x64), 1)
    assert np.max(np.abs(got - ref) / scale) <= 2e-7          # torch's float32 GELU: 3.5e-7
    assert np.max(np.abs(grad - dref) / scale) <= 2e-7        # torch's: 2.7e-7
    # relative accuracy also in the left tail, where 0.5 (1 + erf(x / sqrt 2)) cancels
    keep = np.abs(ref) > 1e-30
    assert np.max(np.abs(got[keep] / ref[keep] - 1)) <= 1e-5


def test_cdf_is_exact_in_the_tails_and_keeps_nan():
    x = np.array([-100, -15, 15, 100, np.inf, np.nan, 0.0, -0.0], np.float32)
    cdf, x_exp = gelu_parts(x)
    np.testing.assert_array_equal(cdf[:5], [0, 0, 1, 1, 1])
    assert np.isnan(cdf[5]) and cdf[6] == cdf[7] == 0.5
    np.testing.assert_array_equal(x_exp[:5], [0, 0, 0, 0, 0])    # x exp(-x^2/2) -> 0, also at inf
    y = mt.tensor(x).gelu().numpy()
    np.testing.assert_array_equal(y[[0, 1, 2, 3, 4]], [0, 0, 15, 100, np.inf])
    assert np.signbit(y[0]) and np.isnan(y[5]) and y[6] == 0


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
@pytest.mark.parametrize('dtype', [mt.float32, mt.float64])
def test_zero_d_and_shapes(approximate, dtype):
    for shape in [(), (3,), (2, 0, 3), (2, 3)]:
        x = mt.linspace(-2, 2, math.prod(shape)).reshape(shape).to(dtype).requires_grad_()
        y = x.gelu(approximate=approximate)
        y.sum().backward()
        assert y.shape == shape and y.dtype == dtype and x.grad.shape == shape


def test_float32_matches_float64_path_on_non_contiguous_input():
    base = mt.randn(6, 8, dtype=mt.float64)
    x32 = base.float().t().requires_grad_()
    x64 = base.t().requires_grad_()
    for x in (x32, x64):
        x.gelu().pow(2).sum().backward()
    np.testing.assert_allclose(x32.gelu().detach().numpy(), x64.gelu().detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(x32.grad.numpy(), x64.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_tanh_form_float32_against_float64_formula():
    x = _grid32()
    x64 = x.astype(np.float64)
    k = math.sqrt(2 / math.pi)
    inner = k * (x64 + 0.044715 * x64 ** 3)
    ref = 0.5 * x64 * (1 + np.tanh(inner))
    dref = 0.5 * (1 + np.tanh(inner)) + 0.5 * x64 * (1 - np.tanh(inner) ** 2) * k * (1 + 3 * 0.044715 * x64 ** 2)
    t = mt.tensor(x, requires_grad=True)
    y = t.gelu(approximate='tanh')
    y.backward(mt.ones_like(y))
    scale = np.maximum(np.abs(x64), 1)
    assert np.max(np.abs(y.detach().numpy() - ref) / scale) <= 3e-7
    assert np.max(np.abs(t.grad.numpy() - dref) / scale) <= 5e-7


def test_tanh_form_gradcheck():
    x = mt.randn(3, 5, dtype=mt.float64, requires_grad=True)
    assert mt.gradcheck(lambda a: a.gelu(approximate='tanh'), (x,))
