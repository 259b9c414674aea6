"""torch-style custom autograd Functions (static forward/backward with ctx, on Tensors), the
PyTorch tutorial's way, run through the engine: values and gradients as torch's."""
import numpy as np
import pytest

import minitensor as mt


def define(L):
    class Legendre3(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    class ScaleAndShift(L.autograd.Function):
        """Two tensor inputs, a float between them, two outputs."""

        @staticmethod
        def forward(ctx, x, k, y):
            ctx.k = k
            ctx.save_for_backward(x, y)
            return x * k + y, x * y

        @staticmethod
        def backward(ctx, g_sum, g_prod):
            x, y = ctx.saved_tensors
            return g_sum * ctx.k + g_prod * y, None, g_sum + g_prod * x

    return Legendre3, ScaleAndShift


def run(L):
    Legendre3, ScaleAndShift = define(L)
    x = L.linspace(-1, 1, 5, dtype=L.float64, requires_grad=True)
    y = L.tensor([0.5, -1.0, 2.0, 0.25, 3.0], dtype=L.float64, requires_grad=True)
    p = Legendre3.apply(x)
    s, q = ScaleAndShift.apply(p, 3.0, y)
    (s.sum() + (q * q).sum()).backward()
    return p.detach().numpy(), s.detach().numpy(), x.grad.numpy(), y.grad.numpy()


def test_custom_function_matches_torch():
    torch = pytest.importorskip('torch')
    for ours, theirs in zip(run(mt), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_custom_function_checks_its_gradients():
    _, ScaleAndShift = define(mt)
    x = mt.randn(3, dtype=mt.float64, requires_grad=True)
    y = mt.randn(3, dtype=mt.float64, requires_grad=True)
    assert mt.gradcheck(lambda a, b: ScaleAndShift.apply(a, 2.0, b), (x, y))


def test_wrong_number_of_gradients_is_a_clear_error():
    class Bad(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g                                   # one gradient for two arguments
    x = mt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match='incorrect number of gradients'):
        Bad.apply(x, 2.0).sum().backward()


def test_without_grad_it_is_a_plain_call():
    Legendre3, _ = define(mt)
    out = Legendre3.apply(mt.tensor([0.5]))
    assert not out.requires_grad and abs(out.item() - 0.5 * (5 * 0.125 - 1.5)) < 1e-7
