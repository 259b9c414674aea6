"""BatchNorm1d/2d against torch: outputs, every gradient and the running statistics after
several training steps, then eval; F.batch_norm; and float16 LayerNorm in float32."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F

torch = pytest.importorskip('torch')


def _copy_params(ours, theirs):
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.5, 1.5)
    ours.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize('cls, shape', [('BatchNorm1d', (6, 3)), ('BatchNorm1d', (4, 3, 5)),
                                        ('BatchNorm2d', (4, 3, 2, 5))])
@pytest.mark.parametrize('kw', [{}, {'momentum': None}, {'affine': False}, {'track_running_stats': False},
                                {'momentum': 0.3, 'eps': 1e-3}])
def test_batchnorm_matches_torch_over_steps(cls, shape, kw):
    ours, theirs = getattr(nn, cls)(3, **kw).double(), getattr(torch.nn, cls)(3, **kw).double()
    _copy_params(ours, theirs)
    rng = np.random.default_rng(0)
    for mode in ('train', 'train', 'train', 'eval'):
        ours.train(mode == 'train')
        theirs.train(mode == 'train')
        a = rng.standard_normal(shape) * 2 + 1
        g = rng.standard_normal(shape)
        x, tx = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        ours.zero_grad()
        theirs.zero_grad()
        y, ty = ours(x), theirs(tx)
        (y * mt.tensor(g)).sum().backward()
        (ty * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
        for name, tb in theirs.named_buffers():
            np.testing.assert_allclose(ours.get_buffer(name).numpy(), tb.numpy(), rtol=1e-12, err_msg=name)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_functional_batch_norm_and_gradcheck():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 3, 4))
    rm, rv = mt.zeros(3).double(), mt.ones(3).double()
    trm, trv = torch.zeros(3).double(), torch.ones(3).double()
    y = F.batch_norm(mt.tensor(a), rm, rv, training=True, momentum=0.2)
    ty = torch.nn.functional.batch_norm(torch.tensor(a), trm, trv, training=True, momentum=0.2)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    w = mt.tensor(rng.uniform(0.5, 2, 3), requires_grad=True)
    b = mt.tensor(rng.standard_normal(3), requires_grad=True)
    x = mt.tensor(a, requires_grad=True)
    assert mt.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    assert mt.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), (x, w, b))
    assert mt.gradcheck(lambda x, b: F.batch_norm(x, None, None, None, b, training=True), (x, b))


def test_batchnorm_errors_as_torch():
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        nn.BatchNorm1d(3)(mt.randn(1, 3))
    with pytest.raises(ValueError, match='2D or 3D'):
        nn.BatchNorm1d(3)(mt.randn(2, 3, 4, 5))
    nn.BatchNorm1d(3).eval()(mt.randn(1, 3))          # eval: running stats, one sample is fine


def test_layer_norm_float16_accumulates_in_float32():
    x = mt.tensor([[300.0, -300.0, 0.0]], dtype=mt.float16, requires_grad=True)
    y = F.layer_norm(x, (3,))
    assert y.dtype == mt.float16
    expected = torch.nn.functional.layer_norm(torch.tensor([[300.0, -300.0, 0.0]]), (3,)).numpy()
    np.testing.assert_allclose(y.detach().numpy().astype(np.float32), expected, rtol=1e-3)
    (y * mt.tensor([[1.0, 2.0, 3.0]], dtype=mt.float16)).sum().backward()
    assert x.grad.dtype == mt.float16 and np.isfinite(x.grad.numpy()).all()
    assert np.abs(x.grad.numpy()).max() > 0


def test_layer_norm_module_options():
    ln = nn.LayerNorm(4, bias=False)
    assert ln.bias is None and [n for n, _ in ln.named_parameters()] == ['weight']
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    x = mt.randn(2, 4).double()
    b = mt.tensor([0.1, 0.2, 0.3, 0.4]).double()
    tb = torch.tensor(b.numpy())
    np.testing.assert_allclose(F.layer_norm(x, (4,), None, b).numpy(),
                               torch.nn.functional.layer_norm(torch.tensor(x.numpy()), (4,), None, tb).numpy(),
                               rtol=1e-12)
