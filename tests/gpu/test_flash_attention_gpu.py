"""FlashAttention's CUDA kernels (cuda/flash_attention.py) against the portable lecture chain.

    python3 -m pytest tests/gpu/test_flash_attention_gpu.py -x -q

Every case runs the fused float32 path (what F.scaled_dot_product_attention picks) and
the reference: the lecture's lines in float64 on the GPU, with HashDropout's mask for
the same seed (F.causal_softmax's), so dropout on or off the numbers must agree.
Tolerance (float32 vs float64): |fused - ref| <= 1e-5 * |ref| + 1e-5 * max(1, max|ref|)
(the floor 1, the inputs' scale: with T = 1 dq and dk vanish exactly, float32 leaves ~1e-8). The
kernels' rounding is float32's unit roundoff (6e-8) per product, accumulated over at most
max(T, hd) <= 300 terms in random-sign order (~sqrt(n) growth: ~1e-6 of the largest term),
then through one exp (relative error times |score| <~ 10): 1e-5 of the tensor's largest
magnitude leaves a margin of several times, and elements near zero are judged against
that scale, not their own. The same bound holds for the portable float32 chain (printed).
Skips without CuPy or a GPU.
"""
import math
import time

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from minitensor.cuda import flash_attention as flash
from minitensor.ops import dispatch
from minitensor.ops import nn as N
from minitensor.ops.flash import FlashAttention
from minitensor.random_hash import dropout_keys, next_seed

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
RTOL = ATOL = 1e-5


@pytest.fixture(autouse=True)
def _flash_selected(monkeypatch):
    monkeypatch.setattr(mt.backends, 'fast_paths', True)
    monkeypatch.setattr(dispatch, 'ATTENTION_KERNEL', 'flash')
    monkeypatch.setattr(mt.backends, 'allow_tf32', False)       # float32 on CUDA cores unless a test says
    yield


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def grad_fn_names(t):
    seen, stack, out = set(), [t.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        out.append((fn.name, getattr(fn, 'fused', None)))
        stack.extend(getattr(e, 'grad_fn', None) for e in fn.inputs)
    return out


def fused_run(arrays, g, causal, p, seed, scale=None):
    """F.scaled_dot_product_attention on float32 GPU leaves: [out, dq, dk, dv] as NumPy."""
    ts = [mt.tensor(a, device='gpu', requires_grad=True) for a in arrays]
    gen = mt.Generator().manual_seed(seed)
    out = F.scaled_dot_product_attention(*ts, dropout_p=p, is_causal=causal, scale=scale, generator=gen)
    assert ('FlashAttention', True) in grad_fn_names(out)
    out.backward(mt.tensor(g, device='gpu'))
    return [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in ts]


def reference_run(arrays, g, causal, p, seed, dtype=np.float64, scale=None):
    """The lecture chain on the GPU with the portable kernels (fast paths off), in `dtype`,
    drawing HashDropout's mask from the same generator seed as the fused call."""
    mt.backends.fast_paths = False
    try:
        ts = [mt.tensor(a.astype(dtype), device='gpu', requires_grad=True) for a in arrays]
        hd = arrays[0].shape[-1]
        scale = 1 / math.sqrt(hd) if scale is None else scale
        scores = ts[0] @ ts[1].transpose(-2, -1)                             # (..., Tq, Tk)
        if causal:
            wei = F.causal_softmax(scores, scale, p, generator=mt.Generator().manual_seed(seed))
        else:
            wei = (scores * scale).softmax(-1)
            if p:
                wei = N.HashDropout.apply(wei, p=p, seed=next_seed(mt.Generator().manual_seed(seed)))
        out = wei @ ts[2]
        out.backward(mt.tensor(g.astype(dtype), device='gpu'))
        return [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in ts]
    finally:
        mt.backends.fast_paths = True


def max_scaled_error(got, want):
    return max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1.0)) for a, b in zip(got, want))


def assert_close(got, want, rtol=RTOL, atol=ATOL):
    names = ('out', 'dq', 'dk', 'dv')
    for name, a, b in zip(names, got, want):
        assert np.isfinite(a).all(), name
        scale = max(float(np.abs(b).max(initial=0)), 1.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=name)


def case_arrays(bh, tq, tk, hd, seed=0):
    rng = np.random.default_rng(seed + 7919 * tq + 31 * hd)
    b, nh = bh
    return ([randn(rng, b, nh, tq, hd), randn(rng, b, nh, tk, hd), randn(rng, b, nh, tk, hd)],
            randn(rng, b, nh, tq, hd))


@pytest.mark.parametrize('T', [1, 7, 64, 65, 256, 300])
@pytest.mark.parametrize('hd', [16, 32, 64, 80, 128])
@pytest.mark.parametrize('p', [0.0, 0.2])
def test_causal_fused_matches_the_lecture_chain(T, hd, p):
    bh = (2, 3) if T <= 65 else (1, 2)
    arrays, g = case_arrays(bh, T, T, hd)
    seed = 1000 + T + hd
    fused = fused_run(arrays, g, True, p, seed)
    assert_close(fused, reference_run(arrays, g, True, p, seed))


@pytest.mark.parametrize('tq,tk', [(1, 37), (5, 130), (70, 70), (130, 5)])
@pytest.mark.parametrize('p', [0.0, 0.2])
def test_unmasked_fused_matches_the_lecture_chain(tq, tk, p):
    """No mask (the KV-cache decode step: one query against every cached key) and Tq != Tk."""
    arrays, g = case_arrays((2, 2), tq, tk, 32)
    fused = fused_run(arrays, g, False, p, 77)
    assert_close(fused, reference_run(arrays, g, False, p, 77))


def test_causal_with_more_queries_than_keys_is_top_left_aligned():
    arrays, g = case_arrays((1, 3), 100, 40, 16)
    fused = fused_run(arrays, g, True, 0.0, 0)
    ts = [mt.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]   # the CPU chain
    out = F.scaled_dot_product_attention(*ts, is_causal=True)
    out.backward(mt.tensor(g.astype(np.float64)))
    assert_close(fused, [out.detach().numpy()] + [t.grad.numpy() for t in ts])


def test_explicit_scale_and_dropout_with_the_same_seed_are_the_same_numbers():
    arrays, g = case_arrays((2, 2), 90, 90, 48)
    a = fused_run(arrays, g, True, 0.3, 5, scale=0.3)
    b = fused_run(arrays, g, True, 0.3, 5, scale=0.3)
    for x, y in zip(a, b):                              # deterministic: no atomics anywhere
        assert np.array_equal(x, y)
    assert_close(a, reference_run(arrays, g, True, 0.3, 5, scale=0.3))
    c = fused_run(arrays, g, True, 0.3, 6, scale=0.3)
    assert not np.array_equal(a[0], c[0])               # another seed, another mask


def test_float32_portable_chain_is_within_the_same_bound():
    """The bound is not loose for the fused kernel only: the cuBLAS + softmax chain in
    float32 meets it too, and the fused error is printed beside it."""
    arrays, g = case_arrays((2, 3), 300, 300, 128)
    ref = reference_run(arrays, g, True, 0.2, 9)
    portable32 = reference_run(arrays, g, True, 0.2, 9, dtype=np.float32)
    fused = fused_run(arrays, g, True, 0.2, 9)
    assert_close(portable32, ref)
    print(f"max error / max|ref|: fused {max_scaled_error(fused, ref):.2e}, "
          f"portable float32 {max_scaled_error(portable32, ref):.2e}")


# TF32 keeps 10 mantissa bits: each operand of the five tile products is rounded with
# relative error <= u = 2**-11 (4.9e-4), products accumulate in float32. A score
# scale * q.k of unit-normal inputs then errs by ~2u (random signs over hd terms, and
# scale = 1/sqrt(hd) undoes the sqrt(hd) growth), exp() passes that on as relative error
# of P, and each later product adds ~u: ~1e-3 of a tensor's largest magnitude, a few
# times that at the worst of ~1e5 elements. Bound: 1e-2 of the largest magnitude (~20u),
# per tensor; the cuBLAS TF32 chain's own error is printed beside it.
TF32_BOUND = 1e-2


@pytest.mark.parametrize('T', [1, 65, 300])
@pytest.mark.parametrize('hd', [16, 64, 80, 128])
@pytest.mark.parametrize('p', [0.0, 0.2])
def test_tf32_tensor_core_kernels_within_the_tf32_bound(T, hd, p, monkeypatch):
    monkeypatch.setattr(mt.backends, 'allow_tf32', True)
    assert flash.variant_for(hd) == 'tc', flash._tensor_core_error
    arrays, g = case_arrays((2, 3) if T <= 65 else (1, 2), T, T, hd)
    fused = fused_run(arrays, g, True, p, 31 + T)
    ref = reference_run(arrays, g, True, p, 31 + T)
    for name, a, b in zip(('out', 'dq', 'dk', 'dv'), fused, ref):
        err = float(np.abs(a - b).max() / max(np.abs(b).max(), 1.0))
        assert err <= TF32_BOUND, (name, err)


def test_tf32_kernels_are_recorded_and_compared_with_cublas_tf32(monkeypatch):
    monkeypatch.setattr(mt.backends, 'allow_tf32', True)
    arrays, g = case_arrays((2, 3), 256, 256, 64)
    ts = [mt.tensor(a, device='gpu', requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*ts, is_causal=True)
    assert out.grad_fn.name == 'FlashAttention' and out.grad_fn.variant == 'tc'
    fused = fused_run(arrays, g, True, 0.0, 1)
    ref = reference_run(arrays, g, True, 0.0, 1)
    monkeypatch.setattr(dispatch, 'ATTENTION_KERNEL', 'causal_softmax')           # cuBLAS TF32 GEMMs
    ts = [mt.tensor(a, device='gpu', requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*ts, is_causal=True)
    out.backward(mt.tensor(g, device='gpu'))
    cublas = [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in ts]
    print(f"TF32 max error / max|ref|: flash tc {max_scaled_error(fused, ref):.2e}, "
          f"cuBLAS TF32 chain {max_scaled_error(cublas, ref):.2e}")
    assert max_scaled_error(fused, ref) <= TF32_BOUND


# Half types: q, k, v, O and the gradients are stored rounded (bfloat16: u = 2**-8,
# float16: u = 2**-11), everything inside is float32 with TF32 products, which hold bf16 and
# fp16 values exactly; P and dS are rounded to TF32 (2**-11) before their products. The
# reference gets the same rounded inputs in float64, so the error is the output rounding
# (<= u/2 of an element, u/2 of the largest near the top) plus ~1e-3 from inside: bound
# 2e-2 (bfloat16, ~5 units of its last place at the largest element) and 1e-2 (float16).
HALF_BOUND = {'bfloat16': 2e-2, 'float16': 1e-2}


def reference_on_the_cpu(arrays, g, causal, p, keys, scale):
    """FlashAttention's xp branch in float64 on the CPU (its gradients gradcheck) with keys."""
    ts = [mt.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    out = FlashAttention.apply(*ts, scale=scale, causal=causal, dropout_p=p, keys=keys)
    out.backward(mt.tensor(g.astype(np.float64)))
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


@pytest.mark.parametrize('T,hd', [(7, 16), (65, 64), (300, 64), (130, 80), (64, 128)])
@pytest.mark.parametrize('p', [0.0, 0.2])
@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_half_types_through_sdpa(T, hd, p, dtype):
    half = getattr(mt, dtype)
    arrays, g = case_arrays((2, 2), T, T, hd)
    ts = [mt.tensor(a, device='gpu').to(half).requires_grad_(True) for a in arrays]
    gt = mt.tensor(g, device='gpu').to(half)
    rounded = [t.detach().float().cpu().numpy() for t in ts + [gt]]          # what the kernels see
    keys = dropout_keys(next_seed(mt.Generator().manual_seed(3)), p)
    out = F.scaled_dot_product_attention(*ts, dropout_p=p, is_causal=True, generator=mt.Generator().manual_seed(3))
    assert out.grad_fn.name == 'FlashAttention' and out.grad_fn.variant == 'tc' and out.dtype == half
    out.backward(gt)
    fused = [out.detach().float().cpu().numpy()] + [t.grad.float().cpu().numpy() for t in ts]
    assert all(t.grad.dtype == half for t in ts)
    ref = reference_on_the_cpu(rounded[:3], rounded[3], True, p, keys, hd ** -0.5)
    for name, a, b in zip(('out', 'dq', 'dk', 'dv'), fused, ref):
        assert np.isfinite(a).all(), name
        err = float(np.abs(a.astype(np.float64) - b).max() / max(np.abs(b).max(), 1.0))
        assert err <= HALF_BOUND[dtype], (name, err)


def test_autocast_bf16_sdpa_runs_flash():
    x = mt.tensor(randn(np.random.default_rng(2), 2, 3, 40, 32), device='gpu', requires_grad=True)
    with mt.autocast('cuda', dtype=mt.bfloat16):
        out = F.scaled_dot_product_attention(x, x, x, is_causal=True)
    assert out.dtype == mt.bfloat16 and out.grad_fn.name == 'FlashAttention'
    out.float().sum().backward()
    assert x.grad.dtype == mt.float32 and np.isfinite(x.grad.cpu().numpy()).all()


@pytest.mark.parametrize('T,hd', [(7, 16), (65, 64), (300, 64), (130, 80)])
@pytest.mark.parametrize('p', [0.0, 0.2])
def test_bfloat16_kernels(T, hd, p):
    """The kernels on bfloat16 CuPy arrays (ml_dtypes), called as FlashAttention calls them:
    what an autocast sdpa runs once minitensor tensors hold bfloat16."""
    ml_dtypes = pytest.importorskip('ml_dtypes')
    cp = mt.backend.cupy_module()
    arrays, g = case_arrays((2, 2), T, T, hd)
    bf = [a.astype(ml_dtypes.bfloat16) for a in arrays + [g]]
    try:
        q, k, v, gg = (cp.asarray(a) for a in bf)
    except (TypeError, ValueError) as e:
        pytest.skip(f'this CuPy does not hold bfloat16 arrays: {e}')
    assert flash.takes(q, k, v) and flash.variant_for(hd, 'bfloat16') == 'tc', flash._tensor_core_error
    keys = dropout_keys(12345, p)
    out, lse = flash.flash_attention_forward(q, k, v, hd ** -0.5, True, p, keys, 'tc')
    grads = flash.flash_attention_backward(gg, q, k, v, out, lse, hd ** -0.5, True, p, keys, 'tc')
    fused = [a.get() for a in (out, *grads)]
    rounded = [a.astype(np.float32) for a in bf]
    ref = reference_on_the_cpu(rounded[:3], rounded[3], True, p, keys, hd ** -0.5)
    for name, a, b in zip(('out', 'dq', 'dk', 'dv'), fused, ref):
        assert a.dtype == bf[0].dtype, name
        a = a.astype(np.float64)
        assert np.isfinite(a).all(), name
        err = float(np.abs(a - b).max() / max(np.abs(b).max(), 1.0))
        assert err <= HALF_BOUND['bfloat16'], (name, err)


def test_gpt_shaped_non_contiguous_inputs():
    """q, k, v as the GPT makes them: split of one (B, T, 3C) tensor, view, transpose."""
    rng = np.random.default_rng(3)
    B, T, nh, hs = 3, 70, 4, 16
    qkv_np, g = randn(rng, B, T, 3 * nh * hs), randn(rng, B, nh, T, hs)
    grads = []
    for fused in (True, False):
        mt.backends.fast_paths = fused
        qkv = mt.tensor(qkv_np.astype(np.float32 if fused else np.float64), device='gpu', requires_grad=True)
        q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in qkv.split(nh * hs, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        assert (('FlashAttention', True) in grad_fn_names(out)) == fused
        out.backward(mt.tensor(g.astype(np.float32 if fused else np.float64), device='gpu'))
        grads.append([out.detach().cpu().numpy(), qkv.grad.cpu().numpy()])
    mt.backends.fast_paths = True
    assert_close(*grads)


def test_fully_masked_row_gives_zeros_not_nan():
    """Query 66's every score is -inf (an -inf in its q row against positive k[.., 0]): its
    output row is 0, as the portable softmax gives, and dq, dv stay finite (dk is NaN in
    both paths: its row 66 term is 0 * -inf)."""
    rng = np.random.default_rng(4)
    q, k, v = randn(rng, 1, 1, 70, 16), randn(rng, 1, 1, 70, 16), randn(rng, 1, 1, 70, 16)
    q[0, 0, 66] = 0
    q[0, 0, 66, 0] = -np.inf
    k[0, 0, :, 0] = np.abs(k[0, 0, :, 0]) + 0.5
    ts = [mt.tensor(a, device='gpu', requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ts, is_causal=True)
    assert out.grad_fn.name == 'FlashAttention'
    out.sum().backward()
    o, dq, dv = out.detach().cpu().numpy(), ts[0].grad.cpu().numpy(), ts[2].grad.cpu().numpy()
    assert (o[0, 0, 66] == 0).all() and np.isfinite(o).all()
    assert (dq[0, 0, 66] == 0).all() and np.isfinite(dq).all() and np.isfinite(dv).all()
    mt.backends.fast_paths = False
    ref = [mt.tensor(a, device='gpu', requires_grad=True) for a in (q, k, v)]
    out_ref = F.scaled_dot_product_attention(*ref, is_causal=True)
    out_ref.sum().backward()
    np.testing.assert_allclose(o, out_ref.detach().cpu().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dv, ref[2].grad.cpu().numpy(), rtol=1e-5, atol=1e-5)


def test_dropout_rate_inside_the_tiles():
    """Zero queries and keys: uniform weights; values = the first 64 columns of the identity,
    so out[b, i, d] IS the dropped weight of key d for query i (visible iff d <= i)."""
    S = 256
    qk = mt.zeros(8, S, 64, device='gpu')
    v = mt.eye(S, device='gpu')[:, :64].unsqueeze(0).expand(8, S, 64)
    out = F.scaled_dot_product_attention(qk, qk, v, dropout_p=0.25, is_causal=True).cpu().numpy()
    lower = np.tril(np.ones((S, 64), dtype=bool))
    assert abs((out[:, lower] == 0).mean() - 0.25) < 0.01
    assert not out[:, ~lower].any()
    kept = out[:, lower][out[:, lower] != 0]
    i = np.broadcast_to(np.arange(S)[:, None], (S, 64))[lower]
    expected = np.broadcast_to(1 / (i + 1) / 0.75, (8, len(i)))[out[:, lower] != 0]
    np.testing.assert_allclose(kept, expected, rtol=1e-6)


def test_engine_choice_and_the_switches():
    x = mt.tensor(randn(np.random.default_rng(0), 2, 3, 16, 8), device='gpu', requires_grad=True)
    assert ('FlashAttention', True) in grad_fn_names(F.scaled_dot_product_attention(x, x, x, is_causal=True))
    dispatch.ATTENTION_KERNEL = 'causal_softmax'        # the earlier fusion stays selectable
    assert ('CausalSoftmax', True) in grad_fn_names(F.scaled_dot_product_attention(x, x, x, is_causal=True))
    dispatch.ATTENTION_KERNEL = 'flash'
    mask = mt.ones(16, 16, device='gpu', dtype=mt.bool)
    names = grad_fn_names(F.scaled_dot_product_attention(x, x, x, attn_mask=mask))
    assert not any(n == 'FlashAttention' for n, _ in names)      # masks: the lecture chain
    mt.backends.fast_paths = False
    names = grad_fn_names(F.scaled_dot_product_attention(x, x, x, is_causal=True))
    assert not any(n == 'FlashAttention' for n, _ in names)


def pool_peak(fn):
    """Bytes the CuPy pool grows by while fn runs (it keeps freed blocks: its high-water mark)."""
    cp = mt.backend.cupy_module()
    pool = cp.get_default_memory_pool()
    cp.cuda.get_current_stream().synchronize()
    pool.free_all_blocks()
    base = pool.total_bytes()
    fn()
    cp.cuda.get_current_stream().synchronize()
    return pool.total_bytes() - base


def lecture_step(kernel, arrays, g, fast=True, tf32=False, half=False):
    if half:
        arrays, g = [a.to(mt.float16) for a in arrays], g.to(mt.float16)

    def step():
        mt.backends.fast_paths, mt.backends.allow_tf32 = fast, tf32
        dispatch.ATTENTION_KERNEL = kernel
        ts = [a.detach().requires_grad_(True) for a in arrays]     # leaves sharing the inputs' memory
        out = F.scaled_dot_product_attention(*ts, dropout_p=0.2, is_causal=True)
        out.backward(g)
        return ts
    return step


def lecture_inputs():
    rng = np.random.default_rng(0)
    B, nh, T, hd = 64, 6, 256, 64
    arrays = [mt.tensor(randn(rng, B, nh, T, hd), device='gpu').array for _ in range(3)]
    g = mt.tensor(randn(rng, B, nh, T, hd), device='gpu')
    return arrays, g, B * nh * T * T * 4


def test_memory_far_below_the_materialised_scores():
    """B=64, nh=6, T=256, hd=64 forward + backward: the fused path's pool growth is its
    output and the three gradients (4 x (B, nh, T, hd) = one (B, nh, T, T) float32 array
    here), not the several (B, nh, T, T) arrays the CausalSoftmax path holds."""
    arrays, g, tt_bytes = lecture_inputs()
    arrays = [mt.tensor(a, device='gpu') for a in arrays]
    fused = pool_peak(lecture_step('flash', arrays, g))
    earlier = pool_peak(lecture_step('causal_softmax', arrays, g))
    print(f"pool growth, fwd+bwd: flash {fused / 2**20:.0f} MiB, causal_softmax {earlier / 2**20:.0f} MiB, "
          f"one (B,nh,T,T) float32 {tt_bytes / 2**20:.0f} MiB")
    assert fused <= 1.25 * tt_bytes
    assert fused * 2 < earlier


def test_timing_print(capsys):
    """The lead reads this: fwd+bwd milliseconds at the lecture size (not a pass/fail figure)."""
    cp = mt.backend.cupy_module()
    arrays, g, _ = lecture_inputs()
    arrays = [mt.tensor(a, device='gpu') for a in arrays]
    rows = []
    for label, kernel, fast, tf32, half in (('flash', 'flash', True, False, False),
                                            ('flash tf32', 'flash', True, True, False),
                                            ('flash fp16', 'flash', True, False, True),
                                            ('causal_softmax', 'causal_softmax', True, False, False),
                                            ('causal_softmax tf32', 'causal_softmax', True, True, False),
                                            ('portable', 'flash', False, False, False)):
        step = lecture_step(kernel, arrays, g, fast, tf32, half)
        for _ in range(3):
            step()
        cp.cuda.get_current_stream().synchronize()
        times = []
        for _ in range(10):
            start = time.perf_counter()
            step()
            cp.cuda.get_current_stream().synchronize()
            times.append(time.perf_counter() - start)
        rows.append(f"{label} {1e3 * sorted(times)[len(times) // 2]:.2f} ms")
    mt.backends.fast_paths, mt.backends.allow_tf32 = True, False
    with capsys.disabled():
        print("\nattention fwd+bwd, B=64 nh=6 T=256 hd=64 p=0.2 float32: " + ", ".join(rows))
    assert len(rows) == 6


def test_dropout_index_range_is_checked_as_keep_masks():
    with pytest.raises(ValueError, match='2\\*\\*32'):
        flash._check_index_range(70000, 256, 256, 0.1)
    flash._check_index_range(70000, 256, 256, 0.0)          # no dropout: no hash index


def test_auto_choice_takes_the_faster_kernel_per_precision():
    """'auto': flash for float32 and the half types, CausalSoftmax's cuBLAS GEMMs under TF32."""
    x = mt.tensor(randn(np.random.default_rng(1), 2, 3, 16, 16), device='gpu', requires_grad=True)
    dispatch.ATTENTION_KERNEL = 'auto'
    try:
        assert ('FlashAttention', True) in grad_fn_names(F.scaled_dot_product_attention(x, x, x, is_causal=True))
        mt.backends.allow_tf32 = True
        assert ('CausalSoftmax', True) in grad_fn_names(F.scaled_dot_product_attention(x, x, x, is_causal=True))
        h = x.detach().to(mt.float16).requires_grad_(True)
        assert ('FlashAttention', True) in grad_fn_names(F.scaled_dot_product_attention(h, h, h, is_causal=True))
    finally:
        mt.backends.allow_tf32 = False
        dispatch.ATTENTION_KERNEL = 'auto'


def test_compile_kernels_builds_what_a_captured_step_launches():
    flash.compile_kernels(64)
    for kind in ('fwd', 'dkdv', 'dq'):
        for device_keys in (False, True):
            assert flash._kernel('simt', kind, 64, 0, device_keys)[0].attributes['num_regs'] > 0
