"""CUDA graphs under torch.cuda's names: capture a stretch of GPU work once, replay it for
a few microseconds of host time instead of one Python round trip per kernel.

    g = mt.cuda.CUDAGraph()
    with mt.cuda.graph(g):             # records, runs nothing
        loss = step(static_x, static_y)
    static_x.copy_(next_x); g.replay()  # runs the recorded kernels on the new data

What a replay cannot change is what was baked in at capture: the kernels, their
arguments and the addresses of every array they touch. So a captured step writes
into the same arrays each time (keep the outputs you read), inputs are copied into
the arrays the capture read, and the few per-step host values the engine uses
(dropout seeds, the optimizer's step size and bias corrections) are not kernel
arguments under capture: `step_values` puts each in a slot of one device buffer,
and every replay first recomputes them on the host, in capture order, and uploads
the buffer with one copy. Eager code and replays therefore draw the same seeds.

The capture allocates from a private memory pool kept alive by the graph, so eager
code never reuses memory a replay writes. Capture needs the fast paths on
(mt.backends.fast_paths): the portable paths bake host values into their kernels.
"""
import ctypes
import gc

import numpy as np

from ..backend import backends, cupy_module, is_gpu

_capture = None        # the CUDAGraph being captured on this process, if any

CAPTURE_MODES = {'global': 0, 'thread_local': 1, 'relaxed': 2}   # cudaStreamCaptureMode


def is_capturing():
    """True while a CUDAGraph capture is under way (torch.cuda.is_current_stream_capturing)."""
    return _capture is not None


def why_not_capturable(tensor):
    """None when GPU work on tensors like `tensor` can be captured in a CUDA graph, else the
    reason in a few words (for a log line): the engine's test, so callers need not name
    devices or switches."""
    if not is_gpu(tensor.array):
        return "CUDA graphs need a GPU (--device gpu)"
    if not backends.fast_paths:
        return "fast paths are off (MINITENSOR_NO_FUSED=1): the portable kernels bake host values in"
    return None


def compiles_kernels(tensor):
    """True when ops on tensors like `tensor` run kernels compiled at their first use (CuPy's
    NVRTC, cached on disk): what a warm-up before the first step can get out of the way."""
    return is_gpu(tensor.array)


def step_values(compute, count, dtype):
    """The `count` values compute() returns, as the current step's host scalars.

    Eager: compute() now, a tuple of host numbers for kernel arguments. Under capture: a
    slot of the graph's device buffer (a 1-D CuPy array of `dtype`) that each replay
    fills with a fresh compute(); the kernel reads its values from there.
    """
    if _capture is None:
        return tuple(compute())
    return _capture._slot(compute, count, np.dtype(dtype))


class _PinnedRing:
    """Page-locked host buffers taken in turn for asynchronous host->device copies; a buffer
    is reused only after the GPU has read it (its event), so a host running ahead never
    overwrites bytes a queued copy has yet to read."""

    def __init__(self, nbytes, depth=4):
        cp = cupy_module()
        self.memory = [cp.cuda.alloc_pinned_memory(nbytes) for _ in range(depth)]
        self.buffers = [np.frombuffer(m, dtype=np.uint8, count=nbytes) for m in self.memory]
        self.events = [None] * depth
        self.turn = 0

    def upload(self, host_bytes, device_array):
        cp = cupy_module()
        i = self.turn
        self.turn = (i + 1) % len(self.buffers)
        if self.events[i] is not None:
            self.events[i].synchronize()          # waits only if the GPU is `depth` copies behind
        buf = self.buffers[i]
        buf[:host_bytes.nbytes] = host_bytes
        stream = cp.cuda.get_current_stream()
        device_array.data.copy_from_host_async(ctypes.c_void_p(buf.ctypes.data), host_bytes.nbytes, stream)
        event = cp.cuda.Event(disable_timing=True)
        event.record(stream)
        self.events[i] = event


def to_gpu_async(host_array):
    """A new GPU array holding host_array's values, copied without waiting for the GPU."""
    host_array = np.ascontiguousarray(host_array)
    out = cupy_module().empty(host_array.shape, dtype=host_array.dtype)
    if host_array.size:
        copy_to_device_async(host_array, out)
    return out


_rings = {}            # bytes per copy -> the _PinnedRing that stages copies of that size


def copy_to_device_async(host_array, device_array):
    """device_array[...] = host_array without waiting for the GPU (a pinned staging copy).
    Outside a capture; the copy is ordered on the current stream like a kernel."""
    if _capture is not None:
        raise RuntimeError("a host->device copy cannot be captured in a CUDA graph (the graph would "
                           "replay the same bytes); copy new inputs into the captured input "
                           "tensors before replay()")
    host_array = np.ascontiguousarray(host_array, dtype=device_array.dtype)
    if host_array.nbytes != device_array.nbytes or not device_array.flags.c_contiguous:
        raise ValueError(f"copy_to_device_async: {host_array.nbytes} bytes into a "
                         f"{'non-contiguous ' if not device_array.flags.c_contiguous else ''}device "
                         f"array of {device_array.nbytes} bytes")
    ring = _rings.get(host_array.nbytes)
    if ring is None:
        ring = _rings[host_array.nbytes] = _PinnedRing(host_array.nbytes)
    ring.upload(host_array.view(np.uint8).ravel(), device_array)


class CUDAGraph:
    """A captured stretch of GPU work, replayed with replay() (torch.cuda.CUDAGraph)."""

    def __init__(self, keep_graph=False):
        self._graph = None
        self._pool = None
        self._stream = None
        self._sites = []               # (compute, dtype, byte offset, count) per step_values slot
        self._slab = None              # the device buffer the slots view
        self._slab_bytes = 0
        self._host = None              # the slab's bytes as the host fills them before a replay
        self._allocator = None
        self._ring = None

    # -------------------------------------------------------------- capture

    def capture_begin(self, pool=None, capture_error_mode='global'):
        global _capture
        cp = cupy_module()
        if _capture is not None:
            raise RuntimeError("CUDAGraph.capture_begin: another capture is under way; graphs "
                               "do not nest")
        if self._graph is not None:
            raise RuntimeError("CUDAGraph.capture_begin: this graph was already captured; call "
                               "reset() first or make a new CUDAGraph")
        if capture_error_mode not in CAPTURE_MODES:
            raise ValueError(f"CUDAGraph.capture_begin: capture_error_mode must be one of "
                             f"{', '.join(CAPTURE_MODES)}, got {capture_error_mode!r}")
        if not backends.fast_paths:
            raise RuntimeError("CUDAGraph: capture needs mt.backends.fast_paths on (the portable "
                               "paths bake host values such as dropout seeds into their kernels); "
                               "unset MINITENSOR_NO_FUSED or run eagerly")
        stream = cp.cuda.get_current_stream()
        if stream.ptr == 0:
            raise RuntimeError("CUDAGraph.capture_begin: the current stream is the default stream, "
                               "which cannot be captured; use `with mt.cuda.graph(g):` (it captures "
                               "on a side stream)")
        from . import cublas_calls
        cublas_calls.prepare()                         # CuPy's handle must be fetched outside capture
        self._pool = pool if pool is not None else cp.cuda.MemoryPool()
        self._allocator = cp.cuda.using_allocator(self._pool.malloc)
        self._allocator.__enter__()
        self._stream = stream
        self._sites = []
        # slots are views into one buffer, sized generously now (its address is baked in)
        self._slab = cp.zeros(1 << 16, dtype=np.uint8)
        self._slab_bytes = 0
        _capture = self
        try:
            # always relaxed: the private pool calls cudaMalloc as the capture first needs
            # memory, which the stricter modes refuse ('global' and 'thread_local' are
            # accepted names, torch's default is 'global'; no other thread captures here)
            stream.begin_capture(mode=CAPTURE_MODES['relaxed'])
        except Exception:
            self._release()
            raise

    def capture_end(self):
        try:
            self._graph = self._stream.end_capture()
        finally:
            self._release()
        self._host = np.zeros(self._slab_bytes, dtype=np.uint8)
        self._ring = _PinnedRing(max(self._slab_bytes, 8))

    def _abort(self):
        """End a failed capture and drop what it recorded."""
        try:
            self._stream.end_capture()
        except Exception:
            pass
        self._release()
        self._graph = None

    def _release(self):
        """No capture under way any more: step_values and allocations go back to eager."""
        global _capture
        _capture = None
        self._allocator.__exit__(None, None, None)

    def _slot(self, compute, count, dtype):
        start = -(-self._slab_bytes // 8) * 8          # 8-byte aligned
        stop = start + count * dtype.itemsize
        if stop > self._slab.nbytes:
            raise RuntimeError(f"CUDAGraph: more than {self._slab.nbytes} bytes of per-step values "
                               f"in one capture")
        self._slab_bytes = stop
        self._sites.append((compute, dtype, start, count))
        return self._slab[start:stop].view(dtype)

    # -------------------------------------------------------------- replay

    def replay(self):
        """Run the captured work again on the current stream, with fresh per-step values."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay: nothing captured yet (use `with mt.cuda.graph(g):`)")
        if self._sites:
            host = self._host
            for compute, dtype, start, size in self._sites:
                values = np.asarray(tuple(compute()), dtype=dtype)
                if values.size != size:
                    raise RuntimeError(f"CUDAGraph.replay: a per-step value site returned {values.size} "
                                       f"values, {size} at capture")
                host[start:start + values.nbytes] = values.view(np.uint8)
            self._ring.upload(host, self._slab[:self._slab_bytes])
        self._graph.launch(cupy_module().cuda.get_current_stream())

    def reset(self):
        self._graph = None
        self._sites = []
        self._slab = self._host = None

    def pool(self):
        """The private memory pool (pass it to another capture to share memory)."""
        return self._pool

    @property
    def per_step_values(self):
        """How many step_values slots the capture recorded."""
        return len(self._sites)


class graph:
    """`with mt.cuda.graph(g):` captures the block into g on a side stream (torch.cuda.graph).

    Warm up first: run the block a few times eagerly (torch's docs say on a side stream)
    so every kernel is compiled and every lazily built buffer exists before capture.
    """

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode='global'):
        self.cuda_graph, self.pool, self.mode = cuda_graph, pool, capture_error_mode
        self.stream = stream

    def __enter__(self):
        cp = cupy_module()
        cp.cuda.get_current_stream().synchronize()
        gc.collect()                                   # free what eager code dropped before capture
        cp.get_default_memory_pool().free_all_blocks()  # the capture allocates from its own pool
        raw = getattr(self.stream, 'cupy_stream', self.stream)
        self._stream = raw if raw is not None else cp.cuda.Stream(non_blocking=True)
        self._stream.__enter__()
        try:
            self.cuda_graph.capture_begin(pool=self.pool, capture_error_mode=self.mode)
        except Exception:
            self._stream.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.cuda_graph.capture_end()
            else:
                self.cuda_graph._abort()
        finally:
            self._stream.__exit__(None, None, None)
        return False
