"""gpt.train started by the launcher or by mpiexec trains data-parallel: rank 0 alone logs
and checkpoints, and a run resumed from a checkpoint ends with the very weights of the
run that never stopped (the ranks reseed from (seed, rank, step) at every evaluation)."""
import csv
import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gpt import checkpoint as ckpt_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_MPI = importlib.util.find_spec('mpi4py') is not None and shutil.which('mpiexec') is not None
TINY = ['--preset', 'small', '--n-layer', '1', '--n-embd', '16', '--n-head', '2', '--block-size', '8',
        '--batch-size', '4', '--eval-interval', '2', '--eval-iters', '1', '--log-interval', '2',
        '--sample-tokens', '0', '--learning-rate', '1e-2', '--no-progress']


def gpt_train(how, *args):
    if how == 'mpi':
        cmd = ['mpiexec', '-n', '2', sys.executable, '-m', 'gpt.train']
    else:
        cmd = [sys.executable, '-m', 'minitensor.distributed.run', '--nproc-per-node', '2', '-m', 'gpt.train']
    env = dict(os.environ, PYTHONPATH=ROOT, OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1')
    for var in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        env.pop(var, None)
    return subprocess.run(cmd + list(args), env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


def weights(run_dir):
    state = ckpt_io.load_checkpoint(os.path.join(run_dir, ckpt_io.CHECKPOINT_NAME))['model_state']
    return {k: np.asarray(getattr(v, 'array', v)) for k, v in state.items()}


def test_data_parallel_gpt_train_resumes_exactly(tmp_path):
    straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
    second = 'mpi' if HAVE_MPI else 'run'       # the two ways to launch agree with each other
    r = gpt_train('run', *TINY, '--max-iters', '4', '--out', straight)
    assert r.returncode == 0, r.stderr
    assert 'data-parallel over 2 ranks (gloo)' in r.stdout
    r = gpt_train(second, *TINY, '--max-iters', '2', '--out', resumed)
    assert r.returncode == 0, r.stderr
    r = gpt_train(second, '--resume', '--max-iters', '4', '--out', resumed)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('step 4: train loss') == 1           # rank 0 alone reports
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys() and not any(k.startswith('module.') for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    with open(os.path.join(resumed, 'log.csv')) as f:
        assert [row['step'] for row in csv.DictReader(f)] == ['0', '2', '4']


@pytest.mark.parametrize('how', [pytest.param('mpi', marks=pytest.mark.skipif(not HAVE_MPI, reason='needs MPI')), 'run'])
def test_an_error_on_one_rank_ends_every_rank(how, tmp_path):
    out = tmp_path / 'run'
    out.mkdir()
    (out / ckpt_io.CHECKPOINT_NAME).write_bytes(b'an earlier run')   # rank 0 refuses to overwrite it
    r = gpt_train(how, *TINY, '--max-iters', '4', '--out', str(out))
    assert r.returncode != 0
    assert 'holds the checkpoint of an earlier run' in r.stderr
