"""bfloat16/float16 and autocast on the GPU. Skips without CuPy or a GPU.

- every op of the differential tables on bfloat16 GPU tensors against the same op on
  the CPU (which tests/test_bf16_ops.py checks against torch), forward and gradients,
  with that file's bounds (one rounding of a float32 result: two bf16 neighbours);
- bfloat16 GEMMs (2-D, batched, broadcast, transposed operands) against float32 math;
- autocast('cuda') output dtypes against torch's CUDA autocast table (written below);
- a GPT step under bf16 autocast: bf16 logits, float32 loss close to float32's, float32
  gradients close to float32's; fp16 autocast with a GradScaler; gpt.train --dtype bf16.
"""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from gpt.models import GPT, GPTConfig

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
ml_dtypes = pytest.importorskip('ml_dtypes')

FWD_RTOL, FWD_ATOL = 2 ** -6, 2 ** -8
GRAD_RTOL, GRAD_ATOL = 2 ** -4, 2 ** -5


def test_bf16_is_supported_here():
    assert mt.cuda.is_bf16_supported()       # the lent GPUs are H100/H200 (compute capability 9.0)


def test_casts_creation_printing_and_save_on_the_gpu(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10000).astype(np.float32)
    gpu = mt.from_numpy(x).to('gpu').bfloat16()
    cpu = mt.from_numpy(x).bfloat16()
    assert gpu.dtype is mt.bfloat16 and gpu.device == 'gpu'
    np.testing.assert_array_equal(gpu.cpu().numpy().view(np.uint16), cpu.numpy().view(np.uint16))
    for make in (mt.zeros, mt.ones, mt.randn, mt.empty):
        assert make(3, 4, dtype=mt.bfloat16, device='gpu').dtype is mt.bfloat16
    assert mt.full((2,), 1.7, dtype=mt.bfloat16, device='gpu').tolist() == [1.703125, 1.703125]
    text = repr(gpu[:3])
    assert "device='gpu'" in text and 'dtype=minitensor.bfloat16' in text
    assert text.split('],')[0] == repr(cpu[:3]).split('],')[0]          # the same digits
    mt.save({'g': gpu}, tmp_path / 'g.pt')
    back = mt.load(tmp_path / 'g.pt')['g']
    assert back.device == 'gpu' and back.dtype is mt.bfloat16 and bool((back == gpu).all())
    h = mt.tensor([1.0, 2.0], device='gpu', requires_grad=True)
    (h.bfloat16() * 3).float().sum().backward()
    assert h.grad.dtype is mt.float32 and h.grad.tolist() == [3.0, 3.0]


def _table():
    torch = pytest.importorskip('torch')    # the tables live in tests/ beside their torch oracle
    del torch
    import test_bf16_ops
    return test_bf16_ops


@pytest.mark.parametrize('seed', [0])
def test_every_table_op_on_bf16_gpu_tensors_matches_the_cpu(seed):
    ops = _table()
    from torch_diff import _layout, _values
    failures = []
    for op in ops.TABLE:
        input_shapes = op.shapes.example()
        rng = np.random.default_rng(seed)
        arrays = [_layout(np.asarray(_values(rng, s, d, dom, op.kinks, False)), 'contiguous')
                  for s, d, dom in zip(input_shapes, op.dtypes, op.domain)]
        results = []
        for device in ('cpu', 'gpu'):
            ins = [mt.from_numpy(a).to(device).to(mt.bfloat16) if a.dtype == np.float64
                   else mt.from_numpy(a).to(device) for a in arrays]
            for t in ins:
                if t.dtype is mt.bfloat16 and op.grad:
                    t.requires_grad_(True)
            try:
                with np.errstate(all='ignore'):
                    out = op.fn(mt, *ins)
                    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
                    outs = tuple(o for o in outs if isinstance(o, mt.Tensor))
                    diff = [o for o in outs if o.requires_grad]
                    if diff:
                        sum(o.float().sum() for o in diff).backward()
                results.append((outs, [t.grad for t in ins]))
            except Exception as e:          # the CPU may refuse (as torch); the GPU must then too
                results.append(e)
        cpu, gpu = results
        if isinstance(cpu, Exception) or isinstance(gpu, Exception):
            if type(cpu) is not type(gpu):
                failures.append(f"{op.name}: cpu {cpu!r} vs gpu {gpu!r}")
            continue
        for i, (c, g) in enumerate(zip(cpu[0], gpu[0])):
            if c.dtype != g.dtype:
                failures.append(f"{op.name}: output {i} {g.dtype} on the GPU, {c.dtype} on the CPU")
                continue
            a, b = g.detach().cpu(), c.detach()
            a, b = (a.float().numpy(), b.float().numpy()) if a.is_floating_point() else (a.numpy(), b.numpy())
            if not np.allclose(a, b, rtol=FWD_RTOL, atol=FWD_ATOL, equal_nan=True):
                failures.append(f"{op.name}: output {i} differs, max {np.nanmax(np.abs(a - b))}")
        for i, (c, g) in enumerate(zip(cpu[1], gpu[1])):
            if c is None or g is None:
                if (c is None) != (g is None):
                    failures.append(f"{op.name}: gradient {i} missing on one device")
                continue
            a, b = g.cpu().float().numpy(), c.float().numpy()
            scale = max(float(np.nanmax(np.abs(b), initial=0.0)), 1.0)
            if g.dtype is not mt.bfloat16 or not np.allclose(a, b, rtol=GRAD_RTOL, atol=GRAD_ATOL * scale,
                                                              equal_nan=True):
                failures.append(f"{op.name}: gradient {i} ({g.dtype}) differs")
    assert not failures, '\n'.join(failures)


@pytest.mark.parametrize('shapes', [((64, 96), (96, 32)), ((4, 64, 96), (4, 96, 32)), ((4, 64, 96), (96, 32)),
                                    ((2, 3, 17, 40), (1, 3, 40, 9)), ((96,), (96, 8)), ((5, 300), (300,))])
@pytest.mark.parametrize('name', ['bfloat16', 'float16'])
def test_16_bit_gemms_accumulate_in_float32(shapes, name):
    """cuBLAS with float32 accumulation: the product of exactly representable inputs is the
    float32 product rounded once (one neighbour of slack for the order of the sums)."""
    rng = np.random.default_rng(1)
    d = getattr(mt, name)
    a, b = (mt.from_numpy(rng.standard_normal(s).astype(np.float32)).to(d) for s in shapes)
    ref = (a.float() @ b.float()).to(d).float().numpy()
    out = a.to('gpu') @ b.to('gpu')
    assert out.dtype is d
    tol = 2 ** -6 if name == 'bfloat16' else 2 ** -9
    np.testing.assert_allclose(out.cpu().float().numpy(), ref, rtol=tol, atol=tol)
    at = a.to('gpu').transpose(-1, -2).contiguous().transpose(-1, -2) if a.ndim > 1 else a.to('gpu')
    np.testing.assert_allclose((at @ b.to('gpu')).cpu().float().numpy(), ref, rtol=tol, atol=tol)
    x = a.to('gpu').requires_grad_()
    w = b.to('gpu').requires_grad_()
    (x @ w).float().sum().backward()
    assert x.grad.dtype is d and w.grad.dtype is d and x.grad.shape == x.shape


# torch's CUDA autocast (bfloat16), for bfloat16 / float32 inputs: the op reference's lists
CUDA_TABLE = {
    'matmul': lambda x, w: x @ w, 'linear': lambda x, w: F.linear(x, w),
    'sdpa': lambda x, w: F.scaled_dot_product_attention(x[None], x[None], x[None], is_causal=True),
    'conv1d': lambda x, w: F.conv1d(x[None], w[:, :4, None]), 'einsum': lambda x, w: mt.einsum('ij,jk->ik', x, w),
}
CUDA_FP32 = {
    'softmax': lambda x, w: x.softmax(-1), 'log_softmax': lambda x, w: F.log_softmax(x, -1),
    'layer_norm': lambda x, w: F.layer_norm(x, (6,)), 'sum': lambda x, w: x.sum(), 'exp': lambda x, w: x.exp(),
    'log': lambda x, w: x.log(), 'pow': lambda x, w: x ** 2, 'cumsum': lambda x, w: x.cumsum(0),
    'cross_entropy': lambda x, w: F.cross_entropy(x, mt.tensor([0, 1, 2, 3], device='gpu')),
    'mse_loss': lambda x, w: F.mse_loss(x, x), 'norm': lambda x, w: x.norm(), 'logsumexp': lambda x, w: x.logsumexp(-1),
    'rdiv': lambda x, w: 1 / x, 'softplus': lambda x, w: F.softplus(x),
}
CUDA_SAME = {   # not on a list: the input dtype
    'relu': lambda x, w: F.relu(x), 'gelu': lambda x, w: F.gelu(x), 'mean': lambda x, w: x.mean(),
    'tanh': lambda x, w: x.tanh(), 'mul': lambda x, w: x * 2.0, 'dropout': lambda x, w: F.dropout(x, 0.1),
}


@pytest.mark.parametrize('in_dtype', ['float32', 'bfloat16'])
def test_cuda_autocast_output_dtypes_follow_torchs_cuda_lists(in_dtype):
    d = getattr(mt, in_dtype)
    x = (mt.rand(4, 6, device='gpu') + 0.1).to(d)
    w = mt.randn(6, 6, device='gpu').to(d)
    with mt.autocast('cuda', dtype=mt.bfloat16):
        for name, fn in CUDA_TABLE.items():
            assert fn(x, w).dtype is mt.bfloat16, name
        for name, fn in CUDA_FP32.items():
            assert fn(x, w).dtype is mt.float32, name
        for name, fn in CUDA_SAME.items():
            assert fn(x, w).dtype is d, name
        assert (x.cpu() @ w.cpu()).dtype is d                  # CPU tensors: not this autocast's
        with pytest.raises(RuntimeError, match='unsafe to autocast'):
            F.binary_cross_entropy(x.sigmoid(), x.sigmoid())


def _gpt_step(autocast, seed=0):
    mt.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=65, block_size=64, n_embd=96, n_head=4, n_layer=2, dropout=0.0)).to('gpu')
    rng = np.random.default_rng(seed)
    x = mt.tensor(rng.integers(0, 65, (8, 64)), device='gpu')
    y = mt.tensor(rng.integers(0, 65, (8, 64)), device='gpu')
    with autocast:
        logits, loss = model(x, y)
    loss.backward()
    return logits, loss, {n: p.grad for n, p in model.named_parameters()}


def test_a_gpt_step_under_bf16_autocast_tracks_float32():
    from contextlib import nullcontext
    logits32, loss32, grads32 = _gpt_step(nullcontext())
    logits16, loss16, grads16 = _gpt_step(mt.autocast('cuda', dtype=mt.bfloat16))
    assert logits16.dtype is mt.bfloat16 and loss16.dtype is mt.float32
    assert abs(loss16.item() - loss32.item()) < 0.01 * loss32.item()
    for name, g in grads16.items():
        assert g.dtype is mt.float32, name
        ref = grads32[name].cpu().numpy()
        err = np.linalg.norm(g.cpu().numpy() - ref) / max(np.linalg.norm(ref), 1e-12)
        assert err < 0.05, f"{name}: relative gradient error {err:.3g}"    # bf16 activations: ~1e-2


def test_fp16_autocast_with_a_grad_scaler_trains_and_skips_overflow():
    mt.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=65, block_size=32, n_embd=64, n_head=4, n_layer=2, dropout=0.0)).to('gpu')
    opt = mt.optim.AdamW(model.parameters(), lr=3e-3)
    scaler = mt.amp.GradScaler('cuda', init_scale=2.0 ** 30)            # overflows at first: backs off
    x = mt.randint(0, 65, (8, 32), device='gpu')
    losses, scales = [], []
    for _ in range(40):
        with mt.autocast('cuda', dtype=mt.float16):
            _, loss = model(x, x)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
        scales.append(scaler.get_scale())
    assert scales[0] < 2.0 ** 30 and min(scales) >= 1.0                  # backed off, then settled
    assert np.isfinite(losses).all() and losses[-1] < losses[0] - 1.0
    assert all(p.dtype is mt.float32 for p in model.parameters())


def test_gpt_train_with_dtype_bf16_on_the_gpu(tmp_path):
    from gpt import train as gtrain
    from gpt.config import TrainConfig
    cfg = TrainConfig(model='gpt', out_dir=str(tmp_path), batch_size=16, block_size=64, n_embd=96, n_head=4,
                      n_layer=2, dropout=0.1, max_iters=60, eval_interval=30, eval_iters=4, log_interval=10,
                      learning_rate=3e-3, sample_tokens=20, progress=False, device='gpu', dtype='bf16')
    summary = gtrain.train(cfg, log=lambda *a, **k: None)
    assert summary['step'] == 60 and summary['val_loss'] < 3.3 and len(summary['sample']) > 0
