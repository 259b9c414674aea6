"""The 'gloo' backend: CPU collectives through the TCPStore, so data-parallel training
runs on any machine with nothing but Python (no MPI, no GPU).

It is NOT Facebook's gloo library, only torch's name for "the CPU backend", so that
`init_process_group('gloo')` works unchanged. Every rank uploads its array to the store
and downloads the others', then all ranks combine them in rank order (bit-identical
results everywhere). Traffic grows with the number of ranks: fine for a few processes on
one host; for real CPU clusters use backend 'mpi'.
"""
import numpy as np

from ..backend import device_of, to_device
from .common import Work, check_op, reduce_in_rank_order


class StoreBackend:
    """Collectives of world_size ranks over one TCPStore; also the 'control' channel
    (barrier, small byte messages) of the NCCL backend started through a store."""
    name = 'gloo'

    def __init__(self, store, rank, world_size):
        self.store, self.rank, self.world_size = store, rank, world_size
        self.seq = 0           # every rank makes the same calls in the same order: same tags

    def _tag(self, what):
        self.seq += 1
        return f"{what}/{self.seq}"

    def _finish(self, tag, keys):
        """The last rank to get here deletes the keys: all others have read them by then."""
        if self.store.add(f"{tag}/done", 1) == self.world_size:
            for key in keys + [f"{tag}/done"]:
                self.store.delete_key(key)

    def all_gather_bytes(self, payload):
        """Every rank's bytes, in rank order."""
        tag = self._tag('gather')
        keys = [f"{tag}/{r}" for r in range(self.world_size)]
        self.store.set(keys[self.rank], payload)
        out = [bytes(payload) if r == self.rank else self.store.get(keys[r]) for r in range(self.world_size)]
        self._finish(tag, keys)
        return out

    def barrier(self):
        self.all_gather_bytes(b'')

    # ------------------------------------------------------------ array collectives

    def all_reduce(self, array, op, async_op=False):
        """Synchronous even with async_op=True (the Work it returns is complete)."""
        check_op(op)
        host = np.ascontiguousarray(to_device(array, 'cpu'))
        parts = self.all_gather_bytes(host)
        arrays = [np.frombuffer(p, dtype=host.dtype).reshape(host.shape) for p in parts]
        _write_back(array, reduce_in_rank_order(arrays, op, self.world_size))
        return Work()

    def broadcast(self, array, src):
        tag = self._tag('bcast')
        if self.rank == src:
            self.store.set(tag, np.ascontiguousarray(to_device(array, 'cpu')))
        else:
            value = np.frombuffer(self.store.get(tag), dtype=array.dtype).reshape(array.shape)
            _write_back(array, value)
        self._finish(tag, [tag])
        return Work()

    def all_gather(self, outputs, array):
        host = np.ascontiguousarray(to_device(array, 'cpu'))
        for out, p in zip(outputs, self.all_gather_bytes(host)):
            _write_back(out, np.frombuffer(p, dtype=host.dtype).reshape(host.shape))
        return Work()

    def close(self):
        self.store.close()


def _write_back(array, value):
    """array[...] = value across devices (value is a NumPy array)."""
    array[...] = value if device_of(array) == 'cpu' else to_device(value, 'gpu')
