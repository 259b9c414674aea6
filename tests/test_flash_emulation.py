"""The fused attention's algorithm, proven on the CPU before it runs on a GPU.

`emulate_forward` / `emulate_backward` are cuda/flash_attention.py's three kernels
transcribed to NumPy loop for loop (the same tiles, the same online softmax, the same
causal tile skipping, the same per-element hash index, float32 throughout); they are
checked against the portable lecture chain and against FlashAttention's xp branch, which
in turn is gradchecked in float64 and compared with torch's SDPA.
"""
import math

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from minitensor import cuda
from minitensor.cuda import flash_attention as flash
from minitensor.ops import dispatch
from minitensor.ops import nn as N
from minitensor.ops.flash import FlashAttention
from minitensor.random_hash import _fmix32, dropout_keys, keep_mask

TILE = 64                       # the kernels' tile; the emulation also runs with small tiles


def keep_at(index, keys):
    """mt_keep(index, k1, k2, thr) on a uint32 array of flat indices: the kernels' test."""
    k1, k2, thr = keys
    h = _fmix32(index.astype(np.uint32) ^ np.uint32(k1))
    h = _fmix32(h ^ np.uint32(k2))
    return (h >> np.uint32(8)) >= np.uint32(thr)


def drop_index(bh, i, j, tq, tk):
    """((bh * Tq + i) * Tk + j) mod 2**32, as the kernels' unsigned arithmetic."""
    return ((np.uint64(bh) * np.uint64(tq) + i.astype(np.uint64)[:, None]) * np.uint64(tk)
            + j.astype(np.uint64)[None, :]).astype(np.uint32)


def padded(a, r0, tile):
    """Rows r0 .. r0 + tile of a (T, HD) matrix, zero rows past its end (load_tile)."""
    out = np.zeros((tile, a.shape[1]), np.float32)
    rows = a[r0:r0 + tile]
    out[:len(rows)] = rows
    return out


def tile_mask(i0, j0, tq, tk, causal, tile):
    i = i0 + np.arange(tile)[:, None]
    j = j0 + np.arange(tile)[None, :]
    return (i < tq) & (j < tk) & ((j <= i) if causal else True), i[:, 0], j[0]


def emulate_forward(q, k, v, scale, causal, p, keys, tile=TILE):
    """flash_fwd: q (BH, Tq, HD), k, v (BH, Tk, HD) float32 -> O (BH, Tq, HD), L (BH, Tq)."""
    bh_n, tq, hd = q.shape
    tk = k.shape[1]
    scale, inv_keep = np.float32(scale), np.float32(1.0 / (1.0 - p) if p else 1.0)
    out, lse = np.zeros_like(q), np.zeros((bh_n, tq), np.float32)
    for bh in range(bh_n):
        for i0 in range(0, tq, tile):
            sq = padded(q[bh], i0, tile)
            m = np.full(tile, -np.inf, np.float32)
            l = np.zeros(tile, np.float32)
            o = np.zeros((tile, hd), np.float32)
            kend = min(tk, i0 + tile) if causal else tk
            for j0 in range(0, kend, tile):
                s = sq @ padded(k[bh], j0, tile).T
                vis, i, j = tile_mask(i0, j0, tq, tk, causal, tile)
                s = np.where(vis, s * scale, -np.inf).astype(np.float32)
                m_new = np.maximum(m, s.max(axis=1))
                m_ref = np.where(m_new == -np.inf, np.float32(0), m_new)
                alpha = np.exp(m - m_ref)
                pt = np.exp(s - m_ref[:, None])
                l = l * alpha + pt.sum(axis=1)
                m = m_new
                if p:
                    pt = np.where(keep_at(drop_index(bh, i, j, tq, tk), keys), pt * inv_keep, 0)
                o = o * alpha[:, None] + pt.astype(np.float32) @ padded(v[bh], j0, tile)
            rows = slice(i0, min(i0 + tile, tq))
            n = rows.stop - rows.start
            inv = np.where(l == 0, np.float32(0), 1 / np.where(l == 0, 1, l))
            out[bh, rows] = (o * inv[:, None])[:n]
            with np.errstate(divide='ignore'):
                lse[bh, rows] = np.where(l == 0, np.inf, m + np.log(l))[:n]
    return out, lse


def _recompute(sa, sb, so, sv, L, D, i0, j0, bh, tq, tk, scale, causal, p, keys, tile, transposed):
    """P (dropped) and dS of one tile pair, as both backward kernels compute them.
    transposed: rows are keys and columns queries (flash_bwd_dkdv), else the other way."""
    vis, i, j = tile_mask(i0, j0, tq, tk, causal, tile)          # (query, key)
    s = (sa @ sb.T) * np.float32(scale)                            # (query, key)
    dp = so @ sv.T
    with np.errstate(over='ignore', invalid='ignore'):
        prob = np.where(vis, np.exp(s - L[:, None]), 0).astype(np.float32)
    pd = prob
    if p:
        keep = keep_at(drop_index(bh, i, j, tq, tk), keys)
        inv_keep = np.float32(1.0 / (1.0 - p))
        pd = np.where(keep, prob * inv_keep, 0).astype(np.float32)
        dp = np.where(keep, dp * inv_keep, 0).astype(np.float32)
    ds = np.where(vis, prob * (dp - D[:, None]) * np.float32(scale), 0).astype(np.float32)
    return (pd.T, ds.T) if transposed else (pd, ds)


def emulate_backward(g, q, k, v, out, lse, scale, causal, p, keys, tile=TILE):
    """flash_bwd_dkdv then flash_bwd_dq -> dq, dk, dv."""
    bh_n, tq, hd = q.shape
    tk = k.shape[1]
    delta = (g * out).sum(axis=-1)                                 # (BH, Tq)
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)

    def rows_of(a, r0):                                            # L or D of a tile, padded
        out_ = np.full(tile, np.inf if a is lse else 0, np.float32)
        part = a[bh, r0:r0 + tile]
        out_[:len(part)] = part
        return out_

    for bh in range(bh_n):
        for j0 in range(0, tk, tile):                              # flash_bwd_dkdv
            sk, sv = padded(k[bh], j0, tile), padded(v[bh], j0, tile)
            acc_k = np.zeros((tile, hd), np.float32)
            acc_v = np.zeros((tile, hd), np.float32)
            for i0 in range((j0 // tile) * tile if causal else 0, tq, tile):
                sq, so = padded(q[bh], i0, tile), padded(g[bh], i0, tile)
                pt, dst = _recompute(sq, sk, so, sv, rows_of(lse, i0), rows_of(delta, i0), i0, j0, bh,
                                     tq, tk, scale, causal, p, keys, tile, transposed=True)
                acc_v += pt @ so
                acc_k += dst @ sq
            n = min(tile, tk - j0)
            dk[bh, j0:j0 + n], dv[bh, j0:j0 + n] = acc_k[:n], acc_v[:n]
        for i0 in range(0, tq, tile):                              # flash_bwd_dq
            sq, so = padded(q[bh], i0, tile), padded(g[bh], i0, tile)
            acc_q = np.zeros((tile, hd), np.float32)
            for j0 in range(0, min(tk, i0 + tile) if causal else tk, tile):
                sk, sv = padded(k[bh], j0, tile), padded(v[bh], j0, tile)
                _, ds = _recompute(sq, sk, so, sv, rows_of(lse, i0), rows_of(delta, i0), i0, j0, bh,
                                   tq, tk, scale, causal, p, keys, tile, transposed=False)
                acc_q += ds @ sk
            n = min(tile, tq - i0)
            dq[bh, i0:i0 + n] = acc_q[:n]
    return dq, dk, dv


def portable(q, k, v, g, scale, causal, p, seed):
    """The lecture chain on the CPU with HashDropout's mask for `seed`: output and grads."""
    ts = [mt.tensor(a, requires_grad=True) for a in (q, k, v)]
    scores = ts[0] @ ts[1].transpose(-2, -1)
    if causal:
        wei = N.CausalSoftmax.apply(scores, scale=scale, dropout_p=p, seed=seed)
    else:
        wei = (scores * scale).softmax(-1)
        wei = N.HashDropout.apply(wei, p=p, seed=seed) if p else wei
    out = wei @ ts[2]
    (out * mt.tensor(g)).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


def assert_close(got, want, rtol=2e-5, atol=2e-6):
    """float32 against float32 with a different summation order: rtol, plus atol scaled by
    the largest magnitude (a gradient summed over T terms carries their rounding)."""
    for a, b in zip(got, want):
        scale = max(1.0, float(np.abs(b).max(initial=0)))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale)


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_keep_at_is_keep_mask():
    idx = np.arange(5000, dtype=np.uint32)
    assert (keep_at(idx, dropout_keys(1234567, 0.3)) == keep_mask(np, (5000,), 1234567, 0.3)).all()
    assert (drop_index(2, np.arange(3), np.arange(5), 3, 5) == np.arange(30, 45).reshape(3, 5)).all()


SHAPES = [(1, 1, 16, 64), (7, 7, 16, 64), (65, 65, 32, 64), (130, 130, 16, 64), (13, 13, 8, 4), (21, 21, 5, 8),
          (9, 17, 8, 4), (17, 9, 8, 4)]


# the lecture chain's causal mask (CausalSoftmax) is square: Tq != Tk runs unmasked here,
# and causal against FlashAttention's xp branch below
@pytest.mark.parametrize('tq,tk,hd,tile,causal', [s + (c,) for s in SHAPES for c in (True, False)
                                                   if not (c and s[0] != s[1])])
@pytest.mark.parametrize('p', [0.0, 0.2])
def test_emulated_tiles_match_the_portable_chain(tq, tk, hd, tile, causal, p):
    rng = np.random.default_rng(tq * 1000 + tk * 10 + hd)
    bh = 3
    q, k, v = randn(rng, bh, tq, hd) * 2, randn(rng, bh, tk, hd) * 2, randn(rng, bh, tk, hd)
    g = randn(rng, bh, tq, hd)
    seed, scale = 987654321, 1 / math.sqrt(hd)
    keys = dropout_keys(seed, p)
    out, lse = emulate_forward(q, k, v, scale, causal, p, keys, tile)
    grads = emulate_backward(g, q, k, v, out, lse, scale, causal, p, keys, tile)
    assert_close([out, *grads], portable(q, k, v, g, scale, causal, p, seed))


@pytest.mark.parametrize('tq,tk', [(9, 17), (17, 9), (12, 12)])
@pytest.mark.parametrize('causal', [True, False])
@pytest.mark.parametrize('p', [0.0, 0.3])
def test_emulated_tiles_match_flash_attentions_xp_branch(tq, tk, causal, p):
    """Also Tq != Tk under the causal mask (top-left aligned, as torch's is_causal)."""
    rng = np.random.default_rng(tq + 100 * tk)
    q, k, v, g = randn(rng, 2, tq, 8), randn(rng, 2, tk, 8), randn(rng, 2, tk, 8), randn(rng, 2, tq, 8)
    out, lse = emulate_forward(q, k, v, 0.5, causal, p, dropout_keys(42, p), tile=4)
    grads = emulate_backward(g, q, k, v, out, lse, 0.5, causal, p, dropout_keys(42, p), tile=4)
    ts = [mt.tensor(a, requires_grad=True) for a in (q, k, v)]
    y = FlashAttention.apply(*ts, scale=0.5, causal=causal, dropout_p=p, seed=42)
    (y * mt.tensor(g)).sum().backward()
    assert_close([out, *grads], [y.detach().numpy()] + [t.grad.numpy() for t in ts])


def test_emulated_fully_masked_row_gives_zeros_not_nan():
    """A query whose every visible score is -inf (an -inf in its q row): output and gradient 0."""
    rng = np.random.default_rng(3)
    q, k, v, g = (randn(rng, 1, 6, 4) for _ in range(4))
    q[0, 0] = [-np.inf, 0, 0, 0]
    k[0, 0] = [1, 0, 0, 0]                          # query 0 sees key 0 only: score -inf
    with np.errstate(invalid='ignore'):
        out, lse = emulate_forward(q, k, v, 0.5, True, 0.0, dropout_keys(0, 0.0), tile=4)
    assert (out[0, 0] == 0).all() and np.isfinite(out).all() and lse[0, 0] == np.inf


@pytest.mark.parametrize('causal', [True, False])
@pytest.mark.parametrize('p', [0.0, 0.4])
def test_flash_attention_gradcheck_float64(causal, p):
    rng = np.random.default_rng(0)
    ts = [mt.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True) for _ in range(2)]
    ts.append(mt.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True))
    assert mt.gradcheck(lambda q, k, v: FlashAttention.apply(q, k, v, scale=0.7, causal=causal,
                                                             dropout_p=p, seed=5), ts)


@pytest.mark.parametrize('causal,tq,tk', [(True, 6, 6), (False, 6, 9), (True, 9, 6), (True, 1, 1)])
def test_flash_attention_matches_torch_sdpa(causal, tq, tk):
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3, n, 8)) for n in (tq, tk, tk)]
    ours = [mt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = FlashAttention.apply(*ours, scale=8 ** -0.5, causal=causal)
    expected = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=causal)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(expected.shape)
    (out * mt.tensor(g)).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_sdpa_on_the_cpu_stays_the_lecture_chain():
    q = mt.randn(1, 2, 5, 4, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert out.grad_fn.name != 'FlashAttention'


@pytest.fixture
def fake_flash_kernels(monkeypatch):
    """NumPy float32 arrays count as GPU arrays; the two kernel entry points are recording
    fakes that run the emulation above, so the engine's choice can be watched on the CPU."""
    monkeypatch.setattr(mt.backends, 'fast_paths', True)
    monkeypatch.setattr(dispatch, 'ATTENTION_KERNEL', 'flash')
    monkeypatch.setattr(cuda, 'is_gpu', lambda a: True)
    monkeypatch.setattr(flash, 'is_gpu', lambda a: True)
    monkeypatch.setattr(flash, '_fits_shared_memory', lambda hd: True)
    calls = []

    def forward(q, k, v, scale, causal, p, keys, variant):
        calls.append('flash_attention_forward')
        shape = q.shape
        q, k, v = (a.reshape(-1, *a.shape[-2:]) for a in (q, k, v))
        out, lse = emulate_forward(q, k, v, scale, causal, p, keys, tile=4)
        return out.reshape(shape), lse

    def backward(g, q, k, v, out, lse, scale, causal, p, keys, variant):
        calls.append('flash_attention_backward')
        flat = [a.reshape(-1, *a.shape[-2:]) for a in (g, q, k, v, out)]
        grads = emulate_backward(*flat, lse, scale, causal, p, keys, tile=4)
        return tuple(d.reshape(a.shape) for d, a in zip(grads, (q, k, v)))
    monkeypatch.setattr(flash, 'flash_attention_forward', forward)
    monkeypatch.setattr(flash, 'flash_attention_backward', backward)
    monkeypatch.setattr(flash, 'variant_for', lambda hd, dtype_name: 'simt')
    return calls


def test_sdpa_picks_flash_attention_where_it_applies(fake_flash_kernels):
    calls = fake_flash_kernels
    rng = np.random.default_rng(0)
    q, k, v = (mt.tensor(randn(rng, 2, 3, 9, 8), requires_grad=True) for _ in range(3))
    gen = lambda: mt.Generator().manual_seed(11)                    # noqa: E731 the same seed twice
    fused = F.scaled_dot_product_attention(q, k, v, dropout_p=0.2, is_causal=True, generator=gen())
    assert fused.grad_fn.name == 'FlashAttention' and fused.grad_fn.fused is True
    fused.sum().backward()
    assert calls == ['flash_attention_forward', 'flash_attention_backward']
    grads = [t.grad.numpy().copy() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    mt.backends.fast_paths = False                                   # CausalSoftmax's hash mask, portable
    wei = F.causal_softmax(q @ k.transpose(-2, -1), 8 ** -0.5, 0.2, generator=gen())
    portable = wei @ v
    portable.sum().backward()
    assert_close([fused.detach().numpy()] + grads, [portable.detach().numpy()] + [t.grad.numpy() for t in (q, k, v)])
    mt.backends.fast_paths = True
    del calls[:]
    F.scaled_dot_product_attention(q, k[..., :4, :], v[..., :4, :])             # no mask, Tq != Tk: flash
    assert calls == ['flash_attention_forward']
    del calls[:]
    F.scaled_dot_product_attention(q, k, v, attn_mask=mt.ones(9, 9).bool())    # a mask: the lecture chain
    F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=True)
    wide = mt.randn(1, 2, 3, 130)                                             # head size > 128
    F.scaled_dot_product_attention(wide, wide, wide)
    F.scaled_dot_product_attention(q, k[:1], v[:1])                           # batch dims differ (broadcast)
    assert calls == []
