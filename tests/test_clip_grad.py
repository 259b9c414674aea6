"""clip_grad_norm_: the total norm, the scaling, rebinding instead of in-place, torch parity."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
from minitensor.optim import clip_grad_norm_
from minitensor.tensor import Tensor


def params_with_grads(*grads):
    ps = []
    for g in grads:
        p = nn.Parameter(mt.zeros(np.shape(g), dtype=mt.float64))
        p.grad = Tensor._wrap(np.array(g, dtype=np.float64))
        ps.append(p)
    return ps


def test_returns_the_global_l2_norm_as_a_0d_tensor():
    ps = params_with_grads([3.0, 0.0], [[4.0], [12.0]])    # sqrt(9 + 16 + 144) = 13
    norm = clip_grad_norm_(ps, max_norm=100.0)
    assert isinstance(norm, Tensor) and norm.shape == ()
    assert norm.item() == pytest.approx(13.0, rel=1e-15)


def test_large_gradients_are_scaled_to_max_norm():
    ps = params_with_grads([3.0, 0.0], [[4.0], [12.0]])
    clip_grad_norm_(ps, max_norm=1.0)
    coef = 1.0 / (13.0 + 1e-6)
    np.testing.assert_allclose(ps[0].grad.array, [3.0 * coef, 0.0], rtol=1e-15)
    np.testing.assert_allclose(ps[1].grad.array, [[4.0 * coef], [12.0 * coef]], rtol=1e-15)
    new_norm = np.sqrt(sum((p.grad.array ** 2).sum() for p in ps))
    assert new_norm == pytest.approx(1.0, rel=1e-6) and new_norm < 1.0


def test_small_gradients_are_left_unchanged():
    ps = params_with_grads([0.3, -0.4])
    norm = clip_grad_norm_(ps, max_norm=1.0)
    assert norm.item() == pytest.approx(0.5)
    np.testing.assert_array_equal(ps[0].grad.array, [0.3, -0.4])


def test_gradients_are_rebound_not_scaled_in_place():
    # (a + b).sum() gives a and b the very same gradient array; scaling it in place would
    # scale it twice (once per parameter) and change any other tensor holding it.
    a = nn.Parameter(mt.tensor([3.0, 4.0], dtype=mt.float64))
    b = nn.Parameter(mt.tensor([0.0, 0.0], dtype=mt.float64))
    a.grad = Tensor._wrap(np.array([3.0, 4.0]))
    b.grad = a.grad                            # share one gradient object and array
    shared = a.grad.array
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert norm.item() == pytest.approx(np.sqrt(50.0))
    coef = 1.0 / (np.sqrt(50.0) + 1e-6)
    np.testing.assert_array_equal(shared, [3.0, 4.0])                # untouched
    np.testing.assert_allclose(a.grad.array, [3.0 * coef, 4.0 * coef], rtol=1e-15)
    np.testing.assert_allclose(b.grad.array, [3.0 * coef, 4.0 * coef], rtol=1e-15)


def test_shared_gradient_from_a_real_backward():
    a = nn.Parameter(mt.tensor([1.0, 2.0], dtype=mt.float64))
    b = nn.Parameter(mt.tensor([5.0, 6.0], dtype=mt.float64))
    (a + b).sum().backward()
    # backward gives each leaf its own gradient array now; clipping must still scale once
    assert a.grad.array is not b.grad.array
    clip_grad_norm_([a, b], max_norm=1.0)        # total norm 2; coef ~ 0.5 each, once
    np.testing.assert_allclose(a.grad.array, [0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(b.grad.array, [0.5, 0.5], rtol=1e-6)


def test_other_norm_types():
    ps = params_with_grads([1.0, -5.0], [2.0])
    assert clip_grad_norm_(ps, 100.0, norm_type=float('inf')).item() == 5.0
    ps = params_with_grads([1.0, -5.0], [2.0])
    assert clip_grad_norm_(ps, 100.0, norm_type=1).item() == pytest.approx(8.0)
    ps = params_with_grads([1.0, -5.0], [2.0])
    assert clip_grad_norm_(ps, 100.0, norm_type=3).item() == pytest.approx(134.0 ** (1 / 3))


def test_parameters_without_grad_are_ignored_and_none_at_all_gives_zero():
    ps = params_with_grads([3.0, 4.0])
    bare = nn.Parameter(mt.zeros(3))
    assert clip_grad_norm_(ps + [bare], 1.0).item() == pytest.approx(5.0)
    assert bare.grad is None
    assert clip_grad_norm_([bare], 1.0).item() == 0.0


def test_a_single_tensor_and_the_nn_utils_name():
    (p,) = params_with_grads([6.0, 8.0])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(10.0)
    (q,) = params_with_grads([6.0, 8.0])
    assert nn.utils.clip_grad_norm_([q], 1.0).item() == pytest.approx(10.0)
    np.testing.assert_allclose(q.grad.array, p.grad.array, rtol=1e-15)


def test_error_if_nonfinite():
    ps = params_with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match='error_if_nonfinite'):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


def test_float32_gradients_stay_float32():
    p = nn.Parameter(mt.zeros(3))
    p.grad = Tensor._wrap(np.array([10.0, 0.0, 0.0], np.float32))
    norm = clip_grad_norm_([p], 1.0)
    assert p.grad.dtype == np.float32 and norm.dtype == np.float32


@pytest.mark.parametrize('norm_type', [2.0, 1.0, float('inf')])
@pytest.mark.parametrize('max_norm', [0.5, 1e3])
@pytest.mark.parametrize('dtype', ['float64', 'float32'])
def test_matches_torch(norm_type, max_norm, dtype):
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(dtype) for s in [(4, 5), (5,), (3, 2, 2)]]
    ours = [nn.Parameter(mt.zeros(g.shape, dtype=dtype)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=getattr(torch, dtype))) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = Tensor._wrap(g.copy())
        t.grad = torch.tensor(g)
    norm = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    tnorm = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    tol = 1e-13 if dtype == 'float64' else 1e-6
    np.testing.assert_allclose(norm.item(), tnorm.item(), rtol=tol)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.array, t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_gpu_matches_cpu_and_the_norm_stays_on_the_device():
    cpu = params_with_grads([3.0, 0.0], [[4.0], [12.0]])
    gpu = []
    for p in params_with_grads([3.0, 0.0], [[4.0], [12.0]]):
        q = nn.Parameter(p.detach().to('gpu'))
        q.grad = p.grad.to('gpu')
        gpu.append(q)
    norm_cpu, norm_gpu = clip_grad_norm_(cpu, 1.0), clip_grad_norm_(gpu, 1.0)
    assert norm_gpu.device == 'gpu' and all(q.grad.device == 'gpu' for q in gpu)
    assert norm_gpu.item() == pytest.approx(norm_cpu.item(), rel=1e-14)
    for p, q in zip(cpu, gpu):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-14)
