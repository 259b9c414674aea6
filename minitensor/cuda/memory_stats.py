"""torch.cuda's peak-memory counters over CuPy's memory pool.

CuPy's pool reports the bytes in use now, not the most ever in use, so the peak is
tracked by an allocator that wraps the pool's malloc (cupy.cuda.set_allocator). It is
installed on the first call to max_memory_allocated or reset_peak_memory_stats (the
pattern of programs that measure: reset, run, read), so programs that never ask pay
nothing; each allocation then costs one used_bytes() read more. Without a GPU the
counters are 0 and reset is a no-op.
"""
from .. import backend

_tracker = None


class _PeakTracker:
    """Wraps the default pool's malloc and remembers the largest used_bytes() seen."""

    def __init__(self, cp):
        self.pool = cp.get_default_memory_pool()
        self.peak = self.pool.used_bytes()
        cp.cuda.set_allocator(self.malloc)

    def malloc(self, size):
        mem = self.pool.malloc(size)
        used = self.pool.used_bytes()
        if used > self.peak:
            self.peak = used
        return mem


def _get_tracker(available):
    global _tracker
    if _tracker is None and available:
        _tracker = _PeakTracker(backend.cupy_module())
    return _tracker


def max_memory_allocated(available, device=None):
    tracker = _get_tracker(available)
    if tracker is None:
        return 0
    return max(tracker.peak, tracker.pool.used_bytes())


def reset_peak_memory_stats(available, device=None):
    tracker = _get_tracker(available)
    if tracker is not None:
        tracker.peak = tracker.pool.used_bytes()


def max_memory_reserved(available, device=None):
    """CuPy's pool only grows until empty_cache(), so what it holds now is its peak since then."""
    return backend.cupy_module().get_default_memory_pool().total_bytes() if available else 0
