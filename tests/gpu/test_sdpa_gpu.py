"""F.scaled_dot_product_attention on the GPU: the engine's fused causal kernel against
the portable lecture chain, the non-fused cases against the CPU, and the one switch:
with mt.backends.fast_paths off no fused kernel and no cuBLAS call of ours runs.
Skips without CuPy or a GPU."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from minitensor import cuda
from minitensor.cuda import blas
from minitensor.cuda import flash_attention
from minitensor.ops import dispatch
from test_cuda_kernels import assert_same, fused_and_portable, randn

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def node_names(t):
    """Names of the Functions in t's graph, with their recorded fast-path choice."""
    seen, stack, out = set(), [t.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        out.append((fn.name, getattr(fn, 'fused', None)))
        stack.extend(getattr(e, 'grad_fn', None) for e in fn.inputs)
    return out


@pytest.mark.parametrize('shape', [(2, 3, 17, 16), (4, 6, 256, 64), (1, 1, 1, 8), (5, 33, 7)])
def test_fused_causal_sdpa_matches_the_portable_chain(shape):
    results = fused_and_portable(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                 randn(*shape), randn(*shape), randn(*shape))
    assert_same(results, rtol=1e-4, atol=1e-5)


def test_the_fused_kernel_is_what_runs_and_the_switch_turns_it_off(monkeypatch):
    monkeypatch.setattr(mt.backends, 'fast_paths', True)     # also under --no-fast-paths
    q = mt.tensor(randn(2, 3, 16, 8), device='gpu', requires_grad=True)
    names = node_names(F.scaled_dot_product_attention(q, q, q, is_causal=True))
    assert ('FlashAttention', True) in names                 # the engine's default (ops/dispatch.py)
    monkeypatch.setattr(dispatch, 'ATTENTION_KERNEL', 'causal_softmax')
    names = node_names(F.scaled_dot_product_attention(q, q, q, is_causal=True))
    assert ('CausalSoftmax', True) in names
    mt.backends.fast_paths = False
    names = node_names(F.scaled_dot_product_attention(q, q, q, is_causal=True))
    assert not any(n == 'CausalSoftmax' for n, _ in names) and ('Softmax', None) in names
    assert all(fused in (None, False) for _, fused in names)


def run_on_gpu(fn, arrays, fast, weights):
    """fn(*leaves) with mt.backends.fast_paths = fast: [output, gradients...] as NumPy."""
    mt.backends.fast_paths = fast
    leaves = [mt.tensor(a, device='gpu', requires_grad=True) for a in arrays]
    out = fn(*leaves)
    (out * mt.tensor(weights, device='gpu')).sum().backward()
    return [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in leaves]


@pytest.mark.parametrize('p', [0.1, 0.5])
def test_fused_sdpa_dropout_is_the_hash_mask_of_the_portable_causal_softmax(p):
    seed = int(np.random.default_rng().integers(1 << 62))
    arrays = randn(2, 4, 40, 16), randn(2, 4, 40, 16), randn(2, 4, 40, 8)
    weights = randn(2, 4, 40, 8)

    def fused(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True,
                                              generator=mt.Generator().manual_seed(seed))

    def reference(q, k, v):                  # CausalSoftmax's portable path draws the same hash mask
        wei = F.causal_softmax(q @ k.transpose(-2, -1), 16 ** -0.5, p, generator=mt.Generator().manual_seed(seed))
        return wei @ v
    assert_same([run_on_gpu(fused, arrays, True, weights), run_on_gpu(reference, arrays, False, weights)],
                rtol=1e-4, atol=1e-5)


def test_sdpa_dropout_statistics_on_the_gpu():
    S = 256
    v = mt.eye(S, device='gpu').unsqueeze(0).expand(32, S, S)   # identity values: the output IS the weights
    q, k = mt.zeros(32, S, 8, device='gpu'), mt.zeros(32, S, 8, device='gpu')
    for fast in (True, False):
        mt.backends.fast_paths = fast
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25, is_causal=True).cpu().numpy()
        lower = np.tril(np.ones((S, S), dtype=bool))
        assert abs((out[:, lower] == 0).mean() - 0.25) < 0.01
        assert not out[:, ~lower].any()


@pytest.mark.parametrize('case', ['bool_mask', 'float_mask', 'cross', 'gqa', 'float64'])
def test_masks_cross_attention_gqa_and_float64_match_the_cpu(case):
    rng = np.random.default_rng(0)
    dtype = np.float64 if case == 'float64' else np.float32
    q = rng.standard_normal((2, 4, 6, 8)).astype(dtype)
    kv_heads = 2 if case == 'gqa' else 4
    S = 9 if case == 'cross' else 6
    k, v = (rng.standard_normal((2, kv_heads, S, 8)).astype(dtype) for _ in range(2))
    mask = {'bool_mask': rng.random((6, S)) < 0.7, 'float_mask': rng.standard_normal((4, 6, S)).astype(dtype)}.get(case)
    results = []
    for device in ('gpu', 'cpu'):
        ts = [mt.tensor(a, device=device, requires_grad=True) for a in (q, k, v)]
        m = None if mask is None else mt.tensor(mask, device=device)
        out = F.scaled_dot_product_attention(*ts, attn_mask=m, is_causal=case in ('cross', 'gqa', 'float64'),
                                             enable_gqa=case == 'gqa')
        out.sum().backward()
        results.append([out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in ts])
    assert_same(results, rtol=1e-4, atol=1e-5)


def test_switch_off_runs_no_fused_kernel_and_no_cublas_call_of_ours(monkeypatch):
    """A GPT training step (dropout on, AdamW) with the switch off touches none of them."""
    from gpt.models import GPT, GPTConfig

    def forbidden(*args, **kwargs):
        raise AssertionError('a fast path ran with mt.backends.fast_paths = False')
    for name in ('relu_forward', 'relu_backward', 'hash_dropout', 'causal_softmax_forward',
                 'causal_softmax_backward', 'layer_norm_forward', 'layer_norm_backward',
                 'cross_entropy_forward', 'cross_entropy_backward', 'adam_update'):
        monkeypatch.setattr(cuda, name, forbidden)
    monkeypatch.setattr(blas, 'batched_matmul', forbidden)
    monkeypatch.setattr(blas.cublas_calls, 'gemm_strided_batched', forbidden)   # every cuBLAS call of ours
    for name in ('flash_attention_forward', 'flash_attention_backward'):
        monkeypatch.setattr(flash_attention, name, forbidden)
    mt.backends.fast_paths = False
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=32, n_embd=48, n_head=3, n_layer=2, dropout=0.2)).to('gpu')
    opt = mt.optim.AdamW(model.parameters(), lr=1e-3)
    idx = mt.randint(0, 65, (4, 32), device='gpu')
    _, loss = model(idx, idx)
    loss.backward()
    opt.step()
    assert np.isfinite(loss.item())
    mt.backends.fast_paths = True                                  # and on, they do run
    with pytest.raises(AssertionError, match='a fast path ran'):
        model(idx, idx)


def test_the_gpu_suite_passes_with_the_switch_off():
    """The parity suites again in a fresh process started with MINITENSOR_NO_FUSED=1."""
    env = {**os.environ, 'PYTHONPATH': ROOT, 'MINITENSOR_NO_FUSED': '1'}
    result = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-x', '-p', 'no:cacheprovider',
                             'tests/gpu/test_gpu_parity.py', 'tests/gpu/test_sdpa_gpu.py',
                             '-k', 'not test_the_gpu_suite_passes_with_the_switch_off'],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
