"""The GPT on the GPU: batched attention = the lecture's per-head loop, cached sampling = uncached.

Skips without CuPy or a GPU.
"""
from dataclasses import replace

import numpy as np
import pytest

import minitensor as mt
from gpt.models import GPT, GPTConfig

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")

CONFIG = GPTConfig(vocab_size=65, block_size=32, n_embd=48, n_head=3, n_layer=2, dropout=0.0)


def test_batched_attention_equals_the_per_head_loop_on_the_gpu():
    idx = mt.tensor(np.random.default_rng(0).integers(0, 65, (4, 32)), device='gpu')
    losses, grads = [], []
    for attention in ('batched', 'per_head'):
        mt.manual_seed(3)
        model = GPT(replace(CONFIG, attention=attention)).to('gpu')
        _, loss = model(idx, idx)
        loss.backward()
        losses.append(loss.item())
        grads.append([p.grad.cpu().numpy() for p in model.parameters()])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_cached_sampling_gives_the_uncached_tokens_on_the_gpu():
    mt.manual_seed(4)
    model = GPT(CONFIG).to('gpu')
    idx = mt.zeros((3, 1), dtype=mt.int64, device='gpu')
    runs = []
    for use_cache in (True, False):
        mt.manual_seed(5)
        runs.append(model.generate(idx, 80, top_k=10, use_cache=use_cache).tolist())   # past block_size
    assert runs[0] == runs[1]
