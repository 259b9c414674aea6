"""The 'nccl' backend and DistributedDataParallel on GPUs. World size 1 runs through the
same code path (NCCL communicator, side stream, bucket views) on one GPU; the two-process
run needs two GPUs. Skipped without CuPy, a GPU or CuPy's NCCL binding."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minitensor as mt
import minitensor.distributed as dist
from minitensor.nn.parallel import DistributedDataParallel as DDP

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
import ddp_worker  # noqa: E402

pytestmark = pytest.mark.skipif(not (mt.gpu_available() and dist.is_nccl_available()),
                                reason="needs CuPy, a CUDA GPU and NCCL")


@pytest.fixture
def nccl_world_of_one():
    dist.init_process_group('nccl', init_method='tcp://127.0.0.1:0', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_nccl_collectives_world_of_one(nccl_world_of_one):
    assert dist.get_backend() == 'nccl' and dist.get_world_size() == 1
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN):
        t = mt.tensor([[1.0, -2.0], [3.0, 4.5]], device='gpu')
        dist.all_reduce(t, op=op)
        np.testing.assert_array_equal(t.cpu().numpy(), [[1.0, -2.0], [3.0, 4.5]])
    t = mt.arange(12, device='gpu').float().view(3, 4).transpose(0, 1)   # non-contiguous
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    np.testing.assert_array_equal(t.cpu().numpy(), np.arange(12, dtype=np.float32).reshape(3, 4).T)
    dist.broadcast(t, src=0)
    out = [mt.zeros(4, 3, device='gpu')]
    dist.all_gather(out, t)
    np.testing.assert_array_equal(out[0].cpu().numpy(), t.cpu().numpy())
    dist.barrier()
    with pytest.raises(RuntimeError, match="'nccl' works on GPU tensors"):
        dist.all_reduce(mt.ones(2))


def test_ddp_on_the_gpu_equals_plain_training(nccl_world_of_one):
    ddp = DDP(ddp_worker.make_model().to('gpu'), bucket_cap_mb=300 / 2 ** 20)
    assert ddp._stream is not None and len(ddp._buckets) > 1
    opt = mt.optim.AdamW(ddp.parameters(), lr=1e-2)
    plain = ddp_worker.make_model().to('gpu')
    plain_opt = mt.optim.AdamW(plain.parameters(), lr=1e-2)
    for step in range(3):
        x, y = (t.to('gpu') for t in ddp_worker.batch(step))
        for model, o in ((ddp, opt), (plain, plain_opt)):
            o.zero_grad(set_to_none=True)
            model(x, y).backward()
            o.step()
    for (name, p), q in zip(ddp.module.named_parameters(), plain.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(),
                                   rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.mark.skipif(not mt.gpu_available() or mt.cuda.device_count() < 2, reason="needs 2 GPUs")
def test_two_gpus_train_as_one_process_on_the_concatenated_batches(tmp_path):
    out = tmp_path / 'params.npz'
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))
    r = subprocess.run([sys.executable, '-m', 'minitensor.distributed.run', '--nproc-per-node', '2',
                        os.path.join(HERE, 'ddp_worker.py'), '--backend', 'nccl', '--device', 'gpu',
                        '--out', str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got, want = np.load(out), ddp_worker.reference(3)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5, err_msg=name)
