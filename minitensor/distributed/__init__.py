"""minitensor.distributed: data-parallel training under torch.distributed's names.

Backends: 'nccl' (GPUs, through CuPy's NCCL binding), 'mpi' (CPUs, mpi4py under
mpiexec; `pip install -e ".[mpi]"`), 'gloo' (CPUs, a small all-reduce through the TCP
store, nothing to install). Launch with `python -m minitensor.distributed.run
--nproc-per-node N script.py ...` or `mpiexec -n N python script.py ...`.
"""
from .common import ReduceOp, Work
from .process_group import (abort, all_gather, all_gather_bytes, all_reduce, barrier, broadcast,
                            destroy_process_group, env_local_rank, env_rank, env_world_size,
                            get_backend, get_local_rank, get_rank, get_world_size, init_process_group,
                            is_available, is_gloo_available, is_initialized, is_mpi_available,
                            is_nccl_available, started_by_mpiexec)
from .store import TCPStore
