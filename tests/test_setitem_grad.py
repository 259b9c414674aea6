"""x[index] = value joins the graph when the value (or x) requires grad, as torch's
CopySlices/IndexPutBackward: the gradient reaches the value and the part of x that was
not overwritten. Compared with torch where importable."""
import numpy as np
import pytest

import minitensor as mt

torch = None
try:
    import torch
except ImportError:
    pass


def check(fn):
    """fn(lib) -> list of tensors; ours must equal torch's (when torch is importable)."""
    ours = [np.asarray(t.tolist()) for t in fn(mt)]
    if torch is not None:
        theirs = [np.asarray(t.tolist()) for t in fn(torch)]
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    return ours


def params(lib):
    g = np.random.default_rng(0)
    x = lib.tensor(g.normal(size=(4, 3)), dtype=lib.float64, requires_grad=True)
    w = lib.tensor(g.normal(size=(3, 5)), dtype=lib.float64, requires_grad=True)
    return x, w


def test_rows_written_from_a_model():
    """makemore: logits[i] = model(x) in a loop, then a loss over all rows."""
    def fn(lib):
        x, w = params(lib)
        logits = lib.zeros(4, 5, dtype=lib.float64)
        for i in range(4):
            logits[i] = (x[i] @ w).tanh()
        loss = (logits * lib.arange(20, dtype=lib.float64).view(4, 5)).sum()
        loss.backward()
        return [logits, x.grad, w.grad]
    check(fn)


def test_manual_backprop_dlogits_pattern():
    """makemore's manual backprop: dlogits = softmax(logits); dlogits[range(n), Yb] -= 1;
    dlogits /= n, on tensors in the graph, then compared with autograd's logits.grad."""
    def fn(lib):
        x, w = params(lib)
        logits = x @ w                                   # (4, 5)
        logits.retain_grad()
        yb = lib.tensor([1, 0, 4, 1])
        loss = lib.nn.functional.cross_entropy(logits, yb)
        dlogits = lib.nn.functional.softmax(logits, 1)
        dlogits[range(4), yb] -= 1
        dlogits /= 4
        assert dlogits.requires_grad
        loss.backward()
        np.testing.assert_allclose(np.asarray(dlogits.tolist()), np.asarray(logits.grad.tolist()),
                                   rtol=1e-12, atol=1e-15)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            dlogits.sum().backward()                     # softmax saved its output, now edited
        return [dlogits, x.grad, w.grad]
    check(fn)


def test_mask_write_of_a_value_that_requires_grad():
    def fn(lib):
        x, w = params(lib)
        base = x * 2
        y = w[0, :3].exp()                               # (3,) broadcasts over the masked rows
        mask = lib.tensor([True, False, True, True])
        base[mask] = y
        (base * base).sum().backward()
        return [base, x.grad, w.grad]
    check(fn)


def test_scalar_value_and_slices_on_a_non_leaf():
    def fn(lib):
        x, w = params(lib)
        base = x * 0.5
        base[1:3, 1] = w[0, 0] * 3                       # a 0-d value that requires grad
        base[0] = 0.0                                    # a constant: that region gets no gradient
        (base ** 2).sum().backward()
        return [base, x.grad, w.grad]
    check(fn)


def test_write_through_a_view_of_a_non_leaf():
    def fn(lib):
        x, w = params(lib)
        base = x * 1.5
        row = base[2]                                    # a view
        row[1:] = w[1, :2]                               # reaches base through CopySlices
        (base * base).sum().backward()
        return [base, x.grad, w.grad]
    check(fn)


def test_buffer_without_grad_becomes_part_of_the_graph():
    def fn(lib):
        x, w = params(lib)
        out = lib.zeros(2, 4, dtype=lib.float64)
        out[:, 1:] = x[:2] * 2
        assert out.requires_grad and not out.is_leaf
        out.sum().backward()
        return [out, x.grad]
    check(fn)


def test_no_grad_write_stays_out_of_the_graph():
    x, _ = params(mt)
    buf = mt.zeros(4, 3, dtype=mt.float64)
    with mt.no_grad():
        buf[1] = x[1] * 2
    assert not buf.requires_grad and buf.is_leaf
    buf[0] = x.detach()[0]
    assert not buf.requires_grad


def test_a_leaf_that_requires_grad_is_refused():
    x, w = params(mt)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = w[0, :3]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
