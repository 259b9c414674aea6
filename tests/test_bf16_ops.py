"""Every op of the differential tables on bfloat16 inputs against torch's CPU bfloat16.

Tolerances. bfloat16 keeps 8 significant bits, so one rounding moves a value by at
most half a unit in the last place, 2**-8 relative (2**-7 between neighbours).
Both libraries compute in float32 and round the result once (the engine through
`ops/precision.py`, NumPy's bfloat16 ufuncs per element), so a forward value may
differ from torch's by one neighbour where the float32 results straddle a rounding
boundary: rtol 2**-6 (two neighbours) with atol 2**-8 for results near zero.
Gradients are chains of bfloat16 ops (each rounding once) on both sides, in
different orders: rtol 2**-4 and atol 2**-5 of the gradient's largest magnitude
(four to eight roundings of 2**-8).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitensor as mt

torch = pytest.importorskip('torch')
pytest.importorskip('ml_dtypes')

import test_ops_torch_diff  # noqa: E402  (the tables; they need torch, hence after the skip)
import test_reduce_torch_diff  # noqa: E402
from torch_diff import Op, _layout, _values, ranked, shapes  # noqa: E402

FWD_RTOL, FWD_ATOL = 2 ** -6, 2 ** -8
GRAD_RTOL, GRAD_ATOL = 2 ** -4, 2 ** -5


def F(L):
    return L.nn.functional


def idx(L, n, size, seed=0):
    return L.tensor(np.random.default_rng(seed).integers(0, max(n, 1), size=size) if n else
                    np.zeros(size, np.int64))


# the families the elementwise/reduce tables do not hold: matmuls, nn ops, indexing, shapes
NN_TABLE = [
    Op('matmul_2d', lambda L, a, b: a @ b, shapes=st.tuples(st.just((5, 7)), st.just((7, 3)))),
    Op('matmul_batched', lambda L, a, b: L.matmul(a, b), shapes=st.tuples(st.just((2, 4, 6)), st.just((6, 3)))),
    Op('matmul_vec', lambda L, a, b: a @ b, shapes=st.tuples(st.just((6,)), st.just((6, 2)))),
    Op('matmul_3d', lambda L, a, b: a @ b, shapes=st.tuples(st.just((2, 3, 4)), st.just((2, 4, 5)))),
    Op('linear', lambda L, x, w, b: F(L).linear(x, w, b), shapes=st.tuples(st.just((2, 3, 8)), st.just((4, 8)),
                                                                           st.just((4,)))),
    Op('linear_long_k', lambda L, x, w: F(L).linear(x, w), shapes=st.tuples(st.just((4, 512)), st.just((3, 512)))),
    Op('softmax', lambda L, x: F(L).softmax(x, dim=-1), shapes=ranked(1)),
    Op('log_softmax', lambda L, x: F(L).log_softmax(x, dim=-1), shapes=ranked(1)),
    Op('layer_norm', lambda L, x, w, b: F(L).layer_norm(x, (6,), w, b),
       shapes=st.tuples(st.just((3, 6)), st.just((6,)), st.just((6,)))),
    Op('cross_entropy', lambda L, x: F(L).cross_entropy(x, idx(L, 5, (4,))), shapes=st.tuples(st.just((4, 5)))),
    Op('cross_entropy_smooth', lambda L, x: F(L).cross_entropy(x, idx(L, 5, (4,)), label_smoothing=0.1),
       shapes=st.tuples(st.just((4, 5)))),
    Op('nll_loss', lambda L, x: F(L).nll_loss(x, idx(L, 5, (4,))), shapes=st.tuples(st.just((4, 5)))),
    Op('mse_loss', lambda L, a, b: F(L).mse_loss(a, b), shapes=st.tuples(st.just((3, 4)), st.just((3, 4)))),
    Op('embedding', lambda L, w: F(L).embedding(idx(L, 6, (2, 5)), w), shapes=st.tuples(st.just((6, 3)))),
    Op('getitem_int_tensor', lambda L, x: x[idx(L, x.shape[0], (5,))], shapes=st.tuples(st.just((4, 3)))),
    Op('getitem_slice', lambda L, x: x[1:, ::2], shapes=st.tuples(st.just((4, 5)))),
    Op('masked_fill', lambda L, x: x.masked_fill(x > 0, float('-inf')).softmax(-1).nan_to_num(),
       shapes=st.tuples(st.just((3, 4)))),
    Op('cat', lambda L, a, b: L.cat([a, b], dim=-1), shapes=st.tuples(st.just((2, 3)), st.just((2, 2)))),
    Op('stack', lambda L, a, b: L.stack([a, b]), shapes=st.tuples(st.just((2, 3)), st.just((2, 3)))),
    Op('transpose_view', lambda L, x: x.transpose(0, 1).reshape(-1), shapes=st.tuples(st.just((3, 4)))),
    Op('where', lambda L, a, b: L.where(a > b, a, b), shapes=st.tuples(st.just((3, 4)), st.just((3, 4)))),
    Op('conv1d', lambda L, x, w: F(L).conv1d(x, w, padding=1), shapes=st.tuples(st.just((2, 3, 7)),
                                                                                st.just((4, 3, 3)))),
    Op('conv2d', lambda L, x, w: F(L).conv2d(x, w), shapes=st.tuples(st.just((1, 2, 5, 5)), st.just((3, 2, 3, 3)))),
    Op('sdpa_causal', lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, is_causal=True),
       shapes=st.tuples(*[st.just((2, 2, 5, 4))] * 3)),
    Op('gelu', lambda L, x: F(L).gelu(x), shapes=shapes(1, 2, 1)),
    Op('dropout_eval', lambda L, x: F(L).dropout(x, 0.5, training=False), shapes=shapes(1, 2, 1)),
    Op('avg_pool1d', lambda L, x: F(L).avg_pool1d(x, 2), shapes=st.tuples(st.just((1, 2, 6)))),
    Op('max_pool1d', lambda L, x: F(L).max_pool1d(x, 2), shapes=st.tuples(st.just((1, 2, 6)))),
    Op('batch_norm', lambda L, x: F(L).batch_norm(x, None, None, training=True), shapes=st.tuples(st.just((5, 3)))),
]


def _to_bf16(lib, array):
    """An exactly representable bfloat16 tensor of `array`'s values on both sides."""
    if lib is torch:
        return torch.from_numpy(np.ascontiguousarray(array)).to(torch.bfloat16)
    return mt.from_numpy(array).to(mt.bfloat16)


def _numpy(t):
    return t.detach().float().numpy() if isinstance(t, torch.Tensor) else t.detach().float().numpy()


def _close(name, what, ours, theirs, rtol, atol):
    if theirs.dtype == bool or theirs.dtype.kind in 'iu':
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{name}: {what}")
    else:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"{name}: {what}")


def check_bf16(op, input_shapes, seed, layout):
    """op on bfloat16 inputs (float64 table inputs become bfloat16): output dtypes as torch,
    values within the bounds above, each float input's gradient bfloat16 and close."""
    rng = np.random.default_rng(seed)
    arrays = [_layout(np.asarray(_values(rng, s, d, dom, op.kinks, False)), layout)
              for s, d, dom in zip(input_shapes, op.dtypes, op.domain)]
    floating = [a.dtype == np.float64 for a in arrays]
    ours = [_to_bf16(mt, a) if f else mt.from_numpy(a) for a, f in zip(arrays, floating)]
    theirs = [_to_bf16(torch, a) if f else torch.from_numpy(np.ascontiguousarray(a))
              for a, f in zip(arrays, floating)]
    for o, t, f in zip(ours, theirs, floating):
        if f and op.grad:
            o.requires_grad_(True)
            t.requires_grad_(True)
    try:
        expected = op.fn(torch, *theirs)
    except NotImplementedError as e:             # torch's CPU lacks a bfloat16 kernel (cdist):
        assert 'BFloat16' in str(e)              # its float32 result, rounded, is the reference
        theirs = [t.detach().float().requires_grad_(t.requires_grad) if t.is_floating_point() else t
                  for t in theirs]
        expected = op.fn(torch, *theirs)
        expected = tuple(e.bfloat16() if e.is_floating_point() else e for e in
                         (expected if isinstance(expected, (tuple, list)) else (expected,)))
    except Exception as e:                       # torch refuses: so must we
        with pytest.raises(type(e)):
            op.fn(mt, *ours)
        return
    got = op.fn(mt, *ours)
    expected = tuple(expected) if isinstance(expected, (tuple, list)) else (expected,)
    got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    for i, (g, e) in enumerate(zip(got, expected)):
        if not isinstance(e, torch.Tensor):
            continue
        assert g.dtype.name == str(e.dtype).replace('torch.', ''), f"{op.name}: output {i} {g.dtype} vs {e.dtype}"
        _close(op.name, f"output {i}", _numpy(g), e.detach().float().numpy() if e.is_floating_point()
               else e.numpy(), FWD_RTOL, FWD_ATOL)
    pairs = [(g, e) for g, e in zip(got, expected) if isinstance(e, torch.Tensor) and e.requires_grad]
    if not pairs:
        return
    seeds = [rng.standard_normal(tuple(e.shape)).astype(np.float32) for _, e in pairs]
    torch.autograd.backward([e for _, e in pairs], [torch.from_numpy(s).to(e.dtype) for (_, e), s in zip(pairs, seeds)])
    mt.autograd.backward([g for g, _ in pairs], [mt.from_numpy(s).to(g.dtype) for (g, _), s in zip(pairs, seeds)])
    for i, (o, t) in enumerate(zip(ours, theirs)):
        if not t.requires_grad or t.grad is None:
            continue
        assert o.grad is not None and o.grad.dtype == mt.bfloat16, f"{op.name}: gradient of input {i}: {o.grad}"
        tg = t.grad.float().numpy()
        scale = float(np.nanmax(np.abs(tg), initial=0.0)) if np.isfinite(tg).any() else 1.0
        _close(op.name, f"gradient of input {i}", _numpy(o.grad), tg, GRAD_RTOL, GRAD_ATOL * max(scale, 1.0))


TABLE = test_ops_torch_diff.TABLE + test_reduce_torch_diff.TABLE + NN_TABLE
SETTINGS = settings(max_examples=1, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize('op', TABLE, ids=[op.name for op in TABLE])
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1), layout=st.sampled_from(['contiguous', 'transposed']))
def test_op_on_bfloat16_matches_torch(op, data, seed, layout):
    input_shapes = data.draw(op.shapes, label='shapes')
    with np.errstate(all='ignore'):
        check_bf16(op, input_shapes, seed, layout)
