"""Grad modes (no_grad, enable_grad, set_grad_enabled, inference_mode as contexts and
decorators), mt.autograd.grad/backward, retain_grad, hooks and next_functions."""
import numpy as np
import pytest

import minitensor as mt

torch = None
try:
    import torch
except ImportError:
    pass

LIBS = [mt] + ([torch] if torch is not None else [])


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_contexts_and_decorators(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.no_grad():
        assert not (x * 2).requires_grad
        with lib.enable_grad():
            assert (x * 2).requires_grad
        assert not lib.is_grad_enabled()
    assert lib.is_grad_enabled()

    @lib.no_grad()
    def f():
        return x * 2
    assert not f().requires_grad and lib.is_grad_enabled()

    @lib.enable_grad()
    def g():
        return x * 2
    with lib.no_grad():
        assert g().requires_grad


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_set_grad_enabled_is_a_function_a_context_and_a_decorator(lib):
    x = lib.ones(2, requires_grad=True)
    lib.set_grad_enabled(False)                    # a plain call switches at once
    assert not lib.is_grad_enabled()
    lib.set_grad_enabled(True)
    with lib.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert lib.is_grad_enabled()

    @lib.set_grad_enabled(False)
    def f():
        return x * 2
    assert lib.is_grad_enabled()                   # decorating does not switch the mode
    assert not f().requires_grad
    assert lib.is_grad_enabled()


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_inference_mode(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        assert not (x * 2).requires_grad and lib.is_inference_mode_enabled()
    assert not lib.is_inference_mode_enabled()
    with lib.inference_mode(False):
        assert (x * 2).requires_grad

    @lib.inference_mode()
    def f():
        return x * 2
    assert not f().requires_grad and lib.is_grad_enabled()


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_decorators_without_parentheses(lib):
    x = lib.ones(2, requires_grad=True)

    @lib.no_grad
    def f():
        return x * 2

    @lib.inference_mode
    def g():
        return x * 2

    @lib.enable_grad
    def h():
        return x * 2
    assert not f().requires_grad and not g().requires_grad
    with lib.no_grad():
        assert h().requires_grad
    assert lib.is_grad_enabled()


def test_modes_are_restored_after_an_exception():
    with pytest.raises(ValueError):
        with mt.no_grad():
            raise ValueError
    assert mt.is_grad_enabled()


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_autograd_grad(lib):
    x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    h = x * w                                      # a non-leaf input
    y = (h.exp() * x).sum()
    gx, gh = lib.autograd.grad(y, [x, h], retain_graph=True)
    np.testing.assert_allclose(gh.tolist(), (np.exp([0.5, -2.0, 6.0]) * [1, 2, 3]).tolist(), rtol=1e-12)
    expected_gx = np.exp([0.5, -2.0, 6.0]) * (1 + np.array([1, 2, 3]) * [0.5, -1.0, 2.0])
    np.testing.assert_allclose(gx.tolist(), expected_gx, rtol=1e-12)
    assert x.grad is None and w.grad is None       # grad() fills no .grad
    (gw,) = lib.autograd.grad([y], [w], grad_outputs=[lib.tensor(2.0, dtype=lib.float64)])
    np.testing.assert_allclose(gw.tolist(), 2 * np.exp([0.5, -2.0, 6.0]) * np.array([1, 2, 3]) ** 2, rtol=1e-12)
    unused = lib.ones(2, requires_grad=True)
    z = (x * 2).sum()
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        lib.autograd.grad(z, [unused], retain_graph=True)
    assert lib.autograd.grad(z, [x, unused], allow_unused=True)[1] is None


def test_create_graph_is_a_clear_error():
    x = mt.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph"):
        mt.autograd.grad((x * x).sum(), x, create_graph=True)
    with pytest.raises(NotImplementedError, match="create_graph"):
        (x * x).sum().backward(create_graph=True)


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_autograd_backward_with_several_roots(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    lib.autograd.backward([(x * 3).sum(), x * x], [None, lib.tensor([1.0, 10.0])])
    assert x.grad.tolist() == [3 + 2, 3 + 40]


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_retain_grad_and_is_leaf(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad and not h.is_leaf and x.is_leaf and lib.ones(1).is_leaf
    (h * h).sum().backward(retain_graph=True)
    assert h.grad.tolist() == [6.0, 12.0]
    (h * h).sum().backward()
    assert h.grad.tolist() == [12.0, 24.0]        # accumulates, as a leaf's would
    assert x.grad.tolist() == [36.0, 72.0]


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_register_hook(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: g * 10)     # a leaf: replaces what accumulates
    h = x * 2
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.sum().backward()
    assert seen == [[1.0, 1.0]] and x.grad.tolist() == [20.0, 20.0]
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lib.ones(2).register_hook(lambda g: g)


def test_post_accumulate_grad_hook_fires_once_after_all_contributions():
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 2 + w * w).sum().backward()
    assert seen == [[4.0, 6.0]]


def test_next_functions():
    x = mt.ones(2, requires_grad=True)
    y = x.exp() * 2
    (mul_input, _), (const, _) = y.grad_fn.next_functions
    assert mul_input is not None and mul_input.name == 'Exp' and const is None
    ((acc, nr),) = mul_input.next_functions
    assert acc.variable is x and nr == 0


def test_requires_grad_setter_and_flag():
    x = mt.ones(2)
    x.requires_grad = True
    assert (x * 2).requires_grad
