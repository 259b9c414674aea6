"""Each layer: forward against a NumPy reference, gradients by mt.gradcheck (float64),
initialisation statistics as torch's, and clear errors."""
import math

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F


def params_of(module):
    return tuple(module.parameters())


def check_layer(module, x):
    """gradcheck w.r.t. the input and every parameter at once."""
    module.double()
    ps = params_of(module)
    n = len(ps)

    def fn(x, *p):
        return module(x)
    assert mt.gradcheck(fn, (x,) + ps)
    assert n >= 0


def randn64(*shape):
    return mt.randn(*shape, dtype=mt.float64, requires_grad=True)


def test_linear_forward_and_grads():
    mt.manual_seed(0)
    lin = nn.Linear(5, 3)
    x = mt.randn(2, 4, 5)
    ref = x.numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
    np.testing.assert_allclose(lin(x).detach().numpy(), ref, rtol=1e-5, atol=1e-6)
    check_layer(lin, randn64(2, 4, 5))


def test_linear_without_bias():
    lin = nn.Linear(4, 2, bias=False)
    assert lin.bias is None and [n for n, _ in lin.named_parameters()] == ['weight']
    check_layer(lin, randn64(3, 4))


def test_linear_init_bounds_as_torch():
    mt.manual_seed(1)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-a, a) has std a / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound


def test_linear_shape_error_names_features():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 7\) has 7 features.*expects 5"):
        nn.Linear(5, 3)(mt.randn(2, 7))


def test_embedding_forward_backward_and_repeats():
    mt.manual_seed(0)
    emb = nn.Embedding(10, 4).double()
    idx = mt.tensor([[1, 2, 1], [9, 1, 0]])
    out = emb(idx)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.detach().numpy(), emb.weight.detach().numpy()[idx.numpy()])
    out.sum().backward()
    counts = np.bincount(idx.numpy().ravel(), minlength=10)[:, None] * np.ones((1, 4))
    np.testing.assert_array_equal(emb.weight.grad.numpy(), counts)   # row 1 used three times
    assert mt.gradcheck(lambda w: F.embedding(idx, w), (randn64(10, 4),))


def test_embedding_init_is_standard_normal():
    mt.manual_seed(0)
    w = nn.Embedding(1000, 64).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_embedding_index_out_of_range():
    with pytest.raises(IndexError, match="index 10 is out of range for an embedding table with 10 rows"):
        nn.Embedding(10, 2)(mt.tensor([3, 10]))


def test_embedding_rejects_float_indices():
    with pytest.raises(TypeError, match="integer"):
        nn.Embedding(10, 2)(mt.tensor([1.0]))


def test_layer_norm_forward_matches_numpy():
    mt.manual_seed(0)
    ln = nn.LayerNorm(6)
    with mt.no_grad():
        ln.weight.array[...] = np.linspace(0.5, 2, 6)
        ln.bias.array[...] = np.linspace(-1, 1, 6)
    x = mt.randn(3, 4, 6)
    a = x.numpy()
    ref = (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-5)
    ref = ref * ln.weight.detach().numpy() + ln.bias.detach().numpy()
    np.testing.assert_allclose(ln(x).detach().numpy(), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('shape,normalized', [((3, 5), 5), ((2, 3, 4), (3, 4)), ((4,), 4)])
def test_layer_norm_grads(shape, normalized):
    ln = nn.LayerNorm(normalized)
    with mt.no_grad():            # non-trivial affine parameters
        ln.weight.array[...] = np.random.default_rng(0).uniform(0.5, 1.5, ln.weight.shape)
        ln.bias.array[...] = np.random.default_rng(1).uniform(-1, 1, ln.bias.shape)
    check_layer(ln, randn64(*shape))


def test_layer_norm_without_affine():
    ln = nn.LayerNorm(5, elementwise_affine=False)
    assert list(ln.parameters()) == []
    assert mt.gradcheck(lambda x: ln(x), (randn64(3, 5),))


def test_layer_norm_shape_error():
    with pytest.raises(ValueError, match=r"normalized_shape \(5,\) does not match"):
        nn.LayerNorm(5)(mt.randn(2, 4))


def test_dropout_gradient_uses_the_same_mask():
    mt.manual_seed(3)
    x = mt.ones(200, requires_grad=True)
    y = F.dropout(x, 0.3, training=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())   # d(x*m)/dx = m


def test_dropout_bad_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


@pytest.mark.parametrize('layer', [nn.ReLU(), nn.GELU(), nn.GELU('tanh'), nn.Tanh(), nn.Sigmoid()])
def test_activations_grads(layer):
    x = randn64(3, 4)
    with mt.no_grad():
        x.array[np.abs(x.array) < 1e-3] = 0.5     # keep ReLU's kink away from the probes
    assert mt.gradcheck(lambda x: layer(x), (x,))


def test_sequential_and_modulelist_indexing():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(ml[1:]) == 2
    assert seq(mt.randn(4, 2)).shape == (4, 1)


def test_mse_loss():
    a, b = randn64(3, 2), randn64(3, 2)
    np.testing.assert_allclose(F.mse_loss(a, b).item(), ((a.array - b.array) ** 2).mean())
    assert mt.gradcheck(lambda a, b: F.mse_loss(a, b), (a, b))
