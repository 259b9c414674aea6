"""mt.amp / mt.cuda.amp: CUDA autocast leaves CPU tensors alone (tests/test_autocast.py
checks what autocast does); GradScaler follows torch.amp.GradScaler step by step (scaling, unscale_, skipping a step
on inf/NaN gradients, backoff and growth of the scale, state_dict)."""
import warnings

import numpy as np
import pytest

import minitensor as mt


@pytest.mark.filterwarnings('ignore:CUDA is not available')
def test_cuda_autocast_is_a_context_and_a_decorator_that_leaves_cpu_tensors_alone():
    x = mt.randn(3, 4)
    w = mt.randn(4, 2)
    with mt.autocast(device_type='cuda', dtype=mt.float16) as ctx:
        inside = x @ w
    assert isinstance(ctx, mt.amp.autocast)
    assert inside.dtype == mt.float32
    np.testing.assert_array_equal(inside.numpy(), (x @ w).numpy())
    with mt.amp.autocast('cpu', enabled=False), mt.cuda.amp.autocast(dtype=mt.float16):
        assert (x @ w).dtype == mt.float32

    @mt.amp.autocast(device_type='cuda')
    def f(a):
        return a * 2
    np.testing.assert_array_equal(f(x).numpy(), (x * 2).numpy())
    assert f.__name__ == 'f'
    with pytest.raises(RuntimeError, match=r"autocast: device_type must be one of 'cuda', 'cpu' \(or 'gpu'\), got 'tpu'"):
        mt.autocast('tpu')


def test_a_disabled_scaler_passes_everything_through():
    scaler = mt.amp.GradScaler('cpu', enabled=False)
    loss = mt.randn(1).sum()
    assert scaler.scale(loss) is loss
    assert scaler.get_scale() == 1.0 and scaler.state_dict() == {} and not scaler.is_enabled()
    p = mt.nn.Parameter(mt.ones(2))
    opt = mt.optim.SGD([p], lr=0.5)
    p.grad = mt.ones(2)
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(p.detach().numpy(), [0.5, 0.5])


def test_the_cuda_scaler_disables_itself_without_a_gpu_as_torch():
    if mt.cuda.is_available():
        pytest.skip('needs a machine without a GPU')
    with pytest.warns(UserWarning, match='CUDA is not available.  Disabling'):
        scaler = mt.cuda.amp.GradScaler()
    assert not scaler.is_enabled()
    with pytest.warns(UserWarning):
        assert not mt.amp.GradScaler().is_enabled()                     # device='cuda' by default
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert not mt.cuda.amp.GradScaler(enabled=False).is_enabled()  # asked off: no warning


def test_scale_multiplies_a_tensor_or_a_list():
    scaler = mt.amp.GradScaler('cpu', init_scale=4.0)
    a, b = mt.tensor(1.5), mt.tensor([2.0, 3.0])
    assert scaler.scale(a).item() == 6.0
    out = scaler.scale([a, b])
    assert isinstance(out, list) and out[1].tolist() == [8.0, 12.0]
    assert isinstance(scaler.scale((a, b)), tuple)


def test_misuse_raises_as_torch():
    p = mt.nn.Parameter(mt.ones(2))
    opt = mt.optim.SGD([p], lr=0.1)
    scaler = mt.amp.GradScaler('cpu')
    scaler.scale(p.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last update\(\)"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)"):
        scaler.unscale_(opt)
    scaler.update()
    with pytest.raises(RuntimeError, match=r"no inf checks were recorded"):
        scaler.update()
    with pytest.raises(ValueError, match=r"growth_factor must be > 1.0"):
        mt.amp.GradScaler('cpu', growth_factor=1.0)
    with pytest.raises(ValueError, match=r"backoff_factor must be < 1.0"):
        mt.amp.GradScaler('cpu', backoff_factor=1.0)
    with pytest.raises(RuntimeError, match=r"state dict is empty"):
        mt.amp.GradScaler('cpu').load_state_dict({})


BAD_STEPS = {1, 2, 6, 11}      # steps whose gradient holds an inf or a NaN


def _run_training(lib, scaler_cls, steps=14):
    """A small loop with torch's AMP recipe; returns (scale, growth tracker, weights) per step."""
    x = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)
    w = lib.nn.Parameter(lib.tensor(np.array([[0.5, -0.25, 1.0]], dtype=np.float32)))
    opt = lib.optim.SGD([w], lr=0.1)
    scaler = scaler_cls('cpu', init_scale=8.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=3)
    history = []
    for step in range(steps):
        opt.zero_grad()
        poison = {1: float('inf'), 2: float('nan'), 6: float('-inf'), 11: float('inf')}.get(step, 1.0)
        loss = ((lib.tensor(x) * w).sum(1) ** 2).mean() * poison
        scaler.scale(loss).backward()
        if step % 2:                                 # clip-style explicit unscale_ on odd steps
            scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        history.append((scaler.get_scale(), scaler.state_dict()['_growth_tracker'],
                        w.detach().numpy().copy()))
    return history, scaler.state_dict()


@pytest.mark.filterwarnings('ignore:invalid value:RuntimeWarning')   # the poisoned losses
def test_grad_scaler_matches_torch_step_by_step():
    torch = pytest.importorskip('torch')
    ours, our_state = _run_training(mt, mt.amp.GradScaler)
    theirs, their_state = _run_training(torch, torch.amp.GradScaler)
    for step, ((s1, t1, w1), (s2, t2, w2)) in enumerate(zip(ours, theirs)):
        assert (s1, t1) == (s2, t2), f"step {step}: scale/tracker {(s1, t1)} != torch's {(s2, t2)}"
        np.testing.assert_allclose(w1, w2, rtol=1e-6, err_msg=f"step {step}")
    assert our_state == their_state


@pytest.mark.filterwarnings('ignore:invalid value:RuntimeWarning')
def test_grad_scaler_skips_bad_steps_backs_off_and_grows():
    history, state = _run_training(mt, mt.amp.GradScaler)
    scales = [s for s, _, _ in history]
    weights = [w for _, _, w in history]
    # step 0 good (tracker 1); step 1 inf: skipped, 8 * 0.25 = 2; step 2 NaN: 0.5; then three
    # good steps grow it to 2.0 at step 5; step 6 backs off to 0.5; three more grow it to 2.0 ...
    assert scales == [8.0, 2.0, 0.5, 0.5, 0.5, 2.0, 0.5, 0.5, 0.5, 2.0, 2.0, 0.5, 0.5, 0.5]
    for step in BAD_STEPS:
        np.testing.assert_array_equal(weights[step], weights[step - 1])   # the step was skipped
        assert history[step][1] == 0
    for step in set(range(1, 14)) - BAD_STEPS:
        assert not np.array_equal(weights[step], weights[step - 1])      # the others did step
    assert state == {'scale': 0.5, 'growth_factor': 4.0, 'backoff_factor': 0.25, 'growth_interval': 3,
                     '_growth_tracker': 2}


def test_state_dict_round_trip():
    a = mt.amp.GradScaler('cpu', init_scale=16.0, growth_interval=5)
    a.load_state_dict({'scale': 2.0, 'growth_factor': 3.0, 'backoff_factor': 0.5, 'growth_interval': 7,
                       '_growth_tracker': 4})
    assert a.get_scale() == 2.0 and a.get_growth_factor() == 3.0 and a.get_growth_interval() == 7
    b = mt.amp.GradScaler('cpu')
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    b.update(new_scale=32.0)
    assert b.get_scale() == 32.0


def test_a_nanogpt_style_amp_loop_runs_unchanged():
    """The device/dtype/autocast/scaler/compile lines of nanoGPT's train.py, written for this test."""
    from contextlib import nullcontext

    import minitensor as torch
    import minitensor.nn as nn
    import minitensor.nn.functional as F
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    device_type = 'cuda' if 'cuda' in device else 'cpu'
    dtype = 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float16'
    torch.manual_seed(1337)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]
    ctx = nullcontext() if device_type == 'cpu' else torch.amp.autocast(device_type=device_type, dtype=ptdtype)
    model = nn.Linear(8, 4).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    with pytest.warns(UserWarning) if device_type == 'cpu' else nullcontext():
        scaler = torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))
    model = torch.compile(model)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32))
    y = torch.randint(0, 4, (16,))
    x, y = x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    losses = []
    for _ in range(20):
        with ctx:
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    torch.backends.allow_tf32 = False
    assert losses[-1] < losses[0]
