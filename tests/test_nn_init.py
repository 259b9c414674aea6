"""nn.init fills in place, without recording a graph."""
import numpy as np

import minitensor as mt
import minitensor.nn as nn


def test_normal_uniform_zeros_ones():
    mt.manual_seed(0)
    p = nn.Parameter(mt.empty(200, 300))
    nn.init.normal_(p, mean=1.0, std=0.02)
    a = p.detach().numpy()
    assert abs(a.mean() - 1.0) < 1e-3 and abs(a.std() - 0.02) < 1e-3
    assert p.is_leaf and p.grad_fn is None
    nn.init.uniform_(p, -2, 3)
    a = p.detach().numpy()
    assert a.min() >= -2 and a.max() < 3 and abs(a.mean() - 0.5) < 0.05
    nn.init.zeros_(p)
    assert not p.detach().numpy().any()
    nn.init.ones_(p)
    assert (p.detach().numpy() == 1).all()


def test_init_is_reproducible_with_manual_seed():
    mt.manual_seed(7)
    a = nn.Linear(4, 4).weight.detach().numpy()
    mt.manual_seed(7)
    b = nn.Linear(4, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
