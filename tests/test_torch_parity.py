"""Forward and gradients against PyTorch on the same float64 inputs (skipped cleanly
where torch is not installed)."""
import numpy as np
import pytest

import minitensor as mt

torch = pytest.importorskip('torch')

rng = np.random.default_rng(0)
A = rng.standard_normal((2, 3, 4))
B = rng.standard_normal((3, 4))
P = rng.uniform(0.5, 2, (2, 3, 4))
W = rng.standard_normal((4, 5))
T = rng.integers(0, 4, 6)

# name -> (fn taking (module, *tensors) in the shared PyTorch API, inputs)
CASES = {
    'add_broadcast': (lambda m, a, b: a + b * 2 - 1, (A, B)),
    'mul_div_pow': (lambda m, a, p: a * p / (p + 1) + p ** 1.5 - 2 ** a + 1 / p, (A, P)),
    'tensor_pow': (lambda m, p, b: p ** b, (P, B)),
    'exp_log_sqrt': (lambda m, a, p: a.exp() + p.log() + p.sqrt(), (A, P)),
    'tanh_sigmoid_relu': (lambda m, a: a.tanh() + a.sigmoid() + a.relu() - a.abs(), (A,)),
    'gelu': (lambda m, a: m.nn.functional.gelu(a) if m is torch else a.gelu(), (A,)),
    'gelu_tanh': (lambda m, a: m.nn.functional.gelu(a, approximate='tanh') if m is torch
                  else a.gelu(approximate='tanh'), (A,)),
    'clamp_max_min': (lambda m, a, b: a.clamp(-0.5, 0.5) + m.maximum(a, b) - m.minimum(a, b), (A, B)),
    'sum_mean_var': (lambda m, a: a.sum(1, keepdim=True) * a.mean((0, 2)).sum() + a.var(-1, keepdim=True), (A,)),
    'std_unbiased_false': (lambda m, a: a.std(1, unbiased=False), (A,)),
    'max_min_dim': (lambda m, a: a.max(1)[0].sum() + a.min(-1, keepdim=True)[0], (A,)),
    'max_all': (lambda m, a: a.max() - a.min(), (A,)),
    'amax_tuple': (lambda m, a: a.amax((0, 2)), (A,)),
    'softmax': (lambda m, a: a.softmax(-1) * 3, (A,)),
    'log_softmax': (lambda m, a: a.log_softmax(1), (A,)),
    'masked_softmax': (lambda m, a: a.masked_fill(m.tril(m.ones(3, 4, dtype=m.float64)) == 0,
                                                  float('-inf')).softmax(-1), (A,)),
    'matmul_broadcast': (lambda m, a, w: a @ w, (A, W)),
    'matmul_vec': (lambda m, a, b: a @ b[0], (A, B)),
    'matmul_batch': (lambda m, a, b: b @ a.transpose(-2, -1), (A, B)),
    'shape_ops': (lambda m, a: a.permute(2, 0, 1).reshape(4, -1).t().unsqueeze(0).squeeze(0).flatten(), (A,)),
    'view_contiguous': (lambda m, a: a.transpose(0, 1).contiguous().view(3, 8), (A,)),
    'expand': (lambda m, b: b[None].expand(2, 3, 4) * 1.0, (B,)),
    'cat_stack_split': (lambda m, a, b: m.cat([a[0], b], 0) * m.stack([b, b], 1).sum(), (A, B)),
    'split_chunk': (lambda m, a: a.split(2, dim=2)[1] * a.chunk(2, 2)[0], (A,)),
    'index_basic': (lambda m, a: a[1, :, None, 1:3] + a[..., -1:][0], (A,)),
    'index_int_tensor': (lambda m, b: b[m.tensor([0, 2, 2, 0])], (B,)),
    'index_pair': (lambda m, b: b[m.arange(3), m.tensor([3, 0, 3])], (B,)),
    'index_bool': (lambda m, b: b[b > 0], (B,)),
    'where': (lambda m, a, b: m.where(a > 0, a, b), (A, B)),
    'var_all': (lambda m, a: a.var(), (A,)),
}


def run(module, fn, arrays):
    ts = [module.tensor(a, dtype=module.float64, requires_grad=True) for a in arrays]
    out = fn(module, *ts)
    weights = np.random.default_rng(1).standard_normal(tuple(out.shape))
    (out * module.tensor(weights, dtype=module.float64)).sum().backward()
    to_np = (lambda t: t.detach().numpy())
    return to_np(out), [to_np(t.grad) for t in ts]


@pytest.mark.parametrize('name', sorted(CASES))
def test_against_torch(name):
    fn, arrays = CASES[name]
    out, grads = run(mt, fn, arrays)
    ref_out, ref_grads = run(torch, fn, arrays)
    assert out.shape == ref_out.shape
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


def test_float32_results_match_torch_float32():
    a = rng.standard_normal((4, 8, 16)).astype(np.float32)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    ours = (mt.tensor(a) @ mt.tensor(w)).softmax(-1)
    theirs = (torch.tensor(a) @ torch.tensor(w)).softmax(-1)
    assert ours.dtype == mt.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_dtype_promotion_matches_torch():
    pairs = [(np.float32, np.int64), (np.float64, np.float32), (np.int32, np.int64), (np.bool_, np.int64),
             (np.bool_, np.float32)]
    for x, y in pairs:
        a, b = np.ones(2, dtype=x), np.ones(2, dtype=y)
        ours = (mt.tensor(a) + mt.tensor(b)).dtype
        theirs = (torch.from_numpy(a) + torch.from_numpy(b)).dtype
        assert str(ours) == str(theirs).replace('torch.', 'minitensor.'), (x, y)
    for scalar in (2, 2.5):
        for dt in (np.float32, np.int64):
            ours = (mt.tensor(np.ones(2, dtype=dt)) * scalar).dtype
            theirs = (torch.from_numpy(np.ones(2, dtype=dt)) * scalar).dtype
            assert str(ours) == str(theirs).replace('torch.', 'minitensor.')
