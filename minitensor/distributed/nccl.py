"""The 'nccl' backend: GPU collectives through CuPy's NCCL binding (cupy.cuda.nccl).

Rank 0 makes the NCCL unique id and every rank learns it through the control channel
(the TCP store, or MPI when started with init_method='mpi://'); then each rank builds
one NcclCommunicator on its GPU (LOCAL_RANK modulo the visible devices). Collectives are
enqueued on a CUDA stream (the current one unless a stream is given) and never block the
host; Work.wait() orders the current stream after them. float32/float64/float16/bfloat16
and integer arrays reduce in their own dtype; AVG is NCCL's ncclAvg (NCCL >= 2.10).
"""
from ..backend import cupy_module, device_of, nccl_module
from .common import ReduceOp, Work, check_op, divide_in_place

# ncclDataType_t and ncclRedOp_t from nccl.h (CuPy exports most, not all, of them)
_NCCL_DTYPES = {'int8': 0, 'uint8': 1, 'int32': 2, 'uint32': 3, 'int64': 4, 'uint64': 5,
                'float16': 6, 'float32': 7, 'float64': 8, 'bfloat16': 9}
_NCCL_OPS = {ReduceOp.SUM: 0, ReduceOp.PRODUCT: 1, ReduceOp.MAX: 2, ReduceOp.MIN: 3, ReduceOp.AVG: 4}


def encode_unique_id(uid):
    """ncclUniqueId as CuPy hands it out -> bytes for the other ranks: a kind byte, then the
    128 id bytes. CuPy 14 gives (and takes back) bytes; older CuPy gave a tuple of C chars
    as ints, in -128..127 or 0..255 by platform and build."""
    if isinstance(uid, (bytes, bytearray)):
        return b'\x02' + bytes(uid)
    unsigned = any(v > 127 for v in uid)
    return bytes([unsigned]) + bytes(v & 0xFF for v in uid)


def decode_unique_id(data):
    """The id in the form CuPy handed it out (bytes, or ints in the same range)."""
    kind, raw = data[0], bytes(data[1:])
    if kind == 2:
        return raw
    return tuple(raw) if kind else tuple(b - 256 if b > 127 else b for b in raw)


class NCCLBackend:
    """Collectives of world_size GPUs, one per process; `control` carries the unique id
    and the barriers (a StoreBackend or MPIBackend)."""
    name = 'nccl'

    def __init__(self, control, rank, world_size, local_rank):
        cp, nccl = self.cp, self.nccl = cupy_module(), nccl_module()
        self.control, self.rank, self.world_size = control, rank, world_size
        n_devices = cp.cuda.runtime.getDeviceCount()
        self.device = local_rank % n_devices
        cp.cuda.Device(self.device).use()      # 'cuda' tensors of this process live here
        uid = encode_unique_id(nccl.get_unique_id()) if rank == 0 else bytes(129)
        uid = decode_unique_id(control.all_gather_bytes(uid)[0])
        self.comm = nccl.NcclCommunicator(world_size, uid, rank)
        self.native_avg = nccl.get_version() >= 21000

    def _check(self, op_name, array):
        if device_of(array) != 'gpu':
            raise RuntimeError(f"{op_name}: backend 'nccl' works on GPU tensors, got a CPU tensor of "
                               f"shape {tuple(array.shape)}; move it with .to('gpu') or use backend "
                               f"'gloo' or 'mpi' for CPU tensors")
        dtype = _NCCL_DTYPES.get(array.dtype.name)
        if dtype is None:
            raise TypeError(f"{op_name}: NCCL cannot reduce {array.dtype} tensors (valid: "
                            f"{', '.join(_NCCL_DTYPES)})")
        return dtype

    def _stream(self, stream):
        return stream if stream is not None else self.cp.cuda.get_current_stream()

    def _work(self, stream, after=None):
        """A Work whose wait() makes the current stream wait for `stream`'s work so far."""
        event = stream.record()

        def wait():
            if after is not None:
                after()
            self.cp.cuda.get_current_stream().wait_event(event)

        return Work(wait)

    def new_side_stream(self):
        """A stream for DDP's bucket reductions, so they overlap the rest of backward."""
        return self.cp.cuda.Stream(non_blocking=True)

    def follow_current_stream(self, stream):
        """Make `stream` wait for the work queued so far on the current stream."""
        stream.wait_event(self.cp.cuda.get_current_stream().record())

    # ------------------------------------------------------------ array collectives

    def all_reduce(self, array, op, async_op=False, stream=None):
        check_op(op)
        dtype = self._check('all_reduce', array)
        stream = self._stream(stream)
        buf = array if array.flags.c_contiguous else self.cp.ascontiguousarray(array)
        nccl_op = _NCCL_OPS[ReduceOp.SUM if op == ReduceOp.AVG and not self.native_avg else op]
        with stream:
            self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, dtype, nccl_op, stream.ptr)
            if op == ReduceOp.AVG and not self.native_avg:
                divide_in_place(buf, self.world_size)
            if buf is not array:
                array[...] = buf
        work = self._work(stream)
        if not async_op:
            work.wait()
        return work

    def broadcast(self, array, src, stream=None):
        dtype = self._check('broadcast', array)
        stream = self._stream(stream)
        buf = array if array.flags.c_contiguous else self.cp.ascontiguousarray(array)
        with stream:
            self.comm.bcast(buf.data.ptr, buf.size, dtype, src, stream.ptr)
            if buf is not array:
                array[...] = buf
        work = self._work(stream)
        work.wait()
        return work

    def all_gather(self, outputs, array, stream=None):
        dtype = self._check('all_gather', array)
        stream = self._stream(stream)
        with stream:
            src = self.cp.ascontiguousarray(array)
            gathered = self.cp.empty((self.world_size,) + array.shape, dtype=array.dtype)
            self.comm.allGather(src.data.ptr, gathered.data.ptr, src.size, dtype, stream.ptr)
            for out, part in zip(outputs, gathered):
                out[...] = part
        work = self._work(stream)
        work.wait()
        return work

    def all_gather_bytes(self, payload):
        return self.control.all_gather_bytes(payload)

    def barrier(self):
        self.cp.cuda.Device(self.device).synchronize()
        self.control.barrier()

    def close(self):
        self.cp.cuda.Device(self.device).synchronize()
        self.comm.destroy()
        self.control.close()
