"""In-place methods under torch's autograd rules: on non-leaf tensors they join the graph
(the tensor's history is rebased onto the op), on a leaf that requires grad they are
refused outside no_grad. Values and gradients are compared with torch where importable."""
import numpy as np
import pytest

import minitensor as mt

torch = None
try:
    import torch
except ImportError:
    pass


def both(fn):
    """fn(lib) -> list of tensors; returns our values and torch's (or None)."""
    ours = [np.asarray(t.tolist()) for t in fn(mt)]
    theirs = None if torch is None else [np.asarray(t.tolist()) for t in fn(torch)]
    return ours, theirs


def check(fn, expected=None):
    ours, theirs = both(fn)
    if theirs is not None:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    if expected is not None:
        for a, b in zip(ours, expected):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


X = [[0.5, -1.0, 2.0], [1.5, 0.25, -3.0]]
W = [[1.5, 2.0, -0.5], [0.75, -2.5, 1.25]]


def inputs(lib):
    return (lib.tensor(X, dtype=lib.float64, requires_grad=True),
            lib.tensor(W, dtype=lib.float64, requires_grad=True))


OPS = {
    'add_': lambda a, w: a.add_(w),
    'add_alpha': lambda a, w: a.add_(w, alpha=-0.5),
    'sub_alpha': lambda a, w: a.sub_(w, alpha=2),
    'mul_': lambda a, w: a.mul_(w),
    'mul_scalar': lambda a, w: a.mul_(3.0),
    'div_': lambda a, w: a.div_(w),
    'pow_': lambda a, w: a.pow_(2),
    'exp_': lambda a, w: a.exp_(),
    'neg_': lambda a, w: a.neg_(),
    'clamp_': lambda a, w: a.clamp_(-0.5, 1.0),
    'clamp_min': lambda a, w: a.clamp_(min=0.0),
    'zero_': lambda a, w: a.zero_(),
    'fill_': lambda a, w: a.fill_(2.5),
    'copy_': lambda a, w: a.copy_(w * 2),
    'copy_broadcast': lambda a, w: a.copy_(w[0]),
    'masked_fill_': lambda a, w: a.masked_fill_(w > 0, -7.0),
    'iadd': lambda a, w: a.__iadd__(w),
    'isub': lambda a, w: a.__isub__(w),
    'imul': lambda a, w: a.__imul__(w),
    'itruediv': lambda a, w: a.__itruediv__(w),
    'row_view_mul_': lambda a, w: a[1].mul_(w[0]),
    'column_view_add_': lambda a, w: a[:, 1:].add_(w[:, :2]),
    'transposed_view_mul_': lambda a, w: a.t().mul_(w.t()),
}


@pytest.mark.parametrize('name', OPS)
def test_inplace_on_a_non_leaf_matches_torch(name):
    def fn(lib):
        x, w = inputs(lib)
        a = x * 1.5                              # a non-leaf: the in-place op joins the graph
        OPS[name](a, w)
        assert a.requires_grad
        (a * a).sum().backward()                 # uses a's new value and history
        return [a, x.grad, w.grad if w.grad is not None else lib.zeros(2, 3)]
    check(fn)


def test_makemore_patterns():
    """BatchNorm's `self.out += self.bias` style and the manual-backprop `dcounts += ...`."""
    def fn(lib):
        x, w = inputs(lib)
        out = x @ w.t()                          # (2, 2)
        out += w[:, 0]                           # a parameter added in place to an activation
        dcounts = lib.zeros(2, 2, dtype=lib.float64)
        dcounts += out                           # accumulate into a buffer: joins the graph
        dcounts += out ** 2
        dcounts.sum().backward()
        return [dcounts, x.grad, w.grad]
    check(fn)


def test_leaf_requiring_grad_is_refused_outside_no_grad():
    x = mt.ones(3, requires_grad=True)
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.fill_(1),
               lambda: x.copy_(mt.zeros(3)), lambda: x.normal_(), lambda: x.uniform_()):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            op()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[:2].add_(1)
    with mt.no_grad():
        x.add_(1)
        x[:2].mul_(2)
    assert x.tolist() == [4.0, 4.0, 2.0]
    assert x.grad_fn is None and x.is_leaf


def test_int_tensor_refuses_a_float_result_as_torch():
    x = mt.arange(3)
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to the desired output type int64"):
        x += 1.5
    x += 2
    x *= 3
    assert x.tolist() == [6, 9, 12] and x.dtype == mt.int64


def test_in_place_cannot_grow_the_tensor():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        mt.zeros(3).add_(mt.ones(2, 3))


def test_div_rounding_modes():
    for mode in ('trunc', 'floor'):
        ours = mt.tensor([-7.0, 7.0, -2.5]).div_(2.0, rounding_mode=mode)
        if torch is not None:
            assert ours.tolist() == torch.tensor([-7.0, 7.0, -2.5]).div_(2.0, rounding_mode=mode).tolist()
    with pytest.raises(RuntimeError, match="rounding_mode"):
        mt.ones(2).div_(2, rounding_mode='round')


def test_copy_casts_broadcasts_and_returns_self():
    x = mt.zeros(2, 3)
    assert x.copy_(mt.tensor([1, 2, 3])) is x
    assert x.dtype == mt.float32 and x.tolist() == [[1.0, 2.0, 3.0]] * 2
    with pytest.raises(RuntimeError):               # as torch: the shapes do not broadcast
        x.copy_(mt.ones(4))


def test_copy_into_a_buffer_makes_it_require_grad():
    """torch: a.copy_(src) on a plain buffer makes a part of the graph (CopyBackwards)."""
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    buf = mt.zeros(2, 2)
    buf.copy_(w * 3)
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]


def test_normal_and_uniform_fill_in_place():
    mt.manual_seed(0)
    x = mt.empty(20000)
    assert x.normal_(2.0, 0.5) is x
    assert abs(x.mean().item() - 2.0) < 0.02 and abs(x.std().item() - 0.5) < 0.02
    x.uniform_(-1.0, 3.0)
    assert x.min().item() >= -1.0 and x.max().item() < 3.0 and abs(x.mean().item() - 1.0) < 0.05
    g1, g2 = mt.Generator().manual_seed(5), mt.Generator().manual_seed(5)
    assert mt.empty(4).normal_(generator=g1).tolist() == mt.empty(4).normal_(generator=g2).tolist()
    with pytest.raises(TypeError, match="floating point"):
        mt.zeros(3, dtype=mt.int64).normal_()


def test_requires_grad_and_detach_in_place():
    x = mt.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.detach_() is y and y.is_leaf and not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError, match="only floating point"):
        mt.zeros(2, dtype=mt.int64).requires_grad_()


def test_data_is_a_detached_tensor_sharing_storage():
    p = mt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (p * p).sum().backward()
    d = p.data
    assert isinstance(d, mt.Tensor) and not d.requires_grad
    p.data += -0.1 * p.grad                      # the makemore update
    np.testing.assert_allclose(p.tolist(), [0.8, 1.6, 2.4], rtol=1e-6)
    assert abs(p.data.std().item() - np.std([0.8, 1.6, 2.4], ddof=1)) < 1e-6   # unbiased, as torch
    p.data = mt.zeros(5)                         # assignment replaces the storage
    assert p.shape == (5,) and p.requires_grad
    with pytest.raises(TypeError, match="must be a Tensor"):
        p.data = [1.0]
