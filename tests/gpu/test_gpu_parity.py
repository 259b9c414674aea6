"""CPU/GPU parity of every op: the same float32 inputs on both devices give the same
outputs and gradients within float32 tolerance. Skipped where CuPy or a GPU is missing."""
import numpy as np
import pytest

import minitensor as mt
from test_ops_elementwise import BINARY, UNARY

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")

rng = np.random.default_rng(0)


def arr(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(np.float32)


A, B, P = arr(2, 3, 4), arr(3, 4), arr(2, 3, 4, low=0.3, high=2.0)
IDX = np.array([0, 2, 2, 1])

# name -> (fn(*tensors), inputs); fn may use `mt` only, so it runs on either device
OPS = {f'unary_{n}': (spec[0], (P if spec[2][0] > 0 else A,)) for n, spec in UNARY.items()}
OPS.update({f'binary_{n}': (spec[0], (P if spec[2][0] > 0 else A, arr(3, 1, low=0.3, high=2.0)))
            for n, spec in BINARY.items()})
OPS.update({
    'sum': (lambda a: a.sum(1, keepdim=True) + a.sum((0, 2)).sum(), (A,)),
    'mean': (lambda a: a.mean(-1) * a.mean(), (A,)),
    'var_std': (lambda a: a.var(1) + a.std(-1, keepdims=True).sum(), (A,)),
    'max_min_dim': (lambda a: a.max(1)[0].sum() + a.min(-1, keepdim=True)[0], (A,)),
    'max_min_all': (lambda a: a.max() - a.min(), (A,)),
    'amax_amin': (lambda a: a.amax((0, 2)) + a.amin(1).sum(), (A,)),
    'reshape_view': (lambda a: a.reshape(-1, 4).view(4, 6), (A,)),
    'transpose_permute': (lambda a: a.transpose(0, 2).permute(1, 0, 2).contiguous(), (A,)),
    'unsqueeze_squeeze_flatten': (lambda a: a.unsqueeze(1).squeeze(1).flatten(1), (A,)),
    'expand_t': (lambda b: b[None].expand(2, 3, 4).sum(0).t(), (B,)),
    'getitem_basic': (lambda a: a[1, :, None, 1:3] * a[..., -1:][0], (A,)),
    'getitem_int': (lambda b: b[mt.tensor(IDX[:3], device=b.device)], (B,)),
    'getitem_pair': (lambda b: b[mt.arange(3, device=b.device), mt.tensor(IDX[:3], device=b.device)], (B,)),
    'getitem_bool': (lambda b: b[b > 0], (B,)),
    'masked_fill': (lambda a: a.masked_fill(mt.tril(mt.ones(3, 4, device=a.device)) == 0, -1.0), (A,)),
    'cat_stack': (lambda a, b: mt.cat([a[0], b], 0) * mt.stack([b, b], 1).sum(), (A, B)),
    'split_chunk': (lambda a: a.split(2, dim=2)[1] * a.chunk(2, 2)[0], (A,)),
    'matmul_batch': (lambda a, b: a @ b.t(), (A, B)),
    'matmul_vec': (lambda a, b: a @ b[0], (A, B)),
    'matmul_broadcast_left': (lambda b, a: b[:, :3] @ a, (B, A)),
    'softmax': (lambda a: a.softmax(-1), (A,)),
    'log_softmax': (lambda a: a.log_softmax(1), (A,)),
    'masked_softmax': (lambda a: a.masked_fill(mt.tril(mt.ones(3, 4, device=a.device)) == 0,
                                               float('-inf')).softmax(-1), (A,)),
})


def run(fn, arrays, device):
    ts = [mt.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    loss = sum((o * mt.tensor(np.linspace(-1, 1, o.numel(), dtype=np.float32).reshape(o.shape),
                               device=device)).sum() for o in outs)
    loss.backward()
    return [o.detach().cpu().numpy() for o in outs], [t.grad.cpu().numpy() for t in ts]


@pytest.mark.parametrize('name', sorted(OPS))
def test_gpu_matches_cpu(name):
    fn, arrays = OPS[name]
    cpu_outs, cpu_grads = run(fn, arrays, 'cpu')
    gpu_outs, gpu_grads = run(fn, arrays, 'gpu')
    for c, g in zip(cpu_outs + cpu_grads, gpu_outs + gpu_grads):
        assert c.shape == g.shape and c.dtype == g.dtype
        np.testing.assert_allclose(g, c, rtol=2e-5, atol=2e-5)


def test_every_op_family_is_covered():
    covered = set(OPS)
    assert len(covered) >= 60
    assert {'unary_exp', 'binary_pow', 'softmax', 'getitem_bool', 'matmul_vec'} <= covered


def test_device_round_trip_keeps_the_graph():
    x = mt.tensor(A, requires_grad=True)
    y = (x.to('gpu') * 2).cpu().sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones_like(A))
    assert mt.zeros(2, device='cuda').device == 'gpu'


def test_multinomial_and_randint_on_gpu():
    mt.manual_seed(0)
    p = mt.tensor([0.1, 0.0, 0.9], device='gpu')
    draws = mt.multinomial(p, 5000, replacement=True).cpu().numpy()
    assert (draws != 1).all() and abs((draws == 2).mean() - 0.9) < 0.02
    r = mt.randint(0, 5, (100,), device='gpu')
    assert r.device == 'gpu' and 0 <= r.cpu().numpy().min() and r.cpu().numpy().max() < 5
