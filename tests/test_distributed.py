"""minitensor.distributed and DistributedDataParallel on the CPU.

Multi-process runs start tests/ddp_worker.py two ways: `mpiexec -n 2` (backend 'mpi',
skipped without mpi4py and mpiexec: pip install -e ".[mpi]") and the launcher
`python -m minitensor.distributed.run --nproc-per-node 2` (backend 'gloo' over the TCP
store, always available). In-process tests cover the store, world size 1 and the hook.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import minitensor as mt
import minitensor.distributed as dist
from minitensor.distributed import TCPStore
from minitensor.nn.parallel import DistributedDataParallel as DDP

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKER = os.path.join(HERE, 'ddp_worker.py')
sys.path.insert(0, HERE)
import ddp_worker  # noqa: E402

HAVE_MPI = importlib.util.find_spec('mpi4py') is not None and shutil.which('mpiexec') is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason='needs mpi4py and mpiexec: pip install -e ".[mpi]"')
LAUNCHERS = [pytest.param('mpi', marks=needs_mpi), 'run']


def launch(how, *args, timeout=90):
    """Two ranks of the worker; returns the CompletedProcess."""
    if how == 'mpi':
        cmd = ['mpiexec', '-n', '2', sys.executable, WORKER, '--backend', 'mpi']
    else:
        cmd = [sys.executable, '-m', 'minitensor.distributed.run', '--nproc-per-node', '2',
               '--grace-period', '2', WORKER, '--backend', 'gloo']
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1')   # OpenMPI as root (CI, GPU hosts)
    for var in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        env.pop(var, None)
    return subprocess.run(cmd + list(args), env=env, capture_output=True, text=True, timeout=timeout)


def assert_params_equal(got, want):
    assert sorted(got.files) == sorted(want)
    for name in want:   # float32 rounding: the two halves' mean vs the whole batch's mean
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)


# ------------------------------------------------------------ several processes

@pytest.mark.parametrize('how', LAUNCHERS)
def test_ddp_steps_equal_one_process_on_the_concatenated_batches(how, tmp_path):
    out = tmp_path / 'params.npz'
    r = launch(how, '--steps', '3', '--out', str(out))
    assert r.returncode == 0, r.stderr
    got = np.load(out)
    assert_params_equal(got, ddp_worker.reference(3))
    # the replicas really trained (and started from rank 0's weights, not their own)
    assert max(np.abs(got[k] - v).max() for k, v in ddp_worker.reference(0).items()) > 1e-3


@pytest.mark.parametrize('how', ['run'])
def test_no_sync_accumulation_equals_the_big_batch_step(how, tmp_path):
    out = tmp_path / 'params.npz'
    r = launch(how, '--mode', 'no_sync', '--steps', '2', '--out', str(out))
    assert r.returncode == 0, r.stderr
    assert_params_equal(np.load(out), ddp_worker.reference(2))


@pytest.mark.parametrize('how', LAUNCHERS)
def test_a_killed_rank_ends_the_job_with_an_error(how):
    start = time.monotonic()
    r = launch(how, '--mode', 'die', '--steps', '50', timeout=60)
    assert r.returncode != 0
    assert time.monotonic() - start < 45
    if how == 'run':
        assert 'rank 1' in r.stderr and 'SIGKILL' in r.stderr, r.stderr
    else:
        assert 'Killed' in r.stdout + r.stderr or 'signal 9' in r.stdout + r.stderr, r.stdout + r.stderr


@pytest.mark.parametrize('how', LAUNCHERS)
def test_a_rank_that_exits_early_ends_the_job(how):
    start = time.monotonic()
    r = launch(how, '--mode', 'exit', '--steps', '50', '--timeout', '3', timeout=60)
    assert r.returncode != 0
    assert time.monotonic() - start < 45
    if how == 'run':
        assert 'rank 1' in r.stderr and 'exited with code 1' in r.stderr, r.stderr
    else:   # MPI_Finalize would wait forever: the exit-time barrier times out and aborts
        assert 'not reached their exit within 3 s' in r.stderr, r.stderr


@pytest.mark.parametrize('how', LAUNCHERS)
def test_models_that_differ_across_ranks_fail_at_wrap_time(how):
    r = launch(how, '--mode', 'mismatch', timeout=60)
    assert r.returncode != 0
    assert 'the model differs across ranks' in r.stderr, r.stderr
    assert 'fc.weight: rank 0 (16, 16)' in r.stderr and 'rank 1 (17, 17)' in r.stderr


def test_launcher_runs_a_module_and_passes_the_exit_code(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    script = tmp_path / 'ranks.py'
    script.write_text("import os, sys\nprint('rank', os.environ['RANK'], 'of', os.environ['WORLD_SIZE'],"
                      " os.environ['LOCAL_RANK'], os.environ['MASTER_PORT'])\n"
                      "sys.exit(3 if os.environ['RANK'] == '2' else 0)\n")
    r = subprocess.run([sys.executable, '-m', 'minitensor.distributed.run', '--nproc-per-node', '3',
                        str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 3
    assert 'rank 2' in r.stderr and 'exited with code 3' in r.stderr
    r = subprocess.run([sys.executable, '-m', 'minitensor.distributed.run', '--nproc-per-node', '2',
                        '-m', 'json.tool', '--help'], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.count('usage') == 2


# ------------------------------------------------------------ one process

@pytest.fixture
def world_of_one():
    dist.init_process_group('gloo', init_method='tcp://127.0.0.1:0', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_tcp_store_set_get_add_delete_and_timeout():
    master = TCPStore('127.0.0.1', 0, 2, is_master=True, timeout=5)
    other = TCPStore('127.0.0.1', master.port, 2, timeout=5)
    try:
        master.set('k', b'v' * 100000)
        assert other.get('k') == b'v' * 100000
        assert other.add('n', 2) == 2 and master.add('n', 3) == 5
        assert master.check(['k']) and other.delete_key('k') and not master.check(['k'])
        with pytest.raises(RuntimeError, match="timed out after 0 s waiting for key 'missing'"):
            other.get('missing', timeout=0.2)
    finally:
        other.close()
        master.close()


def test_world_of_one_collectives(world_of_one):
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    t = mt.tensor([1.0, -2.0, 3.0])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    dist.broadcast(t, src=0)
    out = [mt.zeros(3)]
    dist.all_gather(out, t)
    dist.barrier()
    np.testing.assert_array_equal(out[0].numpy(), [1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match='src 1 is not a rank'):
        dist.broadcast(t, src=1)
    with pytest.raises(TypeError, match='ReduceOp'):
        dist.all_reduce(t, op='sum')


def test_ddp_world_of_one_equals_plain_training(world_of_one):
    ddp = DDP(ddp_worker.make_model(), bucket_cap_mb=300 / 2 ** 20)
    opt = mt.optim.AdamW(ddp.parameters(), lr=1e-2)
    for step in range(3):
        x, y = ddp_worker.batch(step)
        opt.zero_grad(set_to_none=True)
        ddp(x, y).backward()
        opt.step()
    want = ddp_worker.reference(3)
    for name, p in ddp.module.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), want[name])
    assert len(ddp._buckets) > 1                                      # the cap split them
    assert all(k.startswith('module.') for k in ddp.state_dict())     # as torch's DDP
    assert set(ddp.module.state_dict()) == set(want)


def test_ddp_reports_parameters_that_got_no_gradient(world_of_one):
    model = ddp_worker.make_model()
    model.unused = mt.nn.Linear(2, 2)
    ddp = DDP(model)
    x, y = ddp_worker.batch(0)
    ddp(x, y).backward()
    with pytest.raises(RuntimeError, match='unused.weight.*find_unused_parameters=True'):
        ddp(x, y)
    ddp = DDP(model, find_unused_parameters=True)
    ddp(x, y).backward()
    assert model.unused.weight.grad is not None and not model.unused.weight.grad.numpy().any()


def test_errors_before_init_and_on_bad_arguments():
    with pytest.raises(RuntimeError, match='not initialized'):
        dist.get_rank()
    with pytest.raises(RuntimeError, match='not initialized'):
        DDP(ddp_worker.make_model())
    with pytest.raises(ValueError, match="unknown backend 'nccl2'"):
        dist.init_process_group('nccl2')
    with pytest.raises(ValueError, match='rank 2 is not in'):
        dist.init_process_group('gloo', init_method='tcp://127.0.0.1:0', rank=2, world_size=2)
    assert not dist.is_initialized()


# ------------------------------------------------------------ the engine hook DDP uses

def test_post_accumulate_grad_hook_fires_once_after_all_uses():
    w = mt.randn(3, 3, requires_grad=True)
    b = mt.randn(3, requires_grad=True)
    unused = mt.randn(3, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(('w', p.grad.numpy().copy())))
    handle = b.register_post_accumulate_grad_hook(lambda p: seen.append(('b', None)))
    unused.register_post_accumulate_grad_hook(lambda p: seen.append(('unused', None)))
    x = mt.randn(2, 3)
    ((x @ w + b) @ w).sum().backward()          # w used twice: one call, with both parts
    assert [name for name, _ in seen] == ['b', 'w']
    np.testing.assert_array_equal(seen[1][1], w.grad.numpy())
    handle.remove()
    seen.clear()
    (x @ w + b).sum().backward()
    assert [name for name, _ in seen] == ['w']
    with pytest.raises(RuntimeError, match='only leaf tensors'):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_the_nccl_unique_id_round_trips_in_either_char_range():
    """CuPy hands ncclUniqueId out as signed or unsigned chars, by platform and build: the
    bytes sent to the other ranks give each back exactly."""
    from minitensor.distributed.nccl import decode_unique_id, encode_unique_id
    unsigned = tuple(range(128, 256))
    signed = tuple(v - 256 if v > 127 else v for v in unsigned)
    small = tuple(range(128))
    for uid in (unsigned, signed, small, bytes(unsigned)):     # CuPy 14 hands out bytes
        assert decode_unique_id(encode_unique_id(uid)) == uid
