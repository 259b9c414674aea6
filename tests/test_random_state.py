"""Generator state round trips: the streams continue exactly after set_state, on every device."""
import numpy as np
import pytest

import minitensor as mt

DEVICES = ['cpu'] + (['gpu'] if mt.gpu_available() else [])


def draws(gen, device):
    return np.concatenate([
        mt.randn(5, generator=gen, device=device).numpy(),
        mt.rand(3, generator=gen, device=device).numpy(),
        mt.randint(0, 100, (4,), generator=gen, device=device).numpy().astype(np.float64),
    ])


@pytest.mark.parametrize('device', DEVICES)
def test_saved_state_continues_identically(device):
    gen = mt.Generator().manual_seed(123)
    draws(gen, device)                      # move the streams on
    state = gen.get_state()
    expected = draws(gen, device)           # what the saving run draws next
    resumed = mt.Generator().manual_seed(999).set_state(state)
    np.testing.assert_array_equal(draws(resumed, device), expected)


@pytest.mark.parametrize('device', DEVICES)
def test_manual_seed_reproduces(device):
    a = draws(mt.Generator().manual_seed(5), device)
    b = draws(mt.Generator().manual_seed(5), device)
    c = draws(mt.Generator().manual_seed(6), device)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_cpu_only_state_has_no_gpu_epoch_side_effects():
    gen = mt.Generator().manual_seed(1)
    draws(gen, 'cpu')
    assert gen.get_state()['gpu_epoch'] == 0
