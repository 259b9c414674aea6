"""--dtype of gpt.train on the CPU: bf16/fp16 autocast steps of the GPT (bf16 logits, fp32
loss and gradients), the loss decreasing over a few steps, and the flag's checks."""
import csv

import numpy as np
import pytest

import minitensor as mt
from gpt import train as gtrain
from gpt.config import TrainConfig
from gpt.data import load_text
from gpt.models import GPT, GPTConfig

pytest.importorskip('ml_dtypes')


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp('data') / 'corpus.txt'
    path.write_text(load_text()[:20000], encoding='utf-8')
    return str(path)


def small(corpus, out_dir, **overrides):
    base = dict(model='gpt', data=corpus, out_dir=str(out_dir), batch_size=8, block_size=16, n_embd=32,
                n_head=2, n_layer=1, dropout=0.0, max_iters=30, eval_interval=15, eval_iters=4,
                log_interval=5, learning_rate=1e-2, sample_tokens=0, progress=False, seed=5)
    base.update(overrides)
    return TrainConfig(**base)


def quiet(*args, **kwargs):
    pass


def val_losses(out_dir):
    with open(out_dir / 'log.csv') as f:
        return [float(row['val_loss']) for row in csv.DictReader(f)]


@pytest.mark.parametrize('dtype', ['bf16', 'fp16'])
def test_mixed_precision_training_decreases_the_loss(corpus, tmp_path, dtype):
    summary = gtrain.train(small(corpus, tmp_path, dtype=dtype), log=quiet)
    losses = val_losses(tmp_path)
    assert summary['step'] == 30 and len(losses) == 3
    assert losses[-1] < losses[0] - 0.3, losses          # ln(vocab) ~ 4 at step 0
    state = mt.load(tmp_path / 'ckpt.npz')['model_state']
    assert all(v.dtype is mt.float32 for v in state.values())   # master weights stay float32


def test_bf16_training_tracks_float32(corpus, tmp_path):
    """Same seed, same batches: after 30 steps the bf16 run's val loss is within 2% of fp32's."""
    fp32 = gtrain.train(small(corpus, tmp_path / 'a'), log=quiet)
    bf16 = gtrain.train(small(corpus, tmp_path / 'b', dtype='bf16'), log=quiet)
    assert abs(bf16['val_loss'] - fp32['val_loss']) < 0.02 * fp32['val_loss'], (bf16, fp32)


def test_one_autocast_step_of_the_gpt():
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_embd=16, n_head=2, n_layer=2, dropout=0.1))
    x, y = mt.randint(0, 20, (3, 8)), mt.randint(0, 20, (3, 8))
    with mt.no_grad():
        _, loss32 = model(x, y)
    model.eval()
    with mt.no_grad():
        _, loss32 = model(x, y)
        with mt.autocast('cpu', dtype=mt.bfloat16):
            logits, loss16 = model(x, y)
    assert logits.dtype is mt.bfloat16 and loss16.dtype is mt.float32
    assert abs(loss16.item() - loss32.item()) < 2 ** -6 * loss32.item()
    model.train()
    with mt.autocast('cpu', dtype=mt.bfloat16):
        _, loss = model(x, y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.dtype is mt.float32 and p.grad is not None and p.grad.dtype is mt.float32, name
        assert np.isfinite(p.grad.numpy()).all(), name


def test_the_dtype_flag(corpus, tmp_path, monkeypatch):
    parser = gtrain.build_parser()
    assert parser.parse_args(['--dtype', 'bf16']).dtype == 'bf16'
    with pytest.raises(SystemExit):
        parser.parse_args(['--dtype', 'int8'])
    with pytest.raises(ValueError, match=r"unknown dtype 'half'.*\(--dtype\)"):
        small(corpus, tmp_path, dtype='half').validate()
    monkeypatch.setattr(mt.backends, 'allow_tf32', False)
    gtrain.train(small(corpus, tmp_path, max_iters=1, dtype='tf32'), log=quiet)
    assert mt.backends.allow_tf32 is True


def test_the_target_check_measures_under_the_runs_autocast(corpus, tmp_path, monkeypatch):
    """--target-val's evaluation (FixedBatches.loss_sum) runs under bf16 autocast, as the
    periodic estimate does: the run is judged in the precision it trains in."""
    from gpt import data as gdata
    seen = []
    real = gdata.FixedBatches.loss_sum

    def spy(self, *args, **kwargs):
        seen.append(mt.is_autocast_enabled('cpu'))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(gdata.FixedBatches, 'loss_sum', spy)
    gtrain.train(small(corpus, tmp_path, dtype='bf16', max_iters=10, eval_interval=5, target_val=0.5,
                       check_iters=4), log=quiet)
    assert seen and all(seen)
