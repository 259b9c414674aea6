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


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A failing test inside no_grad must not leave grad mode off for the next one."""
    yield
    mt.set_grad_enabled(True)
