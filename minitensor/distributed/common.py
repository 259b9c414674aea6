"""What every backend shares: ReduceOp, Work (a pending collective), CPU reductions."""
import enum

import numpy as np


class ReduceOp(enum.Enum):
    """How all_reduce combines the ranks' values, as torch.distributed.ReduceOp."""
    SUM = 'sum'
    AVG = 'avg'
    PRODUCT = 'product'
    MIN = 'min'
    MAX = 'max'


class Work:
    """A collective that may still be running: wait() returns once its result is in place
    (on the GPU: once the current stream is ordered after it), as torch's Work."""

    def __init__(self, wait=None):
        self._wait = wait
        self._done = wait is None

    def wait(self, timeout=None):
        if not self._done:
            self._done = True
            self._wait()
        return True

    def is_completed(self):
        return self._done


def check_op(op):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a ReduceOp (ReduceOp.SUM, AVG, PRODUCT, MIN, MAX), "
                        f"got {op!r}")
    return op


def reduce_in_rank_order(arrays, op, world_size):
    """Combine one array per rank, always in rank order, so every rank gets the same bits."""
    acc = np.array(arrays[0], copy=True)
    for a in arrays[1:]:
        if op in (ReduceOp.SUM, ReduceOp.AVG):
            acc += a
        elif op == ReduceOp.PRODUCT:
            acc *= a
        elif op == ReduceOp.MAX:
            np.maximum(acc, a, out=acc)
        else:
            np.minimum(acc, a, out=acc)
    if op == ReduceOp.AVG:
        divide_in_place(acc, world_size)
    return acc


def divide_in_place(array, n):
    """array /= n for the AVG of a sum; integer tensors take the floor, as torch's SUM // n."""
    if array.dtype.kind in 'iub':
        array //= n
    else:
        array /= n
