"""The default process group: init_process_group, rank and world size, and the
collectives on Tensors, under torch.distributed's names.

Where a process learns its place:
- started by `python -m minitensor.distributed.run` (or torchrun): RANK, WORLD_SIZE,
  LOCAL_RANK, MASTER_ADDR, MASTER_PORT;
- started by `mpiexec -n N`: MPI's own rank and size (PMI_RANK/PMI_SIZE for MPICH,
  OMPI_COMM_WORLD_* for Open MPI).
How ranks meet (init_method): 'env://' or 'tcp://host:port' is a TCPStore hosted by
rank 0; 'mpi://' is MPI itself (needs mpi4py). By default env:// where MASTER_PORT is set,
else mpi:// under mpiexec.
"""
import os
import sys
from datetime import timedelta

from .. import backend as _backend
from ..tensor import Tensor
from .common import ReduceOp
from .store import TCPStore

_group = None       # the initialized default group (one per process)

_MPI_RANK_VARS = ('PMI_RANK', 'OMPI_COMM_WORLD_RANK', 'PMIX_RANK')
_MPI_SIZE_VARS = ('PMI_SIZE', 'OMPI_COMM_WORLD_SIZE')
_MPI_LOCAL_VARS = ('MPI_LOCALRANKID', 'OMPI_COMM_WORLD_LOCAL_RANK', 'PMI_LOCAL_RANK')
DEFAULT_TIMEOUT = timedelta(minutes=10)


class _Group:
    """What init_process_group set up: the backend and this process's place."""

    def __init__(self, backend, rank, world_size, local_rank):
        self.backend, self.rank, self.world_size, self.local_rank = backend, rank, world_size, local_rank


# ------------------------------------------------------------ where this process is

def _first_env(names):
    for name in names:
        if os.environ.get(name, '') != '':
            return int(os.environ[name])
    return None


def started_by_mpiexec():
    """True when mpiexec/mpirun started this process (it sets PMI_RANK or OMPI_COMM_WORLD_RANK)."""
    return _first_env(_MPI_RANK_VARS) is not None


def env_world_size():
    """The number of processes the launcher (WORLD_SIZE) or mpiexec started; 1 otherwise."""
    size = _first_env(('WORLD_SIZE',) + _MPI_SIZE_VARS)
    return 1 if size is None else size


def env_rank():
    rank = _first_env(('RANK',) + _MPI_RANK_VARS)
    return 0 if rank is None else rank


def env_local_rank():
    """This process's index among those on its host (LOCAL_RANK, or MPI's local rank)."""
    local = _first_env(('LOCAL_RANK',) + _MPI_LOCAL_VARS)
    return env_rank() if local is None else local


# ------------------------------------------------------------ set up and tear down

def is_available():
    return True


def is_initialized():
    return _group is not None


def is_mpi_available():
    try:
        import mpi4py  # noqa: F401  (only asks whether it is installed)
    except ImportError:
        return False
    return True


def is_nccl_available():
    try:
        _backend.nccl_module()
    except RuntimeError:
        return False
    return True


def is_gloo_available():
    return True


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name='', pg_options=None, device_id=None):
    """Join the default process group (as torch.distributed.init_process_group).

    backend: 'nccl' (GPU tensors), 'mpi' (CPU, via mpi4py under mpiexec) or 'gloo'
    (CPU, our small all-reduce through the TCP store: no extra install). None picks
    'nccl' where a GPU is available, else 'mpi' under mpiexec, else 'gloo'.
    """
    global _group
    if _group is not None:
        raise RuntimeError("init_process_group: the default process group is already initialized; "
                           "call destroy_process_group() first")
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if backend is None:
        backend = ('nccl' if _backend.gpu_available() else
                   'mpi' if started_by_mpiexec() and is_mpi_available() else 'gloo')
    backend = str(backend).lower()
    if backend not in ('nccl', 'mpi', 'gloo'):
        raise ValueError(f"init_process_group: unknown backend {backend!r}; valid: 'nccl' (GPU), "
                         f"'mpi' (CPU, under mpiexec), 'gloo' (CPU, over the TCP store)")

    if backend == 'mpi' or (store is None and _method(init_method) == 'mpi://'):
        from .mpi import MPIBackend
        control = MPIBackend(timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout))
        if (rank >= 0 and rank != control.rank) or (world_size > 0 and world_size != control.world_size):
            raise ValueError(f"init_process_group: rank={rank}, world_size={world_size} disagree with "
                             f"MPI's rank {control.rank} of {control.world_size}")
        rank, world_size = control.rank, control.world_size
        if backend == 'gloo':
            control = _store_backend(_store_via_mpi(control, timeout), rank, world_size)
    else:
        rank = rank if rank >= 0 else _first_env(('RANK',) + _MPI_RANK_VARS)
        world_size = world_size if world_size > 0 else _first_env(('WORLD_SIZE',) + _MPI_SIZE_VARS)
        if rank is None or world_size is None:
            raise ValueError("init_process_group: this process does not know its rank and world size: "
                             "start it with `python -m minitensor.distributed.run --nproc-per-node N "
                             "script.py` (which sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or "
                             "`mpiexec -n N python script.py`, or pass rank= and world_size=")
        if not 0 <= rank < world_size:
            raise ValueError(f"init_process_group: rank {rank} is not in [0, {world_size})")
        if store is None:
            store = _store_from(init_method, rank, world_size, timeout)
        control = _store_backend(store, rank, world_size)

    local_rank = _first_env(('LOCAL_RANK',) + _MPI_LOCAL_VARS)
    local_rank = rank if local_rank is None else local_rank
    if backend == 'nccl':
        from .nccl import NCCLBackend
        chosen = NCCLBackend(control, rank, world_size, local_rank)
    else:
        chosen = control
    _group = _Group(chosen, rank, world_size, local_rank)


def _method(init_method):
    if init_method is not None:
        return init_method
    if os.environ.get('MASTER_PORT'):
        return 'env://'
    return 'mpi://' if started_by_mpiexec() else 'env://'


def _store_backend(store, rank, world_size):
    from .gloo import StoreBackend
    return StoreBackend(store, rank, world_size)


def _store_from(init_method, rank, world_size, timeout):
    """The TCPStore that init_method names; rank 0 hosts it."""
    method = _method(init_method)
    if method == 'env://':
        host, port = os.environ.get('MASTER_ADDR', '127.0.0.1'), os.environ.get('MASTER_PORT')
        if port is None:
            raise ValueError("init_process_group: env:// needs MASTER_PORT (and MASTER_ADDR, default "
                             "127.0.0.1) in the environment; the launcher sets both")
    elif method.startswith('tcp://'):
        host, _, port = method[len('tcp://'):].rpartition(':')
        if not host or not port.isdigit():
            raise ValueError(f"init_method {method!r}: expected 'tcp://host:port'")
    else:
        raise ValueError(f"init_process_group: unknown init_method {method!r}; valid: 'env://', "
                         f"'tcp://host:port', 'mpi://'")
    return TCPStore(host, int(port), world_size, is_master=rank == 0, timeout=timeout)


def _store_via_mpi(mpi, timeout):
    """A TCPStore for the 'gloo' backend under mpiexec: rank 0 opens one on a free port
    (of MASTER_ADDR, default this host) and tells the others its port through MPI."""
    host = os.environ.get('MASTER_ADDR', '127.0.0.1')
    store = TCPStore(host, 0, mpi.world_size, is_master=True, timeout=timeout) if mpi.rank == 0 else None
    port = int(mpi.all_gather_bytes(str(store.port if store else '').encode())[0])
    return store if store is not None else TCPStore(host, port, mpi.world_size, timeout=timeout)


def destroy_process_group(group=None):
    """Leave the group and free its resources; init_process_group may be called again."""
    global _group
    if _group is None:
        return
    group, _group = _group, None
    group.backend.close()


def abort(exit_code=1):
    """End every rank of the job now, from any one rank (ours; torch has no public one):
    under MPI, MPI_Abort; otherwise this process exits with exit_code, and the launcher
    ends the other ranks. For a rank that has hit an error while the others may be
    waiting for it in a collective."""
    sys.stdout.flush()
    sys.stderr.flush()
    backend = _group.backend if _group is not None else None
    for candidate in (backend, getattr(backend, 'control', None)):
        if hasattr(candidate, 'abort'):
            candidate.abort(exit_code)
    if 'mpi4py.MPI' in sys.modules and started_by_mpiexec():
        sys.modules['mpi4py.MPI'].COMM_WORLD.Abort(exit_code)
    os._exit(exit_code)


def _get(op):
    if _group is None:
        raise RuntimeError(f"{op}: the default process group is not initialized; call "
                           f"minitensor.distributed.init_process_group() first")
    return _group


# ------------------------------------------------------------ queries

def get_rank(group=None):
    return _get('get_rank').rank


def get_world_size(group=None):
    return _get('get_world_size').world_size


def get_local_rank():
    """This process's index on its host (torch has no such function in torch.distributed;
    torchrun scripts read os.environ['LOCAL_RANK'], which the launcher sets too)."""
    return _get('get_local_rank').local_rank


def get_backend(group=None):
    return _get('get_backend').backend.name


# ------------------------------------------------------------ collectives on Tensors

def _array(op, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    return tensor.array


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `tensor` across ranks in place (every rank gets the result)."""
    work = _get('all_reduce').backend.all_reduce(_array('all_reduce', tensor), op, async_op=async_op)
    return work if async_op else None


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank src's `tensor` into every rank's `tensor`, in place."""
    g = _get('broadcast')
    if not 0 <= src < g.world_size:
        raise ValueError(f"broadcast: src {src} is not a rank of this group (0..{g.world_size - 1})")
    work = g.backend.broadcast(_array('broadcast', tensor), src)
    return work if async_op else None


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] = rank r's `tensor`, on every rank."""
    g = _get('all_gather')
    if len(tensor_list) != g.world_size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, expected one per "
                         f"rank ({g.world_size})")
    array = _array('all_gather', tensor)
    for t in tensor_list:
        if _array('all_gather', t).shape != array.shape:
            raise ValueError(f"all_gather: output shape {tuple(t.shape)} differs from the input's "
                             f"{tuple(array.shape)}")
    work = g.backend.all_gather([t.array for t in tensor_list], array)
    return work if async_op else None


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this barrier."""
    _get('barrier').backend.barrier()


def all_gather_bytes(payload):
    """Every rank's bytes, in rank order (ours: what DDP's wrap-time shape check uses)."""
    return _get('all_gather_bytes').backend.all_gather_bytes(payload)
