"""nn.init beyond the layers' defaults: the bounds and spreads torch's formulas give,
calculate_gain's table, and the errors, compared with torch where importable."""
import math

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn


def test_calculate_gain_equals_torch():
    torch = pytest.importorskip('torch')
    for name, param in [('linear', None), ('conv2d', None), ('sigmoid', None), ('tanh', None), ('relu', None),
                        ('leaky_relu', None), ('leaky_relu', 0.2), ('selu', None)]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError):
        nn.init.calculate_gain('softmax')


@pytest.mark.parametrize('shape', [(300, 200), (64, 16, 3, 3)])
def test_fans_equal_torch(shape):
    torch = pytest.importorskip('torch')
    ours = nn.init._calculate_fan_in_and_fan_out(mt.empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


@pytest.mark.parametrize('fill, expected_std', [
    (lambda t: nn.init.xavier_uniform_(t), math.sqrt(2 / (400 + 300))),
    (lambda t: nn.init.xavier_normal_(t, gain=2.0), 2 * math.sqrt(2 / (400 + 300))),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity='relu'), math.sqrt(2 / 400)),
    (lambda t: nn.init.kaiming_normal_(t, mode='fan_out', nonlinearity='relu'), math.sqrt(2 / 300)),
    (lambda t: nn.init.trunc_normal_(t, std=0.02), 0.02),                    # a, b are absolute: no cut
    (lambda t: nn.init.trunc_normal_(t), 0.8796),                            # N(0, 1) cut at -2, 2
])
def test_spreads_follow_the_formulas(fill, expected_std):
    mt.manual_seed(0)
    t = fill(mt.empty(300, 400))
    assert abs(t.numpy().mean()) < 0.05 * expected_std * 10
    assert t.numpy().std() == pytest.approx(expected_std, rel=0.03)


def test_uniform_bounds_and_truncation():
    mt.manual_seed(1)
    t = nn.init.xavier_uniform_(mt.empty(50, 70))
    bound = math.sqrt(6 / 120)
    assert t.numpy().max() <= bound and t.numpy().min() >= -bound and t.numpy().max() > 0.9 * bound
    t = nn.init.trunc_normal_(mt.empty(1000), mean=1.0, std=1.0, a=0.5, b=1.5)
    assert t.numpy().min() >= 0.5 and t.numpy().max() <= 1.5


def test_orthogonal_and_eye():
    mt.manual_seed(2)
    for shape in [(6, 4), (4, 6), (5, 5)]:
        w = nn.init.orthogonal_(mt.empty(*shape)).numpy().astype(np.float64)
        small = min(shape)
        gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    np.testing.assert_array_equal(nn.init.eye_(mt.empty(2, 3)).numpy(), np.eye(2, 3))


def test_errors_as_torch():
    with pytest.raises(ValueError, match='fewer than 2 dimensions'):
        nn.init.xavier_uniform_(mt.empty(5))
    with pytest.raises(ValueError, match='mode'):
        nn.init.kaiming_normal_(mt.empty(2, 2), mode='fan_avg')
    with pytest.raises(ValueError):
        nn.init.eye_(mt.empty(2, 2, 2))


def test_the_layers_keep_their_torch_default_init():
    mt.manual_seed(0)
    w = nn.Linear(400, 300).weight.detach().numpy()
    assert w.max() <= 1 / math.sqrt(400) and w.max() > 0.95 / math.sqrt(400)
