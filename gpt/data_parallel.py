"""gpt.train's data parallelism: when started by `python -m minitensor.distributed.run
--nproc-per-node N -m gpt.train ...` or `mpiexec -n N python -m gpt.train ...`, N ranks
train one model together.

Each rank draws its own batches (batch_size each, so the global batch is batch_size x N)
and its own dropout masks; DistributedDataParallel averages the gradients, so every
replica takes the same step. Rank 0 alone logs, evaluates, checkpoints and samples.

The ranks' random streams are reseeded from (seed, rank, step) at the start and at every
evaluation step, on every rank, so a run resumed from an evaluation checkpoint draws
exactly what the uninterrupted run drew (no per-rank RNG state has to be saved).
"""
import contextlib

import numpy as np

import minitensor as mt
import minitensor.distributed as dist
from minitensor.backend import normalize_device
from minitensor.nn.parallel import DistributedDataParallel


class Replicas:
    """This process's place in a data-parallel run; rank 0 of 1 when not launched that way."""

    def __init__(self, device):
        self.enabled = dist.env_world_size() > 1 or dist.is_initialized()
        if self.enabled and not dist.is_initialized():
            # no tensor yet: the 'nccl' backend first makes LOCAL_RANK's GPU the current one
            backend = ('nccl' if normalize_device(device) == 'gpu' else
                       'mpi' if dist.started_by_mpiexec() and dist.is_mpi_available() else 'gloo')
            dist.init_process_group(backend)
        self.rank = dist.get_rank() if self.enabled else 0
        self.world_size = dist.get_world_size() if self.enabled else 1
        self.is_main = self.rank == 0

    def describe(self):
        if not self.enabled:
            return ''
        return f"; data-parallel over {self.world_size} ranks ({dist.get_backend()})"

    def wrap(self, model):
        """DDP(model) in a data-parallel run (the causal-mask buffers never change: no
        per-step buffer broadcast), else the model itself."""
        return DistributedDataParallel(model, broadcast_buffers=False) if self.enabled else model

    @staticmethod
    def unwrap(model):
        return model.module if isinstance(model, DistributedDataParallel) else model

    def reseed(self, seed, step):
        """Each rank's batches and dropout from here on come from (seed, rank, step)."""
        if self.enabled:
            mt.manual_seed(int(np.random.SeedSequence([seed % 2 ** 64, self.rank, step]).generate_state(1)[0]))

    def stop_request(self, make):
        """Ctrl-C's stop-after-this-step needs every rank to agree on the step; in a data-
        parallel run Ctrl-C ends all ranks (the launcher or mpiexec forwards it) instead."""
        return contextlib.nullcontext(_NeverStop()) if self.enabled else make()

    def close(self):
        if self.enabled:
            dist.destroy_process_group()

    def abort(self, exit_code):
        """After an error on this rank: end every rank now (the others may be waiting for it)."""
        if self.enabled and dist.is_initialized():
            dist.abort(exit_code)


class _NeverStop:
    requested = False


class Quiet:
    """Stands in for the log, the CSV log and the progress display on ranks other than 0."""

    def __call__(self, *args, **kwargs):
        pass

    def append(self, **row):
        pass

    def update(self, *args):
        pass

    def write(self, line):
        pass

    def close(self):
        pass
