"""Streams under torch.cuda's names: enough for the warm-up idiom of CUDA graphs.

    s = mt.cuda.Stream()
    s.wait_stream(mt.cuda.current_stream())
    with mt.cuda.stream(s):
        for _ in range(3):
            step()                      # warm-up on a side stream
    mt.cuda.current_stream().wait_stream(s)
"""
from ..backend import cupy_module


class Stream:
    """A CUDA stream (torch.cuda.Stream): kernels queued on it run in order."""

    def __init__(self, device=None, priority=0, *, cupy_stream=None):
        cp = cupy_module()
        self.cupy_stream = cupy_stream if cupy_stream is not None else cp.cuda.Stream(non_blocking=True)

    def wait_stream(self, other):
        """Work queued on self after this waits for the work queued on `other` so far."""
        event = other.cupy_stream.record()
        self.cupy_stream.wait_event(event)

    def record_event(self, event=None):
        return self.cupy_stream.record(event)

    def synchronize(self):
        self.cupy_stream.synchronize()

    def query(self):
        return self.cupy_stream.done

    def __eq__(self, other):
        return isinstance(other, Stream) and self.cupy_stream.ptr == other.cupy_stream.ptr

    def __hash__(self):
        return hash(self.cupy_stream.ptr)

    def __repr__(self):
        return f"<mt.cuda.Stream ptr={self.cupy_stream.ptr:#x}>"


def current_stream(device=None):
    """The stream kernels are queued on now."""
    return Stream(cupy_stream=cupy_module().cuda.get_current_stream())


def default_stream(device=None):
    return Stream(cupy_stream=cupy_module().cuda.Stream.null)


class stream:
    """`with mt.cuda.stream(s):` queues the block's kernels on s (torch.cuda.stream)."""

    def __init__(self, s):
        self.s = s

    def __enter__(self):
        if self.s is not None:
            self.s.cupy_stream.__enter__()
        return self.s

    def __exit__(self, *exc):
        if self.s is not None:
            self.s.cupy_stream.__exit__(*exc)
        return False
