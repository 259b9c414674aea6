"""The CPU row reductions by BLAS (ops/nn.py sum_last, dot_last, sum_rows) against
NumPy's reductions, and the engine's fast paths keeping torch's rules (promotion,
devices, next_functions, version checks)."""
import numpy as np
import pytest

import minitensor as mt
from minitensor.ops.nn import dot_last, sum_last, sum_rows, stable_shift

rng = np.random.default_rng(0)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('shape', [(4096,), (64, 128), (3, 0, 4096), (2, 4096, 0), (8, 32, 64)])
def test_row_reductions_match_numpy(shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(sum_last(a), a.sum(axis=-1, keepdims=True), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dot_last(a, b), (a * b).sum(axis=-1, keepdims=True), rtol=rtol, atol=rtol)
    assert sum_last(a).dtype == dtype and sum_last(a).shape == shape[:-1] + (1,)
    m = a.reshape(-1, shape[-1]) if shape[-1] else a.reshape(0, 0)
    np.testing.assert_allclose(sum_rows(m), m.sum(axis=0), rtol=rtol, atol=rtol)


def test_row_reductions_non_contiguous_and_nonfinite():
    a = rng.standard_normal((96, 128)).astype(np.float32).T          # (128, 96), F-ordered
    a[3, 5], a[7, 0], a[9, 1], a[9, 2] = np.nan, np.inf, np.inf, -np.inf
    got, ref = sum_last(a), a.sum(axis=-1, keepdims=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-5, atol=1e-4)
    assert np.isposinf(got[7, 0])


def test_small_and_half_arrays_keep_numpys_reductions():
    a = rng.standard_normal((4, 6)).astype(np.float16)
    np.testing.assert_array_equal(sum_last(a), a.sum(axis=-1, keepdims=True))
    assert sum_last(a).dtype == np.float16


def test_stable_shift_keeps_masked_rows_and_nonfinite_rows():
    x = np.array([[1.0, 2.0, -np.inf], [-np.inf, -np.inf, -np.inf], [np.nan, 0.0, 1.0],
                  [np.inf, 0.0, 1.0]], dtype=np.float32)
    m = stable_shift(x, -1)
    assert m[0, 0] == 2 and np.isfinite(m[1, 0]) and np.isnan(m[2, 0]) and np.isposinf(m[3, 0])
    p = mt.tensor(x).softmax(-1).numpy()
    np.testing.assert_array_equal(p[1], [0, 0, 0])                   # a fully masked row: zeros
    assert np.isnan(p[2]).all() and np.isnan(p[3]).all()
    lp = mt.tensor(x).log_softmax(-1).numpy()
    assert np.isneginf(lp[1]).all()


@pytest.mark.parametrize('dim', [0, 1, -1])
def test_softmax_log_softmax_and_layer_norm_against_torch_on_large_rows(dim):
    torch = pytest.importorskip('torch')
    x = rng.standard_normal((16, 300)).astype(np.float64)
    g = rng.standard_normal((16, 300)).astype(np.float64)
    for op in ('softmax', 'log_softmax'):
        ours = mt.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        getattr(ours, op)(dim).backward(mt.tensor(g))
        getattr(theirs, op)(dim).backward(torch.tensor(g))
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    w, b = rng.standard_normal(300), rng.standard_normal(300)
    ours = [mt.tensor(v, requires_grad=True) for v in (x, w, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    mt.nn.functional.layer_norm(ours[0], (300,), ours[1], ours[2]).backward(mt.tensor(g))
    torch.nn.functional.layer_norm(theirs[0], (300,), theirs[1], theirs[2]).backward(torch.tensor(g))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_layer_norm_over_two_axes_float32_against_float64():
    x = rng.standard_normal((4, 32, 8, 16))
    w, b = rng.standard_normal((8, 16)), rng.standard_normal((8, 16))
    results = []
    for dtype in (mt.float32, mt.float64):
        ts = [mt.tensor(v, dtype=dtype, requires_grad=True) for v in (x, w, b)]
        y = mt.nn.functional.layer_norm(ts[0], (8, 16), ts[1], ts[2])
        (y * y).sum().backward()
        results.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for a, b64 in zip(*results):
        np.testing.assert_allclose(a, b64, rtol=1e-4, atol=1e-4)


def test_binary_fast_path_keeps_promotion_and_errors():
    f32 = mt.ones(3)
    assert (f32 * 0.5).dtype == mt.float32 and (f32.double() * 0.5).dtype == mt.float64
    assert (mt.arange(3) * 0.5).dtype == mt.float32 and (mt.arange(3) * 2).dtype == mt.int64
    assert (f32 + f32.double()).dtype == mt.float64 and (mt.arange(3) / mt.arange(1, 4)).dtype == mt.float32
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        mt.ones(3) + mt.ones(4)


def test_inputs_without_grad_share_one_edge_and_show_none():
    x = mt.ones(3, requires_grad=True)
    y = x * mt.ones(3)
    assert y.grad_fn.next_functions[1] == (None, 0)
    assert type(y.grad_fn.next_functions[0][0]).__name__ == 'AccumulateGrad'
    z = (y * 2).exp()
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * np.ones(3)), rtol=1e-6)


def test_saved_tensor_modified_in_place_still_raises():
    x = mt.ones(3, requires_grad=True)
    h = x * 2
    y = h * h                     # saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
