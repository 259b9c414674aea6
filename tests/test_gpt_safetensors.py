"""gpt.train writes model.safetensors beside its checkpoint: the lecture's PyTorch model
loads it with safetensors.torch.load_file and gives our logits (skips without torch or
the safetensors package)."""
import numpy as np
import pytest

import minitensor as mt
from gpt import checkpoint as ckpt_io
from gpt import train as gtrain
from gpt.config import TrainConfig
from gpt.data import load_text


def test_the_lecture_pytorch_model_loads_model_safetensors(tmp_path):
    torch = pytest.importorskip('torch')
    st_torch = pytest.importorskip('safetensors.torch')
    from gpt.models import GPTConfig
    from gpt.torch_reference import build_torch_gpt
    corpus = tmp_path / 'corpus.txt'
    corpus.write_text(load_text()[:20000], encoding='utf-8')
    out = tmp_path / 'run'
    cfg = TrainConfig(model='gpt', data=str(corpus), out_dir=str(out), batch_size=4, block_size=8, n_embd=16,
                      n_head=2, n_layer=2, dropout=0.0, max_iters=4, eval_interval=2, eval_iters=1,
                      sample_tokens=0, progress=False, seed=3)
    gtrain.train(cfg, log=lambda *a, **k: None)
    ckpt = ckpt_io.load_checkpoint(out / 'ckpt.npz')
    ours, _ = ckpt_io.model_from_checkpoint(ckpt)
    spec = {k: v for k, v in ckpt['model_spec'].items() if k != 'model'}
    theirs = build_torch_gpt(GPTConfig(**spec)).double()
    theirs.load_state_dict(st_torch.load_file(str(out / 'model.safetensors')))   # strict: every name
    theirs.eval()
    ours.eval()
    idx = np.random.default_rng(0).integers(0, ckpt['model_spec']['vocab_size'], (2, 8))
    with mt.no_grad():
        logits, _ = ours.double()(mt.tensor(idx))
    with torch.no_grad():
        expected, _ = theirs(torch.tensor(idx))
    np.testing.assert_allclose(logits.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
