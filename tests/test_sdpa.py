"""F.scaled_dot_product_attention against torch's (forward and every input gradient,
float64), its gradcheck, its errors, and dropout's statistics. The fused GPU path is
checked against this portable one in tests/gpu/test_sdpa_gpu.py."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
import minitensor.nn.functional as F
from strategies import FAST

torch = pytest.importorskip('torch')


def _inputs(rng, batch, L, S, E, Ev):
    return [rng.normal(size=batch + (n, d)) for n, d in ((L, E), (S, E), (S, Ev))]


def _compare(arrays, mask=None, mask_grad=False, **kw):
    """Run both libraries on the same float64 arrays; compare outputs and gradients."""
    ours = [mt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    m_ours = m_theirs = None
    if mask is not None:
        m_ours = mt.tensor(mask, requires_grad=mask_grad)
        m_theirs = torch.tensor(mask, requires_grad=mask_grad)
    out = F.scaled_dot_product_attention(*ours, attn_mask=m_ours, **kw)
    expected = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=m_theirs, **kw)
    np.testing.assert_allclose(out.numpy() if not out.requires_grad else out.detach().numpy(),
                               expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).normal(size=expected.shape)
    (out * mt.tensor(g)).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    for a, b in zip(ours + ([m_ours] if mask_grad else []), theirs + ([m_theirs] if mask_grad else [])):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize('batch,L,S,E,Ev', [((), 1, 1, 1, 1), ((2,), 5, 5, 4, 3), ((2, 3), 4, 6, 5, 2),
                                            ((1, 2), 6, 3, 4, 4), ((3,), 0, 4, 2, 2)])
@pytest.mark.parametrize('is_causal', [False, True])
def test_matches_torch_without_mask(batch, L, S, E, Ev, is_causal):
    _compare(_inputs(np.random.default_rng(0), batch, L, S, E, Ev), is_causal=is_causal)


@pytest.mark.parametrize('scale', [None, 0.3, 2.0])
def test_matches_torch_with_scale(scale):
    _compare(_inputs(np.random.default_rng(2), (2, 2), 5, 5, 3, 4), is_causal=True, scale=scale)


@given(seed=st.integers(0, 2 ** 32 - 1), L=st.integers(1, 5), S=st.integers(1, 5),
       mask_lead=st.sampled_from([(), (1,), (3,), (2, 1), (1, 3), (2, 3)]))
@FAST
def test_matches_torch_with_a_bool_mask(seed, L, S, mask_lead):
    rng = np.random.default_rng(seed)
    mask = rng.random(mask_lead + (L, S)) < 0.6          # True: takes part (some rows fully masked)
    _compare(_inputs(rng, (2, 3), L, S, 4, 2), mask=mask)


@given(seed=st.integers(0, 2 ** 32 - 1), mask_shape=st.sampled_from([(4, 5), (3, 1, 5), (1, 4, 5), (2, 3, 4, 5)]))
@FAST
def test_matches_torch_with_a_float_mask_including_its_gradient(seed, mask_shape):
    rng = np.random.default_rng(seed)
    mask = rng.normal(size=mask_shape)
    mask[rng.random(mask_shape) < 0.2] = -np.inf
    _compare(_inputs(rng, (2, 3), 4, 5, 3, 2), mask=mask, mask_grad=True)


def test_a_mask_may_not_enlarge_the_scores_as_in_torch():
    rng = np.random.default_rng(3)
    arrays = _inputs(rng, (), 3, 4, 2, 2)
    mask = rng.random((5, 3, 4)) < 0.7
    with pytest.raises(RuntimeError):
        torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, arrays), attn_mask=torch.tensor(mask))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(5, 3, 4\) does not broadcast to the "
                                           r"attention scores' shape \(3, 4\) \(\.\.\., L, S\) without enlarging it"):
        F.scaled_dot_product_attention(*map(mt.tensor, arrays), attn_mask=mt.tensor(mask))


def test_noncontiguous_inputs_match_torch():
    rng = np.random.default_rng(4)
    arrays = [a.swapaxes(0, 1) for a in _inputs(rng, (3, 2), 5, 5, 4, 4)]   # (2, 3, ...) views
    _compare(arrays, is_causal=True)


def test_enable_gqa_shares_key_value_heads_as_torch():
    rng = np.random.default_rng(5)
    q = rng.normal(size=(2, 6, 4, 3))
    k, v = rng.normal(size=(2, 2, 4, 3)), rng.normal(size=(2, 2, 4, 5))
    _compare([q, k, v], is_causal=True, enable_gqa=True)


def test_gradcheck_with_causal_mask_and_float_mask():
    rng = np.random.default_rng(6)
    q, k, v = (mt.tensor(a, requires_grad=True) for a in _inputs(rng, (2,), 4, 4, 3, 2))
    assert mt.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))
    bias = mt.tensor(rng.normal(size=(4, 4)), requires_grad=True)
    assert mt.gradcheck(lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, attn_mask=b), (q, k, v, bias))


def test_is_causal_equals_the_lectures_four_lines():
    mt.manual_seed(0)
    q, k, v = mt.randn(2, 6, 4), mt.randn(2, 6, 4), mt.randn(2, 6, 4)
    tril = mt.tril(mt.ones(6, 6))
    wei = q @ k.transpose(-2, -1) * 4 ** -0.5
    wei = F.softmax(wei.masked_fill(tril == 0, float('-inf')), dim=-1)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy(),
                               (wei @ v).numpy(), rtol=1e-6, atol=1e-6)


def test_dropout_zeroes_weights_at_rate_p_and_keeps_the_mean():
    mt.manual_seed(0)
    L, S = 8, 200
    v = mt.eye(S).unsqueeze(0).expand(50, S, S)          # identity values: the output IS the weights
    q, k = mt.zeros(50, L, 4), mt.zeros(50, S, 4)        # uniform weights 1/S
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).numpy()   # (50, L, S)
    assert out.shape == (50, L, S)
    assert abs((out == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / S / 0.7, rtol=1e-5)     # kept weights scaled by 1/(1-p)
    assert abs(out.sum(-1).mean() - 1.0) < 0.01
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).numpy()
    assert (again != out).any()                          # a fresh mask per call
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy().any()


def test_dropout_gradient_flows_through_the_kept_weights_only():
    mt.manual_seed(1)
    q = mt.randn(3, 5, 4, requires_grad=True)
    k, v = mt.randn(3, 5, 4), mt.randn(3, 5, 2)
    gen = mt.Generator().manual_seed(7)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, is_causal=True, generator=gen)
    out.sum().backward()
    assert q.grad.shape == q.shape and np.isfinite(q.grad.numpy()).all()
    gen.manual_seed(7)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, is_causal=True, generator=gen)
    np.testing.assert_array_equal(again.detach().numpy(), out.detach().numpy())   # same generator, same mask


def test_errors_name_the_problem():
    q = mt.randn(2, 4, 3)
    with pytest.raises(RuntimeError, match=r"attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=mt.ones(4, 4).bool(), is_causal=True)
    with pytest.raises(RuntimeError, match=r"same last dim \(E\): 3 != 2"):
        F.scaled_dot_product_attention(q, mt.randn(2, 4, 2), q)
    with pytest.raises(RuntimeError, match=r"same sequence length \(dim -2\): 4 != 5"):
        F.scaled_dot_product_attention(q, q, mt.randn(2, 5, 3))
    with pytest.raises(RuntimeError, match=r"same dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(RuntimeError, match=r"does not broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=mt.ones(3, 4).bool())
    with pytest.raises(RuntimeError, match=r"attn_mask must be bool or float32"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=mt.ones(4, 4).long())
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\], got 1.5"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.5)
    with pytest.raises(RuntimeError, match=r"multiple of the key's and value's heads"):
        F.scaled_dot_product_attention(mt.randn(1, 3, 4, 2), mt.randn(1, 2, 4, 2), mt.randn(1, 2, 4, 2),
                                       enable_gqa=True)


def test_default_scale_is_one_over_sqrt_e():
    mt.manual_seed(2)
    q, k, v = mt.randn(3, 5), mt.randn(4, 5), mt.randn(4, 2)
    expected = F.softmax(q @ k.T / math.sqrt(5), dim=-1) @ v
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v).numpy(), expected.numpy(), rtol=1e-6)
