"""Each fused CuPy kernel (minitensor/cuda/) against the portable xp path, on the GPU.

Same inputs through both (mt.backends.fast_paths on, then off), forward and gradients, float32
tolerance; fresh random inputs, odd sizes, fully masked rows, ignore_index. Skips
without CuPy or a GPU, so CI (no GPU) runs none of these.
"""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from minitensor import backend, cuda
from minitensor.cuda import blas

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")

RTOL, ATOL = 2e-5, 2e-6


@pytest.fixture(autouse=True)
def _fused_on_after():
    yield
    mt.backends.fast_paths = True
    mt.backends.allow_tf32 = False


def fused_and_portable(fn, *arrays, weights_seed=None):
    """fn(*leaf tensors) -> output tensor; returns [(out, grads...)] for fused then portable."""
    rng = np.random.default_rng(weights_seed)
    results = []
    weights = None
    for fused in (True, False):
        mt.backends.fast_paths = fused
        leaves = [mt.tensor(a, device='gpu', requires_grad=a.dtype.kind == 'f') for a in arrays]
        out = fn(*leaves)
        if weights is None:
            weights = rng.standard_normal(out.shape).astype(np.float32)
        (out * mt.tensor(weights, device='gpu')).sum().backward()
        results.append([out.detach().cpu().numpy()]
                       + [t.grad.cpu().numpy() for t in leaves if t.requires_grad])
    mt.backends.fast_paths = True
    return results


def assert_same(results, rtol=RTOL, atol=ATOL):
    """Elementwise within rtol, plus atol scaled by the array's largest magnitude: sums
    over thousands of rows (dw, db) cancel, so a small entry carries the big ones' rounding."""
    fused, portable = results
    for a, b in zip(fused, portable):
        assert np.isfinite(a).all() or not np.isfinite(b).all()
        scale = max(1.0, float(np.abs(b[np.isfinite(b)]).max(initial=0)))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale)


def randn(*shape):
    return np.random.default_rng().standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize('shape', [(2, 3, 17, 17), (4, 6, 256, 256), (1, 1, 1, 1), (3, 33, 33)])
@pytest.mark.parametrize('p', [0.0, 0.2])
def test_causal_softmax(shape, p):
    seed = int(np.random.default_rng().integers(1 << 62))
    gen = lambda: mt.Generator().manual_seed(seed)            # noqa: E731 the same mask both ways
    results = fused_and_portable(lambda s: F.causal_softmax(s, 0.125, p, generator=gen()), randn(*shape) * 4)
    assert_same(results)


def test_causal_softmax_fully_masked_row_is_zero():
    s = randn(2, 2, 9, 9)
    s[0, 1, 4, :] = -np.inf                                     # every visible key of one query
    out, grad = fused_and_portable(lambda x: F.causal_softmax(x, 1.0, 0.0), s)[0]
    assert (out[0, 1, 4] == 0).all() and (grad[0, 1, 4] == 0).all() and np.isfinite(grad).all()
    assert_same(fused_and_portable(lambda x: F.causal_softmax(x, 1.0, 0.0), s))


def test_causal_softmax_matches_the_lecture_ops():
    s = randn(2, 3, 20, 20)
    tril = mt.tril(mt.ones(20, 20, device='gpu'))

    def lecture(x):
        return F.softmax((x * 0.3).masked_fill(tril == 0, float('-inf')), dim=-1)
    ref = fused_and_portable(lecture, s, weights_seed=3)[1]
    fused = fused_and_portable(lambda x: F.causal_softmax(x, 0.3, 0.0), s, weights_seed=3)[0]
    assert_same([fused, ref])


@pytest.mark.parametrize('shape', [(1001, 37), (64, 256, 384), (7,)])
def test_hash_dropout(shape):
    from minitensor.ops.nn import HashDropout
    seed = int(np.random.default_rng().integers(1 << 62))
    results = fused_and_portable(lambda x: HashDropout.apply(x, p=0.3, seed=seed), randn(*shape))
    assert_same(results, rtol=0, atol=0)                         # the same mask, bit for bit
    kept = (results[0][0] != 0).mean()
    assert abs(kept - 0.7) < 0.05 or np.prod(shape) < 100


@pytest.mark.parametrize('rows,width', [(33, 47), (64 * 256, 384), (5, 1024), (3, 1500), (2, 1)])
def test_layer_norm(rows, width):
    results = fused_and_portable(lambda x, w, b: F.layer_norm(x, (width,), w, b),
                                 randn(rows, width) * 3 + 1, randn(width), randn(width))
    assert_same(results, rtol=1e-4, atol=1e-4)


def test_layer_norm_3d():
    results = fused_and_portable(lambda x, w, b: F.layer_norm(x, (24,), w, b),
                                 randn(3, 5, 24), randn(24), randn(24))
    assert_same(results, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
@pytest.mark.parametrize('n,c', [(37, 65), (64 * 256, 65), (5, 1)])
def test_cross_entropy(reduction, n, c):
    target = np.random.default_rng().integers(0, c, n)
    target[::3] = -100                                         # ignored rows
    results = fused_and_portable(
        lambda x: F.cross_entropy(x, mt.tensor(target, device='gpu'), reduction=reduction),
        randn(n, c) * 3)
    assert_same(results, rtol=1e-5, atol=1e-6)


def test_cross_entropy_all_ignored_is_nan_with_zero_grad():
    target = np.full(6, -100)
    results = fused_and_portable(lambda x: F.cross_entropy(x, mt.tensor(target, device='gpu')), randn(6, 5))
    (loss, grad), _ = results
    assert np.isnan(loss) and (grad == 0).all()


def test_relu():
    x = randn(129, 65)
    x[0, :5] = 0.0
    assert_same(fused_and_portable(lambda a: a.relu(), x), rtol=0, atol=0)


@pytest.mark.parametrize('name', ['AdamW', 'Adam'])
def test_adam_update(name):
    rng = np.random.default_rng()
    init = [rng.standard_normal(s).astype(np.float32) for s in [(33, 7), (5,)]]
    grads = [[rng.standard_normal(a.shape).astype(np.float32) for a in init] for _ in range(3)]
    finals = []
    for fused in (True, False):
        mt.backends.fast_paths = fused
        params = [mt.nn.Parameter(mt.tensor(a, device='gpu')) for a in init]
        opt = getattr(mt.optim, name)(params, lr=1e-2, weight_decay=0.1)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = mt.tensor(g, device='gpu')
            opt.step()
        finals.append([p.detach().cpu().numpy() for p in params]
                      + [opt.state[p]['exp_avg_sq'].get() for p in params])
    mt.backends.fast_paths = True
    assert_same(finals, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('tf32', [False, True])
def test_batched_matmul_transposed_operands(tf32):
    cp = backend.cupy_module()
    q = cp.asarray(randn(4, 3, 33, 16))
    k = cp.asarray(randn(4, 3, 33, 16))
    mt.backends.allow_tf32 = tf32
    out = blas.matmul(q, k.swapaxes(-1, -2), True)                 # no copy of the transposed k
    ref = q.get().astype(np.float64) @ k.get().astype(np.float64).swapaxes(-1, -2)
    err = np.linalg.norm(out.get() - ref) / np.linalg.norm(ref)
    assert err < (3e-3 if tf32 else 1e-6)
    head = cp.asarray(randn(4, 33, 3, 16)).swapaxes(1, 2)      # a head view: copied, still right
    out = blas.matmul(head, k.swapaxes(-1, -2), True)
    ref = head.get().astype(np.float64) @ k.get().astype(np.float64).swapaxes(-1, -2)
    assert np.linalg.norm(out.get() - ref) / np.linalg.norm(ref) < (3e-3 if tf32 else 1e-6)


def test_gpt_step_fused_matches_portable():
    from gpt.models import GPT, GPTConfig
    cfg = GPTConfig(vocab_size=65, block_size=32, n_embd=48, n_head=3, n_layer=2, dropout=0.0)
    idx = np.random.default_rng().integers(0, 65, (4, 32))
    tgt = np.random.default_rng().integers(0, 65, (4, 32))
    runs = []
    for fused in (True, False):
        mt.backends.fast_paths = fused
        mt.manual_seed(7)
        model = GPT(cfg).to('gpu')
        _, loss = model(mt.tensor(idx, device='gpu'), mt.tensor(tgt, device='gpu'))
        loss.backward()
        runs.append([loss.detach().cpu().numpy()] + [p.grad.cpu().numpy() for p in model.parameters()])
    mt.backends.fast_paths = True
    assert_same(runs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('shape,n_axes', [((16384, 384), 1), ((64, 256, 48), 1), ((4, 5, 6), 2),
                                          ((3, 7), 1), ((1, 1), 1), ((5, 3), 0)])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_sum_leading_by_gemv_equals_the_sum(shape, n_axes, dtype):
    """Column sums as one cuBLAS GEMV (1^T A): Linear's bias gradient, unbroadcast's sums."""
    a = np.random.default_rng(0).normal(size=shape).astype(dtype)
    out = blas.sum_leading(backend.to_device(a, 'gpu'), n_axes, True)
    expected = a.astype(np.float64).sum(axis=tuple(range(n_axes))) if n_axes else a
    assert out.shape == expected.shape and out.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(backend.to_device(out, 'cpu'), expected, rtol=tol, atol=tol * np.sqrt(shape[0]))


def test_sum_leading_falls_back_for_strided_and_integer_arrays():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    g = backend.to_device(a, 'gpu')
    np.testing.assert_array_equal(backend.to_device(blas.sum_leading(g.T, 1, True), 'cpu'), a.T.sum(0))
    i = backend.to_device(np.arange(12).reshape(3, 4), 'gpu')
    np.testing.assert_array_equal(backend.to_device(blas.sum_leading(i, 1, True), 'cpu'), [12, 15, 18, 21])


def test_sum_of_squares_matches_numpy_over_sizes():
    cp = backend.cupy_module()
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(n).astype(np.float32) for n in (1, 31, 256, 257, 100_003, 0, 1_600_001)]
    total = cuda.sum_of_squares([cp.asarray(a).reshape(-1, 1) for a in arrays])
    want = sum(float((a.astype(np.float64) ** 2).sum()) for a in arrays)
    assert total.shape == () and abs(float(total) - want) <= 1e-5 * want
    again = cuda.sum_of_squares([cp.asarray(a).reshape(-1, 1) for a in arrays])
    assert float(again) == float(total)                     # fixed order: the same bits every time
