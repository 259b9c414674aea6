"""mt.cuda.max_memory_allocated / reset_peak_memory_stats on a GPU: the peak sees a
temporary that is gone by the time it is read, and reset starts it from the bytes in use."""
import pytest

import minitensor as mt

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")


def test_peak_sees_freed_temporaries_and_reset_restarts_it():
    mt.cuda.reset_peak_memory_stats()
    base = mt.cuda.memory_allocated()
    x = mt.zeros(1 << 20, device='gpu')          # 4 MiB
    del x
    mt.cuda.synchronize()
    peak = mt.cuda.max_memory_allocated()
    assert peak >= base + (4 << 20)
    assert mt.cuda.memory_allocated() < peak
    mt.cuda.reset_peak_memory_stats()
    assert mt.cuda.max_memory_allocated() == mt.cuda.memory_allocated()
    assert mt.cuda.max_memory_reserved() >= mt.cuda.memory_allocated()
