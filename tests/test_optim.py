"""Optimizers: SGD, Adam, AdamW against closed-form math, groups, zero_grad, state_dict, torch."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
from minitensor.tensor import Tensor

P0 = np.array([0.5, -1.5, 2.0, 0.25])
GRADS = [np.array([0.1, -0.2, 0.3, -0.4]),     # a different gradient at each step
         np.array([1.0, 0.5, -0.25, 0.0]),
         np.array([-0.3, 0.7, 0.2, 0.9])]


def param(values=P0):
    return nn.Parameter(mt.tensor(np.array(values, dtype=np.float64)))


def run(opt_cls, grads=GRADS, **kw):
    """Apply opt_cls to one parameter with the given gradients; return its values per step."""
    p = param()
    opt = opt_cls([p], **kw)
    history = []
    for g in grads:
        p.grad = Tensor._wrap(g.copy())
        opt.step()
        history.append(p.array.copy())
    return history


# ---------------------------------------------------------------- closed-form references

def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf, out = P0.copy(), None, []
    for g in GRADS:
        d = g + weight_decay * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
        out.append(p)
    return out


def adam_reference(lr, b1, b2, eps, weight_decay=0.0, decoupled=False):
    p, m, v, out = P0.copy(), np.zeros(4), np.zeros(4), []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def assert_history(got, expected):
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15, err_msg=f"step {step}")


def test_sgd_plain_first_step_is_p_minus_lr_grad():
    got = run(mt.optim.SGD, lr=0.1)
    np.testing.assert_array_equal(got[0], P0 - 0.1 * GRADS[0])
    assert_history(got, sgd_reference(0.1))


@pytest.mark.parametrize('kw', [dict(momentum=0.9), dict(momentum=0.9, dampening=0.5),
                                dict(momentum=0.9, nesterov=True), dict(weight_decay=0.1),
                                dict(momentum=0.8, weight_decay=0.05, nesterov=True)])
def test_sgd_variants_match_closed_form(kw):
    assert_history(run(mt.optim.SGD, lr=0.05, **kw), sgd_reference(0.05, **kw))


def test_sgd_momentum_by_hand():
    # step 1: buf = g0; p1 = p0 - lr*g0.  step 2: buf = 0.9*g0 + g1; p2 = p1 - lr*buf
    got = run(mt.optim.SGD, grads=GRADS[:2], lr=0.1, momentum=0.9)
    p1 = P0 - 0.1 * GRADS[0]
    np.testing.assert_allclose(got[1], p1 - 0.1 * (0.9 * GRADS[0] + GRADS[1]), rtol=1e-15)


def test_adam_first_step_moves_each_element_by_lr():
    # with bias correction, the first step is lr * g / (|g| + eps): lr * sign(g) for |g| >> eps
    got = run(mt.optim.Adam, grads=GRADS[:1], lr=0.01)
    g = GRADS[0]
    np.testing.assert_allclose(got[0], P0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-14)


@pytest.mark.parametrize('kw', [dict(), dict(weight_decay=0.1), dict(betas=(0.8, 0.99), eps=1e-3)])
def test_adam_matches_closed_form(kw):
    b1, b2 = kw.get('betas', (0.9, 0.999))
    expected = adam_reference(0.01, b1, b2, kw.get('eps', 1e-8), kw.get('weight_decay', 0.0))
    assert_history(run(mt.optim.Adam, lr=0.01, **kw), expected)


@pytest.mark.parametrize('wd', [0.0, 0.01, 0.5])
def test_adamw_matches_closed_form(wd):
    expected = adam_reference(0.01, 0.9, 0.999, 1e-8, wd, decoupled=True)
    assert_history(run(mt.optim.AdamW, lr=0.01, weight_decay=wd), expected)


def test_adamw_default_weight_decay_is_decoupled_not_l2():
    adamw = run(mt.optim.AdamW, lr=0.01)          # default weight_decay=0.01
    assert_history(adamw, adam_reference(0.01, 0.9, 0.999, 1e-8, 0.01, decoupled=True))
    l2 = adam_reference(0.01, 0.9, 0.999, 1e-8, 0.01, decoupled=False)
    assert not np.allclose(adamw[-1], l2[-1], rtol=1e-9, atol=0)


def test_adam_state_holds_step_and_moments():
    p = param()
    opt = mt.optim.Adam([p], lr=0.01)
    for g in GRADS[:2]:
        p.grad = Tensor._wrap(g.copy())
        opt.step()
    state = opt.state[p]
    assert state['step'] == 2
    # atol: element 2 is 0.027 - 0.025, a cancellation that leaves a few units of 1e-18
    np.testing.assert_allclose(state['exp_avg'], 0.9 * 0.1 * GRADS[0] + 0.1 * GRADS[1],
                               rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(state['exp_avg_sq'],
                               0.999 * 0.001 * GRADS[0] ** 2 + 0.001 * GRADS[1] ** 2, rtol=1e-14)


# ---------------------------------------------------------------- the engine rule: grads are read-only

@pytest.mark.parametrize('make', [lambda ps: mt.optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: mt.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: mt.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda ps: mt.optim.Adam(ps, lr=0.1),
                                  lambda ps: mt.optim.Adam(ps, lr=0.1, weight_decay=0.1),
                                  lambda ps: mt.optim.AdamW(ps, lr=0.1)])
def test_step_never_writes_into_gradient_arrays(make):
    # ONE array behind both a.grad and b.grad (backward no longer shares, but user code
    # may): an in-place write into it would corrupt the other parameter's gradient
    # (and SGD's first momentum buffer).
    a, b = param(), param(P0[::-1].copy())
    opt = make([a, b])
    shared = np.ones_like(a.array)
    a.grad, b.grad = Tensor._wrap(shared), Tensor._wrap(shared)
    grad_a, grad_b = a.grad.array, b.grad.array
    assert grad_a is grad_b                                # the sharing this test relies on
    before = grad_a.copy()
    ref_a, ref_b = param(), param(P0[::-1].copy())         # the same update, unshared grads
    ref = make([ref_a, ref_b])
    for _ in range(3):
        opt.step()
        ref_a.grad, ref_b.grad = Tensor._wrap(before.copy()), Tensor._wrap(before.copy())
        ref.step()
    np.testing.assert_array_equal(grad_a, before)
    np.testing.assert_array_equal(a.array, ref_a.array)
    np.testing.assert_array_equal(b.array, ref_b.array)


def test_parameters_without_grad_are_skipped():
    a, b = param(), param()
    opt = mt.optim.Adam([a, b], lr=0.1)
    a.grad = Tensor._wrap(np.ones(4))
    opt.step()
    np.testing.assert_array_equal(b.array, P0)
    assert b not in opt.state and opt.state[a]['step'] == 1
    assert not np.array_equal(a.array, P0)


# ---------------------------------------------------------------- groups, zero_grad, API

def test_param_groups_use_their_own_lr_and_defaults():
    a, b = param(), param()
    opt = mt.optim.SGD([{'params': [a]}, {'params': [b], 'lr': 0.5, 'momentum': 0.9}], lr=0.1)
    assert [g['lr'] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]['momentum'] == 0 and opt.param_groups[1]['momentum'] == 0.9
    g = np.array([1.0, 2.0, 3.0, 4.0])
    a.grad, b.grad = Tensor._wrap(g), Tensor._wrap(g)
    opt.step()
    np.testing.assert_allclose(a.array, P0 - 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(b.array, P0 - 0.5 * g, rtol=1e-15)


def test_add_param_group_and_changing_lr_in_place():
    a, b = param(), param()
    opt = mt.optim.Adam([a], lr=0.1)
    opt.add_param_group({'params': b, 'lr': 0.2})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]['betas'] == (0.9, 0.999)
    opt.param_groups[0]['lr'] = 0.0                       # what schedulers do
    a.grad, b.grad = Tensor._wrap(np.ones(4)), Tensor._wrap(np.ones(4))
    opt.step()
    np.testing.assert_array_equal(a.array, P0)
    np.testing.assert_allclose(b.array, P0 - 0.2 / (1 + 1e-8), rtol=1e-14)
    with pytest.raises(ValueError, match='more than one'):
        opt.add_param_group({'params': [a]})


def test_zero_grad_set_to_none_and_to_zeros():
    a, b = param(), param()
    opt = mt.optim.SGD([a, b], lr=0.1)
    (a * b).sum().backward()
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    (a + b).sum().backward()
    shared = a.grad.array
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.array, np.zeros(4))
    assert a.grad.array is not shared                      # rebound, not zeroed in place
    np.testing.assert_array_equal(shared, np.ones(4))
    (a * 3).sum().backward()                              # accumulates onto the zeros
    np.testing.assert_array_equal(a.grad.array, np.full(4, 3.0))


def test_closure_is_called_with_grad_and_its_loss_returned():
    p = param()
    opt = mt.optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == pytest.approx(float((P0 ** 2).sum()))
    np.testing.assert_allclose(p.array, P0 - 0.1 * 2 * P0, rtol=1e-15)


def test_float32_parameters_stay_float32():
    p = nn.Parameter(mt.tensor(P0.astype(np.float32)))
    for opt in (mt.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1), mt.optim.AdamW([p])):
        p.grad = Tensor._wrap(np.ones(4, np.float32))
        opt.step()
        opt.step()
        assert p.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[p].values() if hasattr(v, 'dtype'))


def test_a_training_loop_reduces_the_loss():
    mt.manual_seed(0)
    model = nn.Linear(3, 1)
    x = mt.randn(32, 3)
    y = x @ mt.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    opt = mt.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.0)
    losses = []
    for _ in range(200):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-3 * losses[0]


@pytest.mark.parametrize('make, match', [
    (lambda p: mt.optim.SGD(p, lr=-1.0), 'invalid lr'),
    (lambda p: mt.optim.SGD(p, lr=0.1, nesterov=True), 'nesterov'),
    (lambda p: mt.optim.Adam(p, betas=(1.0, 0.999)), r'betas\[0\]'),
    (lambda p: mt.optim.Adam(p, eps=-1e-8), 'invalid eps'),
    (lambda p: mt.optim.AdamW(p, weight_decay=-0.1), 'weight_decay'),
])
def test_invalid_hyperparameters_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make([param()])


def test_bad_params_arguments():
    with pytest.raises(TypeError, match='iterable'):
        mt.optim.SGD(param(), lr=0.1)
    with pytest.raises(ValueError, match='empty parameter list'):
        mt.optim.Adam([])
    a = param()
    with pytest.raises(ValueError, match='non-leaf'):
        mt.optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match='more than one'):
        mt.optim.SGD([a, a], lr=0.1)
    with pytest.raises(TypeError, match='can only optimize Tensors'):
        mt.optim.SGD([np.zeros(3)], lr=0.1)


# ---------------------------------------------------------------- state_dict

def grads_for(step):
    rng = np.random.default_rng(100 + step)
    return rng.standard_normal(4), rng.standard_normal((2, 3))


def train(opt, params, steps, start=0):
    for s in range(start, start + steps):
        for p, g in zip(params, grads_for(s)):
            p.grad = Tensor._wrap(g)
        opt.step()


@pytest.mark.parametrize('make', [lambda ps: mt.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda ps: mt.optim.Adam(ps, lr=0.01, weight_decay=0.1),
                                  lambda ps: mt.optim.AdamW(ps, lr=0.01)])
def test_state_dict_round_trip_continues_identically(make, tmp_path):
    def fresh():
        return [param(), nn.Parameter(mt.tensor(np.arange(6.0).reshape(2, 3)))]
    params = fresh()
    opt = make(params)
    train(opt, params, 3)
    mt.save({'params': [p.array for p in params], 'opt': opt.state_dict()}, tmp_path / 'o.ckpt')
    train(opt, params, 4, start=3)                         # the uninterrupted run

    ckpt = mt.load(tmp_path / 'o.ckpt')
    resumed = fresh()
    for p, saved in zip(resumed, ckpt['params']):
        p.array = saved.copy()
    opt2 = make(resumed)
    opt2.load_state_dict(ckpt['opt'])
    train(opt2, resumed, 4, start=3)
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a.array, b.array)      # bit for bit


def test_state_dict_is_a_snapshot_and_has_torch_layout():
    p = param()
    opt = mt.optim.Adam([p], lr=0.1)
    p.grad = Tensor._wrap(np.ones(4))
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {'state', 'param_groups'}
    assert sd['param_groups'][0]['params'] == [0] and sd['param_groups'][0]['lr'] == 0.1
    assert sd['state'][0]['step'] == 1 and isinstance(sd['state'][0]['exp_avg'], Tensor)
    saved = sd['state'][0]['exp_avg'].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(sd['state'][0]['exp_avg'].numpy(), saved)
    assert sd['state'][0]['step'] == 1


def test_load_state_dict_restores_hyperparameters_and_casts_state():
    p64 = param()
    opt = mt.optim.Adam([p64], lr=0.123, betas=(0.8, 0.9))
    p64.grad = Tensor._wrap(np.ones(4))
    opt.step()
    p32 = nn.Parameter(mt.tensor(P0.astype(np.float32)))
    opt32 = mt.optim.Adam([p32], lr=1.0)
    opt32.load_state_dict(opt.state_dict())
    assert opt32.param_groups[0]['lr'] == 0.123 and opt32.param_groups[0]['betas'] == (0.8, 0.9)
    assert opt32.state[p32]['exp_avg'].dtype == np.float32
    assert opt32.state[p32]['step'] == 1


def test_load_state_dict_mismatches_are_clear():
    a, b = param(), param()
    opt = mt.optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = b.grad = Tensor._wrap(np.ones(4))
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match='group 0 has 2 parameter'):
        mt.optim.SGD([param()], lr=0.1, momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match='1 parameter group'):
        mt.optim.SGD([{'params': [param()]}, {'params': [param()]}], lr=0.1).load_state_dict(sd)
    other = [param([1.0, 2.0]), param([1.0, 2.0])]
    with pytest.raises(ValueError, match=r"shape \(4,\) but the parameter has shape \(2,\)"):
        mt.optim.SGD(other, lr=0.1, momentum=0.9).load_state_dict(sd)


# ---------------------------------------------------------------- torch parity

torch_cases = [
    ('SGD', dict(lr=0.05)),
    ('SGD', dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ('SGD', dict(lr=0.05, momentum=0.9, nesterov=True)),
    ('SGD', dict(lr=0.05, momentum=0.5, dampening=0.3)),
    ('Adam', dict(lr=0.01)),
    ('Adam', dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.05)),
    ('AdamW', dict(lr=0.01)),
    ('AdamW', dict(lr=0.02, betas=(0.85, 0.99), weight_decay=0.3)),
]


@pytest.mark.parametrize('name, kw', torch_cases)
def test_ten_steps_match_torch_float64(name, kw):
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    w0, b0 = rng.standard_normal((5, 3)), rng.standard_normal(3)
    x, y = rng.standard_normal((16, 5)), rng.standard_normal((16, 3))

    ours = [nn.Parameter(mt.tensor(w0)), nn.Parameter(mt.tensor(b0))]
    theirs = [torch.nn.Parameter(torch.tensor(w0)), torch.nn.Parameter(torch.tensor(b0))]
    # two groups, the second at half the lr, so the groups are exercised too
    half = dict(kw, lr=kw['lr'] / 2)
    opt = getattr(mt.optim, name)([{'params': ours[:1]}, {'params': ours[1:], **half}], **kw)
    topt = getattr(torch.optim, name)([{'params': theirs[:1]}, {'params': theirs[1:], **half}], **kw)
    xm, ym, xt, yt = mt.tensor(x), mt.tensor(y), torch.tensor(x), torch.tensor(y)
    for _ in range(10):
        opt.zero_grad()
        (((xm @ ours[0] + ours[1]).tanh() - ym) ** 2).mean().backward()
        opt.step()
        topt.zero_grad()
        (((xt @ theirs[0] + theirs[1]).tanh() - yt) ** 2).mean().backward()
        topt.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.array, b.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours[0].array, w0)               # it did move


# ---------------------------------------------------------------- GPU

@pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_gpu_matches_cpu_and_state_moves_to_the_parameter_device():
    cpu, gpu = param(), param().to('gpu')
    gpu = nn.Parameter(gpu)
    opts = [mt.optim.AdamW([cpu], lr=0.1), mt.optim.AdamW([gpu], lr=0.1)]
    for g in GRADS:
        cpu.grad = Tensor._wrap(g.copy())
        gpu.grad = Tensor._wrap(mt.tensor(g).to('gpu').array)
        for o in opts:
            o.step()
    np.testing.assert_allclose(gpu.detach().numpy(), cpu.detach().numpy(), rtol=1e-12)
    assert opts[1].state[gpu]['exp_avg'].__class__ is gpu.array.__class__
    moved = nn.Parameter(param().to('gpu'))
    opt = mt.optim.AdamW([moved], lr=0.1)
    opt.load_state_dict(opts[0].state_dict())             # CPU state -> GPU parameter
    assert type(opt.state[moved]['exp_avg']) is type(moved.array)
