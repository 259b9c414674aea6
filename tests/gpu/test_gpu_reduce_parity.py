"""CPU/GPU parity of the reductions, scans, sorting, gather/scatter, diagonal and einsum
ops: the same float32 inputs on both devices give the same outputs (indices included)
and gradients. Skipped where CuPy or a GPU is missing."""
import math

import numpy as np
import pytest

import minitensor as mt

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")

rng = np.random.default_rng(1)
A = rng.uniform(-2, 2, (3, 5)).astype(np.float32)
S = rng.uniform(-2, 2, (3, 4)).astype(np.float32)
Z = np.where(A < -0.7, 0, A).astype(np.float32)              # zeros for prod/cumprod
SQ = rng.uniform(-2, 2, (2, 4, 4)).astype(np.float32)
IDX = np.array([[0, 4, 4, 1], [2, 2, 3, 0], [1, 0, 0, 0]])


def ix(t, values=IDX):
    return mt.tensor(values, device=t.device)


OPS = {
    'prod_zeros': (lambda a: a.prod(1) + a.prod(), (Z,)),
    'logsumexp': (lambda a: a.logsumexp(1), (A,)),
    'std_var_constant': (lambda a: (a * 0 + 1).std(1) + a.var(0, correction=0).sum(), (A,)),
    'norms': (lambda a: a.norm() + a.norm(1, 1).sum() + a.norm(math.inf, 0).sum() + a.norm(3), (A,)),
    'cdist': (lambda a, s: mt.cdist(a[:, :4], s), (A, S)),
    'cumsum_cumprod': (lambda a: a.cumsum(1) + a.cumprod(1), (Z,)),
    'logcumsumexp': (lambda a: a.logcumsumexp(1), (A,)),
    'cummax_cummin': (lambda a: (a.cummax(1).values + a.cummin(0).values, a.cummax(1).indices), (A,)),
    'sort_topk': (lambda a: (a.sort(1, descending=True).values, a.topk(2, 1).values, a.argsort(0)), (A,)),
    'kthvalue_median_mode': (lambda a: (a.kthvalue(2, 1).values, a.median(1).values, a.median(),
                                        a.clamp(-0.5, 0.5).mode(1).values), (A,)),
    'gather_take': (lambda a: a.gather(1, ix(a)) + a.take(ix(a)), (A,)),
    'scatter_family': (lambda a, s: a.scatter_add(1, ix(a), s) + a.scatter(1, ix(a, np.argsort(IDX, 1)), s)
                       + a.scatter_reduce(1, ix(a), s, 'amax') + a.scatter_reduce(1, ix(a), s, 'mean'), (A, S)),
    'scatter_prod': (lambda a, s: a.scatter_reduce(1, ix(a), s, 'prod'), (A, S)),
    'index_ops': (lambda a, s: a.index_select(1, ix(a, np.array([4, 0, 4])))
                  .index_add(1, ix(a, np.array([0, 0, 2])), s[:, :3])
                  .index_fill(0, ix(a, np.array([1])), 0.5), (A, S)),
    'masked': (lambda a: a.masked_select(a > 0).sum() + a.masked_scatter(a < 0, a.flip(1)), (A,)),
    'flip_roll_repeat': (lambda a: a.flip(0).roll(2, 1).repeat(2, 1) + a.tile(2, 1)
                         + a.repeat_interleave(2, 0), (A,)),
    'diagonals': (lambda q: q.diagonal(1, 1, 2).sum() + q.diag_embed().sum(-1) + q.tril(-1) + mt.triu(q, 1), (SQ,)),
    'einsum': (lambda q: mt.einsum('bij,bjk->bik', q, q) + mt.einsum('bii->b', q)[:, None, None], (SQ,)),
    'unique_bincount_histc': (lambda a: (a.clamp(-0.5, 0.5).unique(), mt.bincount((a.abs() * 2).long().flatten()),
                                         a.histc(4)), (A,)),
}


def run(fn, arrays, device):
    ts = [mt.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    floats = [o for o in outs if o.dtype.kind == 'f' and o.requires_grad]
    loss = sum((o * mt.tensor(np.linspace(-1, 1, o.numel(), dtype=np.float32).reshape(o.shape),
                               device=device)).sum() for o in floats)
    if floats:
        loss.backward()
    return ([o.detach().cpu().numpy() for o in outs],
            [t.grad.cpu().numpy() if t.grad is not None else None for t in ts])


@pytest.mark.parametrize('name', sorted(OPS))
def test_reduce_ops_match_cpu(name):
    fn, arrays = OPS[name]
    cpu_out, cpu_grads = run(fn, arrays, 'cpu')
    gpu_out, gpu_grads = run(fn, arrays, 'gpu')
    for c, g in zip(cpu_out, gpu_out):
        assert c.dtype == g.dtype and c.shape == g.shape, name
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5, err_msg=name)
    for c, g in zip(cpu_grads, gpu_grads):
        if c is not None:
            np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5, err_msg=name)
