"""The 'mpi' backend: collectives through mpi4py, for CPU training started by mpiexec.

`pip install -e ".[mpi]"` brings mpi4py and the MPICH wheel (with its `mpiexec`).
all_reduce with async_op=True is MPI_Iallreduce, so DistributedDataParallel overlaps a
bucket's reduction with the rest of backward. GPU arrays go through host memory (the
MPICH wheel is not CUDA-aware); on GPUs use backend 'nccl'.
"""
import atexit
import sys
import time
import traceback

import numpy as np

from ..backend import device_of, to_device
from .common import ReduceOp, Work, check_op, divide_in_place

MPI_HINT = "install the MPI extra: pip install -e \".[mpi]\" (mpi4py and the MPICH wheel with mpiexec)"


def load_mpi():
    """The mpi4py.MPI module (initializes MPI), or a clear error saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"distributed: the MPI backend needs mpi4py ({e}); {MPI_HINT}") from None
    return MPI


def abort_on_uncaught_exception(comm):
    """A rank that raises would leave the others blocked in a collective forever (MPI has no
    timeouts): print the traceback, then MPI_Abort, which ends every rank of the job."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            return previous(kind, value, tb)
        traceback.print_exception(kind, value, tb)
        sys.stderr.write(f"distributed: rank {comm.Get_rank()} failed with {kind.__name__}; "
                         f"aborting the MPI job so the other ranks do not wait forever\n")
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = hook


def end_the_job_if_left_alone_at_exit(comm, timeout_s):
    """At interpreter exit, wait (at most timeout_s) for every rank to get there too.

    Under MPICH a rank that exits early (sys.exit(1) after an error) blocks in MPI_Finalize
    while the others block in their next collective: the job would hang forever. All ranks
    meet in a non-blocking barrier instead; if the others do not arrive in time, this
    rank aborts the job with a message. Call abort() to end the job at once.
    """
    def wait_for_the_others():
        request = comm.Ibarrier()
        deadline = time.monotonic() + timeout_s
        while not request.Test():
            if time.monotonic() > deadline:
                sys.stderr.write(f"distributed: rank {comm.Get_rank()} is exiting but the other ranks have "
                                 f"not reached their exit within {timeout_s:.0f} s (they are probably waiting "
                                 f"for this rank in a collective); aborting the MPI job\n")
                sys.stderr.flush()
                comm.Abort(1)
            time.sleep(0.01)

    atexit.register(wait_for_the_others)


class MPIBackend:
    """Collectives over a private duplicate of MPI_COMM_WORLD."""
    name = 'mpi'

    def __init__(self, timeout_s=600.0):
        MPI = self.MPI = load_mpi()
        self.comm = MPI.COMM_WORLD.Dup()        # our messages never meet the user's
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()
        self.ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                    ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
        abort_on_uncaught_exception(MPI.COMM_WORLD)
        end_the_job_if_left_alone_at_exit(MPI.COMM_WORLD, timeout_s)

    def abort(self, exit_code):
        self.MPI.COMM_WORLD.Abort(exit_code)

    def all_gather_bytes(self, payload):
        return self.comm.allgather(bytes(payload))

    def barrier(self):
        self.comm.Barrier()

    # ------------------------------------------------------------ array collectives

    def all_reduce(self, array, op, async_op=False):
        check_op(op)
        buf = _mpi_buffer(array)
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.ops[op])

        def finish():
            request.Wait()
            if op == ReduceOp.AVG:
                divide_in_place(buf, self.world_size)
            _copy_back(array, buf)

        work = Work(finish)
        if not async_op:
            work.wait()
        return work

    def broadcast(self, array, src):
        buf = _mpi_buffer(array)
        self.comm.Bcast(buf, root=src)
        _copy_back(array, buf)
        return Work()

    def all_gather(self, outputs, array):
        buf = _mpi_buffer(array)
        gathered = np.empty((self.world_size,) + buf.shape, dtype=buf.dtype)
        self.comm.Allgather(buf, gathered)
        for out, part in zip(outputs, gathered):
            _copy_back(out, part)
        return Work()

    def close(self):
        self.comm.Free()


_MPI_DTYPES = frozenset(['float32', 'float64', 'int32', 'int64', 'uint8'])


def _mpi_buffer(array):
    """A C-contiguous NumPy array of a dtype MPI knows: the array itself when it can be;
    float16 and bfloat16 reduce in float32."""
    if device_of(array) == 'cpu' and array.flags.c_contiguous and array.dtype.name in _MPI_DTYPES:
        return array
    host = np.ascontiguousarray(to_device(array, 'cpu'))
    if host.dtype.name not in _MPI_DTYPES:
        host = host.astype(np.float32)
    return host


def _copy_back(array, buf):
    if buf is not array:
        array[...] = buf.astype(array.dtype) if device_of(array) == 'cpu' else to_device(buf.astype(array.dtype), 'gpu')
