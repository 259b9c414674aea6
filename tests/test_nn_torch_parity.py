"""Same layer, same weights: the same outputs and gradients as torch (float64)."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F

torch = pytest.importorskip('torch')


def copy_weights(ours, theirs):
    sd = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(sd)


def compare(ours, theirs, x_np, tol=1e-12):
    ours.double()
    theirs.double()
    copy_weights(ours, theirs)
    x = mt.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(5).standard_normal(out.shape)
    out.backward(mt.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(),
                                   rtol=tol, atol=tol, err_msg=name)


def x_of(*shape):
    return np.random.default_rng(0).standard_normal(shape)


def test_linear():
    compare(nn.Linear(6, 4), torch.nn.Linear(6, 4), x_of(2, 3, 6))


def test_layer_norm():
    ours, theirs = nn.LayerNorm(8), torch.nn.LayerNorm(8)
    with mt.no_grad():
        ours.weight.array[...] = np.linspace(0.5, 1.5, 8)
        ours.bias.array[...] = np.linspace(-0.3, 0.3, 8)
    compare(ours, theirs, x_of(4, 5, 8))


def test_mlp_with_gelu_and_relu():
    ours = nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.Linear(7, 7), nn.ReLU(), nn.Linear(7, 3),
                         nn.GELU('tanh'), nn.Tanh())
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.GELU(), torch.nn.Linear(7, 7),
                                 torch.nn.ReLU(), torch.nn.Linear(7, 3),
                                 torch.nn.GELU(approximate='tanh'), torch.nn.Tanh())
    compare(ours, theirs, x_of(6, 5))


def test_embedding():
    ours, theirs = nn.Embedding(9, 4).double(), torch.nn.Embedding(9, 4).double()
    copy_weights(ours, theirs)
    idx = np.array([[1, 2, 1], [8, 0, 1]])
    out, tout = ours(mt.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    g = x_of(2, 3, 4)
    out.backward(mt.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


def test_default_init_statistics_match_torch():
    torch.manual_seed(0)
    mt.manual_seed(0)
    ours, theirs = nn.Linear(256, 512), torch.nn.Linear(256, 512)
    w, tw = ours.weight.detach().numpy(), theirs.weight.detach().numpy()
    assert abs(w.std() - tw.std()) < 0.02 * tw.std()           # 131,072 draws each
    bound = 1 / 16                                               # 1/sqrt(fan_in)
    assert np.abs(w).max() <= bound and np.abs(tw).max() <= bound
    b, tb = ours.bias.detach().numpy(), theirs.bias.detach().numpy()
    assert np.abs(b).max() <= bound and np.abs(tb).max() <= bound
    assert np.abs(b).max() > 0.9 * bound                         # spread over the whole range


def test_softmax_and_log_softmax():
    x_np = x_of(3, 4, 5)
    for ours, theirs in ((lambda x: F.softmax(x, dim=1), lambda x: torch.softmax(x, dim=1)),
                         (lambda x: F.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1))):
        x, tx = mt.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
        out, tout = ours(x), theirs(tx)
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-14)
        g = x_of(3, 4, 5) + 1
        out.backward(mt.tensor(g))
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
