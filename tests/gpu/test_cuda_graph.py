"""CUDA graphs: captured work replays the eager results; the graphed GPT step trains as the eager one.

Equality: a replay runs the very kernels the eager step runs, on the same inputs, so most
results are bit-identical; the embedding's backward sums rows with atomic adds, whose
order varies between runs (eager too), so parameters after several steps agree to
float32 rounding, not bit for bit. Skips without CuPy or a GPU.
"""
import json
from dataclasses import replace

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from gpt import train as gtrain
from gpt.config import preset
from gpt.data import CharTokenizer, TextBatches, load_text
from gpt.graph_step import WARMUP_STEPS, GraphedStep, step_body
from gpt.models import GPT, GPTConfig

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")


def randn(*shape, seed=0):
    return mt.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), device='gpu')


@pytest.mark.parametrize('tf32', [False, True])
def test_captured_matmuls_replay_the_eager_products(tf32):
    mt.backends.allow_tf32 = tf32
    try:
        a, b = randn(4, 3, 33, 16), randn(4, 3, 16, 20, seed=1)
        w = randn(16, 7, seed=2)
        eager = [(a @ b).cpu().numpy(), (a @ w).cpu().numpy(), (a[0, 0] @ w).cpu().numpy()]
        g = mt.cuda.CUDAGraph()
        with mt.cuda.graph(g):
            outs = [a @ b, a @ w, a[0, 0] @ w]
        a.array[...] = randn(4, 3, 33, 16, seed=5).array           # new input, same address
        g.replay()
        fresh = [(a @ b).cpu().numpy(), (a @ w).cpu().numpy(), (a[0, 0] @ w).cpu().numpy()]
        for out, want in zip(outs, fresh):
            np.testing.assert_array_equal(out.cpu().numpy(), want)
        assert not np.allclose(fresh[0], eager[0])
    finally:
        mt.backends.allow_tf32 = False


def test_a_users_captured_training_step_matches_eager_steps():
    """The README's ten lines: warm up, capture, copy new data in, replay."""
    def make():
        mt.manual_seed(0)
        model = mt.nn.Sequential(mt.nn.Linear(8, 32), mt.nn.GELU(), mt.nn.Dropout(0.1),
                                 mt.nn.Linear(32, 3)).to('gpu')
        return model, mt.optim.AdamW(model.parameters(), lr=1e-2)
    xs = [randn(16, 8, seed=10 + i) for i in range(6)]
    ys = [mt.tensor(np.random.default_rng(i).integers(0, 3, 16), device='gpu') for i in range(6)]

    def step(model, opt, x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    model, opt = make()
    eager = [step(model, opt, x, y).item() for x, y in zip(xs, ys)]
    want = [p.detach().cpu().numpy() for p in model.parameters()]

    model, opt = make()
    static_x, static_y = randn(16, 8), mt.zeros(16, dtype=mt.int64, device='gpu')
    losses = []
    for x, y in zip(xs[:2], ys[:2]):                       # warm-up: eager steps
        losses.append(step(model, opt, x, y).item())
    g = mt.cuda.CUDAGraph()
    with mt.cuda.graph(g):
        static_loss = step(model, opt, static_x, static_y)
    for x, y in zip(xs[2:], ys[2:]):
        static_x.array[...] = x.array
        static_y.array[...] = y.array
        g.replay()
        losses.append(static_loss.item())
    np.testing.assert_allclose(losses, eager, rtol=1e-6)
    for p, w in zip(model.parameters(), want):
        np.testing.assert_allclose(p.detach().cpu().numpy(), w, rtol=1e-5, atol=1e-6)


def test_dropout_masks_change_between_replays_and_equal_the_eager_masks():
    x = mt.ones(64, 128, device='gpu')
    mt.manual_seed(7)
    eager = [F.dropout(x, 0.3).cpu().numpy() for _ in range(3)]
    mt.manual_seed(7)
    g = mt.cuda.CUDAGraph()
    with mt.cuda.graph(g):
        y = F.dropout(x, 0.3)
    replays = []
    for _ in range(3):
        g.replay()
        replays.append(y.cpu().numpy())
    assert g.per_step_values == 1
    for a, b in zip(replays, eager):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(replays[0], replays[1])


def test_capture_refuses_the_portable_paths_with_a_clear_error():
    mt.backends.fast_paths = False
    try:
        with pytest.raises(RuntimeError, match='fast_paths'):
            with mt.cuda.graph(mt.cuda.CUDAGraph()):
                pass
    finally:
        mt.backends.fast_paths = True


def test_an_optimizer_without_state_refuses_capture():
    p = mt.nn.Parameter(randn(5))
    p.grad = randn(5, seed=1)
    opt = mt.optim.AdamW([p])
    with pytest.raises(RuntimeError, match='warm-up'):
        with mt.cuda.graph(mt.cuda.CUDAGraph()):
            opt.step()


def _gpt_run(graphed, steps, dropout=0.1):
    cfg = GPTConfig(vocab_size=65, block_size=32, n_embd=48, n_head=3, n_layer=2, dropout=dropout)
    mt.manual_seed(11)
    text = load_text()[:20000]
    tok = CharTokenizer.from_text(load_text())
    data = TextBatches(text, tok, block_size=32, batch_size=8, device='gpu')
    model = GPT(cfg).to('gpu')
    opt = mt.optim.AdamW(model.parameters(), lr=1e-3)
    losses, logs = [], []
    graphed_step = GraphedStep(model, opt, data, 1.0, log=logs.append) if graphed else None
    for i in range(steps):
        for group in opt.param_groups:
            group['lr'] = 1e-3 * (i + 1) / steps          # a schedule that moves every step
        if graphed:
            loss = graphed_step()
        else:
            offsets = data.draw_offsets('train').to('gpu')
            loss = step_body(model, opt, data, offsets, 1.0)
        losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.parameters()], logs, graphed_step


def test_graphed_gpt_steps_equal_eager_steps_with_dropout_clipping_and_a_schedule():
    steps = WARMUP_STEPS + 6
    eager_losses, eager_params, _, _ = _gpt_run(False, steps)
    losses, params, logs, graphed = _gpt_run(True, steps)
    assert graphed.graph is not None, logs
    assert any('captured' in line for line in logs)
    np.testing.assert_allclose(losses, eager_losses, rtol=2e-5)
    for a, b in zip(params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-6)


def test_gpt_train_replays_by_default_and_resume_continues_exactly(tmp_path):
    cfg = replace(preset('small'), device='gpu', max_iters=24, eval_interval=12, eval_iters=2,
                  log_interval=4, sample_tokens=0, progress=False, out_dir=str(tmp_path / 'full'))
    lines = []
    full = gtrain.train(cfg, log=lines.append)
    assert any('CUDA graph: captured' in line for line in lines), lines
    half = replace(cfg, max_iters=12, out_dir=str(tmp_path / 'half'))
    gtrain.train(half, log=lambda line: None)
    resumed = gtrain.train(replace(half, max_iters=24), resume=True, log=lambda line: None)
    assert resumed['val_loss'] == pytest.approx(full['val_loss'], rel=1e-4)
    eager = gtrain.train(replace(cfg, cuda_graph=False, out_dir=str(tmp_path / 'eager')), log=lambda line: None)
    assert eager['val_loss'] == pytest.approx(full['val_loss'], rel=1e-4)
    json.dumps(full)      # the summary stays plain data
