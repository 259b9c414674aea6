"""Fixtures shared by the engine's tests; strategies live in tests/strategies.py."""
import os
import sys

import pytest

import minitensor as mt

sys.path.insert(0, os.path.dirname(__file__))   # `import strategies` from tests/gpu too

from strategies import DEVICES  # noqa: E402

needs_gpu = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")


@pytest.fixture(params=[d if d == 'cpu' else pytest.param(d, marks=needs_gpu) for d in DEVICES])
def device(request):
    """Each test that takes `device` runs on the CPU, and on the GPU where there is one."""
    return request.param


def pytest_addoption(parser):
    parser.addoption('--no-fast-paths', action='store_true',
                     help="run with mt.backends.fast_paths = False, i.e. the portable xp code on the "
                          "GPU too (MINITENSOR_NO_FUSED=1 does the same)")


def fast_paths_default(config):
    """The switch's value for this run: off with --no-fast-paths or MINITENSOR_NO_FUSED=1."""
    return not (config.getoption('--no-fast-paths') or os.environ.get('MINITENSOR_NO_FUSED'))


@pytest.fixture(autouse=True)
def _fast_paths_as_configured(request):
    """Every test starts with the run's fast-path setting, whatever the last one left."""
    on = fast_paths_default(request.config)
    mt.backends.fast_paths = on
    yield
    mt.backends.fast_paths = on


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A failing test inside no_grad must not leave grad mode off for the next one."""
    yield
    mt.set_grad_enabled(True)
