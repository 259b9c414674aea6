"""Convolution, pooling, padding and one_hot against torch (float64 forward and every
gradient, through tests/torch_diff.py's runner), plus mt.gradcheck of each Function."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F
from torch_diff import SETTINGS, Op, check_against_torch

torch = pytest.importorskip('torch')


def fixed(*shapes):
    """An Op's `shapes` when the test passes its shapes itself."""
    return st.just(tuple(shapes))


CONV = [
    # (name, fn, input shapes)
    ('conv2d_plain', lambda L, x, w, b: L.nn.functional.conv2d(x, w, b), [(2, 3, 6, 5), (4, 3, 3, 3), (4,)]),
    ('conv2d_stride_pad', lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=(1, 2)),
     [(2, 3, 7, 6), (4, 3, 3, 2), (4,)]),
    ('conv2d_dilation_groups', lambda L, x, w: L.nn.functional.conv2d(x, w, stride=2, padding=2, dilation=(2, 1), groups=2),
     [(2, 4, 8, 7), (6, 2, 3, 3)]),
    ('conv2d_depthwise', lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1, groups=3),
     [(1, 3, 5, 5), (3, 1, 3, 3), (3,)]),
    ('conv2d_same_even', lambda L, x, w: L.nn.functional.conv2d(x, w, padding='same', dilation=2),
     [(2, 2, 6, 7), (3, 2, 2, 4)]),
    ('conv2d_valid', lambda L, x, w: L.nn.functional.conv2d(x, w, padding='valid'), [(1, 1, 4, 4), (2, 1, 4, 1)]),
    ('conv2d_unbatched', lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1), [(2, 4, 4), (3, 2, 3, 3)]),
    ('conv2d_1x1', lambda L, x, w: L.nn.functional.conv2d(x, w), [(3, 5, 2, 2), (4, 5, 1, 1)]),
    ('conv2d_long_weight_grad', lambda L, x, w: L.nn.functional.conv2d(x, w),   # the K-chunked dW
     [(64, 1, 18, 18), (8, 1, 3, 3)]),
    ('conv2d_empty_batch', lambda L, x, w: L.nn.functional.conv2d(x, w), [(0, 2, 4, 4), (3, 2, 3, 3)]),
    ('conv1d_plain', lambda L, x, w, b: L.nn.functional.conv1d(x, w, b), [(2, 3, 9), (5, 3, 3), (5,)]),
    ('conv1d_all', lambda L, x, w, b: L.nn.functional.conv1d(x, w, b, stride=2, padding=3, dilation=2, groups=2),
     [(2, 4, 11), (6, 2, 3), (6,)]),
    ('conv1d_same', lambda L, x, w: L.nn.functional.conv1d(x, w, padding='same'), [(2, 2, 7), (2, 2, 4)]),
]

POOL = [
    ('max_pool2d', lambda L, x: L.nn.functional.max_pool2d(x, 2), [(2, 3, 6, 5)]),
    ('max_pool2d_pad_ceil', lambda L, x: L.nn.functional.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
     [(2, 2, 7, 6)]),
    ('max_pool2d_dilation', lambda L, x: L.nn.functional.max_pool2d(x, (2, 3), stride=(1, 2), dilation=2),
     [(1, 2, 7, 9)]),
    ('max_pool2d_indices', lambda L, x: L.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True), [(2, 2, 7, 6)]),
    ('max_pool1d', lambda L, x: L.nn.functional.max_pool1d(x, 3, stride=2, padding=1, ceil_mode=True), [(2, 3, 10)]),
    ('max_pool1d_indices', lambda L, x: L.nn.functional.max_pool1d(x, 2, return_indices=True), [(2, 3, 9)]),
    ('avg_pool2d', lambda L, x: L.nn.functional.avg_pool2d(x, 2), [(2, 3, 6, 5)]),
    ('avg_pool2d_pad_ceil', lambda L, x: L.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 7, 6)]),
    ('avg_pool2d_no_pad_count', lambda L, x: L.nn.functional.avg_pool2d(
        x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [(2, 2, 8, 7)]),
    ('avg_pool2d_divisor', lambda L, x: L.nn.functional.avg_pool2d(x, (2, 3), divisor_override=4), [(1, 2, 6, 6)]),
    ('avg_pool1d', lambda L, x: L.nn.functional.avg_pool1d(x, 4, 3, 2, ceil_mode=True, count_include_pad=False),
     [(2, 3, 10)]),
    ('adaptive_avg_pool2d', lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, (3, 4)), [(2, 3, 7, 6)]),
    ('adaptive_avg_pool2d_1', lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, 1), [(2, 3, 5, 4)]),
    ('adaptive_avg_pool2d_none', lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, (None, 2)), [(2, 3, 5, 4)]),
    ('adaptive_avg_pool1d', lambda L, x: L.nn.functional.adaptive_avg_pool1d(x, 5), [(2, 3, 7)]),
]

PAD = [
    (f'pad_{mode}', (lambda mode: lambda L, x: L.nn.functional.pad(x, (2, 1, 1, 3), mode=mode))(mode), [(2, 3, 5, 6)])
    for mode in ('constant', 'reflect', 'replicate', 'circular')
] + [
    ('pad_value_crop_3dims', lambda L, x: L.nn.functional.pad(x, (-1, 2, 0, 1, 1, 1), value=2.5), [(2, 3, 5, 6)]),
    ('pad_reflect_1d', lambda L, x: L.nn.functional.pad(x, (3, 2), mode='reflect'), [(2, 3, 5)]),
    ('pad_circular_3d', lambda L, x: L.nn.functional.pad(x, (1, 2, 2, 1, 1, 0), mode='circular'), [(1, 2, 3, 4, 5)]),
    ('pad_replicate_crop', lambda L, x: L.nn.functional.pad(x, (-1, 2), mode='replicate'), [(2, 3, 5)]),
]


@pytest.mark.parametrize('name, fn, shapes', CONV + POOL + PAD, ids=[c[0] for c in CONV + POOL + PAD])
@pytest.mark.parametrize('layout', ['contiguous', 'sliced'])
def test_against_torch(name, fn, shapes, layout):
    op = Op(name, fn, shapes=fixed(*shapes), nonfinite=False)
    check_against_torch(op, shapes, seed=len(name), layout=layout)


@SETTINGS
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       k=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2), dil=st.integers(1, 2),
       seed=st.integers(0, 1000))
def test_conv2d_random_geometry(n, c, h, w, k, stride, pad, dil, seed):
    """Random sizes: where torch refuses (kernel larger than the padded input), so must we."""
    op = Op('conv2d', lambda L, x, wt: L.nn.functional.conv2d(x, wt, stride=stride, padding=pad,
                                                              dilation=dil),
            shapes=fixed((n, c, h, w), (2, c, k, k)), nonfinite=False)
    check_against_torch(op, ((n, c, h, w), (2, c, k, k)), seed)


@SETTINGS
@given(h=st.integers(1, 8), k=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 1),
       ceil=st.booleans(), seed=st.integers(0, 1000))
def test_pools_random_geometry(h, k, stride, pad, ceil, seed):
    for name, fn in (('max', lambda L, x: L.nn.functional.max_pool2d(x, k, stride, pad, ceil_mode=ceil)),
                     ('avg', lambda L, x: L.nn.functional.avg_pool2d(x, k, stride, pad, ceil_mode=ceil))):
        op = Op(name, fn, shapes=fixed((1, 2, h, h + 1)), nonfinite=False)
        check_against_torch(op, ((1, 2, h, h + 1),), seed)


def test_max_pool_propagates_nan_as_torch():
    a = np.arange(16.0).reshape(1, 1, 4, 4)
    a[0, 0, 0, 1] = np.nan
    ours = F.max_pool2d(mt.tensor(a), 2).numpy()
    theirs = torch.nn.functional.max_pool2d(torch.tensor(a), 2).numpy()
    np.testing.assert_array_equal(ours, theirs)


def _g(*shape, seed=0):
    return mt.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize('fn, inputs', [
    (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2), groups=2),
     lambda: (_g(1, 4, 5, 6), _g(4, 2, 2, 2, seed=1), _g(4, seed=2))),
    (lambda x, w: F.conv1d(x, w, padding='same'), lambda: (_g(2, 2, 5), _g(3, 2, 4, seed=1))),
    (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), lambda: (_g(1, 2, 5, 6),)),
    (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), lambda: (_g(1, 2, 5, 6),)),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), lambda: (_g(1, 2, 5, 7),)),
    (lambda x: F.pad(x, (2, 1, 1, 2), mode='reflect'), lambda: (_g(1, 2, 3, 4),)),
    (lambda x: F.pad(x, (3, 1), mode='circular'), lambda: (_g(2, 3),)),
    (lambda x: F.pad(x, (1, -1, 2, 0), value=1.5), lambda: (_g(2, 3),)),
], ids=['conv2d', 'conv1d', 'max_pool2d', 'avg_pool2d', 'adaptive', 'reflect', 'circular', 'constant'])
def test_gradcheck(fn, inputs):
    assert mt.gradcheck(fn, inputs())


def test_modules_match_torch_with_copied_weights():
    torch.manual_seed(0)
    for ours, theirs in ((nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2), torch.nn.Conv2d(2, 4, 3, 2, 1, groups=2)),
                         (nn.Conv2d(2, 3, 3, padding='same', padding_mode='reflect', bias=False),
                          torch.nn.Conv2d(2, 3, 3, padding='same', padding_mode='reflect', bias=False)),
                         (nn.Conv2d(2, 3, 3, padding=1, padding_mode='circular'),
                          torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode='circular')),
                         (nn.Conv1d(3, 2, 4, padding=2, padding_mode='replicate'),
                          torch.nn.Conv1d(3, 2, 4, padding=2, padding_mode='replicate'))):
        assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
        ours.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
        shape = (2, ours.in_channels) + (6,) * (ours.weight.ndim - 2)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(ours(mt.tensor(x)).detach().numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert repr(nn.Conv2d(1, 8, 3)) == repr(torch.nn.Conv2d(1, 8, 3))
    assert repr(nn.Conv2d(2, 4, 3, 2, 1, groups=2, bias=False)) == repr(torch.nn.Conv2d(2, 4, 3, 2, 1, groups=2, bias=False))


def test_conv_init_bounds_as_torch():
    conv = nn.Conv2d(4, 6, 3)
    bound = 1 / np.sqrt(4 * 9)
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound


def test_pool_modules_and_flatten():
    x = mt.randn(2, 3, 8, 8)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 8, 8)
    assert nn.AdaptiveAvgPool2d((1, 1))(x).shape == (2, 3, 1, 1)
    assert nn.MaxPool1d(2)(mt.randn(2, 3, 8)).shape == (2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 192)
    assert nn.Flatten(0, 2)(x).shape == (48, 8)
    assert nn.Unflatten(1, (3, 64))(nn.Flatten()(x)).shape == (2, 3, 64)
    assert nn.Identity(5, foo=1)(x) is x


def test_errors_as_torch():
    with pytest.raises(RuntimeError, match='channels'):
        F.conv2d(mt.randn(1, 3, 5, 5), mt.randn(2, 2, 3, 3))
    with pytest.raises(RuntimeError, match='kernel'):
        F.conv2d(mt.randn(1, 1, 2, 2), mt.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match='strided'):
        F.conv2d(mt.randn(1, 1, 5, 5), mt.randn(1, 1, 3, 3), stride=2, padding='same')
    with pytest.raises(RuntimeError, match='half of effective kernel'):
        F.max_pool2d(mt.randn(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(RuntimeError, match='reflect'):
        F.pad(mt.randn(1, 2, 3), (3, 0), mode='reflect')
    with pytest.raises(TypeError, match='float64'):
        F.conv1d(mt.randn(1, 1, 5).double(), mt.randn(1, 1, 3))


def test_one_hot_as_torch():
    t = np.array([[0, 3], [1, 1]])
    ours = F.one_hot(mt.tensor(t))
    theirs = torch.nn.functional.one_hot(torch.tensor(t))
    assert ours.dtype == mt.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert F.one_hot(mt.tensor([2]), num_classes=5).shape == (1, 5)
    assert F.one_hot(mt.zeros(0, dtype=mt.int64), 3).shape == (0, 3)
    with pytest.raises(RuntimeError):
        F.one_hot(mt.tensor([3]), num_classes=2)
    with pytest.raises(RuntimeError):
        F.one_hot(mt.tensor([-1]))
    with pytest.raises(RuntimeError):
        F.one_hot(mt.tensor([1.0]))


def test_small_cnn_trains():
    """The CNN of the timing figure learns a toy task (bright top half vs bottom half)."""
    mt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    opt = mt.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 32)
    x = rng.standard_normal((32, 1, 12, 12)).astype(np.float32) * 0.3
    x[y == 1, :, :6] += 1
    x[y == 0, :, 6:] += 1
    for _ in range(30):
        loss = F.cross_entropy(model(mt.tensor(x)), mt.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
