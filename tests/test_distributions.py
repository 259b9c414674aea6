"""mt.distributions against torch.distributions: seeded draws (torch's random streams),
log_prob/entropy/cdf values and their gradients, kl_divergence, validation errors."""
import numpy as np
import pytest

import minitensor as mt

torch = pytest.importorskip('torch')
D, TD = mt.distributions, torch.distributions
rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((3, 5))
PROBS = rng.random((2, 4))


def close(a, b):
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('seed', [0, 7])
def test_seeded_samples_are_torchs(seed):
    torch.manual_seed(seed)
    mt.manual_seed(seed)
    assert (D.Categorical(logits=mt.tensor(LOGITS)).sample((4,)).numpy()
            == TD.Categorical(logits=torch.tensor(LOGITS)).sample((4,)).numpy()).all()
    close(D.Normal(mt.tensor([0., 1.]), mt.tensor([1., 2.])).sample((3,)),
          TD.Normal(torch.tensor([0., 1.]), torch.tensor([1., 2.])).sample((3,)))
    close(D.Bernoulli(probs=mt.tensor(PROBS)).sample((2,)), TD.Bernoulli(probs=torch.tensor(PROBS)).sample((2,)))


@pytest.mark.parametrize('param', ['logits', 'probs'])
def test_categorical_log_prob_entropy_and_gradients(param):
    base = LOGITS if param == 'logits' else np.abs(LOGITS)
    t = torch.tensor(base, requires_grad=True)
    m = mt.tensor(base, requires_grad=True)
    tc, mc = TD.Categorical(**{param: t}), D.Categorical(**{param: m})
    v = np.array([1, 4, 0])
    (tc.log_prob(torch.tensor(v)).sum() + tc.entropy().sum()).backward()
    (mc.log_prob(mt.tensor(v)).sum() + mc.entropy().sum()).backward()
    close(m.grad, t.grad)
    close(mc.probs, tc.probs)
    close(mc.logits, tc.logits)
    assert mc.batch_shape == tuple(tc.batch_shape) and mc.event_shape == ()
    close(mc.log_prob(mt.tensor([[2], [3]])), tc.log_prob(torch.tensor([[2], [3]])))    # broadcast values
    assert (mc.mode.numpy() == tc.mode.numpy()).all()


def test_normal_values_and_reparameterized_gradient():
    loc, scale = np.array([0.3, -1.0]), np.array([0.5, 2.0])
    tl, ts = torch.tensor(loc, requires_grad=True), torch.tensor(scale, requires_grad=True)
    ml, ms = mt.tensor(loc, requires_grad=True), mt.tensor(scale, requires_grad=True)
    tn, mn = TD.Normal(tl, ts), D.Normal(ml, ms)
    x = np.array([0.1, 2.0])
    for name in ('log_prob', 'cdf'):
        close(getattr(mn, name)(mt.tensor(x)), getattr(tn, name)(torch.tensor(x)))
    close(mn.icdf(mt.tensor([0.2, 0.9], dtype=mt.float64)), tn.icdf(torch.tensor([0.2, 0.9], dtype=torch.float64)))
    close(mn.entropy(), tn.entropy())
    torch.manual_seed(1)
    mt.manual_seed(1)
    (tn.rsample((5,)) ** 2).sum().backward()
    (mn.rsample((5,)) ** 2).sum().backward()
    close(ml.grad, tl.grad)
    close(ms.grad, ts.grad)
    close(D.kl_divergence(mn, D.Normal(0.5, 1.5)), TD.kl_divergence(tn, TD.Normal(0.5, 1.5)))


def test_bernoulli_and_uniform():
    tb = TD.Bernoulli(logits=torch.tensor([0.2, -3.0], dtype=torch.float64))
    mb = D.Bernoulli(logits=mt.tensor([0.2, -3.0], dtype=mt.float64))
    close(mb.log_prob(mt.tensor([1., 0.], dtype=mt.float64)), tb.log_prob(torch.tensor([1., 0.], dtype=torch.float64)))
    close(mb.entropy(), tb.entropy())
    close(D.kl_divergence(mb, D.Bernoulli(mt.tensor(0.3, dtype=mt.float64))),
          TD.kl_divergence(tb, TD.Bernoulli(torch.tensor(0.3, dtype=torch.float64))))
    tu, mu = TD.Uniform(0., 2.), D.Uniform(0., 2.)
    close(mu.log_prob(mt.tensor([1., 0.])), tu.log_prob(torch.tensor([1., 0.])))
    close(mu.entropy(), tu.entropy())
    pc = D.Categorical(probs=mt.tensor([0.5, 0.5, 0.0]))
    qc = TD.Categorical(probs=torch.tensor([0.5, 0.5, 0.0]))
    close(D.kl_divergence(pc, D.Categorical(probs=mt.tensor([0.2, 0.3, 0.5]))),
          TD.kl_divergence(qc, TD.Categorical(probs=torch.tensor([0.2, 0.3, 0.5]))))


def test_invalid_arguments_raise_value_error_as_torch():
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        D.Categorical(probs=mt.tensor([0.5, -0.1]))
    with pytest.raises(ValueError):
        D.Categorical()
    with pytest.raises(ValueError):
        D.Uniform(0.0, 2.0).log_prob(mt.tensor(3.0))
    with pytest.raises(ValueError):
        D.Bernoulli(probs=mt.tensor([1.5]))
    assert D.Uniform(0.0, 2.0, validate_args=False).log_prob(mt.tensor(3.0)).item() == float('-inf')


def test_policy_gradient_step_as_rl_examples_write_it():
    """REINFORCE: loss = -log_prob(action) * return; gradients reach the policy's logits."""
    mt.manual_seed(0)
    policy = mt.nn.Linear(4, 3)
    state = mt.randn(1, 4)
    dist = D.Categorical(logits=policy(state))
    action = dist.sample()
    loss = -(dist.log_prob(action) * 2.0).sum() - 0.01 * dist.entropy().sum()
    loss.backward()
    assert policy.weight.grad is not None and policy.weight.grad.abs().sum().item() > 0


def test_cuda_peak_memory_names_without_a_gpu():
    if mt.cuda.is_available():
        pytest.skip("covered by tests/gpu/test_memory_stats_gpu.py")
    mt.cuda.reset_peak_memory_stats()
    assert mt.cuda.max_memory_allocated() == 0 and mt.cuda.max_memory_reserved() == 0
    mt.cuda.reset_max_memory_allocated()
