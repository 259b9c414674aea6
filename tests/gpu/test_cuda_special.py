"""CUDA's erf/erfc/erfinv kernels (minitensor/cuda/special.py) against the portable
polynomials of ops/special.py run on the same GPU arrays; GELU fused vs portable."""
import numpy as np
import pytest

import minitensor as mt
from minitensor.ops import special

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")


@pytest.fixture(autouse=True)
def _fused_on_after():
    yield
    mt.cuda.enabled = True


@pytest.mark.parametrize('name, lo, hi', [('erf', -7, 7), ('erfc', -5, 12), ('erfinv', -1, 1)])
def test_kernel_matches_portable(name, lo, hi):
    cp = mt.backend.cupy_module()
    x = cp.asarray(np.concatenate([np.linspace(lo, hi, 100001), [np.nan, np.inf, -np.inf, 0.0]]),
                   dtype=cp.float32)
    fn = getattr(special, name)
    mt.cuda.enabled = True
    fused = cp.asnumpy(fn(x))
    mt.cuda.enabled = False
    portable = cp.asnumpy(fn(x))
    assert fused.dtype == portable.dtype == np.float32
    np.testing.assert_allclose(fused, portable, rtol=4e-7, atol=1e-7 if name != 'erfc' else 0,
                               equal_nan=True)


def test_gelu_fused_and_portable_agree():
    x = np.random.default_rng(0).standard_normal((64, 257)).astype(np.float32) * 3
    results = []
    for fused in (True, False):
        mt.cuda.enabled = fused
        t = mt.tensor(x, device='gpu', requires_grad=True)
        t.gelu().sum().backward()
        results.append((t.gelu().detach().cpu().numpy(), t.grad.cpu().numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-7)
