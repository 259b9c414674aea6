"""The speedrun path on the GPU: fixed val batches, the stopping rule's losses, the preset's
command for a few steps (tiny overrides), and the sweep's cold start. Skips without CuPy or a GPU."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minitensor as mt
from gpt.data import CharTokenizer, FixedBatches, TextBatches, load_text
from gpt.models import GPT, GPTConfig

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
REPO = Path(__file__).resolve().parents[2]
TINY = ['--n-embd', '48', '--n-head', '3', '--n-layer', '2', '--block-size', '32', '--batch-size', '8',
        '--eval-batch-size', '8', '--eval-iters', '6', '--check-iters', '2', '--eval-interval', '5',
        '--log-interval', '5', '--sample-tokens', '0', '--no-progress']


def test_fixed_batches_on_the_gpu_are_the_cpus_and_score_the_same_loss():
    text = load_text()[:50000]
    tok = CharTokenizer.from_text(text)
    cpu = TextBatches(text, tok, block_size=32, batch_size=4)
    gpu = TextBatches(text, tok, block_size=32, batch_size=4, device='gpu')
    fixed_cpu, fixed_gpu = FixedBatches(cpu, 'val', 5, seed=9), FixedBatches(gpu, 'val', 5, seed=9)
    assert fixed_gpu.x.device == 'gpu'
    np.testing.assert_array_equal(fixed_cpu.x.numpy(), fixed_gpu.x.cpu().numpy())
    np.testing.assert_array_equal(fixed_cpu.y.numpy(), fixed_gpu.y.cpu().numpy())
    mt.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_embd=48, n_head=3, n_layer=2, dropout=0.2))
    on_cpu = fixed_cpu.loss_sum(model, 0, 5).item()
    on_gpu = fixed_gpu.loss_sum(model.to('gpu'), 0, 5).item()
    assert on_gpu == pytest.approx(on_cpu, rel=1e-4) and model.training


def test_the_speedrun_preset_runs_on_the_gpu_and_reports_its_seconds(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), CUPY_CACHE_DIR=str(tmp_path / 'cold-cache'))
    proc = subprocess.run([sys.executable, '-m', 'gpt.train', '--preset', 'speedrun', '--device', 'gpu', *TINY,
                           '--max-iters', '20', '--target-val', '9', '--out', str(tmp_path / 'run')],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"^reached val \d\.\d{4} <= 9\.00 at step 5 after \d+\.\d s \(from process start\)$", out, re.M)
    assert re.search(r"^start-up: python .* device \d+\.\d\d s, data .* first step \d+\.\d\d s, "
                     r"graph capture \d+\.\d\d s, first eval", out, re.M), out
    name = mt.cuda.get_device_name()
    assert ('note: the speedrun preset is tuned on an H100' in out) == (not any(g in name for g in ('H100', 'H200')))
    assert any((tmp_path / 'cold-cache').iterdir())         # the kernels compiled into the fresh cache


def test_graphed_val_losses_equal_the_eager_ones_as_the_weights_train():
    from gpt.graph_eval import GraphedLossSum
    text = load_text()[:50000]
    tok = CharTokenizer.from_text(text)
    data = TextBatches(text, tok, block_size=32, batch_size=4, device='gpu')
    fixed = FixedBatches(data, 'val', 6, seed=3)
    mt.manual_seed(2)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_embd=48, n_head=3, n_layer=2,
                          dropout=0.2)).to('gpu')
    optimizer = mt.optim.AdamW(model.parameters(), lr=1e-2)
    lines = []
    graphed = GraphedLossSum(fixed, log=lines.append)
    for _ in range(3):
        ours, eager = graphed(model, 0, 6).item(), fixed.loss_sum(model, 0, 6).item()
        assert ours == pytest.approx(eager, rel=1e-5) and model.training
        assert graphed(model, 2, 5).item() == pytest.approx(fixed.loss_sum(model, 2, 5).item(), rel=1e-5)
        x, y = data.get_batch('train')              # the weights change in place: the graph follows
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert graphed.failed is None and graphed.graph is not None, lines
    assert lines == ["CUDA graph: the val-loss forward is captured; evaluations replay it"]


def test_graphed_val_losses_follow_weights_that_moved():
    from gpt.graph_eval import GraphedLossSum
    text = load_text()[:50000]
    tok = CharTokenizer.from_text(text)
    data = TextBatches(text, tok, block_size=32, batch_size=4, device='gpu')
    fixed = FixedBatches(data, 'val', 3, seed=4)
    mt.manual_seed(2)
    config = GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_embd=48, n_head=3, n_layer=2)
    model, other = GPT(config).to('gpu'), GPT(config).to('gpu')
    graphed = GraphedLossSum(fixed, log=lambda line: None)
    graphed(model, 0, 3)
    for name, p in model.named_parameters():        # new arrays, other values
        p.array = other.get_parameter(name).array.copy()
    assert graphed(model, 0, 3).item() == pytest.approx(fixed.loss_sum(model, 0, 3).item(), rel=1e-5)
    assert graphed.captures == 2 and graphed.failed is None
