"""CPU/GPU parity of the nn ops (conv, pools, pad, batch norm, losses, RNNs) and of the
optimizers' steps: the same float32 inputs on both devices give the same outputs and
gradients within float32 tolerance. Skipped where CuPy or a GPU is missing."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")

rng = np.random.default_rng(0)


def arr(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(np.float32)


X4, W4, B4 = arr(2, 4, 7, 6), arr(6, 2, 3, 3), arr(6)
X3, W3 = arr(2, 3, 9), arr(4, 3, 3)
P = arr(3, 4, low=0.05, high=0.95)


def dev(a, device):
    return mt.tensor(a, device=device)


OPS = {
    'conv2d': (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2), groups=2), (X4, W4, B4)),
    'conv2d_same': (lambda x, w: F.conv2d(x[:, :2], w, padding='same'), (X4, W4)),
    'conv1d': (lambda x, w: F.conv1d(x, w, stride=2, padding=1), (X3, W3)),
    'max_pool2d': (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (X4,)),
    'avg_pool2d': (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (X4,)),
    'adaptive_avg_pool2d': (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), (X4,)),
    'pad_reflect': (lambda x: F.pad(x, (2, 1, 1, 2), mode='reflect'), (X4,)),
    'pad_circular': (lambda x: F.pad(x, (2, 1), mode='circular'), (X3,)),
    'batch_norm': (lambda x, b: F.batch_norm(x, None, None, None, b, training=True), (X4, arr(4))),
    'bce': (lambda p, y: F.binary_cross_entropy(p, y), (P, arr(3, 4, low=0, high=1))),
    'bce_logits': (lambda x, y: F.binary_cross_entropy_with_logits(x, y), (arr(3, 4), arr(3, 4, low=0, high=1))),
    'ce_soft': (lambda x, p: F.cross_entropy(x, p, label_smoothing=0.1), (arr(3, 4), P)),
    'kl_div': (lambda x, t: F.kl_div(x, t, reduction='batchmean'), (arr(3, 4, low=-3, high=-0.1), P)),
    'cosine': (lambda a, b: F.cosine_similarity(a, b), (arr(3, 4), arr(3, 4))),
    'smooth_l1': (lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), (arr(3, 4), arr(3, 4))),
}


def run(fn, arrays, device):
    ts = [mt.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*ts)
    (out * mt.tensor(np.ones(out.shape, np.float32), device=device)).sum().backward()
    return [out.detach().cpu().numpy()], [t.grad.cpu().numpy() for t in ts]


@pytest.mark.parametrize('name', sorted(OPS))
def test_gpu_matches_cpu(name):
    fn, arrays = OPS[name]
    cpu_outs, cpu_grads = run(fn, arrays, 'cpu')
    gpu_outs, gpu_grads = run(fn, arrays, 'gpu')
    for c, g in zip(cpu_outs + cpu_grads, gpu_outs + gpu_grads):
        assert c.shape == g.shape
        np.testing.assert_allclose(g, c, rtol=2e-4, atol=2e-4)


def test_weighted_cross_entropy_and_nll_on_gpu():
    x, t, w = arr(5, 4), np.array([0, 3, -100, 1, 2]), arr(4, low=0.5, high=2)
    for fn in (F.cross_entropy, F.nll_loss):
        c = fn(mt.tensor(x), mt.tensor(t), weight=mt.tensor(w)).item()
        g = fn(dev(x, 'gpu'), dev(t, 'gpu'), weight=dev(w, 'gpu')).item()
        assert abs(c - g) < 1e-5


def test_modules_train_on_gpu():
    mt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 2 * 2, 3)).to('gpu')
    opt = mt.optim.AdamW(model.parameters(), lr=1e-2, amsgrad=True)
    model(dev(arr(8, 2, 6, 6), 'gpu')).sum().backward()
    opt.step()
    assert model[1].running_mean.device == 'gpu'
    lstm = nn.LSTM(3, 4, batch_first=True).to('gpu')
    out, (h, c) = lstm(dev(arr(2, 5, 3), 'gpu'))
    out.sum().backward()
    assert out.device == 'gpu' and lstm.weight_ih_l0.grad.device == 'gpu'


@pytest.mark.parametrize('name', ['RMSprop', 'Adagrad', 'SGD', 'Adam'])
def test_optimizer_step_matches_cpu(name):
    a, g = arr(4, 3), arr(4, 3)
    results = []
    for device in ('cpu', 'gpu'):
        p = nn.Parameter(dev(a, device))
        opt = getattr(mt.optim, name)([p], lr=0.1)
        for _ in range(3):
            p.grad = dev(g, device)
            opt.step()
        results.append(p.detach().cpu().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
