"""Errors a user can cause: the right exception type, naming the op, the shapes /
dtypes / devices involved, and what would be valid."""
import numpy as np
import pytest

import minitensor as mt
from minitensor import backend


def test_broadcast_mismatch_reads_like_torch():
    with pytest.raises(RuntimeError, match=r"add: the size of tensor a \(2\) must match the size of tensor b \(3\) "
                                         r"at non-singleton dimension 1"):
        mt.zeros(4, 2) + mt.zeros(4, 3)
    with pytest.raises(RuntimeError, match=r"mul: .*shapes \(2, 3\) and \(4,\) do not broadcast"):
        mt.zeros(2, 3) * mt.zeros(4)
    with pytest.raises(RuntimeError, match=r"where: the size of tensor a"):
        mt.where(mt.ones(3) > 0, mt.ones(3), mt.ones(2))
    with pytest.raises(RuntimeError, match=r"masked_fill: the size of tensor a \(2\) must match"):
        mt.zeros(3).masked_fill(mt.ones(2, 2) > 0, 0.0)
    # a mask that enlarges the tensor broadcasts it, as torch's out-of-place masked_fill does
    assert mt.zeros(3).masked_fill(mt.ones(2, 3) > 0, 1.0).shape == (2, 3)


def test_bad_dims():
    x = mt.zeros(2, 3)
    for call, op in [(lambda: x.sum(2), 'sum'), (lambda: x.mean(-3), 'mean'), (lambda: x.softmax(5), 'softmax'),
                     (lambda: x.transpose(0, 2), 'transpose'), (lambda: x.max(dim=2), 'max'),
                     (lambda: mt.cat([x, x], dim=2), 'cat'), (lambda: x.unsqueeze(4), 'unsqueeze')]:
        with pytest.raises(IndexError, match=rf"{op}: dim -?\d is out of range for a tensor with \d dims "
                                             rf"\(expected a dim in \[-\d, \d\]\)"):
            call()
    with pytest.raises(TypeError, match="sum: dim must be an int"):
        x.sum(1.0)


def test_bad_reshape_and_shape_ops():
    x = mt.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(4, 2\) is invalid for input of size 6 \(shape \(2, 3\)\)"):
        x.view(4, 2)
    with pytest.raises(RuntimeError, match=r"reshape: only one dimension can be -1"):
        x.reshape(-1, -1)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(-1, 4\) is invalid for input of size 6"):
        x.reshape(-1, 4)
    with pytest.raises(RuntimeError, match=r"permute: dims \(0, 0\) must be a permutation"):
        x.permute(0, 0)
    with pytest.raises(RuntimeError, match=r"expand: the expanded size of the tensor \(4\) must match the existing "
                                         r"size \(3\) at non-singleton dimension 1"):
        x.expand(2, 4)
    with pytest.raises(RuntimeError, match=r"cat: sizes of tensors must match except in dimension 0"):
        mt.cat([x, mt.zeros(2, 4)])
    with pytest.raises(RuntimeError, match=r"stack: expects each tensor to be equal size"):
        mt.stack([x, mt.zeros(3, 2)])
    with pytest.raises(RuntimeError, match=r"split: sizes \[1, 2\] sum to 3, but dim 0 has size 2"):
        x.split([1, 2])


def test_dtype_errors():
    assert mt.arange(3).exp().dtype == mt.float32            # float math on ints: float32, as torch
    with pytest.raises(RuntimeError, match="mean: could not infer the output dtype: the input must be a "
                                           "floating point tensor, got int64"):
        mt.arange(3).mean()
    with pytest.raises(TypeError, match="gelu: expected a floating point tensor, got int64; convert with .float()"):
        mt.arange(3).gelu()
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor"):
        mt.zeros(2).masked_fill(mt.ones(2), 0.0)
    with pytest.raises(TypeError, match="add: unsupported operand type str"):
        mt.zeros(2) + 'a'
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        mt.tensor([1, 2], requires_grad=True)


def test_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu': expected 'cpu' or 'gpu'"):
        mt.zeros(2, device='tpu')


@pytest.mark.skipif(mt.gpu_available(), reason="checks the message shown where there is no GPU")
def test_gpu_unavailable_says_how_to_install():
    for call in (lambda: mt.zeros(2, device='gpu'), lambda: mt.zeros(2).to('cuda'), lambda: mt.randn(2, device='cuda:0')):
        with pytest.raises(RuntimeError, match=r"device 'gpu' is not available .*pip install -e \"\.\[gpu\]\""):
            call()
    assert mt.gpu_available() is False


def test_device_mix_is_refused(monkeypatch):
    """Two tensors on different devices: simulated with a fake 'gpu' tensor, so the
    message is tested on machines without a GPU too."""
    cpu = mt.zeros(2)
    other = mt.zeros(2)
    other.array = other.array.view(_OtherArray)   # the fast same-device test compares array types
    monkeypatch.setattr(type(other), 'device', property(lambda t: 'gpu' if t is other else 'cpu'))
    with pytest.raises(RuntimeError, match=r"add: expected all tensors to be on the same device, but found one "
                                           r"on cpu and one on gpu; move one with .to\('cpu'\)"):
        cpu + other
    with pytest.raises(RuntimeError, match=r"matmul: expected all tensors to be on the same device"):
        cpu @ other
    with pytest.raises(RuntimeError, match=r"cat: expected all tensors to be on the same device"):
        mt.cat([cpu, other])
    with pytest.raises(RuntimeError, match=r"index: the index is on gpu but the tensor is on cpu"):
        cpu[_on_gpu(monkeypatch, mt.tensor([0]))]


class _OtherArray(np.ndarray):
    """An array type of its own, standing in for a CuPy array."""


def _on_gpu(monkeypatch, t):
    cls = type(t)
    original = cls.device
    monkeypatch.setattr(cls, 'device', property(lambda s: 'gpu' if s is t else original.fget(s)))
    return t


def test_backward_errors():
    with pytest.raises(RuntimeError, match="does not require grad and has no grad_fn"):
        mt.zeros(2).sum().backward()


def test_backend_error_is_remembered_not_retried():
    if mt.gpu_available():
        pytest.skip("there is a GPU here")
    with pytest.raises(RuntimeError) as first:
        backend.get_xp('gpu')
    with pytest.raises(RuntimeError) as second:
        backend.get_xp('gpu')
    assert str(first.value) == str(second.value)


def test_shape_errors_are_runtime_errors_as_torch():
    """Programs catch torch's RuntimeError around shape mistakes: ours are the same class
    (with our longer messages)."""
    torch = pytest.importorskip('torch')
    cases = {
        'item': lambda L: L.ones(2).item(),
        'div mode': lambda L: L.ones(2).div(2, rounding_mode='x'),
        'clamp none': lambda L: L.ones(2).clamp(),
        'reshape': lambda L: L.ones(4).reshape(3),
        'reshape two -1': lambda L: L.ones(4).reshape(-1, -1),
        'view across strides': lambda L: L.ones(2, 3).t().view(6),
        'permute': lambda L: L.ones(2, 3).permute(0, 0),
        't': lambda L: L.ones(2, 3, 4).t(),
        'expand': lambda L: L.ones(2, 3).expand(4, 3),
        'split sizes': lambda L: L.ones(4).split([1, 2]),
        'matmul': lambda L: L.ones(2, 3) @ L.ones(2, 3),
        'matmul 0-d': lambda L: L.tensor(1.) @ L.ones(2),
        'broadcast': lambda L: L.ones(2, 3) + L.ones(4),
        'cat': lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)]),
        'stack': lambda L: L.stack([L.ones(2), L.ones(3)]),
        'randint': lambda L: L.randint(5, 3, (2,)),
    }
    for name, fn in cases.items():
        with pytest.raises(RuntimeError):
            fn(torch)
        with pytest.raises(RuntimeError):
            fn(mt)


def test_view_never_copies_as_torch():
    x = mt.arange(6.).reshape(2, 3)
    v = x.view(3, 2)
    v[0, 0] = 10.0
    assert x[0, 0].item() == 10.0                   # a view shares the memory
    assert x.t().contiguous().view(6).shape == (6,)
    assert x.t().reshape(6).tolist() == [10.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    with pytest.raises(RuntimeError, match="use .reshape"):
        x[:, :2].view(4)                            # a sliced view spans two contiguous runs
