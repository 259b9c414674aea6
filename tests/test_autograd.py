"""Graph semantics: reuse, accumulation, retain_graph, no_grad, detach, leaves,
deep chains, seeds, and gradients that behave like torch's (private, writable)."""
import numpy as np
import pytest

import minitensor as mt


def test_non_leaf_used_twice_gets_both_contributions():
    x = mt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2                    # a non-leaf ...
    z = y * y + y                # ... used three times
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (2 * 2 * x.detach().numpy() * 2) + 2)


def test_gradients_accumulate_across_backward_calls():
    x = mt.tensor([1.0, -2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 - 4])


def test_second_backward_without_retain_graph_is_a_clear_error():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_no_grad_context_manager_records_nothing():
    x = mt.tensor([1.0], requires_grad=True)
    with mt.no_grad():
        y = x * 2
        assert not mt.is_grad_enabled()
    assert mt.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_decorator_and_enable_grad():
    x = mt.tensor([1.0], requires_grad=True)

    @mt.no_grad()
    def f(t):
        with mt.enable_grad():
            inner = t * 3
        return t * 2, inner

    y, inner = f(x)
    assert not y.requires_grad and inner.requires_grad
    assert mt.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with mt.no_grad():
            1 / 0
    assert mt.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    (x * d).sum().backward()      # d is a constant: dx = d
    np.testing.assert_allclose(x.grad.numpy(), [2, 4])


def test_requires_grad_and_is_leaf():
    x = mt.zeros(3)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    with pytest.raises(RuntimeError, match="only floating point"):
        mt.arange(3).requires_grad_()
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)
    assert mt.randn(2, requires_grad=True).is_leaf


def test_only_leaves_get_grad():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None and x.grad is not None


def test_deep_chain_of_100000_ops():
    x = mt.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_on_non_scalar_needs_gradient():
    x = mt.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*\(2, 3\).*gradient="):
        (x * 2).backward()


def test_backward_with_gradient_argument():
    x = mt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = mt.tensor([0.1, 1.0, 10.0])
    (x * x).backward(gradient=v)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() * v.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\).*\(3,\)"):
        (x * x).backward(gradient=mt.ones(2))


def test_gradients_are_private_writable_arrays():
    """x.grad.zero_() works after a broadcasting backward, and two leaves that got the
    same gradient array from one backward (a + b) do not share memory."""
    a = mt.randn(3, requires_grad=True)
    b = mt.randn(3, requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.array, b.grad.array)
    with mt.no_grad():
        a.grad.zero_()
        a.grad += 1
    np.testing.assert_allclose(a.grad.numpy(), [1, 1, 1])
    b.grad *= 5
    np.testing.assert_allclose(a.grad.numpy(), [1, 1, 1])
    np.testing.assert_allclose(b.grad.numpy(), [5, 5, 5])


def test_seed_gradient_is_not_aliased():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    v = mt.tensor([1.0, 1.0])
    (x + 0).backward(gradient=v)
    with mt.no_grad():
        x.grad.zero_()
    assert v.tolist() == [1.0, 1.0]


def test_only_inputs_that_need_grad_get_one():
    a = mt.randn(2, requires_grad=True)
    b = mt.randn(2)
    (a * b).sum().backward()
    assert b.grad is None
    np.testing.assert_allclose(a.grad.numpy(), b.numpy())


def test_unreached_split_output_contributes_zero():
    x = mt.randn(6, dtype=mt.float64, requires_grad=True)
    first, second, third = x.split(2)
    (second * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0, 3, 3, 0, 0])


def test_inplace_on_leaf_requiring_grad_is_refused():
    x = mt.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf Variable that requires grad is being used in an in-place"):
        x += 1
    with mt.no_grad():
        x -= 1                                    # optimizer-style update is fine


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(mt.Function):
        def forward(self, a):
            self.save_for_backward(a)
            return a * a

        def backward(self, g):
            (a,) = self.saved
            return g * a                          # should be 2a

    x = mt.randn(3, dtype=mt.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        mt.gradcheck(lambda t: WrongSquare.apply(t), (x,))
    with pytest.raises(TypeError, match="float64"):
        mt.gradcheck(lambda t: t * 2, (mt.randn(3, requires_grad=True),))


@pytest.mark.filterwarnings('ignore:.*encountered:RuntimeWarning')
def test_gradcheck_fails_on_a_nan_gradient():
    """NaN compares False with everything, so a naive `err > tol` check would pass it."""
    x = mt.tensor([0.0, 1.0], dtype=mt.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="analytic nan"):
        mt.gradcheck(lambda t: (t * t).sqrt(), (x,))


# ---------------------------------------------------------------- on every device

def test_graph_on_each_device(device):
    x = mt.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = (x * x).sum() + x.exp().mean()
    y.backward()
    assert x.grad.device == device
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * np.array([1, 2, 3]) + np.exp([1, 2, 3]) / 3, rtol=1e-5)


def test_creation_on_each_device(device):
    mt.manual_seed(0)
    for t in (mt.zeros(2, 3, device=device), mt.randn(2, 3, device=device), mt.arange(4, device=device),
              mt.full((2,), 1.5, device=device), mt.randint(0, 3, (4,), device=device),
              mt.tensor([1.0], device=device), mt.ones(2).to(device)):
        assert t.device == device
    assert mt.zeros(2, device=device).cpu().device == 'cpu'
